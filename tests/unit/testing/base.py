"""A test case with a started emulated cloud and raw HTTP helpers."""

from __future__ import annotations

from typing import Any

import requests
import testtools

from vitrage_ds_testing import EmulatedCloud


class CloudTestCase(testtools.TestCase):
    """Starts an :class:`EmulatedCloud` (seed 7) for each test.

    ``self.http`` is a plain requests session holding an admin token, so
    tests see the exact status, headers and body the emulator sends.
    """

    cloud_options: dict[str, Any] = {}

    def setUp(self) -> None:
        super().setUp()
        self.cloud = self.useFixture(EmulatedCloud(seed=7, **self.cloud_options))
        self.http = requests.Session()
        self.addCleanup(self.http.close)
        self.http.headers['X-Auth-Token'] = self.cloud.issue_token()

    def heat(self, path: str, *, project: str | None = None, **kwargs: Any
             ) -> requests.Response:
        kwargs.setdefault('allow_redirects', False)
        return self.http.get(f'{self.cloud.heat_endpoint(project)}{path}', **kwargs)

    def aodh(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.http.request(method, f'{self.cloud.aodh_endpoint}{path}', **kwargs)

    def as_user(self, username: str, project_id: str | None = None) -> requests.Session:
        session = requests.Session()
        self.addCleanup(session.close)
        session.headers['X-Auth-Token'] = self.cloud.issue_token(username, project_id)
        return session

"""A Keystone v3 and two services on requests-mock, behind real keystoneauth sessions.

Tests register the service answers they need, run the client, then assert
the exact sequence of calls (method, URL with query) that reached the
"network", Keystone's included. Tests that need a real connection use
:class:`LoopbackServer`.
"""

from __future__ import annotations

import http.server
import os
import threading
from typing import Any

import fixtures
import testtools
from keystoneauth1 import fixture as ks_fixture
from keystoneauth1 import session as ks_session
from keystoneauth1.identity import v3
from requests_mock.contrib import fixture as rm_fixture

from vitrage_ds.http.client import Client, RetryPolicy

KEYSTONE = 'http://keystone.test:5000/v3'
TOKENS = f'{KEYSTONE}/auth/tokens'
HEAT = 'http://heat.test:8004/v1/p-1'
AODH = 'http://aodh.test:8042'
PASSWORD = 'pa55-w0rd-never-shown'
TOKEN = 'tok-0123456789abcdef'
SECOND_TOKEN = 'tok-fedcba9876543210'


def token_body() -> dict[str, Any]:
    """A v3 token whose catalog has Heat and Aodh public endpoints."""
    token = ks_fixture.V3Token(user_id='u-1', project_id='p-1')
    token.add_service('orchestration').add_standard_endpoints(public=HEAT,
                                                              region='RegionOne')
    token.add_service('alarming').add_standard_endpoints(public=AODH, region='RegionOne')
    return dict(token)


class HTTPTestCase(testtools.TestCase):
    """requests-mock in place, a token endpoint, call-sequence assertions."""

    def setUp(self) -> None:
        super().setUp()
        self.http = self.useFixture(rm_fixture.Fixture())
        self.sleeps: list[float] = []
        self.tokens_issued = 0
        self.http.post(TOKENS, [
            {'status_code': 201, 'json': token_body(), 'headers': {'X-Subject-Token': TOKEN}},
            {'status_code': 201, 'json': token_body(),
             'headers': {'X-Subject-Token': SECOND_TOKEN}},
        ])

    def password_session(self) -> ks_session.Session:
        auth = v3.Password(auth_url=KEYSTONE, username='vitrage', password=PASSWORD,
                           user_domain_id='default', project_id='p-1')
        return ks_session.Session(auth=auth)

    def client(self, endpoint: str = HEAT, session: ks_session.Session | None = None,
               **kwargs: Any) -> Client:
        """A client on a password session that records its backoff delays."""
        kwargs.setdefault('retry', RetryPolicy(retries=3, backoff=0.5, backoff_max=4.0))
        return Client(session or self.password_session(), endpoint,
                      sleep=self.sleeps.append, **kwargs)

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.url) for r in self.http.request_history]

    def assert_calls(self, expected: list[tuple[str, str]]) -> None:
        self.assertEqual(expected, self.calls())

    def auth_tokens(self) -> list[str | None]:
        """The X-Auth-Token of every call that was not a token request."""
        return [r.headers.get('X-Auth-Token') for r in self.http.request_history
                if r.url != TOKENS]


class AodhListing:
    """An alarm listing answered as Aodh 23 pages it, for ``http.get(..., json=listing)``.

    ``limit``/``marker`` paging over :attr:`ids`; a marker that is not (or
    no longer) listed gets Aodh's 500 ``Marker <id> not found.``. Ids in
    :attr:`deleted_after_page` are deleted right after a page ending with
    them is answered: the alarm a caller would next use as marker is gone.
    """

    def __init__(self, ids: list[str], deleted_after_page: tuple[str, ...] = ()) -> None:
        self.ids = list(ids)
        self.deleted_after_page = set(deleted_after_page)

    def __call__(self, request: Any, context: Any) -> Any:
        marker = request.qs.get('marker', [None])[0]
        limit = int(request.qs['limit'][0])
        start = 0
        if marker is not None:
            if marker not in self.ids:
                context.status_code = 500
                return {'error_message': {'faultstring': f'Marker {marker} not found.'}}
            start = self.ids.index(marker) + 1
        page = self.ids[start:start + limit]
        if page and page[-1] in self.deleted_after_page:
            self.deleted_after_page.discard(page[-1])
            self.ids.remove(page[-1])
        return [{'alarm_id': i} for i in page]


class LoopbackServer(fixtures.Fixture):
    """A threading HTTP server on 127.0.0.1 with an ephemeral port.

    :param handler: the request handler class.
    :param state: set as the server's ``state``, for the handler to use.
    """

    def __init__(self, handler: type[http.server.BaseHTTPRequestHandler],
                 state: Any = None) -> None:
        super().__init__()
        self.handler = handler
        self.state = state

    def _setUp(self) -> None:
        server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), self.handler)
        server.daemon_threads = True
        server.state = self.state  # type: ignore[attr-defined]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 10.0)
        self.addCleanup(server.server_close)
        self.addCleanup(server.shutdown)
        #: The server's root, without a trailing slash.
        self.url = f'http://127.0.0.1:{server.server_address[1]}'


def use_netrc(test: testtools.TestCase, directory: str, line: str) -> None:
    """Make ``line`` the whole netrc file requests reads (``NETRC``) during ``test``."""
    path = os.path.join(directory, 'netrc')
    with open(path, 'w') as out:
        out.write(f'{line}\n')
    os.chmod(path, 0o600)
    test.useFixture(fixtures.EnvironmentVariable('NETRC', path))

"""vitrage_ds.errors: which API answers are worth asking again."""

from __future__ import annotations

import testtools

from vitrage_ds.errors import APIError


def _status(status: int) -> APIError:
    return APIError('GET', 'http://127.0.0.1/v2/alarms', status)


class TestTransient(testtools.TestCase):

    def test_a_request_timeout_may_succeed_later(self) -> None:
        self.assertTrue(_status(408).transient)

    def test_too_many_requests_may_succeed_later(self) -> None:
        self.assertTrue(_status(429).transient)

    def test_server_errors_may_succeed_later(self) -> None:
        for status in (500, 502, 503, 504):
            self.assertTrue(_status(status).transient, status)

    def test_other_client_errors_never_will(self) -> None:
        for status in (400, 401, 403, 404, 409, 413):
            self.assertFalse(_status(status).transient, status)

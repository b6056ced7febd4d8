"""vitrage_ds.errors: which API answers are worth asking again; no credential shown."""

from __future__ import annotations

import testtools

from vitrage_ds.errors import (APIError, ConnectionFailed, MalformedResponse, PageLoopError,
                               RequestTimeout)


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


#: An endpoint with credentials in it, as a configuration could give one.
CREDENTIALED = 'http://vds:S3kr1t-pw@aodh.test:8042/v2/alarms/a-1?token=T0k3n#frag'


class TestNoCredentialShown(testtools.TestCase):
    """Every error that names a URL keeps and shows it without user info,
    query string or fragment, whoever built it."""

    def test_each_error_naming_a_url(self) -> None:
        for error in (APIError('GET', CREDENTIALED, 500, 'oops'),
                      ConnectionFailed('GET', CREDENTIALED, 'refused'),
                      RequestTimeout('GET', CREDENTIALED, 3.0),
                      MalformedResponse('GET', CREDENTIALED, 'not a list'),
                      PageLoopError(CREDENTIALED, 'm-1')):
            self.assertEqual('http://aodh.test:8042/v2/alarms/a-1', error.url, error)
            self.assertIn(error.url, str(error))
            for secret in ('vds', 'S3kr1t', 'T0k3n', 'frag'):
                self.assertNotIn(secret, str(error))

    def test_a_relative_path_is_shown_as_it_is(self) -> None:
        self.assertEqual('GET stacks answered a malformed body: x',
                         str(MalformedResponse('GET', 'stacks', 'x')))

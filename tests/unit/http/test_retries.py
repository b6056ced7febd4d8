"""Retries, backoff, re-authentication and the errors that come out."""

from __future__ import annotations

from typing import Any

import requests

from vitrage_ds.errors import (APIError, ConnectionFailed,
                               MalformedResponse, RequestTimeout)
from vitrage_ds.http.client import RetryPolicy
from tests.unit.http.base import (HEAT, PASSWORD, SECOND_TOKEN, TOKEN, TOKENS,
                                  HTTPTestCase)

STACKS = f'{HEAT}/stacks'
OK: dict[str, Any] = {'json': {'stacks': []}}


class RetryTest(HTTPTestCase):
    """Idempotent calls retry transient failures; nothing else does."""

    def _assert_get_retried_once(self, failure: dict[str, Any]) -> None:
        self.http.get(STACKS, [failure, OK])

        self.assertEqual({'stacks': []}, self.client().get('stacks'))

        self.assert_calls([('POST', TOKENS), ('GET', STACKS), ('GET', STACKS)])
        self.assertEqual(1, len(self.sleeps))

    def test_get_is_retried_after_a_connection_error(self) -> None:
        self._assert_get_retried_once({'exc': requests.exceptions.ConnectionError})

    def test_get_is_retried_after_a_connect_timeout(self) -> None:
        self._assert_get_retried_once({'exc': requests.exceptions.ConnectTimeout})

    def test_get_is_retried_after_a_read_timeout(self) -> None:
        self._assert_get_retried_once({'exc': requests.exceptions.ReadTimeout})

    def test_get_is_retried_after_a_500(self) -> None:
        self._assert_get_retried_once({'status_code': 500})

    def test_get_is_retried_after_a_503(self) -> None:
        self._assert_get_retried_once({'status_code': 503})

    def test_get_is_retried_after_a_429(self) -> None:
        self._assert_get_retried_once({'status_code': 429})

    def test_get_is_retried_after_a_body_that_is_not_json(self) -> None:
        self._assert_get_retried_once({'text': '<html>proxy error'})

    def test_a_write_answered_with_text_is_done_and_not_sent_again(self) -> None:
        # Heat answers a stack update with 202 and a text body.
        self.http.put(f'{STACKS}/s/1', status_code=202, text='accepted',
                      headers={'Content-Type': 'text/plain'})

        self.assertIsNone(self.client().put('stacks/s/1', json={}))

        self.assert_calls([('POST', TOKENS), ('PUT', f'{STACKS}/s/1')])
        self.assertEqual([], self.sleeps)

    def test_a_write_answered_with_broken_json_raises_without_sending_again(self) -> None:
        self.http.put(f'{STACKS}/s/1', status_code=200, text='{"trunc',
                      headers={'Content-Type': 'application/json'})

        self.assertRaises(MalformedResponse, self.client().put, 'stacks/s/1', json={})

        self.assert_calls([('POST', TOKENS), ('PUT', f'{STACKS}/s/1')])

    def test_retry_after_is_honoured(self) -> None:
        self.http.get(STACKS, [{'status_code': 429, 'headers': {'Retry-After': '7'}}, OK])
        self.client().get('stacks')
        self.assertEqual([7.0], self.sleeps)

    def test_retry_after_as_an_http_date_is_honoured(self) -> None:
        # A date in the past: no extra wait beyond the policy's own delay.
        self.http.get(STACKS, [{'status_code': 503, 'headers': {
            'Retry-After': 'Wed, 21 Oct 2015 07:28:00 GMT'}}, OK])
        self.client().get('stacks')
        self.assertEqual(1, len(self.sleeps))
        self.assertTrue(0.25 <= self.sleeps[0] <= 0.5, self.sleeps)

    def test_backoff_grows_exponentially_with_jitter_and_a_cap(self) -> None:
        self.http.get(STACKS, status_code=503)
        client = self.client(retry=RetryPolicy(retries=5, backoff=1.0, backoff_max=4.0))

        error = self.assertRaises(APIError, client.get, 'stacks')

        self.assertEqual(503, error.status)
        self.assertEqual(6, len([c for c in self.calls() if c[0] == 'GET']))
        # Retry n waits in [d/2, d], d = min(backoff * 2**n, backoff_max).
        ceilings = [1.0, 2.0, 4.0, 4.0, 4.0]
        self.assertEqual(5, len(self.sleeps))
        for delay, ceiling in zip(self.sleeps, ceilings):
            self.assertTrue(ceiling / 2 <= delay <= ceiling, (delay, ceiling))

    def test_retries_are_spent_once_across_status_and_body_failures(self) -> None:
        self.http.get(STACKS, [{'status_code': 503}, {'text': 'not json'},
                               {'status_code': 500}, {'text': 'still not json'}, OK])

        self.assertRaises(MalformedResponse, self.client().get, 'stacks')

        self.assertEqual(4, len([c for c in self.calls() if c[0] == 'GET']))
        self.assertEqual(3, len(self.sleeps))

    def test_without_counts_of_their_own_connection_and_status_failures_share_retries(
            self) -> None:
        self.http.get(STACKS, [{'exc': requests.exceptions.ConnectionError},
                               {'status_code': 503},
                               {'exc': requests.exceptions.ConnectionError},
                               {'status_code': 503}, OK])

        self.assertRaises(APIError, self.client().get, 'stacks')

        self.assertEqual(4, len([c for c in self.calls() if c[0] == 'GET']))
        self.assertEqual(3, len(self.sleeps))

    def test_connect_retries_give_connection_failures_a_budget_of_their_own(self) -> None:
        self.http.get(STACKS, [{'exc': requests.exceptions.ConnectionError}] * 5 + [OK])
        client = self.client(retry=RetryPolicy(retries=1, backoff=0.5, backoff_max=4.0,
                                               connect_retries=5))

        self.assertEqual({'stacks': []}, client.get('stacks'))

        self.assertEqual(6, len([c for c in self.calls() if c[0] == 'GET']))

    def test_status_code_retries_give_status_failures_a_budget_of_their_own(self) -> None:
        self.http.get(STACKS, [{'exc': requests.exceptions.ConnectTimeout},
                               {'status_code': 503}, {'text': 'not json'}, OK])
        client = self.client(retry=RetryPolicy(retries=1, backoff=0.5, backoff_max=4.0,
                                               status_code_retries=0))

        self.assertRaises(APIError, client.get, 'stacks')

        # The timeout spent [http] retries (1); the 503 had no retry of its own.
        self.assertEqual(2, len([c for c in self.calls() if c[0] == 'GET']))
        self.assertEqual(1, len(self.sleeps))

    def test_post_is_not_retried_after_a_503(self) -> None:
        self.http.post(f'{HEAT}/stacks', [{'status_code': 503}, {'json': {}}])
        error = self.assertRaises(APIError, self.client().post, 'stacks', json={'a': 1})
        self.assertEqual(503, error.status)
        self.assert_calls([('POST', TOKENS), ('POST', STACKS)])
        self.assertEqual([], self.sleeps)

    def test_post_is_not_retried_after_a_connection_error(self) -> None:
        self.http.post(f'{HEAT}/stacks', [{'exc': requests.exceptions.ConnectionError},
                                          {'json': {}}])
        self.assertRaises(ConnectionFailed, self.client().post, 'stacks', json={})
        self.assert_calls([('POST', TOKENS), ('POST', STACKS)])
        self.assertEqual([], self.sleeps)

    def test_a_4xx_is_not_retried(self) -> None:
        client = self.client()
        for status in (400, 403, 404, 409):
            self.http.get(f'{HEAT}/s{status}', [{'status_code': status}, OK])
            error = self.assertRaises(APIError, client.get, f's{status}')
            self.assertEqual(status, error.status)
        self.assert_calls([('POST', TOKENS)] + [('GET', f'{HEAT}/s{status}')
                                                for status in (400, 403, 404, 409)])
        self.assertEqual([], self.sleeps)

    def test_a_tls_failure_is_not_retried(self) -> None:
        self.http.get(STACKS, [{'exc': requests.exceptions.SSLError}, OK])
        error = self.assertRaises(ConnectionFailed, self.client().get, 'stacks')
        self.assertIn('TLS', str(error))
        self.assertEqual([], self.sleeps)

    def test_connection_failures_after_every_retry_raise_connection_failed(self) -> None:
        self.http.get(STACKS, exc=requests.exceptions.ConnectionError('[Errno 111] refused'))
        error = self.assertRaises(ConnectionFailed, self.client().get, 'stacks')
        self.assertEqual(f'GET {STACKS} failed: ConnectFailure: [Errno 111] refused',
                         str(error))
        self.assertEqual(3, len(self.sleeps))

    def test_timeouts_after_every_retry_raise_request_timeout(self) -> None:
        self.http.get(STACKS, exc=requests.exceptions.ReadTimeout)
        error = self.assertRaises(RequestTimeout, self.client(timeout=2.0).get, 'stacks')
        self.assertEqual(f'GET {STACKS} timed out after 2.0 s', str(error))


class ReauthenticationTest(HTTPTestCase):

    def test_a_401_reauthenticates_once_and_carries_on(self) -> None:
        self.http.get(STACKS, [{'status_code': 401}, OK])

        self.assertEqual({'stacks': []}, self.client().get('stacks'))

        self.assert_calls([('POST', TOKENS), ('GET', STACKS),
                           ('POST', TOKENS), ('GET', STACKS)])
        self.assertEqual([TOKEN, SECOND_TOKEN], self.auth_tokens())
        self.assertEqual([], self.sleeps)

    def test_a_second_401_is_an_error(self) -> None:
        self.http.get(STACKS, status_code=401)
        error = self.assertRaises(APIError, self.client().get, 'stacks')
        self.assertEqual(401, error.status)
        self.assert_calls([('POST', TOKENS), ('GET', STACKS),
                           ('POST', TOKENS), ('GET', STACKS)])


class ErrorMessageTest(HTTPTestCase):
    """Messages name the call and the reason, never a credential."""

    def assert_no_secret(self, error: BaseException) -> None:
        for secret in (PASSWORD, TOKEN, SECOND_TOKEN):
            self.assertNotIn(secret, str(error))
            self.assertNotIn(secret, repr(error.args))

    def test_api_error_names_method_url_status_and_the_services_message(self) -> None:
        self.http.get(f'{HEAT}/stacks/x', status_code=404,
                      json={'error': {'message': 'The Stack (x) could not be found.'}})

        error = self.assertRaises(APIError, self.client().get, 'stacks/x',
                                  params={'marker': 'm'})

        self.assertEqual(f'GET {HEAT}/stacks/x answered 404: The Stack (x) could not be '
                         'found.', str(error))
        self.assertEqual(('GET', f'{HEAT}/stacks/x', 404),
                         (error.method, error.url, error.status))
        self.assert_no_secret(error)

    def test_aodh_error_body_is_understood(self) -> None:
        self.http.get(f'{HEAT}/v2/alarms', status_code=400,
                      json={'error_message': {'faultstring': 'Unknown argument: "q"'}})
        error = self.assertRaises(APIError, self.client().get, 'v2/alarms')
        self.assertIn('Unknown argument: "q"', str(error))

    def test_a_services_message_is_one_printable_line(self) -> None:
        self.http.get(f'{HEAT}/v2/alarms', status_code=400,
                      json={'error_message': {'faultstring': 'bad\nFORGED log line'}})
        error = self.assertRaises(APIError, self.client().get, 'v2/alarms')
        self.assertTrue(str(error).isprintable(), str(error))
        self.assertIn('FORGED', str(error))

    def test_refused_credentials_name_the_call_and_no_secret(self) -> None:
        self.http.post(TOKENS, status_code=401,
                       json={'error': {'message': f'bad password {PASSWORD}'}})

        error = self.assertRaises(APIError, self.client().get, 'stacks')

        self.assertEqual(401, error.status)
        self.assertIn(f'GET {HEAT}/stacks', str(error))
        self.assert_no_secret(error)

    def test_a_service_echoing_the_token_does_not_leak_it(self) -> None:
        self.http.get(STACKS, status_code=400, json={'error': {'message': f'token {TOKEN}'}})
        error = self.assertRaises(APIError, self.client().get, 'stacks')
        self.assert_no_secret(error)

    def test_a_token_echoed_across_the_shortening_is_masked_whole(self) -> None:
        self.http.get(STACKS, status_code=400,
                      json={'error': {'message': f'{"x" * 285} token {TOKEN}'}})
        error = self.assertRaises(APIError, self.client().get, 'stacks')
        self.assertNotIn(TOKEN[:4], error.detail)
        self.assertIn(' token ***', error.detail)

    def test_a_long_message_is_shortened_to_a_marked_end(self) -> None:
        self.http.get(STACKS, status_code=400, json={'error': {'message': 'y' * 1000}})
        error = self.assertRaises(APIError, self.client().get, 'stacks')
        self.assertEqual('y' * 300 + '...', error.detail)

    def test_user_info_in_an_endpoint_is_not_shown(self) -> None:
        self.http.get('http://user:sekrit@heat.test:8004/v1/p-1/stacks', status_code=500)
        client = self.client('http://user:sekrit@heat.test:8004/v1/p-1',
                             retry=RetryPolicy(retries=0))
        error = self.assertRaises(APIError, client.get, 'stacks')
        self.assertNotIn('sekrit', str(error))
        self.assertIn('http://heat.test:8004/v1/p-1/stacks', str(error))

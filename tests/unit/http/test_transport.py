"""Streamlined sessions send exactly what requests would, whichever path a call takes."""

from __future__ import annotations

import http.server
from typing import Any

import fixtures
import requests
import testtools
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from tests.unit.http.base import LoopbackServer, use_netrc
from vitrage_ds.http._transport import streamline

# Calls as keystoneauth makes them: redirects never followed.
PLAIN: dict[str, Any] = {'allow_redirects': False, 'timeout': 7.0}

URLS = [
    'http://heat.test:8004/v1/p-1/stacks',
    'https://heat.test/v1/p-1/stacks/my%20stack/s-1/resources',
    'http://127.0.0.1:8042/v2/alarms?q.field=type&q.op=eq',
    'http://aodh.test:8042',
    'http://aodh.test:8042?limit=1',
    "http://heat.test/v1/p-1/stacks/a!$&'()*+,;=:@~b/s-1",
    # What requests itself normalises or re-quotes:
    'http://Heat.Test:8004/v1/p-1/stacks',
    'http://heat.test/v1/./p-1/../p-2/stacks',
    'http://heat.test/v1/p-1/stacks/a%2db/s-1',
    'http://heat.test/v1/p-1/stacks/a%2fb/s-1',
    'http://heat.test/v1/p-1/stacks/a b/s-1',
    'http://heat.test/v1/p-1/stacks/é/s-1',
    'http://heat.test/v1/p-1/stacks#fragment',
    'http://user:secret@heat.test/v1/p-1/stacks',
    'http://heat.test:65536/v1',
]
PARAMS: list[Any] = [
    None,
    {},
    {'limit': 1000, 'marker': 's-9', 'skip': None, 'ratio': 0.5, 'é &': 'x=y'},
    {'global_tenant': True, 'with_count': False},
    {'sort_keys': ['created_at', 'id'], 'name': 'é x&y'},
    [('q.field', 'type'), ('q.field', 'project_id'), ('q.value', b'raw')],
    'a=1&b=c d&e=%2d',
]
HEADERS: list[Any] = [
    None,
    {'X-Auth-Token': 'tok'},
    CaseInsensitiveDict({'user-agent': 'vitrage-ds', 'Accept-Encoding': None}),
]


class _Recorder(BaseAdapter):
    """An adapter that records what it was given and answers 200 ``{}``."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[dict[str, Any]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append({'method': request.method, 'url': request.url,
                          'headers': dict(request.headers), 'body': request.body,
                          'kwargs': kwargs})
        resp = requests.Response()
        resp.status_code = 200
        resp._content = b'{}'
        resp.request = request
        resp.url = request.url or ''
        return resp

    def close(self) -> None:
        pass


def _session(streamlined: bool) -> tuple[requests.Session, _Recorder]:
    session = requests.Session()
    recorder = _Recorder()
    session.mount('http://', recorder)
    session.mount('https://', recorder)
    if streamlined:
        streamline(session)
    return session, recorder


class SameRequestsTest(testtools.TestCase):
    """Every combination gives the adapter what plain requests gives it."""

    def setUp(self) -> None:
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        for name in ('HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'REQUESTS_CA_BUNDLE',
                     'CURL_CA_BUNDLE', 'NETRC'):
            self.useFixture(fixtures.EnvironmentVariable(name))

    def assert_same(self, method: str, **kwargs: Any) -> None:
        for url in URLS:
            for params in PARAMS:
                for headers in HEADERS:
                    outcomes = []
                    for streamlined in (False, True):
                        session, recorder = _session(streamlined)
                        try:
                            session.request(method, url, params=params, headers=headers,
                                            **{**PLAIN, **kwargs})
                        except requests.RequestException as exc:
                            recorder.sent.append({'error': repr(exc)})
                        outcomes.append(recorder.sent)
                    self.assertEqual(outcomes[0], outcomes[1], (method, url, params, headers))

    def test_gets(self) -> None:
        self.assert_same('GET')

    def test_deletes_with_no_body(self) -> None:
        self.assert_same('delete', verify=False)

    def test_under_proxies_no_proxy_and_a_ca_bundle_from_the_environment(self) -> None:
        self.useFixture(fixtures.EnvironmentVariable('HTTP_PROXY', 'http://proxy.test:3128'))
        self.useFixture(fixtures.EnvironmentVariable('NO_PROXY', '127.0.0.1,aodh.test'))
        self.useFixture(fixtures.EnvironmentVariable('REQUESTS_CA_BUNDLE', '/etc/ca.pem'))
        self.assert_same('GET')

    def test_with_a_netrc_entry_for_one_host(self) -> None:
        use_netrc(self, self.dir, 'machine heat.test login user password netrc-secret')
        self.assert_same('GET')


class PathTest(testtools.TestCase):
    """Which calls skip requests' preparation, and which take it."""

    def setUp(self) -> None:
        super().setUp()
        self.session, self.recorder = _session(streamlined=True)
        self.prepared: list[str] = []
        prepare = self.session.prepare_request

        def counted(request: requests.Request) -> requests.PreparedRequest:
            self.prepared.append(str(request.url))
            return prepare(request)

        self.session.prepare_request = counted  # type: ignore[method-assign]

    def test_a_plain_call_is_not_prepared_by_requests(self) -> None:
        self.session.request('GET', URLS[0], params={'limit': 1}, **PLAIN)

        self.assertEqual([], self.prepared)
        self.assertEqual(f'{URLS[0]}?limit=1', self.recorder.sent[0]['url'])

    def test_a_call_with_a_body_is(self) -> None:
        self.session.request('POST', URLS[0], json={'a': 1}, **PLAIN)
        self.assertEqual([URLS[0]], self.prepared)

    def test_a_call_following_redirects_is(self) -> None:
        self.session.request('GET', URLS[0], timeout=1.0)
        self.assertEqual([URLS[0]], self.prepared)

    def test_a_url_requests_would_rewrite_is(self) -> None:
        self.session.request('GET', 'http://Heat.Test/v1', **PLAIN)
        self.assertEqual(['http://Heat.Test/v1'], self.prepared)

    def test_every_call_is_once_session_wide_auth_is_set(self) -> None:
        self.session.auth = ('user', 'secret')
        self.session.request('GET', URLS[0], **PLAIN)
        self.assertEqual([URLS[0]], self.prepared)

    def test_every_call_is_while_session_send_is_replaced(self) -> None:
        # A mock or an instrumentation wrapping Session.send sees every call.
        seen: list[str] = []
        send = requests.Session.send

        def wrapped(session: requests.Session, request: Any, **kwargs: Any) -> Any:
            seen.append(request.url)
            return send(session, request, **kwargs)

        self.useFixture(fixtures.MonkeyPatch('requests.Session.send', wrapped))
        self.session.request('GET', URLS[0], **PLAIN)

        self.assertEqual([URLS[0]], seen)
        self.assertEqual([URLS[0]], self.prepared)


class _CookieHandler(http.server.BaseHTTPRequestHandler):
    """``/login`` sets a cookie, ``/moved`` redirects, anything else echoes its Cookie."""

    def do_GET(self) -> None:
        body = (self.headers.get('Cookie') or '').encode()
        self.send_response({'/login': 200, '/moved': 302}.get(self.path, 200))
        if self.path == '/login':
            self.send_header('Set-Cookie', 'lb=node-2; Path=/')
        if self.path == '/moved':
            self.send_header('Location', '/elsewhere')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class LoopbackTest(testtools.TestCase):
    """Over a real connection: cookies and redirects as requests handles them."""

    def setUp(self) -> None:
        super().setUp()
        self.base = self.useFixture(LoopbackServer(_CookieHandler)).url
        self.session = requests.Session()
        self.addCleanup(self.session.close)
        streamline(self.session)

    def test_a_cookie_the_service_sets_is_sent_back(self) -> None:
        self.session.request('GET', f'{self.base}/login', **PLAIN)
        echoed = self.session.request('GET', f'{self.base}/stacks', **PLAIN)
        self.assertEqual('lb=node-2', echoed.text)

    def test_a_redirect_is_returned_with_its_next_request(self) -> None:
        resp = self.session.request('GET', f'{self.base}/moved', **PLAIN)

        self.assertEqual(302, resp.status_code)
        self.assertEqual(f'{self.base}/elsewhere', resp.next.url if resp.next else None)

    def test_the_body_is_read_and_the_elapsed_time_set(self) -> None:
        resp = self.session.request('GET', f'{self.base}/stacks', **PLAIN)
        self.assertEqual((200, b''), (resp.status_code, resp.content))
        self.assertGreater(resp.elapsed.total_seconds(), 0)

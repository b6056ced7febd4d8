"""PooledSession: what requests would send, with the environment read once per host."""

from __future__ import annotations

import http.server
import io
from typing import Any

import fixtures
import requests
import testtools
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from tests.unit.http.base import LoopbackServer, use_netrc
from vitrage_ds.http.transport import PooledSession

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
        resp.raw = io.BytesIO(b'{}')
        resp.request = request
        resp.url = request.url or ''
        return resp

    def close(self) -> None:
        pass


def _session(pooled: bool) -> tuple[requests.Session, _Recorder]:
    session = PooledSession(3) if pooled else requests.Session()
    recorder = _Recorder()
    session.mount('http://', recorder)
    session.mount('https://', recorder)
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
                    for pooled in (False, True):
                        session, recorder = _session(pooled)
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


class PoolTest(testtools.TestCase):

    def test_each_scheme_keeps_pool_size_connections_per_host(self) -> None:
        session = PooledSession(7)
        self.addCleanup(session.close)
        for prefix in ('http://', 'https://'):
            adapter = session.get_adapter(f'{prefix}heat.test')
            self.assertEqual(7, adapter.poolmanager.connection_pool_kw['maxsize'])


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
        self.session = PooledSession(2)
        self.addCleanup(self.session.close)

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

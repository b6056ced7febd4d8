"""Cheaper calls through a ``requests.Session``, with requests' own semantics.

A Heat poll makes one call per stack, so what requests spends around each
call counts: it reads proxy, CA and netrc settings from the environment on
every call, and prepares every request through a general pipeline (cookie
jars, hooks, URL parsing and re-quoting, parameter merging) that a plain
API call does not need. :func:`streamline` keeps the environment's answers
per host, and sends the plain calls (see :func:`_plain_url`) without that
pipeline, building exactly the request requests would build; anything else
takes requests' own path.
"""

from __future__ import annotations

import re
import threading
import time
import types
import urllib.parse
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import requests
from requests.cookies import RequestsCookieJar, extract_cookies_to_jar
from requests.models import RequestEncodingMixin
from requests.structures import CaseInsensitiveDict
from requests.utils import requote_uri

__all__ = ['streamline']

# An http(s) URL that requests would send exactly as written: lowercase host
# (no user info), a port of at most five digits, a path and query of
# unreserved and sub-delimiter characters, ':' '@' '/' (and '?' in the
# query), or uppercase percent escapes. No fragment.
_PLAIN_URL = re.compile(
    r"https?://[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?"
    r"(?:/(?:[A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-F]{2})*)?"
    r"(?:\?(?:[A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-F]{2})*)?\Z")
_UNRESERVED = frozenset('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~')


def _plain_url(url: Any) -> tuple[str, str] | None:
    """``url`` as requests would send it, and its host and port, when that is
    ``url`` itself or ``url`` with only the root path added; ``None`` when
    requests' parser or re-quoting would change more (then requests
    prepares the call)."""
    if not isinstance(url, str) or not _PLAIN_URL.match(url):
        return None
    scheme_end = url.index('//') + 2
    host_end = min((i for i in (url.find('/', scheme_end), url.find('?', scheme_end))
                    if i >= 0), default=len(url))
    netloc = url[scheme_end:host_end]
    port = netloc.partition(':')[2]
    if port and int(port) > 65535:
        return None
    path = url[host_end:].partition('?')[0]
    # urllib3 removes dot segments; requote_uri decodes escaped unreserved
    # characters.
    if any(segment in ('.', '..') for segment in path.split('/')):
        return None
    start = url.find('%')
    while start >= 0:
        if chr(int(url[start + 1:start + 3], 16)) in _UNRESERVED:
            return None
        start = url.find('%', start + 3)
    return (url if path else f'{url[:host_end]}/{url[host_end:]}'), netloc


_SCALARS = frozenset({str, int, float, type(None)})


def _encode_query(params: Any) -> str:
    """``params`` encoded as requests encodes them (a dict of plain values
    directly, anything else by requests itself)."""
    if (type(params) is dict and all(type(k) is str for k in params)
            and all(type(v) in _SCALARS for v in params.values())):
        return urllib.parse.urlencode([(k, v) for k, v in params.items() if v is not None])
    return str(RequestEncodingMixin._encode_params(params))


def _requests_send() -> Callable[..., Any] | None:
    """requests' own ``Session.send``, or ``None`` when it is replaced already."""
    send = requests.sessions.Session.send
    if (isinstance(send, types.FunctionType)
            and send.__code__.co_filename == requests.sessions.__file__):
        return send
    return None


_SEND = _requests_send()


def _adds_nothing(http: requests.Session) -> bool:
    """Whether requests' pipeline would add nothing of the session's own to a
    plain call: no auth, parameters, cookies or hooks, no streaming, and
    ``send`` is requests' own (when a mock, such as requests_mock, or an
    instrumentation, such as OpenTelemetry's, replaced it, every call goes
    through it, and so through requests' path)."""
    return (http.trust_env and not (http.auth or http.params or http.stream
                                    or len(http.cookies) or any(http.hooks.values()))
            and _SEND is not None and type(http).send is _SEND and 'send' not in vars(http))


def _no_auth(request: Any) -> Any:
    return request


def streamline(http: requests.Session) -> None:
    """Make calls through ``http`` cost less CPU, sending the same requests.

    Proxy, CA and netrc settings are looked up once per scheme, host and
    settings (what they depend on) instead of on every call; ``NO_PROXY``
    and netrc entries still apply host by host. A call with no body, no
    cookies, hooks or auth of its own, redirects not followed, a plain URL
    and no session-wide cookies, parameters, auth or hooks is prepared and
    sent directly through the session's adapter, as requests would; a
    response that sets a cookie still stores it in the session's jar, after
    which calls take requests' full path. Only for sessions vitrage_ds
    builds (an embedding service's session is left as it is); nothing
    changes when ``trust_env`` is off.
    """
    if not isinstance(http, requests.Session) or not http.trust_env:
        return
    read = http.merge_environment_settings
    prepare = http.prepare_request
    request = http.request
    known: dict[Any, dict[str, Any]] = {}
    netrc: dict[str, Any] = {}
    lock = threading.Lock()

    def netrc_auth(netloc: str, url: str) -> Any:
        auth = netrc.get(netloc)
        if auth is None:
            with lock:
                auth = netrc[netloc] = requests.utils.get_netrc_auth(url) or _no_auth
        return auth

    def prepare_request(req: requests.Request) -> requests.PreparedRequest:
        if http.trust_env and not req.auth and not http.auth and isinstance(req.url, str):
            netloc = urllib.parse.urlsplit(req.url).netloc
            # (user info in the URL is what requests uses when netrc has none)
            if '@' not in netloc:
                req.auth = netrc_auth(netloc, req.url)
        return prepare(req)

    def environment(scheme: str, netloc: str, url: str, proxies: Any, stream: Any,
                    verify: Any, cert: Any) -> dict[str, Any]:
        key = (scheme, netloc, tuple(sorted((proxies or {}).items())),
               stream, verify, cert, tuple(sorted(http.proxies.items())),
               http.stream, http.verify, http.cert)
        settings = known.get(key)
        if settings is None:
            settings = known[key] = read(url, dict(proxies or {}), stream, verify, cert)
        return {**settings, 'proxies': dict(settings['proxies'])}

    def merge_environment_settings(url: str, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> dict[str, Any]:
        if not http.trust_env:
            return read(url, proxies, stream, verify, cert)
        parts = urllib.parse.urlsplit(url)
        return environment(parts.scheme, parts.netloc, url, proxies, stream, verify, cert)

    def plain_request(method: str, url: Any, params: Any = None, data: Any = None,
                      headers: Any = None, cookies: Any = None, files: Any = None,
                      auth: Any = None, timeout: Any = None, allow_redirects: bool = True,
                      proxies: Any = None, hooks: Any = None, stream: Any = None,
                      verify: Any = None, cert: Any = None, json: Any = None
                      ) -> requests.Response:
        plain = None
        if (isinstance(method, str) and not allow_redirects and json is None
                and not (data or files or cookies or auth or hooks or stream or proxies)
                and _adds_nothing(http)):
            plain = _plain_url(url)
        if plain is None:
            return request(method, url, params=params, data=data, headers=headers,
                           cookies=cookies, files=files, auth=auth, timeout=timeout,
                           allow_redirects=allow_redirects, proxies=proxies, hooks=hooks,
                           stream=stream, verify=verify, cert=cert, json=json)
        url, netloc = plain
        scheme = url[:url.index(':')]
        query = _encode_query(params) if params is not None else ''
        if query:
            url = requote_uri(f'{url}&{query}' if '?' in url else f'{url}?{query}')
        return _send_plain(http, method, url, headers, timeout, netrc_auth(netloc, url),
                           environment(scheme, netloc, url, {}, None, verify, cert))

    http.merge_environment_settings = merge_environment_settings  # type: ignore[method-assign]
    http.prepare_request = prepare_request  # type: ignore[method-assign,assignment]
    http.request = plain_request  # type: ignore[method-assign,assignment]


def _send_plain(http: requests.Session, method: str, url: str, headers: Any, timeout: Any,
                auth: Any, settings: dict[str, Any]) -> requests.Response:
    """What ``Session.request`` does for a plain call to the final ``url``,
    without its general machinery."""
    prep = requests.PreparedRequest()
    prep.method = method.upper()
    prep.url = url
    merged = CaseInsensitiveDict(http.headers)
    if headers:
        merged.update(headers)
    prep.prepare_headers({k: v for k, v in merged.items() if v is not None})
    prep.prepare_body(None, None)
    prep._cookies = RequestsCookieJar()  # type: ignore[attr-defined]
    if auth is not _no_auth:
        prep.prepare_auth(auth)
    del settings['stream']  # False: the session does not stream
    adapter = http.get_adapter(url)
    began = time.perf_counter()
    resp = adapter.send(prep, stream=False, timeout=timeout, **settings)
    resp.elapsed = timedelta(seconds=time.perf_counter() - began)
    if 'set-cookie' in resp.headers:
        extract_cookies_to_jar(http.cookies, prep, resp.raw)
    if resp.is_redirect:
        # As Session.send does when redirects are not followed: Response.next.
        resp._next = next(http.resolve_redirects(  # type: ignore[assignment]
            resp, prep, yield_requests=True, stream=False, timeout=timeout, **settings),
            None)
    resp.content  # noqa: B018 (read the body, as a non-streamed call does)
    return resp

"""One API client for every plugin: full-endpoint calls, retries, paging, fan-out."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json as jsonlib
import logging
import random
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, TypeVar

import requests
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session

from vitrage_ds.errors import (APIError, BackendError, ConnectionFailed,
                               MalformedResponse, PageLoopError, RequestTimeout)

__all__ = ['Client', 'RetryPolicy']

LOG = logging.getLogger(__name__)

T = TypeVar('T')
R = TypeVar('R')

_IDEMPOTENT = frozenset({'GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'})


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter.

    Retry ``n`` (from 0) sleeps a random time in ``[d/2, d]`` where
    ``d = min(backoff * 2**n, backoff_max)``.
    """

    retries: int = 3
    backoff: float = 0.5
    backoff_max: float = 30.0

    def delay(self, attempt: int) -> float:
        ceiling = min(self.backoff * (2 ** attempt), self.backoff_max)
        return random.uniform(ceiling / 2, ceiling)


def safe_url(url: str) -> str:
    """``url`` without user info, for messages and logs."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ''
    if parts.port:
        host = f'{host}:{parts.port}'
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, parts.query, ''))


def _detail(resp: requests.Response) -> str:
    """The service's own error message from an error body, shortened."""
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip()[:300]
    if isinstance(body, dict):
        # Heat: {"error": {"message": ...}}; Aodh: {"error_message": {"faultstring": ...}}
        for key in ('error', 'error_message'):
            inner = body.get(key)
            if isinstance(inner, dict):
                for field in ('message', 'faultstring', 'explanation'):
                    if inner.get(field):
                        return str(inner[field])[:300]
            elif isinstance(inner, str):
                return inner[:300]
        for key in ('faultstring', 'message', 'explanation', 'title'):
            if body.get(key):
                return str(body[key])[:300]
    return str(body)[:300]


class Client:
    """Calls one service's API with a keystoneauth session.

    Every call goes to the full endpoint URL, so keystoneauth never does a
    version discovery request. A 401 re-authenticates once (keystoneauth).
    Idempotent calls are retried on connection errors, timeouts, malformed
    bodies, 429 and 5xx following the :class:`RetryPolicy`; everything else
    raises at once. Errors are :class:`~vitrage_ds.errors.BackendError`
    subclasses whose messages name the call and carry no credential.

    Thread-safe: fan-out calls share the client.

    :param session: the keystoneauth session (auth, TLS, user agent).
    :param endpoint: the versioned service endpoint, or a callable that
        returns it (resolved once, on first use, so constructing a client
        makes no request).
    :param timeout: seconds for each single call.
    :param headers: sent with every call.
    :param max_concurrency: most calls :meth:`fan_out` keeps in flight.
    :param sleep: waits between retries (tests pass a recorder).
    """

    def __init__(self, session: ks_session.Session,
                 endpoint: str | Callable[[], str], *,
                 timeout: float = 30.0,
                 retry: RetryPolicy = RetryPolicy(),
                 headers: Mapping[str, str] | None = None,
                 max_concurrency: int = 10,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.session = session
        self._endpoint = endpoint
        self._endpoint_lock = threading.Lock()
        self.timeout = timeout
        self.retry = retry
        self.headers = dict(headers or {})
        self.max_concurrency = max_concurrency
        self._sleep = sleep
        _size_pool(session, max_concurrency)

    # -- endpoint --------------------------------------------------------

    @property
    def endpoint(self) -> str:
        """The service endpoint, without a trailing slash.

        :raises BackendError: the catalog has no such endpoint.
        """
        if callable(self._endpoint):
            with self._endpoint_lock:
                if callable(self._endpoint):
                    try:
                        resolved = self._endpoint()
                    except ks_exc.ClientException as exc:
                        raise BackendError(
                            f'no endpoint: {type(exc).__name__}: {exc}') from exc
                    if not resolved:
                        raise BackendError('the service catalog has no such endpoint')
                    self._endpoint = resolved
        assert isinstance(self._endpoint, str)
        return self._endpoint.rstrip('/')

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` (an absolute URL is returned as is)."""
        if path.startswith(('http://', 'https://')):
            return path
        return f'{self.endpoint}/{path.lstrip("/")}'

    # -- calls -----------------------------------------------------------

    def request(self, method: str, path: str, *,
                params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
                json: Any = None,
                headers: Mapping[str, str] | None = None,
                retry: bool | None = None) -> requests.Response:
        """Make one call, retrying per policy; return the 2xx/3xx response.

        :param retry: whether to retry; by default, for idempotent methods.
        :raises APIError: a 4xx, or a 5xx/429 after the retries.
        :raises ConnectionFailed: the service was unreachable after retries.
        :raises RequestTimeout: every attempt timed out.
        """
        method = method.upper()
        url = self.url(path)
        shown = safe_url(url)
        if params:
            shown_query = urllib.parse.urlencode(list(
                params.items() if isinstance(params, Mapping) else params))
            shown = f'{shown}?{shown_query}'
        retry = method in _IDEMPOTENT if retry is None else retry
        attempts = (self.retry.retries if retry else 0) + 1
        all_headers = {**self.headers, **(headers or {})}
        for attempt in range(attempts):
            try:
                resp = self._send(method, url, shown, params, json, all_headers)
            except (ConnectionFailed, RequestTimeout) as exc:
                if attempt + 1 >= attempts:
                    raise
                self._backoff(attempt, str(exc))
                continue
            if resp.status_code < 400:
                return resp
            error = APIError(method, shown, resp.status_code, _detail(resp))
            if not error.transient or attempt + 1 >= attempts:
                raise error
            retry_after = _retry_after(resp)
            self._backoff(attempt, str(error), retry_after)
        raise AssertionError('unreachable')  # pragma: no cover

    def _send(self, method: str, url: str, shown: str, params: Any, json: Any,
              headers: Mapping[str, str]) -> requests.Response:
        try:
            return self.session.request(
                url, method, params=params, json=json, headers=dict(headers),
                raise_exc=False, timeout=self.timeout, redirect=False,
                connect_retries=0)
        except (ks_exc.ConnectTimeout, ks_exc.RequestTimeout,
                requests.Timeout) as exc:
            raise RequestTimeout(method, shown, self.timeout) from exc
        except ks_exc.http.Unauthorized as exc:  # token request refused
            raise APIError(method, shown, 401, 'authentication failed') from exc
        except ks_exc.http.HttpError as exc:
            raise APIError(method, shown, exc.http_status or 0,
                           f'authentication: {type(exc).__name__}') from exc
        except (ks_exc.ConnectionError, requests.RequestException) as exc:
            raise ConnectionFailed(method, shown, type(exc).__name__) from exc
        except ks_exc.ClientException as exc:
            raise BackendError(f'{method} {shown} failed: {type(exc).__name__}') from exc

    def _backoff(self, attempt: int, reason: str, at_least: float = 0.0) -> None:
        delay = max(self.retry.delay(attempt), at_least)
        LOG.warning('%s; retry %d/%d in %.2f s', reason, attempt + 1,
                    self.retry.retries, delay)
        self._sleep(delay)

    def request_json(self, method: str, path: str, **kwargs: Any) -> Any:
        """:meth:`request` and decode the JSON body (``None`` when empty).

        A body that does not decode counts as a failed attempt and is
        retried like a connection error for idempotent calls.

        :raises MalformedResponse: the body never decoded.
        """
        method = method.upper()
        retry = kwargs.pop('retry', None)
        retry = method in _IDEMPOTENT if retry is None else retry
        attempts = (self.retry.retries if retry else 0) + 1
        for attempt in range(attempts):
            resp = self.request(method, path, retry=retry, **kwargs)
            if not resp.content:
                return None
            try:
                return resp.json()
            except (ValueError, requests.RequestException) as exc:
                error = MalformedResponse(method, safe_url(resp.url or self.url(path)),
                                          f'{type(exc).__name__}: {exc}'[:200])
                if attempt + 1 >= attempts:
                    raise error from exc
                self._backoff(attempt, str(error))
        raise AssertionError('unreachable')  # pragma: no cover

    def get(self, path: str, params: Any = None, **kwargs: Any) -> Any:
        """GET ``path`` and return the decoded JSON body."""
        return self.request_json('GET', path, params=params, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        """POST ``json`` (not retried: POST is not idempotent)."""
        return self.request_json('POST', path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        """PUT ``json`` and return the decoded body."""
        return self.request_json('PUT', path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        """DELETE ``path``."""
        return self.request_json('DELETE', path, **kwargs)

    # -- paging ----------------------------------------------------------

    def paginate_links(self, path: str, key: str,
                       params: Mapping[str, Any] | None = None,
                       id_key: str = 'id') -> Iterator[dict[str, Any]]:
        """Yield the items of a listing that pages with ``links`` rel=next (Heat).

        Follows each page's ``rel=next`` link until a page has none.

        :param key: the body key holding the list (``stacks``).
        :raises PageLoopError: a page repeats (same next link or same items).
        :raises MalformedResponse: a page has no list under ``key``.
        """
        url: str = path
        query: Mapping[str, Any] | None = params
        seen_links: set[str] = set()
        seen_ids: set[Any] = set()
        while True:
            body = self.get(url, params=query)
            items = _items(body, key, 'GET', self.url(url))
            fresh = 0
            for item in items:
                item_id = item.get(id_key) if isinstance(item, dict) else None
                if item_id is not None:
                    if item_id in seen_ids:
                        continue
                    seen_ids.add(item_id)
                fresh += 1
                yield item
            next_link = _next_link(body)
            if not next_link:
                return
            if next_link in seen_links or (items and not fresh):
                raise PageLoopError(safe_url(self.url(path)), next_link)
            seen_links.add(next_link)
            url, query = next_link, None

    def paginate_marker(self, path: str, id_key: str,
                        params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
                        limit: int = 1000, key: str | None = None) -> Iterator[dict[str, Any]]:
        """Yield the items of a listing that pages by ``limit``/``marker`` (Aodh).

        Asks for ``limit`` items at a time, passing the last item's
        ``id_key`` as the next ``marker``, until a page comes back shorter
        than ``limit``.

        :param key: the body key holding the list, or ``None`` when the body
            is the list itself.
        :raises PageLoopError: a page starts with an item already seen.
        """
        base = list(params.items() if isinstance(params, Mapping) else (params or []))
        marker: str | None = None
        seen: set[Any] = set()
        while True:
            query = [*base, ('limit', limit)]
            if marker is not None:
                query.append(('marker', marker))
            body = self.get(path, params=query)
            items = _items(body, key, 'GET', self.url(path))
            for item in items:
                if not isinstance(item, dict) or item.get(id_key) is None:
                    raise MalformedResponse('GET', safe_url(self.url(path)),
                                            f'an item has no {id_key!r}')
                if item[id_key] in seen:
                    raise PageLoopError(safe_url(self.url(path)), str(marker))
                seen.add(item[id_key])
                yield item
            if len(items) < limit:
                return
            marker = items[-1][id_key]

    # -- fan-out ---------------------------------------------------------

    def fan_out(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """Run ``fn`` on every item, at most :attr:`max_concurrency` at once.

        :returns: the results in the order of ``items``.
        :raises: the first exception any call raised; calls not yet started
            are cancelled and nothing partial is returned.
        """
        work = list(items)
        if not work:
            return []
        if self.max_concurrency <= 1 or len(work) == 1:
            return [fn(item) for item in work]
        with concurrent.futures.ThreadPoolExecutor(
                max_workers=min(self.max_concurrency, len(work)),
                thread_name_prefix='vitrage_ds-fanout') as pool:
            futures = [pool.submit(fn, item) for item in work]
            concurrent.futures.wait(futures, return_when=concurrent.futures.FIRST_EXCEPTION)
            for future in futures:
                if future.done() and future.exception() is not None:
                    for other in futures:
                        other.cancel()
                    raise future.exception()  # type: ignore[misc]
            return [f.result() for f in futures]


def _items(body: Any, key: str | None, method: str, url: str) -> list[Any]:
    items = body if key is None else (body.get(key) if isinstance(body, dict) else None)
    if not isinstance(items, list):
        raise MalformedResponse(method, safe_url(url),
                                f'expected a list under {key!r}' if key else 'expected a list')
    return items


def _next_link(body: Any) -> str | None:
    links = body.get('links') if isinstance(body, dict) else None
    if not isinstance(links, list):
        return None
    for link in links:
        if isinstance(link, dict) and link.get('rel') == 'next' and link.get('href'):
            return str(link['href'])
    return None


def _retry_after(resp: requests.Response) -> float:
    value = resp.headers.get('Retry-After', '')
    try:
        return min(float(value), 60.0)
    except ValueError:
        return 0.0


def _size_pool(session: ks_session.Session, size: int) -> None:
    """Let the underlying requests session keep ``size`` connections per host."""
    http = getattr(session, 'session', None)
    if not isinstance(http, requests.Session):
        return
    for prefix in ('http://', 'https://'):
        adapter = http.get_adapter(prefix)
        if getattr(adapter, '_pool_maxsize', 0) < size:
            new = type(adapter)(pool_connections=10, pool_maxsize=size)  # type: ignore[call-arg]
            http.mount(prefix, new)


def dumps(value: Any) -> str:
    """Compact JSON, for logs."""
    return jsonlib.dumps(value, separators=(',', ':'), default=str)

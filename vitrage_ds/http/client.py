"""One API client for every plugin: full-endpoint calls, retries, paging, fan-out."""

from __future__ import annotations

import contextlib
import dataclasses
import email.utils
import itertools
import json as jsonlib
import logging
import random
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence, Sized
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
_SAFE = frozenset({'GET', 'HEAD', 'OPTIONS'})


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with jitter.

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
    """``url`` without user info, query string or fragment, for messages and logs."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ''
    if parts.port:
        host = f'{host}:{parts.port}'
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, '', ''))


class _TLSFailed(ConnectionFailed):
    """A TLS handshake or certificate failure: retrying cannot fix it."""


def _detail(resp: requests.Response) -> str:
    """The service's own error message from an error body, shortened, with
    the request's token (should a service echo it) masked."""
    detail = _service_message(resp)
    token = resp.request.headers.get('X-Auth-Token') if resp.request is not None else None
    if isinstance(token, str) and token:
        detail = detail.replace(token, '***')
    return detail


def _service_message(resp: requests.Response) -> str:
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
    Idempotent calls (GET, HEAD, OPTIONS, PUT, DELETE) are retried on
    connection errors (not TLS failures), timeouts, malformed bodies, 429
    (honouring ``Retry-After``) and 5xx following the :class:`RetryPolicy`,
    within one budget of ``retries`` per call; everything else raises at
    once. Errors are :class:`~vitrage_ds.errors.BackendError` subclasses
    whose messages name the method and URL (no query string) and carry no
    credential.

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
        # One more than the fan-out's calls: a listing's prefetched page.
        _size_pool(session, max_concurrency + 1)

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
        """Make one call, retrying per policy; return the 2xx or 3xx response.

        Redirects are not followed: a 3xx comes back as it is.

        :param retry: whether to retry; by default, for idempotent methods.
        :raises APIError: a 4xx, or a 5xx/429 after the retries.
        :raises ConnectionFailed: the service was unreachable after retries.
        :raises RequestTimeout: every attempt timed out.
        """
        return self._call(method, path, params=params, json=json, headers=headers,
                          retry=retry, decode=False)

    def request_json(self, method: str, path: str, *,
                     params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
                     json: Any = None,
                     headers: Mapping[str, str] | None = None,
                     retry: bool | None = None) -> Any:
        """Make one call and return its decoded JSON body (``None`` when empty).

        A body that does not decode counts as a failed attempt, retried like
        a connection error for reads (one retry budget for both). A write
        that answered 2xx is never sent again: a non-JSON body (such as
        Heat's ``202`` text) gives ``None``, a broken JSON body raises.

        :raises APIError: as :meth:`request`, and for a 3xx (the path
            redirects: call the target instead).
        :raises MalformedResponse: the body never decoded.
        """
        return self._call(method, path, params=params, json=json, headers=headers,
                          retry=retry, decode=True)

    def _call(self, method: str, path: str, *, params: Any, json: Any,
              headers: Mapping[str, str] | None, retry: bool | None,
              decode: bool) -> Any:
        method = method.upper()
        url = self.url(path)
        retry = method in _IDEMPOTENT if retry is None else retry
        attempts = (self.retry.retries if retry else 0) + 1
        all_headers = {**self.headers, **(headers or {})}
        error: BackendError
        for attempt in range(attempts):
            retry_after = 0.0
            try:
                resp = self._send(method, url, params, json, all_headers)
            except _TLSFailed:
                raise
            except (ConnectionFailed, RequestTimeout) as exc:
                error = exc
            else:
                if resp.status_code >= 400:
                    error = APIError(method, safe_url(url), resp.status_code, _detail(resp))
                    if not error.transient:
                        raise error
                    retry_after = _retry_after(resp)
                elif not decode:
                    return resp
                elif resp.status_code >= 300:
                    location = safe_url(resp.headers.get('Location', ''))
                    raise APIError(method, safe_url(url), resp.status_code,
                                   f'redirected to {location or "(no Location)"}')
                elif not resp.content:
                    return None
                else:
                    try:
                        return resp.json()
                    except (ValueError, requests.RequestException) as exc:
                        error = MalformedResponse(method, safe_url(url),
                                                  f'{type(exc).__name__}: {exc}'[:200])
                        error.__cause__ = exc
                        if method not in _SAFE:
                            # The write succeeded: never send it again. A
                            # body that is not meant to be JSON (Heat's 202
                            # text) is no error at all.
                            if 'json' not in resp.headers.get('Content-Type', ''):
                                return None
                            raise error from exc
            if attempt + 1 >= attempts:
                raise error
            self._backoff(attempt, str(error), retry_after)
        raise AssertionError('unreachable')  # pragma: no cover

    def _send(self, method: str, url: str, params: Any, json: Any,
              headers: Mapping[str, str]) -> requests.Response:
        try:
            return self.session.request(
                url, method, params=params, json=json, headers=dict(headers),
                raise_exc=False, timeout=self.timeout, redirect=False,
                connect_retries=0)
        except (ks_exc.ConnectTimeout, ks_exc.RequestTimeout,
                requests.Timeout) as exc:
            raise RequestTimeout(method, safe_url(url), self.timeout) from exc
        except ks_exc.SSLError as exc:
            raise _TLSFailed(method, safe_url(url), f'TLS: {_why(exc)}') from exc
        except ks_exc.http.Unauthorized as exc:  # token request refused
            raise APIError(method, safe_url(url), 401, 'authentication failed') from exc
        except ks_exc.http.HttpError as exc:
            raise APIError(method, safe_url(url), exc.http_status or 0,
                           f'authentication: {type(exc).__name__}') from exc
        except (ks_exc.ConnectionError, requests.RequestException) as exc:
            raise ConnectionFailed(method, safe_url(url), _why(exc)) from exc
        except ks_exc.ClientException as exc:
            raise BackendError(f'{method} {safe_url(url)} failed: {type(exc).__name__}') from exc

    def _backoff(self, attempt: int, reason: str, at_least: float = 0.0) -> None:
        delay = max(self.retry.delay(attempt), at_least)
        LOG.warning('%s; retry %d/%d in %.2f s', reason, attempt + 1,
                    self.retry.retries, delay)
        self._sleep(delay)

    def get(self, path: str, params: Any = None, **kwargs: Any) -> Any:
        """GET ``path`` and return the decoded JSON body (see :meth:`request_json`)."""
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
                       id_key: str = 'id', prefetch: bool = False
                       ) -> Generator[dict[str, Any], None, None]:
        """Yield the items of a listing that pages with ``links`` rel=next (Heat).

        Follows each page's ``rel=next`` link until a page has none. Only the
        link's query string is used, on this client's own ``path``: behind a
        proxy a service may link an address that is not reachable (or not
        the one trusted with the token). An item seen on an earlier page (the
        listing changed while paging) is yielded once. Each page is checked
        whole before any of its items is yielded.

        :param key: the body key holding the list (``stacks``).
        :param prefetch: ask for the next page (on a thread of its own) as
            soon as a page has been checked, while the caller works on its
            items, as :meth:`paginate_marker` does: the same calls, and a
            caller that stops early waits for the page in flight.
        :raises PageLoopError: a page repeats (same next query or only items
            already seen); items already yielded are not a full listing.
        :raises MalformedResponse: a page has no list under ``key``.
        """
        query: Any = params
        seen_queries: set[tuple[tuple[str, str], ...]] = set()
        seen_ids: set[Any] = set()
        ahead: _Background | None = None
        try:
            body = self.get(path, params=query)
            while True:
                items = _items(body, key, 'GET', self.url(path))
                fresh = []
                for item in items:
                    item_id = item.get(id_key) if isinstance(item, dict) else None
                    if item_id is not None:
                        if not isinstance(item_id, (str, int)):
                            raise MalformedResponse('GET', safe_url(self.url(path)),
                                                    f'an item has an unusable {id_key!r}')
                        if item_id in seen_ids:
                            continue
                        seen_ids.add(item_id)
                    fresh.append(item)
                next_link = _next_link(body)
                loop: PageLoopError | None = None
                if next_link:
                    next_query = urllib.parse.urlsplit(next_link).query
                    query = urllib.parse.parse_qsl(next_query, keep_blank_values=True)
                    canonical = tuple(sorted(query))
                    if canonical in seen_queries or (items and not fresh):
                        loop = PageLoopError(safe_url(self.url(path)), next_query)
                    else:
                        seen_queries.add(canonical)
                        if prefetch:
                            ahead = _Background(self.get, path, query)
                yield from fresh
                if loop is not None:
                    raise loop
                if not next_link:
                    return
                if ahead is not None:
                    body, ahead = ahead.result(), None
                else:
                    body = self.get(path, params=query)
        finally:
            if ahead is not None:
                ahead.wait()

    def paginate_marker(self, path: str, id_key: str,
                        params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
                        limit: int = 1000, key: str | None = None,
                        short_page_ends: bool = False,
                        prefetch: bool = False,
                        marker: str | None = None,
                        retry_first: bool = True,
                        first_limit: int | None = None
                        ) -> Generator[dict[str, Any], None, None]:
        """Yield the items of a listing that pages by ``limit``/``marker`` (Aodh).

        Asks for ``limit`` items at a time, passing the last item's
        ``id_key`` as the next ``marker``, until a page comes back empty.
        A short page does not end the listing: a service (or a proxy) that
        caps ``limit`` below what was asked would otherwise cut it short,
        and a shorter listing reads as deletions. That costs one request.
        Each page is checked whole before any of its items is yielded.

        :param short_page_ends: end on a page shorter than ``limit``; only
            for small filtered lookups (e.g. by name) that a service cap
            cannot cut short, to save that request.
        :param prefetch: ask for the next page (on a thread of its own) as
            soon as a page has been checked, while the caller works on its
            items, so the service's time and the caller's overlap. The calls
            made are the same; if the caller stops early, the request in
            flight is waited for (and its answer dropped) before the
            generator closes, so nothing runs on afterwards.
        :param key: the body key holding the list, or ``None`` when the body
            is the list itself.
        :param marker: start after this item instead of at the beginning.
        :param retry_first: retry the first page per the policy; with
            ``False`` its failure raises at once.
        :param first_limit: ask for this many items in the first page only.
        :raises PageLoopError: a page starts with an item already seen.
        """
        base = list(params.items() if isinstance(params, Mapping) else (params or []))
        seen: set[Any] = set()

        def fetch(after: str | None, retry: bool | None = None, size: int = limit) -> Any:
            query = [*base, ('limit', size)]
            if after is not None:
                query.append(('marker', after))
            return self.get(path, params=query, retry=retry)

        ahead: _Background | None = None
        asked = first_limit or limit
        try:
            body = fetch(marker, None if retry_first else False, asked)
            while True:
                items = _items(body, key, 'GET', self.url(path))
                for item in items:
                    if not isinstance(item, dict) or not isinstance(item.get(id_key),
                                                                    (str, int)):
                        raise MalformedResponse('GET', safe_url(self.url(path)),
                                                f'an item has no usable {id_key!r}')
                    if item[id_key] in seen:
                        raise PageLoopError(safe_url(self.url(path)), str(marker))
                    seen.add(item[id_key])
                more = bool(items) and not (short_page_ends and len(items) < asked)
                asked = limit
                if more:
                    marker = items[-1][id_key]
                    if prefetch:
                        ahead = _Background(fetch, marker)
                yield from items
                if not more:
                    return
                if ahead is not None:
                    body, ahead = ahead.result(), None
                else:
                    body = fetch(marker)
        finally:
            if ahead is not None:
                ahead.wait()

    def read_marker_ranges(self, path: str, id_key: str, starts: Sequence[str],
                           transform: Callable[[dict[str, Any]], T], *,
                           params: Mapping[str, Any] | Iterable[tuple[str, Any]] | None = None,
                           limit: int = 1000) -> list[T]:
        """A whole ``limit``/``marker`` listing, read as several ranges at once.

        ``starts`` are ids the listing is expected to hold, in its order
        (every few hundred ids of the previous listing, say). Range 0 is read
        from the beginning and range ``j`` from the marker ``starts[j-1]``,
        each by :meth:`paginate_marker` until it reaches the start of a later
        range (kept) or the end of the listing. The first item is asked for
        alone (``limit=1``), so that a refused token, role or service fails
        once; then :meth:`fan_out` reads up to :attr:`max_concurrency` ranges at once,
        and ``transform`` runs on each item on the thread that read it, while
        other ranges wait for the service.

        Nothing is missed whatever ``starts`` hold: a range that never meets
        a later start reads on to the end (items read twice are kept once),
        and when the first page of a range fails (a start that is gone: Aodh
        answers 500 ``Marker ... not found``), it is not retried and the
        listing is read again, in one go, from the beginning. Without
        ``starts`` it is read in one go at once.

        :returns: ``transform(item)`` of every item once, range by range (the
            listing's order when ``starts`` follow it).
        :raises: as :meth:`paginate_marker`, or what ``transform`` raised;
            nothing partial is returned.
        """
        query = list(params.items() if isinstance(params, Mapping) else (params or []))

        def in_one_go() -> list[T]:
            return [transform(item) for item in self.paginate_marker(
                path, id_key, query, limit, prefetch=True)]

        if not starts:
            return in_one_go()
        origins: list[str | None] = [None, *starts]
        begins = {start: j for j, start in enumerate(origins) if start is not None}

        def read(j: int, items: Iterator[dict[str, Any]]) -> tuple[list[Any], list[T], bool]:
            """Range ``j``: its ids, their values, and whether it ended where
            the next range starts (or, the last one, at the end)."""
            ids: list[Any] = []
            values: list[T] = []
            ended = len(origins)  # the end, unless a later range's start comes first
            try:
                for item in items:
                    item_id = item[id_key]
                    ids.append(item_id)
                    values.append(transform(item))
                    later = begins.get(item_id, 0)
                    if later > j:  # a later range reads on from here
                        ended = later
                        break
            except BackendError as exc:
                if j == 0 or ids:
                    raise
                raise _RangeStartFailed(str(exc)) from exc
            return ids, values, ended == j + 1

        with contextlib.closing(self.paginate_marker(path, id_key, query, limit,
                                                     first_limit=1)) as head:
            # One item alone, first: a refused token, role or service fails
            # once, and a token renewed here serves every range.
            first = next(head, None)
            if first is None:
                return []  # the listing is empty from its beginning on

            def read_range(j: int) -> tuple[list[Any], list[T], bool]:
                if j == 0:
                    return read(0, itertools.chain((first,), head))
                with contextlib.closing(self.paginate_marker(
                        path, id_key, query, limit, marker=origins[j],
                        retry_first=False)) as items:
                    return read(j, items)

            try:
                ranges = self.fan_out(read_range, range(len(origins)))
            except _RangeStartFailed as exc:
                LOG.info('%s: a range could not start (%s); reading the listing in one go',
                         safe_url(self.url(path)), exc)
                return in_one_go()
        if all(adjoins for _, _, adjoins in ranges):  # no item was read twice
            return [value for _, values, _ in ranges for value in values]
        seen: set[Any] = set()
        result: list[T] = []
        for ids, values, _ in ranges:
            for item_id, value in zip(ids, values):
                if item_id not in seen:
                    seen.add(item_id)
                    result.append(value)
        return result

    # -- fan-out ---------------------------------------------------------

    def fan_out(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """Run ``fn`` on every item, at most :attr:`max_concurrency` at once.

        ``items`` is read lazily, one item whenever a call can start (never
        by two threads at once), so calls start while a generator is still
        producing items, e.g. while a listing is still paging. Calls start
        in the order of ``items``. Once a call, or reading ``items``, has
        raised, no further call starts; the calls in flight are let finish
        (each is bounded by the client's timeout and retries) before the
        error is raised, so nothing runs on after this method returned.

        :returns: the results in the order of ``items``.
        :raises: the first exception a call or ``items`` raised; nothing
            partial is returned.
        """
        source = iter(items)
        width = self.max_concurrency
        if isinstance(items, Sized):
            width = min(width, len(items))
        if width <= 1:
            return [fn(item) for item in source]
        # ``width`` threads each take the next item until none is left or a
        # call failed: no future or wait per item, which cost as much CPU as
        # the calls' own bookkeeping when thousands of short calls fan out.
        results: list[Any] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def worker() -> None:
            while True:
                with lock:
                    if errors:
                        return
                    try:
                        item = next(source)
                    except StopIteration:
                        return
                    except BaseException as exc:
                        errors.append(exc)
                        return
                    index = len(results)
                    results.append(None)
                try:
                    results[index] = fn(item)
                except BaseException as exc:
                    with lock:
                        errors.append(exc)
                    return

        threads = [threading.Thread(target=worker, name=f'vitrage_ds-fanout-{n}')
                   for n in range(width)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        return results


class _RangeStartFailed(Exception):
    """The first page of a range (not the first range) failed."""


class _Background:
    """One call on a thread of its own; :meth:`result` waits for it."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn, args),
                                        name='vitrage_ds-prefetch', daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            self._value = fn(*args)
        except BaseException as exc:  # handed to whoever asks for the result
            self._error = exc

    def wait(self) -> None:
        """Block until the call is over, whatever it gave."""
        self._thread.join()

    def result(self) -> Any:
        """The call's value, or raise its exception."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value


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
    """Seconds the service asked to wait (delta or HTTP date), at most 60."""
    value = resp.headers.get('Retry-After', '').strip()
    if not value:
        return 0.0
    try:
        return max(0.0, min(float(value), 60.0))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    return max(0.0, min(when.timestamp() - time.time(), 60.0))


_ERRNO = re.compile(r'\[Errno -?\d+\][^"\')\]]*')


def _why(exc: BaseException) -> str:
    """A short reason for a connection failure, without the URL it names."""
    found = _ERRNO.search(str(exc))
    if found:
        return f'{type(exc).__name__}: {found.group(0).strip()}'
    return type(exc).__name__


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

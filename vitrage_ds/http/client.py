"""One API client for every plugin: full-endpoint calls and retries.

Listings that take several calls are read by :mod:`vitrage_ds.http.paging`
and bounded fan-out is :mod:`vitrage_ds.http.fanout`; :class:`Client` offers
both as methods.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import random
import threading
import time
from collections.abc import Callable, Generator, Iterable, Mapping
from typing import Any, TypeVar

import requests
from keystoneauth1 import exceptions as ks_exc
from keystoneauth1 import session as ks_session

from vitrage_ds.errors import (APIError, BackendError, ConnectionFailed,
                               MalformedResponse, RequestTimeout)
from vitrage_ds.http import failures, fanout, paging
from vitrage_ds.http.failures import TLSFailed, detail, safe_url, why

__all__ = ['Client', 'RetryPolicy', 'safe_url']

LOG = logging.getLogger(__name__)

T = TypeVar('T')
R = TypeVar('R')

_IDEMPOTENT = frozenset({'GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE'})
_SAFE = frozenset({'GET', 'HEAD', 'OPTIONS'})
_CONNECT = 'connect'
_STATUS = 'status'


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How often a call is retried, and capped exponential backoff with jitter.

    Two kinds of failure are retried: *connect* (a connection error, a
    timeout) and *status* (a 429, a 5xx, a malformed body). ``retries`` is
    one budget shared by every kind that has no count of its own;
    ``connect_retries`` or ``status_code_retries`` (keystoneauth's adapter
    option names), when not ``None``, give that kind its own budget
    instead, which its failures alone spend. With neither, a call is tried
    at most ``retries + 1`` times.

    Retry ``n`` (from 0, whatever its kind) sleeps a random time in
    ``[d/2, d]`` where ``d = min(backoff * 2**n, backoff_max)``.
    """

    retries: int = 3
    backoff: float = 0.5
    backoff_max: float = 30.0
    connect_retries: int | None = None
    status_code_retries: int | None = None

    def budget(self, kind: str) -> int | None:
        """The own budget of ``kind`` (``connect`` or ``status``), or
        ``None`` when it shares ``retries``."""
        return self.connect_retries if kind == _CONNECT else self.status_code_retries

    def allows(self, kind: str, spent: Mapping[str, int]) -> bool:
        """Whether one more retry after a failure of ``kind`` is allowed,
        ``spent`` being the retries made so far by kind."""
        own = self.budget(kind)
        if own is not None:
            return spent.get(kind, 0) < own
        shared = sum(n for k, n in spent.items() if self.budget(k) is None)
        return shared < self.retries

    def delay(self, attempt: int) -> float:
        ceiling = min(self.backoff * (2 ** attempt), self.backoff_max)
        return random.uniform(ceiling / 2, ceiling)


class Client:
    """Calls one service's API with a keystoneauth session.

    Every call goes to the full endpoint URL, so keystoneauth never does a
    version discovery request. A 401 re-authenticates once (keystoneauth).
    Idempotent calls (GET, HEAD, OPTIONS, PUT, DELETE) are retried on
    connection errors (not TLS failures), timeouts, malformed bodies, 429
    (honouring ``Retry-After``) and 5xx following the :class:`RetryPolicy`,
    within its budgets per call; everything else raises at
    once. Errors are :class:`~vitrage_ds.errors.BackendError` subclasses
    whose messages name the method and URL (no query string) and carry no
    credential.

    Thread-safe: fan-out calls share the client. The client never changes
    its session (a host's session is used as the host built it).

    :param session: the keystoneauth session (auth, TLS, user agent,
        connection pool).
    :param endpoint: the versioned service endpoint, or a callable that
        returns it (resolved once, on first use, so constructing a client
        makes no request).
    :param timeout: seconds for each single call.
    :param headers: sent with every call.
    :param max_parallel_calls: most calls :meth:`fan_out` keeps in flight.
    :param max_concurrency: deprecated name of ``max_parallel_calls``.
    :param sleep: waits between retries (tests pass a recorder).
    """

    def __init__(self, session: ks_session.Session,
                 endpoint: str | Callable[[], str], *,
                 timeout: float = 30.0,
                 retry: RetryPolicy = RetryPolicy(),
                 headers: Mapping[str, str] | None = None,
                 max_parallel_calls: int = 10,
                 max_concurrency: int | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.session = session
        self._endpoint = endpoint
        self._endpoint_lock = threading.Lock()
        self.timeout = timeout
        self.retry = retry
        self.headers = dict(headers or {})
        self.max_parallel_calls = max_concurrency or max_parallel_calls
        self._sleep = sleep

    @property
    def max_concurrency(self) -> int:
        """Deprecated name of :attr:`max_parallel_calls`."""
        return self.max_parallel_calls

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
                params: paging.Params | None = None,
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
                     params: paging.Params | None = None,
                     json: Any = None,
                     headers: Mapping[str, str] | None = None,
                     retry: bool | None = None) -> Any:
        """Make one call and return its decoded JSON body (``None`` when empty).

        A body that does not decode counts as a failed attempt, retried for
        reads like a 5xx (the status budget of the :class:`RetryPolicy`). A write
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
        all_headers = {**self.headers, **(headers or {})}
        error: BackendError
        spent: dict[str, int] = {}
        attempt = 0
        while True:
            retry_after = 0.0
            kind = _STATUS
            try:
                resp = self._send(method, url, params, json, all_headers)
            except TLSFailed:
                raise
            except (ConnectionFailed, RequestTimeout) as exc:
                error = exc
                kind = _CONNECT
            else:
                if resp.status_code >= 400:
                    error = APIError(method, url, resp.status_code, detail(resp))
                    if not error.transient:
                        raise error
                    retry_after = failures.retry_after(resp)
                elif not decode:
                    return resp
                elif resp.status_code >= 300:
                    location = safe_url(resp.headers.get('Location', ''))
                    raise APIError(method, url, resp.status_code,
                                   f'redirected to {location or "(no Location)"}')
                elif not resp.content:
                    return None
                else:
                    try:
                        return resp.json()
                    except (ValueError, requests.RequestException) as exc:
                        error = MalformedResponse(method, url,
                                                  f'{type(exc).__name__}: {exc}'[:200])
                        error.__cause__ = exc
                        if method not in _SAFE:
                            # The write succeeded: never send it again. A
                            # body that is not meant to be JSON (Heat's 202
                            # text) is no error at all.
                            if 'json' not in resp.headers.get('Content-Type', ''):
                                return None
                            raise error from exc
            if not retry or not self.retry.allows(kind, spent):
                raise error
            spent[kind] = spent.get(kind, 0) + 1
            self._backoff(attempt, str(error), retry_after, kind, spent)
            attempt += 1

    def _send(self, method: str, url: str, params: Any, json: Any,
              headers: Mapping[str, str]) -> requests.Response:
        try:
            return self.session.request(
                url, method, params=params, json=json, headers=dict(headers),
                raise_exc=False, timeout=self.timeout, redirect=False,
                connect_retries=0)
        except (ks_exc.ConnectTimeout, ks_exc.RequestTimeout,
                requests.Timeout) as exc:
            raise RequestTimeout(method, url, self.timeout) from exc
        except ks_exc.SSLError as exc:
            raise TLSFailed(method, url, f'TLS: {why(exc)}') from exc
        except ks_exc.http.Unauthorized as exc:  # token request refused
            raise APIError(method, url, 401, 'authentication failed') from exc
        except ks_exc.http.HttpError as exc:
            raise APIError(method, url, exc.http_status or 0,
                           f'authentication: {type(exc).__name__}') from exc
        except (ks_exc.ConnectionError, requests.RequestException) as exc:
            raise ConnectionFailed(method, url, why(exc)) from exc
        except ks_exc.ClientException as exc:
            raise BackendError(f'{method} {safe_url(url)} failed: {type(exc).__name__}') from exc

    def _backoff(self, attempt: int, reason: str, at_least: float, kind: str,
                 spent: Mapping[str, int]) -> None:
        delay = max(self.retry.delay(attempt), at_least)
        own = self.retry.budget(kind)
        if own is None:  # the shared budget: every kind without its own
            done = sum(n for k, n in spent.items() if self.retry.budget(k) is None)
        else:
            done = spent[kind]
        LOG.warning('%s; retry %d/%d in %.2f s', reason, done,
                    self.retry.retries if own is None else own, delay)
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

    # -- listings and fan-out ----------------------------------------------

    def paginate_links(self, path: str, key: str,
                       params: Mapping[str, Any] | None = None,
                       id_key: str = 'id', prefetch: bool = False
                       ) -> Generator[dict[str, Any], None, None]:
        """Yield the items of a listing that pages with ``links`` rel=next
        (Heat), page by page as :func:`vitrage_ds.http.paging.link_pages`
        reads them (an item repeated on a later page is yielded once).

        :param prefetch: ask for the next page while the caller works on the
            items of one (:func:`~vitrage_ds.http.paging.read_ahead`).
        :raises PageLoopError: a page repeats; items already yielded are
            not a full listing.
        :raises MalformedResponse: a page has no list under ``key``.
        """
        yield from _items(paging.link_pages(self, path, key, params, id_key), prefetch)

    def paginate_marker(self, path: str, id_key: str,
                        params: paging.Params | None = None,
                        limit: int = 1000, key: str | None = None, *,
                        prefetch: bool = False, marker: str | None = None
                        ) -> Generator[dict[str, Any], None, None]:
        """Yield the items of a listing that pages by ``limit``/``marker``
        (Aodh), page by page as :func:`vitrage_ds.http.paging.marker_pages`
        reads them: until a page comes back empty, whatever the length of
        the pages before, and once more from the start should an item a
        page ended with be deleted before the next page is asked for.

        :param key: the body key holding the list, or ``None`` when the body
            is the list itself.
        :param prefetch: ask for the next page while the caller works on the
            items of one (:func:`~vitrage_ds.http.paging.read_ahead`).
        :param marker: start after this item instead of at the beginning.
        :raises PageLoopError: a page holds an item already seen.
        """
        yield from _items(paging.marker_pages(self, path, id_key, params, limit, key, marker),
                          prefetch)

    def fan_out(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        """Run ``fn`` on every item, at most :attr:`max_parallel_calls` at
        once (see :func:`vitrage_ds.http.fanout.fan_out`; each call is
        bounded by the client's timeout and retries).

        :returns: the results in the order of ``items``.
        :raises: the first exception a call or ``items`` raised; nothing
            partial is returned.
        """
        return fanout.fan_out(fn, items, self.max_parallel_calls)


def _items(pages: Generator[list[T], None, None], prefetch: bool
           ) -> Generator[T, None, None]:
    """The items of ``pages``; closing this closes ``pages`` (and waits for
    a page read ahead) at once."""
    reader = paging.read_ahead(pages) if prefetch else pages
    with contextlib.closing(reader):
        for page in reader:
            yield from page

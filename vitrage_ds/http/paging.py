"""Listings that take several calls: pages by ``links`` (Heat) or by ``marker`` (Aodh).

A listing is read as a sequence of pages, each checked whole before any of
its items is handed on, and each asked for only when the previous one has
been taken; :func:`read_ahead` asks for the next page while the caller
works on the current one. The functions take any client with
``get(path, params=..., retry=...)`` and ``url(path)``, such as
:class:`vitrage_ds.http.Client`.
"""

from __future__ import annotations

import logging
import re
import threading
import urllib.parse
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping
from typing import Any, Protocol, TypeVar

from vitrage_ds.errors import APIError, BackendError, MalformedResponse, PageLoopError
from vitrage_ds.http.failures import safe_url

__all__ = ['Getter', 'Params', 'link_pages', 'marker_page', 'marker_pages',
           'marker_query', 'read_ahead', 'short_listing', 'vanished_marker']

LOG = logging.getLogger(__name__)

T = TypeVar('T')

_MARKER_NOT_FOUND = re.compile(r'\bmarker\b.*\bnot found\b', re.IGNORECASE | re.DOTALL)

#: Query parameters: a mapping, or pairs (a name may repeat).
Params = Mapping[str, Any] | Iterable[tuple[str, Any]]
Page = list[dict[str, Any]]


class Getter(Protocol):
    """What paging needs of a client."""

    def get(self, path: str, params: Any = None, **kwargs: Any) -> Any: ...

    def url(self, path: str) -> str: ...


def _items_of(body: Any, key: str | None, url: str) -> list[Any]:
    """The list under ``key`` of a decoded body (the body itself when ``key``
    is ``None``).

    :raises MalformedResponse: there is no list there.
    """
    items = body if key is None else (body.get(key) if isinstance(body, dict) else None)
    if not isinstance(items, list):
        raise MalformedResponse('GET', url,
                                f'expected a list under {key!r}' if key else 'expected a list')
    return items


# -- links (Heat) ----------------------------------------------------------

def link_pages(client: Getter, path: str, key: str, params: Mapping[str, Any] | None = None,
               id_key: str = 'id') -> Generator[list[Any], None, None]:
    """Each page of a listing that pages with ``links`` rel=next (Heat).

    Follows each page's ``rel=next`` link until a page has none. Only the
    link's query string is used, on ``path``: behind a proxy a service may
    link an address that is not reachable (or not the one trusted with the
    token). An item seen on an earlier page (the listing changed while
    paging) is left out of later pages.

    :param key: the body key holding the list (``stacks``).
    :raises PageLoopError: a page repeats (same next query, or only items
        already seen), once the page that links it has been taken; what
        was taken is not a full listing.
    :raises MalformedResponse: a page has no list under ``key``.
    """
    url = client.url(path)
    query: Any = params
    seen_queries: set[tuple[tuple[str, str], ...]] = set()
    seen_ids: set[Any] = set()
    while True:
        body = client.get(path, params=query)
        items = _items_of(body, key, url)
        fresh = []
        for item in items:
            item_id = item.get(id_key) if isinstance(item, dict) else None
            if item_id is not None:
                if not isinstance(item_id, (str, int)):
                    raise MalformedResponse('GET', url,
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
                loop = PageLoopError(url, next_query)
            seen_queries.add(canonical)
        yield fresh
        if loop is not None:
            raise loop
        if not next_link:
            return


def _next_link(body: Any) -> str | None:
    links = body.get('links') if isinstance(body, dict) else None
    if not isinstance(links, list):
        return None
    for link in links:
        if isinstance(link, dict) and link.get('rel') == 'next' and link.get('href'):
            return str(link['href'])
    return None


# -- limit/marker (Aodh) ---------------------------------------------------

def marker_query(params: Params | None, limit: int,
                 marker: str | None = None) -> list[tuple[str, Any]]:
    """``params`` followed by ``limit`` and, when given, ``marker``."""
    base = list(params.items() if isinstance(params, Mapping) else (params or []))
    query = [*base, ('limit', limit)]
    if marker is not None:
        query.append(('marker', marker))
    return query


def marker_page(client: Getter, path: str, id_key: str, query: Params,
                key: str | None = None, retry: bool | None = None) -> Page:
    """One page of a ``limit``/``marker`` listing, checked whole.

    :param query: the page's query, e.g. from :func:`marker_query`.
    :param retry: as :meth:`vitrage_ds.http.Client.request`.
    :raises MalformedResponse: the page is not a list of items with a
        string or integer ``id_key``.
    """
    items = _items_of(client.get(path, params=query, retry=retry), key, client.url(path))
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get(id_key), (str, int)):
            raise MalformedResponse('GET', client.url(path),
                                    f'an item has no usable {id_key!r}')
    return items


def vanished_marker(error: BaseException) -> bool:
    """Whether ``error`` is a service saying a page's marker is not found:
    the item was deleted since the page that ended with it was read.

    Aodh 23 answers 500 ``Marker <id> not found.`` (its storage's
    ``InvalidMarker`` escapes); any status with such a message counts.
    """
    return isinstance(error, APIError) and bool(_MARKER_NOT_FOUND.search(error.detail))


def marker_pages(client: Getter, path: str, id_key: str, params: Params | None = None,
                 limit: int = 1000, key: str | None = None,
                 marker: str | None = None) -> Generator[Page, None, None]:
    """Each page of a listing that pages by ``limit``/``marker`` (Aodh).

    Asks for ``limit`` items at a time, passing the last item's ``id_key``
    as the next ``marker``, until a page comes back empty (it is not
    yielded). A short page does not end the listing: a service (or a
    proxy) that caps ``limit`` below what was asked would otherwise cut it
    short, and a shorter listing reads as deletions. That costs one
    request; :func:`short_listing` saves it where no cap can apply.

    When the item a page ended with is deleted before the next page is
    asked for, the service no longer finds that marker
    (:func:`vanished_marker`). The listing is then read once more from
    its start, and only the items not yielded yet are yielded: every item
    that exists throughout is yielded exactly once. A second vanished
    marker, or one given as ``marker``, raises.

    :param marker: start after this item instead of at the beginning.
    :raises PageLoopError: a page holds an item already seen in the same
        reading.
    :raises BackendError: a page failed (after the client's retries).
    """
    start = marker
    seen: set[Any] = set()  # this reading's ids, to find a loop
    first_reading: set[Any] | None = None  # its ids, once the listing is read again
    while True:
        try:
            items = marker_page(client, path, id_key, marker_query(params, limit, marker), key)
        except BackendError as exc:
            if marker == start or first_reading is not None or not vanished_marker(exc):
                raise
            LOG.info('%s: the item a page ended with was deleted before the next page '
                     'was read; reading the listing again from its start',
                     safe_url(client.url(path)))
            marker, first_reading, seen = start, seen, set()
            continue
        if not items:
            return
        for item in items:
            if item[id_key] in seen:
                raise PageLoopError(client.url(path), str(marker))
            seen.add(item[id_key])
        marker = items[-1][id_key]
        if first_reading is not None:
            items = [item for item in items if item[id_key] not in first_reading]
        if items:
            yield items


def short_listing(pages: Iterable[Page], limit: int) -> Iterator[dict[str, Any]]:
    """The items of ``pages`` up to the first page shorter than ``limit``.

    Only for small filtered lookups (e.g. alarms by name) that a service
    cap cannot cut short: it saves the request for the empty page.
    """
    for page in pages:
        yield from page
        if len(page) < limit:
            return


# -- both ------------------------------------------------------------------

def read_ahead(pages: Generator[list[T], None, None]) -> Generator[list[T], None, None]:
    """``pages``, each next page asked for (on a thread of its own) as soon
    as the previous one has arrived, while the caller works on it.

    The calls made are the same; if the caller stops early, the page in
    flight is waited for (and dropped) before the generator closes, so
    nothing runs on afterwards. An error of the next page is raised when
    the caller asks for it.
    """
    ahead: _Background | None = None
    try:
        page = next(pages, None)
        while page is not None:
            ahead = _Background(next, pages, None)
            yield page
            page, ahead = ahead.result(), None
    finally:
        if ahead is not None:
            ahead.wait()
        pages.close()


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

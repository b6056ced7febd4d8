"""The Aodh driver's polling strategy: the alarm listing read as ranges at once.

Aodh pages its listing by ``limit``/``marker`` only, one page after the
other. A poll that knows ids the previous poll saw can start a range at
each of them and read the ranges at once, each through the client's
:meth:`~vitrage_ds.http.Client.paginate_marker`.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from vitrage_ds.errors import BackendError, PageLoopError
from vitrage_ds.http import paging
from vitrage_ds.http.client import Client
from vitrage_ds.http.failures import safe_url

__all__ = ['read_marker_ranges']

LOG = logging.getLogger(__name__)

T = TypeVar('T')


class _RangeStartFailed(Exception):
    """The first page of a range (not the first range) failed, or the
    marker its second page is asked with vanished."""


def read_marker_ranges(client: Client, path: str, id_key: str, starts: Sequence[str],
                       transform: Callable[[dict[str, Any]], T], *,
                       params: paging.Params | None = None, limit: int = 1000) -> list[T]:
    """A whole ``limit``/``marker`` listing, read as several ranges at once.

    ``starts`` are ids the listing is expected to hold, in its order
    (every few hundred ids of the previous listing, say). Range 0 is read
    from the beginning and range ``j`` from the marker ``starts[j-1]``,
    each page after page until it reaches the start of a later range
    (kept) or the end of the listing. The first item is asked for alone
    (``limit=1``), so that a refused token, role or service fails once;
    then the client's :meth:`~vitrage_ds.http.Client.fan_out` reads up to
    its ``max_parallel_calls`` ranges at once, and ``transform`` runs on
    each item on the thread that read it, while other ranges wait for the
    service.

    Nothing is missed whatever ``starts`` hold: a range that never meets a
    later start reads on to the end (items read twice are kept once), and
    when the first page of a range fails (a start that is gone: Aodh
    answers 500 ``Marker ... not found``), it is not retried and the
    listing is read again, in one go, from the beginning. So it is when
    the item a range's first page ended with is deleted before the next
    page is asked for (:func:`~vitrage_ds.http.paging.vanished_marker`);
    later pages' markers are read again by
    :func:`~vitrage_ds.http.paging.marker_pages` itself. Without
    ``starts`` it is read in one go at once.

    :returns: ``transform(item)`` of every item once, range by range (the
        listing's order when ``starts`` follow it).
    :raises: as :meth:`~vitrage_ds.http.Client.paginate_marker`
        (:class:`~vitrage_ds.errors.PageLoopError` when a range repeats an
        item), or what ``transform`` raised; nothing partial is returned.
    """
    query = list(params.items() if isinstance(params, Mapping) else (params or []))

    def in_one_go() -> list[T]:
        return [transform(item) for item in client.paginate_marker(
            path, id_key, query, limit, prefetch=True)]

    if not starts:
        return in_one_go()
    origins: list[str | None] = [None, *starts]
    begins = {start: j for j, start in enumerate(origins) if start is not None}

    def rest(first_page: list[dict[str, Any]]) -> Generator[dict[str, Any], None, None]:
        """The items of ``first_page`` and of the pages after it."""
        yield from first_page
        if first_page:
            with contextlib.closing(client.paginate_marker(
                    path, id_key, query, limit, marker=str(first_page[-1][id_key]))) as more:
                yield from more

    def read(j: int, items: Iterator[dict[str, Any]]) -> tuple[list[Any], list[T], bool]:
        """Range ``j``: its ids, their values, and whether it ended where
        the next range starts (or, the last one, at the end)."""
        ids: list[Any] = []
        values: list[T] = []
        seen: set[Any] = set()
        ended = len(origins)  # the end, unless a later range's start comes first
        for item in items:
            item_id = item[id_key]
            if item_id in seen:
                raise PageLoopError(client.url(path), str(origins[j]))
            seen.add(item_id)
            ids.append(item_id)
            values.append(transform(item))
            later = begins.get(item_id, 0)
            if later > j:  # a later range reads on from here
                ended = later
                break
        return ids, values, ended == j + 1

    # One item alone, first: a refused token, role or service fails once,
    # and a token renewed here serves every range.
    head = paging.marker_page(client, path, id_key, paging.marker_query(query, 1))
    if not head:
        return []  # the listing is empty from its beginning on

    def read_range(j: int) -> tuple[list[Any], list[T], bool]:
        if j == 0:
            items = rest(head)
        else:
            try:
                items = rest(paging.marker_page(
                    client, path, id_key, paging.marker_query(query, limit, origins[j]),
                    retry=False))
            except BackendError as exc:
                raise _RangeStartFailed(str(exc)) from exc
        with contextlib.closing(items):
            try:
                return read(j, items)
            except BackendError as exc:
                if not paging.vanished_marker(exc):
                    raise
                raise _RangeStartFailed(str(exc)) from exc

    try:
        ranges = client.fan_out(read_range, range(len(origins)))
    except _RangeStartFailed as exc:
        LOG.info('%s: a range could not start (%s); reading the listing in one go',
                 safe_url(client.url(path)), exc)
        return in_one_go()
    if all(adjoins for _, _, adjoins in ranges):  # no item was read twice
        return [value for _, values, _ in ranges for value in values]
    kept: set[Any] = set()
    result: list[T] = []
    for ids, values, _ in ranges:
        for item_id, value in zip(ids, values):
            if item_id not in kept:
                kept.add(item_id)
                result.append(value)
    return result

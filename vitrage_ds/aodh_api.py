"""Aodh's alarming API v2, as every caller of Aodh in vitrage_ds calls it.

The Aodh driver (:mod:`vitrage_ds.drivers.aodh`) and the Aodh notifier
(:mod:`vitrage_ds.notifiers.aodh`) both read this module, so they cannot
disagree about Aodh; neither imports the other. The HTTP machinery (retries,
paging loops) is the core's :class:`~vitrage_ds.http.client.Client`. What
lives here is Aodh's own knowledge:

* the catalog service type, :data:`SERVICE_TYPE`, and the paths below the
  versionless endpoint (:data:`ALARMS`, :func:`alarm_path`,
  :func:`state_path`), an alarm id URL-quoted into them;
* the scope of a listing: ``GET v2/alarms`` lists the caller's project
  unless the query holds :data:`ALL_PROJECTS`, which Aodh's policy
  :data:`ALL_PROJECTS_POLICY` allows the admin role only;
* the filters: Aodh filters a listing with ``eq`` on the fields of
  :data:`FILTERABLE` only (it cannot search inside a rule); :func:`eq` builds
  one filter and refuses any other field;
* the paging: ``limit``/``marker`` with no next link, the marker being the
  last item's :data:`MARKER_KEY`, in the order :data:`BY_ALARM_ID`.
  Aodh's default order (last update first) moves an alarm updated while the
  pages are read to a page already read; the immutable alarm id does not.
  :func:`list_alarms` reads a listing so; a lookup that a few alarms at
  most can match stops at its first short page.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from vitrage_ds.errors import APIError, MalformedResponse
from vitrage_ds.http import paging

if TYPE_CHECKING:
    from vitrage_ds.http.client import Client

__all__ = [
    'ALARMS',
    'ALL_PROJECTS',
    'ALL_PROJECTS_POLICY',
    'BY_ALARM_ID',
    'FILTERABLE',
    'LIST_POLICY',
    'MARKER_KEY',
    'PAGE_SIZE',
    'SERVICE_TYPE',
    'Query',
    'alarm_path',
    'eq',
    'get_alarm',
    'list_alarms',
    'state_path',
]

#: The catalog service type of Aodh.
SERVICE_TYPE = 'alarming'
#: The alarm collection, relative to the versionless Aodh endpoint.
ALARMS = 'v2/alarms'

#: Query parameters, in order (a name may repeat: one ``q.*`` triple per filter).
Query = tuple[tuple[str, str], ...]

#: The query item that lists every project's alarms (admin only).
ALL_PROJECTS: Query = (('q.field', 'all_projects'), ('q.op', 'eq'), ('q.value', 'true'))
#: The Aodh policy that must allow :data:`ALL_PROJECTS`.
ALL_PROJECTS_POLICY = 'telemetry:get_alarms:all_projects'
#: The Aodh policy that must allow listing the caller's own project's alarms.
LIST_POLICY = 'telemetry:get_alarms'

#: The fields Aodh filters a listing by, with ``eq`` only.
FILTERABLE = frozenset({'name', 'type', 'state', 'severity', 'enabled', 'project_id',
                        'user_id', 'timestamp', 'repeat_actions'})

#: The order every listing is read in: by the alarm id, which never changes.
BY_ALARM_ID: Query = (('sort', 'alarm_id:asc'),)
#: The item field whose value is the next page's ``marker``.
MARKER_KEY = 'alarm_id'
#: Alarms asked for in one page unless configured otherwise.
PAGE_SIZE = 1000


def alarm_path(alarm_id: str) -> str:
    """``v2/alarms/{alarm_id}``, the id quoted whole (a ``/`` in it included)."""
    return f'{ALARMS}/{urllib.parse.quote(alarm_id, safe="")}'


def state_path(alarm_id: str) -> str:
    """``v2/alarms/{alarm_id}/state``: ``PUT`` a JSON string there to set only the state."""
    return f'{alarm_path(alarm_id)}/state'


def eq(field: str, value: str) -> Query:
    """The filter ``field == value``: one query item, whatever ``value`` holds.

    :raises ValueError: Aodh does not filter by ``field``.
    """
    if field not in FILTERABLE:
        raise ValueError(f'Aodh does not filter alarms by {field!r} '
                         f'(only {", ".join(sorted(FILTERABLE))})')
    return (('q.field', field), ('q.op', 'eq'), ('q.value', value))


def list_alarms(client: Client, query: Query = (), *, page_size: int = PAGE_SIZE,
                few: bool = False) -> Iterator[dict[str, Any]]:
    """The alarms ``query`` selects, page by page in :data:`BY_ALARM_ID` order.

    :param few: the query matches a few alarms at most (alarms of one
        name), which fit in the first page: it is asked for in Aodh's own
        order, and the first page shorter than ``page_size`` is the last,
        which saves the request for an empty page. Never for a listing that
        a cap on ``limit`` could cut short.
    :raises vitrage_ds.errors.BackendError: a page failed or was malformed.
    """
    if few:
        return paging.short_listing(
            paging.marker_pages(client, ALARMS, MARKER_KEY, query, page_size), page_size)
    pages = paging.marker_pages(client, ALARMS, MARKER_KEY, [*query, *BY_ALARM_ID],
                                page_size)
    return (alarm for page in pages for alarm in page)


def get_alarm(client: Client, alarm_id: str) -> dict[str, Any] | None:
    """The alarm ``alarm_id`` as Aodh has it now; ``None`` when Aodh has none.

    :raises vitrage_ds.errors.MalformedResponse: the answer is not that alarm.
    :raises vitrage_ds.errors.BackendError: the call failed.
    """
    try:
        alarm = client.get(alarm_path(alarm_id))
    except APIError as exc:
        if exc.status == 404:
            return None
        raise
    if not isinstance(alarm, Mapping) or alarm.get('alarm_id') != alarm_id:
        raise MalformedResponse('GET', client.url(alarm_path(alarm_id)),
                                'not the alarm asked for')
    return dict(alarm)

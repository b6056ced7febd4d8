"""The Aodh notifier's calls to Aodh: one method per request it makes.

Paths, filters and paging are Aodh's (:mod:`vitrage_ds.aodh_api`); retries
are the HTTP layer's, except where a method says otherwise. Every method
raises :class:`~vitrage_ds.errors.BackendError` subclasses for failures;
an alarm that is gone answers ``None`` or raises :class:`Vanished`, as each
method says. Thread-safe, as the client is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from typing import Any

from vitrage_ds import aodh_api
from vitrage_ds.deduced import format_time
from vitrage_ds.errors import APIError, MalformedResponse
from vitrage_ds.http.client import Client
from vitrage_ds.notifiers.aodh.record import AlarmRecord

__all__ = ['HISTORY_QUERY', 'AodhAlarms', 'Vanished']

#: Aodh's complex query of alarm history: the changes of many alarms at once.
HISTORY_QUERY = 'v2/query/alarms/history'
#: The history entries that can hold a state this notifier wrote.
_WRITES = ['creation', 'rule change']


class Vanished(Exception):
    """The alarm being written was deleted meanwhile (Aodh answered 404)."""


class AodhAlarms:
    """The alarms of the credentials' project, as the notifier reads and writes them.

    :param client: the Aodh client, built on the first call (it makes no
        request before).
    """

    def __init__(self, client: Callable[[], Client]) -> None:
        self._client = client

    @property
    def client(self) -> Client:
        """The Aodh API client."""
        return self._client()

    def get(self, alarm_id: str) -> AlarmRecord | None:
        """``GET v2/alarms/{id}``: the alarm, or ``None`` when Aodh has none."""
        return aodh_api.get_alarm(self.client, alarm_id)

    def named(self, aodh_name: str) -> list[AlarmRecord]:
        """Every alarm named ``aodh_name``.

        ``GET v2/alarms?q.field=name&q.op=eq&q.value=<aodh_name>``: exactly
        one query item whatever the name holds (the HTTP layer encodes it as
        one query-string value). A few alarms at most share a name, so a
        short page is the last one.
        """
        alarms = aodh_api.list_alarms(self.client, aodh_api.eq('name', aodh_name), few=True)
        return [a for a in alarms if a.get('name') == aodh_name]

    def event_alarms(self) -> list[AlarmRecord]:
        """Every event alarm of the project, in alarm id order (stable while
        alarms are updated during the listing)."""
        return list(aodh_api.list_alarms(self.client, aodh_api.eq('type', 'event')))

    def create(self, body: Mapping[str, Any]) -> AlarmRecord:
        """``POST v2/alarms``: the alarm Aodh created.

        Not retried by the HTTP layer: a lost answer leaves the message to
        be retried, and the lookup by name then finds what this call made.

        :raises MalformedResponse: the answer has no ``alarm_id``.
        """
        alarm = self.client.post(aodh_api.ALARMS, json=body)
        if not isinstance(alarm, Mapping) or not alarm.get('alarm_id'):
            raise MalformedResponse('POST', self.client.url(aodh_api.ALARMS),
                                    'the created alarm has no alarm_id')
        return alarm

    def update(self, alarm_id: str, body: Mapping[str, Any], *,
               retry: bool | None = None) -> None:
        """``PUT v2/alarms/{id}``: replace the whole alarm with ``body``.

        :param retry: as :meth:`vitrage_ds.http.client.Client.request`.
        :raises Vanished: the alarm is gone.
        """
        try:
            self.client.put(aodh_api.alarm_path(alarm_id), json=body, retry=retry)
        except APIError as exc:
            if exc.status == 404:
                raise Vanished() from exc
            raise

    def set_state(self, alarm_id: str, state: str) -> None:
        """``PUT v2/alarms/{id}/state``: the state only, nothing else.

        :raises Vanished: the alarm is gone.
        """
        try:
            self.client.put(aodh_api.state_path(alarm_id), json=state)
        except APIError as exc:
            if exc.status == 404:
                raise Vanished() from exc
            raise

    def delete(self, alarm_id: str) -> None:
        """``DELETE v2/alarms/{id}``; an alarm already gone is what was wanted."""
        try:
            self.client.delete(aodh_api.alarm_path(alarm_id))
        except APIError as exc:
            if exc.status != 404:
                raise

    def changes(self, alarm_ids: Collection[str], since: float) -> list[AlarmRecord]:
        """The creations and rule changes of the alarms ``alarm_ids`` (deleted
        ones too) that Aodh recorded at or after ``since`` (seconds since
        the epoch), newest first.

        ``POST v2/query/alarms/history`` (Aodh's complex query; policy
        ``telemetry:query_alarm_history``, the same rule as ``GET
        .../history``), for up to :data:`~vitrage_ds.aodh_api.PAGE_SIZE`
        alarms at once, ``PAGE_SIZE`` changes a page; a full page is
        followed by the changes at or before its oldest time (the query has
        no marker), those already read left out. A read, so retried by the
        HTTP layer.

        :raises MalformedResponse: an answer is not a list of changes, or
            ``PAGE_SIZE`` changes share one time (the pages cannot move on).
        """
        size = aodh_api.PAGE_SIZE
        ids = sorted(set(alarm_ids))
        found: dict[str, AlarmRecord] = {}
        for first in range(0, len(ids), size):
            terms: list[dict[str, Any]] = [
                {'in': {'alarm_id': ids[first:first + size]}}, {'in': {'type': _WRITES}},
                {'>=': {'timestamp': format_time(round(since * 1_000_000))}}]
            until: str | None = None
            while True:
                bounded = terms if until is None else [*terms, {'<=': {'timestamp': until}}]
                page = self.client.post(HISTORY_QUERY, retry=True, json={
                    'filter': json.dumps({'and': bounded}),
                    'orderby': json.dumps([{'timestamp': 'desc'}]), 'limit': size})
                if not isinstance(page, list) or not all(
                        isinstance(c, Mapping) and c.get('event_id') and c.get('timestamp')
                        for c in page):
                    raise MalformedResponse('POST', self.client.url(HISTORY_QUERY),
                                            'not a list of alarm changes')
                fresh = [c for c in page if str(c['event_id']) not in found]
                found.update((str(c['event_id']), c) for c in fresh)
                if len(page) < size:
                    break
                if not fresh:
                    raise MalformedResponse('POST', self.client.url(HISTORY_QUERY),
                                            f'more than {size} alarm changes at one time')
                until = min(str(c['timestamp']) for c in page)
        return sorted(found.values(), key=lambda c: str(c['timestamp']), reverse=True)

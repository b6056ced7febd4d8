"""The Aodh datasource driver: every alarm of every project, and alarm notifications."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from oslo_config import cfg

from vitrage_ds import aodh_api
from vitrage_ds._logsafe import safe
from vitrage_ds.driver import Driver, Lookup, no_lookup
from vitrage_ds.drivers.aodh.alarm_types import TYPES
from vitrage_ds.drivers.aodh.fields import ENTITY_TYPE, alarm_fields, alarm_version
from vitrage_ds.drivers.aodh.notifications import (
    CHANGE_KINDS,
    AlarmChange,
    BadNotification,
    apply_change,
    parse_change,
)
from vitrage_ds.drivers.aodh.ranges import read_marker_ranges
from vitrage_ds.errors import APIError, BackendError
from vitrage_ds.event import (DELETE_ENTITY, Action, Event, Phase, Version, envelope_time,
                              utcnow_iso)
from vitrage_ds.http.client import Client
from vitrage_ds.plugin import Lazy, PluginContext

__all__ = ['ALARMS_PATH', 'SERVICE_TYPE', 'AodhDriver']

LOG = logging.getLogger(__name__)

#: The catalog service type of Aodh (:data:`vitrage_ds.aodh_api.SERVICE_TYPE`).
SERVICE_TYPE = aodh_api.SERVICE_TYPE
#: The alarm collection (:data:`vitrage_ds.aodh_api.ALARMS`).
ALARMS_PATH = aodh_api.ALARMS

#: A range of a parallel poll holds this share of a page of the previous
#: poll's alarms: the rest of its first page absorbs alarms created since.
_RANGE_SPAN = 0.95

#: Most distinct unknown alarm types warned about (each once).
_MAX_UNKNOWN_TYPES = 100

_FORBIDDEN_ALL = (
    'listing every project\'s alarms (all_projects=true) needs the admin role '
    f'(Aodh policy "{aodh_api.ALL_PROJECTS_POLICY}"): give it to the '
    'credentials vitrage_ds uses, or set [driver.aodh] all_projects = false '
    'to poll only their own project')
_FORBIDDEN_OWN = ('the credentials may not list alarms of their own project '
                  f'(Aodh policy "{aodh_api.LIST_POLICY}")')


class AodhDriver(Driver):
    """Aodh alarms as events of entity type ``aodh`` (see doc/source/drivers/aodh.rst).

    :meth:`get_all` lists ``/v2/alarms`` page by page (``limit``/``marker``,
    ordered by alarm id) with ``all_projects=true`` unless configured
    otherwise, and returns one event per alarm, in that order, or raises.
    :meth:`notifications` turns ``alarm.creation``,
    ``alarm.rule_change``, ``alarm.state_transition`` and ``alarm.deletion``
    into one event each; a payload that does not describe the whole alarm
    is completed from ``lookup``, or by one ``GET /v2/alarms/{id}`` when the
    collector does not know the alarm.
    """

    name = 'aodh'
    service_type = SERVICE_TYPE
    default_poll_interval = 60.0
    entity_types = (ENTITY_TYPE,)
    event_types = tuple(CHANGE_KINDS)
    exchanges = ('aodh',)
    topics = ('notifications',)
    options = (
        cfg.IntOpt('page_size', default=aodh_api.PAGE_SIZE, min=1,
                   help='Alarms asked for in each page of GET /v2/alarms.'),
        cfg.BoolOpt('parallel_ranges', default=True,
                    help='Read the alarm listing as ranges at once, split at '
                         'alarm ids the previous poll saw, up to [http] '
                         'max_parallel_calls requests in flight; when false, '
                         'page by page in one go (the first poll always '
                         'does).'),
        cfg.BoolOpt('all_projects', default=True,
                    help='List the alarms of every project '
                         '(all_projects=true, which Aodh allows the admin '
                         'role only). When false, only the alarms of the '
                         'project of the configured credentials.'),
    )

    def __init__(self, context: PluginContext) -> None:
        super().__init__(context)
        self._client = Lazy(lambda: self.context.client(SERVICE_TYPE))
        self._lock = threading.Lock()
        self._unknown_types: set[str] = set()
        self._own_project: str | None = None
        self._range_starts: list[str] = []

    # -- polling ---------------------------------------------------------

    @property
    def client(self) -> Client:
        """The Aodh API client, built on first use."""
        return self._client()

    def get_all(self) -> list[Event]:
        """Every alarm Aodh has, one ``SNAPSHOT`` event each, in alarm id order.

        The first poll pages through the listing in one go (``pages + 1``
        requests, each page turned into events while Aodh serves the next).
        Later polls read it as ranges at once, split at every
        :data:`_RANGE_SPAN` of a page's worth of the ids the previous poll
        saw (about ``pages + 3`` requests); nothing is missed when those ids
        are gone (see :func:`vitrage_ds.drivers.aodh.ranges.read_marker_ranges`).

        :raises vitrage_ds.errors.BackendError: any page failed or was
            malformed; a 403 says which role or option it takes.
        """
        observed = time.time()
        sampled = utcnow_iso()  # one poll, one sample date (no clock read per alarm)
        all_projects = self.conf.all_projects
        projects: set[str] = set()

        def event(alarm: dict[str, Any]) -> Event:
            if not all_projects:
                project = alarm.get('project_id')
                if isinstance(project, str):  # a mistyped one names no project
                    projects.add(project)
            return self._event(alarm, Action.SNAPSHOT, None,
                               alarm_version(alarm, observed), sampled)

        # Ordered by the immutable alarm id: Aodh's default order (timestamp,
        # descending) moves an alarm updated during a poll to a page already
        # read, so marker paging would miss it.
        params = [*(aodh_api.ALL_PROJECTS if all_projects else ()), *aodh_api.BY_ALARM_ID]
        starts = self._range_starts if self.conf.parallel_ranges else []
        try:
            events = read_marker_ranges(self.client, ALARMS_PATH, aodh_api.MARKER_KEY,
                                        starts, event, params=params,
                                        limit=self.conf.page_size)
        except APIError as exc:
            if exc.status != 403:
                raise
            why = _FORBIDDEN_ALL if all_projects else _FORBIDDEN_OWN
            detail = f'{exc.detail}; {why}' if exc.detail else why
            raise APIError(exc.method, exc.url, exc.status, detail) from exc
        span = max(1, int(self.conf.page_size * _RANGE_SPAN))
        self._range_starts = [e.entity_id for e in events[span - 1:-1:span]]
        if not all_projects and len(projects) == 1:
            self._own_project = projects.pop()
        return events

    def _foreign(self, project_id: object) -> bool:
        """Whether an alarm of ``project_id`` lies outside what polls see.

        With ``all_projects = false`` a poll lists the credentials' project
        only; an event about another project's alarm would be deleted again
        by the next poll, so it must not be emitted. The own project comes
        from the token, else the noauth ``X-Project-Id`` header, else the
        alarms of the last poll; while it is unknown nothing is dropped.
        """
        if self.conf.all_projects or not project_id:
            return False
        own = self._own_project
        if own is None:
            client = self.client
            try:
                own = client.session.get_project_id()
            except Exception:  # no token yet: the header or the next poll tells
                own = None
            own = own or client.headers.get('X-Project-Id')
            self._own_project = own
        return own is not None and project_id != own

    # -- notifications ---------------------------------------------------

    def notifications(self, event_type: str, payload: Any,
                      metadata: Mapping[str, Any],
                      lookup: Lookup = no_lookup) -> list[Event]:
        """One event for one alarm notification; none for bad input.

        Never raises: a malformed notification, an alarm that is gone by
        the time it is fetched, or a failed fetch is logged and yields no
        event (the next poll repairs what was missed).
        """
        try:
            change = parse_change(event_type, payload)
        except BadNotification as exc:
            LOG.warning('Aodh notification %s (message %s) dropped: %s',
                        safe(event_type), safe(_message_id(metadata)), safe(str(exc)))
            return []
        try:
            return self._apply(change, metadata, lookup)
        except Exception:  # the listener must never see an exception
            LOG.exception('Aodh notification %s for alarm %s (message %s) dropped',
                          safe(event_type), safe(change.alarm_id),
                          safe(_message_id(metadata)))
            return []

    def _apply(self, change: AlarmChange, metadata: Mapping[str, Any],
               lookup: Lookup) -> list[Event]:
        observed = envelope_time(metadata)
        known = None if change.standalone else lookup(ENTITY_TYPE, change.alarm_id)
        if self._foreign(change.project_id or (known or {}).get('project_id')):
            LOG.debug('Aodh notification %s for alarm %s of another project '
                      'ignored: all_projects is false', safe(change.event_type),
                      safe(change.alarm_id))
            return []
        if change.event_type == 'alarm.deletion':
            alarm = apply_change(change, known)
            # A deletion outranks every state of the alarm: without Aodh's
            # time, the envelope's (the deletion happened before it was sent).
            version = Version(change.time or observed, observed, Phase.END)
            return [self._event(alarm, Action.UPDATE, DELETE_ENTITY, version)]
        if known is None and not change.standalone:
            fetched = self._fetch(change)
            if fetched is None or self._foreign(fetched.get('project_id')):
                return []
            return [self._event(fetched, Action.UPDATE, change.event_type,
                                alarm_version(fetched, observed))]
        alarm = apply_change(change, known)
        return [self._event(alarm, Action.UPDATE, change.event_type,
                            alarm_version(alarm, observed))]

    def _fetch(self, change: AlarmChange) -> dict[str, Any] | None:
        """The alarm as Aodh has it now, or ``None`` (logged) when it cannot be had."""
        try:
            body = aodh_api.get_alarm(self.client, change.alarm_id)
        except BackendError as exc:  # a malformed answer included
            LOG.error('Aodh notification %s for alarm %s dropped: %s',
                      safe(change.event_type), safe(change.alarm_id), safe(str(exc)))
            return None
        if body is None:
            LOG.info('Aodh notification %s for alarm %s dropped: the alarm '
                     'is gone', safe(change.event_type), safe(change.alarm_id))
        return body

    # -- mapping ---------------------------------------------------------

    def _event(self, alarm: Mapping[str, Any], action: Action,
               event_type: str | None, version: Version,
               sample_date: str | None = None) -> Event:
        return Event(datasource=self.name, entity_type=ENTITY_TYPE,
                     entity_id=str(alarm['alarm_id']),
                     fields=alarm_fields(alarm, self._unknown_type),
                     action=action, event_type=event_type, version=version,
                     sample_date=sample_date or utcnow_iso())

    def _unknown_type(self, alarm_type: str) -> None:
        with self._lock:
            if alarm_type in self._unknown_types:
                return
            if len(self._unknown_types) >= _MAX_UNKNOWN_TYPES:
                return  # garbage types from bad notifications: warned enough
            self._unknown_types.add(alarm_type)
        LOG.warning('Aodh alarm type %s is unknown to this driver: its alarms '
                    'get the generic fields only (known types: %s)', safe(repr(alarm_type)),
                    ', '.join(sorted(TYPES)))


def _message_id(metadata: Mapping[str, Any]) -> str:
    value = metadata.get('message_id') if isinstance(metadata, Mapping) else None
    return str(value) if value else '?'

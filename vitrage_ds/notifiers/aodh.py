"""The Aodh notifier: each deduced alarm becomes exactly one Aodh event alarm.

``vitrage.deduced_alarm.activate``
    Without an Aodh id, the alarm ``<name>_<affected_resource_id>`` is looked
    up by name and matched on ``vitrage_id``; when there is none an event
    alarm is created in state ``alarm`` (severity mapped to Aodh's ``low`` /
    ``moderate`` / ``critical``), else it is updated to state ``alarm``.
    With an Aodh id, that alarm is set to ``alarm``.
``vitrage.deduced_alarm.deactivate``
    The alarm, found by ``id`` or else by name and ``vitrage_id``, is set to
    ``ok`` (or deleted, with ``deactivate_action = delete``). When there is
    no alarm yet, one is created in state ``ok``, so that an older activate
    delivered later cannot raise it.

Guarantees (see ``doc/source/notifier.rst`` for the reasoning):

* Exactly one alarm per deduced alarm: look up before creating; after
  creating, list by name again and delete every alarm of the same
  ``vitrage_id`` except the oldest (two notifier processes may race).
* The newest message wins: every message has an
  :class:`~vitrage_ds.deduced.Order`; the order of the newest message
  applied is kept in the alarm (see :mod:`vitrage_ds.notifiers._aodh_alarm`)
  and in a bounded per-process cache, and an older or repeated message
  changes nothing. After each write the alarm is read again (after
  ``verify_delay``) and repaired if a concurrent writer left an older state.
  An Aodh alarm not made by this notifier (named by ``aodh_alarm_id`` but
  without our ``vitrage_id`` query item) only gets ``PUT .../state``, and is
  never deleted; its ordering is per process.
* Transient failures (connection, timeout, 429, 5xx, after the HTTP
  layer's retries) answer :attr:`Outcome.RETRY`; a 4xx that can never
  succeed is logged with Aodh's message and answers :attr:`Outcome.REJECT`;
  a malformed message answers :attr:`Outcome.REJECT`; anything else
  answers :attr:`Outcome.DONE`. ``notify`` never raises.

Thread-safe: messages about one deduced alarm are handled one at a time.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from typing import ClassVar, Generic, TypeVar

from oslo_config import cfg

from vitrage_ds import deduced
from vitrage_ds.deduced import DeducedAlarm, DeducedAlarmActivate, Order
from vitrage_ds.errors import (APIError, BackendError, ConfigurationError,
                               InvalidMessage, MalformedResponse)
from vitrage_ds.http.client import Client
from vitrage_ds.notifier import Message, NotifierPlugin, Outcome
from vitrage_ds.notifiers import _aodh_alarm as aodh_alarm
from vitrage_ds.notifiers._aodh_alarm import ALARM_STATE, OK_STATE, AlarmRecord
from vitrage_ds.plugin import PluginContext

__all__ = ['AodhNotifier', 'AODH_SEVERITIES', 'DEFAULT_SEVERITY_MAP']

LOG = logging.getLogger(__name__)

#: Aodh's severities.
AODH_SEVERITIES = ('low', 'moderate', 'critical')

#: Vitrage severity (lower case) -> Aodh severity; anything else is ``low``.
DEFAULT_SEVERITY_MAP: Mapping[str, str] = {
    'critical': 'critical',
    'severe': 'moderate',
    'major': 'moderate',
    'moderate': 'moderate',
    'warning': 'low',
    'minor': 'low',
    'low': 'low',
}

_ALARMS = 'v2/alarms'
# Rounds of read-back and repair after a write before the message is retried.
_SETTLE_ROUNDS = 3
# Attempts at one message when its alarm vanishes under us (deleted meanwhile).
_ATTEMPTS = 3

K = TypeVar('K')
V = TypeVar('V')


class _Bounded(Generic[K, V]):
    """A thread-safe mapping keeping only the ``size`` most recently used keys."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: collections.OrderedDict[K, V] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def pop(self, key: K) -> None:
        with self._lock:
            self._items.pop(key, None)


class _KeyedLocks:
    """One lock per key, existing only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, list[int]]] = {}

    @contextlib.contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock, users = self._locks.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users[0] -= 1
                if not users[0]:
                    del self._locks[key]


class _Vanished(Exception):
    """The alarm being worked on was deleted meanwhile: start over."""


class AodhNotifier(NotifierPlugin):
    """Mirrors deduced alarms as Aodh event alarms, exactly once and in order.

    See the module docstring for the behaviour and its guarantees.
    """

    name: ClassVar[str] = 'aodh'
    options: ClassVar[list[cfg.Opt]] = [
        cfg.StrOpt('deactivate_action', default='ok', choices=['ok', 'delete'],
                   help='What a deactivate does to the Aodh alarm: set its '
                        'state to ok (and keep it), or delete it. With '
                        'delete, an activate delivered after a newer '
                        'deactivate by another notifier process can raise '
                        'the alarm again; ok keeps the order everywhere.'),
        cfg.DictOpt('severity_map', default=dict(DEFAULT_SEVERITY_MAP),
                    help='Vitrage severity to Aodh severity (low, moderate, '
                         'critical), matched in any letter case. A severity '
                         'not listed becomes low, with a warning.'),
        cfg.StrOpt('event_type', default='*',
                   help='The event type of the created event alarms\' rule.'),
        cfg.IntOpt('cache_size', default=10_000, min=1,
                   help='Deduced alarms whose Aodh alarm id and newest '
                        'applied message this process remembers.'),
        cfg.FloatOpt('verify_delay', default=0.1, min=0.0,
                     help='Seconds to wait after a write before reading the '
                          'alarm back to catch a concurrent writer (another '
                          'notifier process) that left an older state or a '
                          'duplicate.'),
    ]

    def __init__(self, context: PluginContext,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(context)
        self._sleep = sleep
        self._client: Client | None = None
        self._severities = self._load_severity_map()
        self._known_ids: _Bounded[str, str] = _Bounded(self.conf.cache_size)
        self._applied: _Bounded[str, Order] = _Bounded(self.conf.cache_size)
        self._locks = _KeyedLocks()

    def _load_severity_map(self) -> dict[str, str]:
        mapping: dict[str, str] = {}
        for vitrage, aodh in (self.conf.severity_map or {}).items():
            target = str(aodh).strip().lower()
            if target not in AODH_SEVERITIES:
                raise ConfigurationError(
                    f'[{self.context.group}] severity_map: {vitrage!r} maps to '
                    f'{aodh!r}, not one of {", ".join(AODH_SEVERITIES)}')
            mapping[str(vitrage).strip().lower()] = target
        return mapping

    @property
    def client(self) -> Client:
        """The Aodh API client (service type ``alarming``), built on first use."""
        if self._client is None:
            self._client = self.context.client('alarming')
        return self._client

    def aodh_severity(self, severity: str) -> str:
        """Aodh's severity for a Vitrage one: mapped in any case, else ``low`` (logged)."""
        mapped = self._severities.get(severity.strip().lower())
        if mapped is None:
            LOG.warning('deduced alarm severity %r is not in [%s] severity_map; '
                        'using low', severity, self.context.group)
            return 'low'
        return mapped

    # -- the contract ----------------------------------------------------

    def notify(self, msg: Message) -> Outcome:
        """Apply one deduced-alarm message to Aodh; see the module docstring."""
        if msg.event_type not in deduced.EVENT_TYPES:
            return Outcome.DONE
        metadata = msg.metadata if isinstance(msg.metadata, Mapping) else {}
        try:
            alarm = deduced.from_message(msg.event_type, msg.payload)
            order = alarm.order(metadata.get('timestamp'))
        except InvalidMessage as exc:
            LOG.warning('%s %s rejected: %s', msg.event_type,
                        metadata.get('message_id', ''), exc)
            return Outcome.REJECT
        try:
            with self._locks.hold(alarm.vitrage_id):
                return self._handle(alarm, order)
        except Exception:  # a bug must not escape into the bus listener
            LOG.exception('%s for deduced alarm %s failed unexpectedly',
                          alarm.event_type, alarm.vitrage_id)
            return Outcome.RETRY

    def _handle(self, msg: DeducedAlarm, order: Order) -> Outcome:
        last = self._applied.get(msg.vitrage_id)
        if last is not None and order <= last:
            LOG.debug('%s for %s is not newer than %s: nothing to do',
                      msg.event_type, msg.vitrage_id, last)
            return Outcome.DONE
        try:
            for _attempt in range(_ATTEMPTS):
                try:
                    applied = self._apply(msg, order)
                except _Vanished:
                    continue
                if applied is not None:
                    self._applied.put(msg.vitrage_id, applied)
                return Outcome.DONE
            LOG.warning('the Aodh alarm of deduced alarm %s kept vanishing; will retry',
                        msg.vitrage_id)
            return Outcome.RETRY
        except APIError as exc:
            if exc.transient:
                LOG.warning('%s for %s not applied, will retry: %s',
                            msg.event_type, msg.vitrage_id, exc)
                return Outcome.RETRY
            LOG.error('Aodh refused %s for deduced alarm %s: %s',
                      msg.event_type, msg.vitrage_id, exc)
            return Outcome.REJECT
        except BackendError as exc:
            LOG.warning('%s for %s not applied, will retry: %s',
                        msg.event_type, msg.vitrage_id, exc)
            return Outcome.RETRY

    # -- applying one message --------------------------------------------

    def _apply(self, msg: DeducedAlarm, order: Order) -> Order | None:
        """Bring Aodh to ``msg``'s state unless it holds a newer one.

        :returns: the newest order now known to be applied (``order`` or a
            newer one found in Aodh), or ``None`` when nothing is known.
        :raises _Vanished: the alarm was deleted while we worked on it.
        """
        activate = isinstance(msg, DeducedAlarmActivate)
        state = ALARM_STATE if activate else OK_STATE
        target = self._locate(msg)
        if target is not None and not aodh_alarm.is_mirror(target, msg.vitrage_id):
            return self._set_foreign_state(target, state, order)
        if target is not None:
            stored = aodh_alarm.applied_order(target)
            if stored is not None and stored >= order:
                LOG.debug('Aodh alarm %s already reflects %s (newer than %s)',
                          aodh_alarm.alarm_id(target), stored, order)
                return stored
        if not activate and self.conf.deactivate_action == 'delete':
            return self._delete(msg, order, target)
        if target is None:
            if msg.aodh_name is None:
                LOG.info('%s for %s: Aodh alarm %s not found and no name to '
                         'find it by; nothing to do', msg.event_type,
                         msg.vitrage_id, msg.aodh_alarm_id)
                return order
            self._create(msg, order, state)
        else:
            self._update(target, msg, order, state)
        return self._settle(msg, order, state, target)

    def _severity(self, msg: DeducedAlarm) -> str | None:
        return (self.aodh_severity(msg.severity)
                if isinstance(msg, DeducedAlarmActivate) else None)

    def _locate(self, msg: DeducedAlarm) -> AlarmRecord | None:
        """The Aodh alarm of ``msg``: by its Aodh id, a remembered id, or by name."""
        if msg.aodh_alarm_id is not None:
            found = self._get(msg.aodh_alarm_id)
            if found is not None:
                return found
        known = self._known_ids.get(msg.vitrage_id)
        if known is not None and known != msg.aodh_alarm_id:
            found = self._get(known)
            if found is not None and aodh_alarm.is_mirror(found, msg.vitrage_id):
                return found
            self._known_ids.pop(msg.vitrage_id)
        if msg.aodh_name is None:
            return None
        mirrors = self._mirrors(msg.aodh_name, msg.vitrage_id)
        return self._dedupe(msg.vitrage_id, mirrors) if mirrors else None

    def _create(self, msg: DeducedAlarm, order: Order, state: str) -> None:
        created = round(time.time() * 1_000_000)
        body = aodh_alarm.create_body(
            msg, order, state=state, severity=self._severity(msg) or 'low',
            created=created, event_type=self.conf.event_type)
        # Not retried by the HTTP layer: a lost answer leaves the message to be
        # retried, and the lookup by name then finds what this call created.
        alarm = self.client.post(_ALARMS, json=body)
        new_id = alarm.get('alarm_id') if isinstance(alarm, Mapping) else None
        if not new_id:
            raise MalformedResponse('POST', self.client.url(_ALARMS),
                                    'the created alarm has no alarm_id')
        self._known_ids.put(msg.vitrage_id, str(new_id))
        LOG.info('created Aodh alarm %s (%s) for deduced alarm %s in state %s',
                 new_id, msg.aodh_name, msg.vitrage_id, state)

    def _update(self, target: AlarmRecord, msg: DeducedAlarm, order: Order,
                state: str) -> None:
        body = aodh_alarm.update_body(target, msg, order, state=state,
                                      severity=self._severity(msg))
        target_id = aodh_alarm.alarm_id(target)
        try:
            self.client.put(_alarm_path(target_id), json=body)
        except APIError as exc:
            if exc.status == 404:
                self._known_ids.pop(msg.vitrage_id)
                raise _Vanished() from exc
            raise
        LOG.info('Aodh alarm %s of deduced alarm %s: state %s (%s)', target_id,
                 msg.vitrage_id, state, msg.event_type)

    def _set_foreign_state(self, target: AlarmRecord, state: str, order: Order) -> Order:
        """Set the state of an alarm this notifier did not create; nothing else."""
        target_id = aodh_alarm.alarm_id(target)
        try:
            self.client.put(f'{_alarm_path(target_id)}/state', json=state)
        except APIError as exc:
            if exc.status == 404:
                raise _Vanished() from exc
            raise
        LOG.info('Aodh alarm %s: state %s', target_id, state)
        return order

    def _delete(self, msg: DeducedAlarm, order: Order,
                target: AlarmRecord | None) -> Order:
        doomed = [] if target is None else [target]
        name = msg.aodh_name or (str(target['name']) if target and target.get('name')
                                 else None)
        if name is not None:
            doomed += self._mirrors(name, msg.vitrage_id)
        seen: set[str] = set()
        for alarm in doomed:
            stored = aodh_alarm.applied_order(alarm)
            the_id = aodh_alarm.alarm_id(alarm)
            if the_id in seen or (stored is not None and stored >= order):
                continue
            seen.add(the_id)
            self._delete_one(the_id)
            LOG.info('deleted Aodh alarm %s of deduced alarm %s', the_id, msg.vitrage_id)
        self._known_ids.pop(msg.vitrage_id)
        return order

    def _settle(self, msg: DeducedAlarm, order: Order, state: str,
                target: AlarmRecord | None) -> Order | None:
        """Read back after a write; remove duplicates and repair a lost update.

        Another process may have created a duplicate or written an older
        message's state after ours. Each round waits ``verify_delay``, lists
        the alarms by name, keeps the oldest of the mirrors and, if it does
        not hold this message's order or a newer one, writes it again.

        :returns: the order known to be applied.
        :raises BackendError: still not settled after the last round.
        """
        name = msg.aodh_name or (str(target['name']) if target and target.get('name')
                                 else None)
        if name is None:
            return order
        for _round in range(_SETTLE_ROUNDS):
            self._sleep(self.conf.verify_delay)
            mirrors = self._mirrors(name, msg.vitrage_id)
            if not mirrors:
                # Deleted since: by a newer deactivate (deactivate_action =
                # delete) or by hand. Either way not ours to bring back.
                self._known_ids.pop(msg.vitrage_id)
                return order
            keep = self._dedupe(msg.vitrage_id, mirrors)
            stored = aodh_alarm.applied_order(keep)
            if stored is not None and stored >= order:
                return stored
            LOG.info('Aodh alarm %s of deduced alarm %s holds %s, older than %s: '
                     'writing it again', aodh_alarm.alarm_id(keep), msg.vitrage_id,
                     stored, order)
            try:
                self._update(keep, msg, order, state)
            except _Vanished:
                continue
        raise BackendError(f'the Aodh alarm of deduced alarm {msg.vitrage_id} did not '
                           f'settle after {_SETTLE_ROUNDS} rounds')

    # -- Aodh calls ------------------------------------------------------

    def _get(self, the_id: str) -> AlarmRecord | None:
        try:
            alarm = self.client.get(_alarm_path(the_id))
        except APIError as exc:
            if exc.status == 404:
                return None
            raise
        if not isinstance(alarm, Mapping) or not alarm.get('alarm_id'):
            raise MalformedResponse('GET', self.client.url(_alarm_path(the_id)),
                                    'not an alarm')
        return alarm

    def _mirrors(self, aodh_name: str, vitrage_id: str) -> list[AlarmRecord]:
        """Every alarm named ``aodh_name`` that mirrors ``vitrage_id``.

        The query has exactly one item, ``name eq <aodh_name>``, whatever the
        name holds: the HTTP layer encodes it as one query-string value.
        """
        params = [('q.field', 'name'), ('q.op', 'eq'), ('q.value', aodh_name)]
        # A few alarms at most share a name: a short page is the last one.
        alarms = list(self.client.paginate_marker(_ALARMS, 'alarm_id', params,
                                                  short_page_ends=True))
        return [a for a in alarms
                if a.get('name') == aodh_name and aodh_alarm.is_mirror(a, vitrage_id)]

    def _dedupe(self, vitrage_id: str, mirrors: list[AlarmRecord]) -> AlarmRecord:
        """Delete every mirror but the survivor; return the survivor."""
        keep = aodh_alarm.survivor(mirrors)
        keep_id = aodh_alarm.alarm_id(keep)
        for alarm in mirrors:
            if aodh_alarm.alarm_id(alarm) != keep_id:
                self._delete_one(aodh_alarm.alarm_id(alarm))
                LOG.info('deleted duplicate Aodh alarm %s of deduced alarm %s '
                         '(keeping %s)', aodh_alarm.alarm_id(alarm), vitrage_id, keep_id)
        self._known_ids.put(vitrage_id, keep_id)
        return keep

    def _delete_one(self, the_id: str) -> None:
        try:
            self.client.delete(_alarm_path(the_id))
        except APIError as exc:
            if exc.status != 404:  # already gone: what we wanted
                raise

    def close(self) -> None:
        """Nothing to release: the HTTP session belongs to the core."""


def _alarm_path(the_id: str) -> str:
    return f'{_ALARMS}/{urllib.parse.quote(the_id, safe="")}'


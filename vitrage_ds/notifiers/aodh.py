"""The Aodh notifier: each deduced alarm becomes exactly one Aodh event alarm.

Messages come in every shape :mod:`vitrage_ds.deduced` parses (vitrage_ds's
own, the seed's, a Vitrage 15 graph's ``GraphNotifier``); each shape gives
the same alarm: an event alarm named ``<name>_<affected_resource_id>`` whose
query holds ``resource_id`` and, when the message has one, ``vitrage_id``.
Messages about one deduced alarm are told apart from others by their
:attr:`~vitrage_ds.deduced.DeducedAlarm.key`, and an alarm is theirs as
:func:`vitrage_ds.notifiers._aodh_alarm.is_mirror` says. Any other event
type on the topic (``vitrage.alarm.*``, ``vitrage.mark_down.*``, ...) is
acknowledged (:attr:`Outcome.DONE`) with one debug line.

``vitrage.deduced_alarm.activate``
    Without an Aodh id, the alarm ``<name>_<affected_resource_id>`` is looked
    up by name and matched (on ``vitrage_id``); when there is none an event
    alarm is created in state ``alarm`` (severity mapped to Aodh's ``low`` /
    ``moderate`` / ``critical`` as Vitrage's own Aodh notifier maps it), else
    it is updated to state ``alarm``.
    With an Aodh id, that alarm is set to ``alarm``: with ``PUT .../state``
    when this notifier did not create it, else with a full ``PUT`` like any
    write to an alarm it created (the order must change with the state;
    see ``doc/source/notifier.rst``, "Why a full PUT").
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
  changes nothing. A message dated more than ``max_clock_skew`` ahead of
  this host's clock is rejected (logged): applied, it would make every
  genuine message about its deduced alarm until that date look older. An
  order that far ahead found in an alarm counts as unknown (logged).
* One request per state change of a known alarm: a *fresh* message (its
  time at most ``reorder_window`` old) about an alarm this process knows is
  written with one ``PUT``, without reading first; any other is read first.
  Writes are verified in batches by a background thread (at most every
  ``verify_interval``: one listing of the project's event alarms, or one
  listing by name per alarm when that is cheaper): each alarm written is
  checked ``verify_interval`` after the write and once more after its
  message's time plus ``reorder_window`` (plus ``verify_interval``);
  duplicates are deleted and an older state written over ours by another
  process is written again. Every process verifies what it wrote, and an
  older message can only be written without reading while it is fresh,
  that is before the final check of whoever wrote the newer one.
  :meth:`AodhNotifier.close` waits for the final checks (at most
  ``reorder_window + 2 * verify_interval``).
* A message is acknowledged once written, before it is verified: a process
  killed before its final check leaves an older state written over its
  write by another process (in that window) unrepaired.
* An Aodh alarm not made by this notifier (named by ``aodh_alarm_id`` but
  without our ``vitrage_id`` query item) only gets ``PUT .../state`` (one
  request once known), is never deleted nor verified; its ordering is per
  process.
* Transient failures (connection, timeout, 429, 5xx, after the HTTP
  layer's retries) answer :attr:`Outcome.RETRY`; a write without reading
  first is not retried there: when it fails the message is applied again
  reading first. A 4xx that can never succeed is logged with Aodh's
  message and answers :attr:`Outcome.REJECT`; a malformed message answers
  :attr:`Outcome.REJECT`; anything else answers :attr:`Outcome.DONE`.
  ``notify`` never raises.

Thread-safe: messages about one deduced alarm are handled one at a time.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Mapping
from typing import ClassVar, NamedTuple

from oslo_config import cfg

from vitrage_ds import deduced
from vitrage_ds._logsafe import safe
from vitrage_ds.deduced import DeducedAlarm, DeducedAlarmActivate, Order
from vitrage_ds.errors import (APIError, BackendError, ConfigurationError,
                               InvalidMessage, MalformedResponse)
from vitrage_ds.http import paging
from vitrage_ds.http.client import Client
from vitrage_ds.notifier import Message, NotifierPlugin, Outcome
from vitrage_ds.notifiers import _aodh_alarm as aodh_alarm
from vitrage_ds.notifiers._aodh_alarm import ALARM_STATE, OK_STATE, AlarmRecord
from vitrage_ds.notifiers._aodh_watch import Watchlist, Written
from vitrage_ds.notifiers._keyed import Bounded, KeyedLocks
from vitrage_ds.plugin import PluginContext

__all__ = ['AodhNotifier', 'AODH_SEVERITIES', 'DEFAULT_SEVERITY_MAP', 'VITRAGE_SEVERITIES']

LOG = logging.getLogger(__name__)

#: Aodh's severities.
AODH_SEVERITIES = ('low', 'moderate', 'critical')

#: Vitrage severity (lower case) -> Aodh severity; anything else is ``low``.
#: As Vitrage 15's own Aodh notifier maps its operational severities.
DEFAULT_SEVERITY_MAP: Mapping[str, str] = {
    'critical': 'critical',
    'severe': 'moderate',
    'warning': 'low',
}

#: Vitrage's other operational severities (lower case): ``low`` without a warning.
VITRAGE_SEVERITIES = ('ok', 'n/a')

_ALARMS = 'v2/alarms'
# The project's event alarms in a stable order: alarm_id, unlike the default
# (last update first), does not move an alarm updated while pages are read.
_EVENT_ALARMS = (('q.field', 'type'), ('q.op', 'eq'), ('q.value', 'event'),
                 ('sort', 'alarm_id:asc'))
_PAGE = 1000
# Attempts at one message when its alarm vanishes under us (deleted meanwhile).
_ATTEMPTS = 3
# Repairs of one write before the verifier gives up on it (someone keeps
# writing older states: not another notifier process, which would stop).
_MAX_REPAIRS = 3
# Rounds close() tries again (verify_interval apart) after its deadline
# when the last one failed.
_CLOSE_RETRIES = 3


class _Known(NamedTuple):
    """A mirror alarm as this process last read or wrote it."""

    alarm_id: str
    record: AlarmRecord


class _Vanished(Exception):
    """The alarm being worked on was deleted meanwhile: start over."""


class AodhNotifier(NotifierPlugin):
    """Mirrors deduced alarms as Aodh event alarms, exactly once and in order.

    See the module docstring for the behaviour and its guarantees.

    :param sleep: waits (after a create, and in :meth:`close`).
    :param clock: the time in seconds since the epoch, compared with the
        messages' times.
    :param verify_in_background: whether a thread verifies writes; without
        it only :meth:`verify` and :meth:`close` do.
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
                         'critical), matched in any letter case. The default '
                         'is Vitrage\'s own Aodh notifier\'s. A severity not '
                         'listed becomes low; with a warning unless it is one '
                         'of Vitrage\'s (OK, N/A).'),
        cfg.StrOpt('event_type', default='*',
                   help='The event type of the created event alarms\' rule.'),
        cfg.IntOpt('cache_size', default=10_000, min=1,
                   help='Deduced alarms whose Aodh alarm and newest applied '
                        'message this process remembers; also the most '
                        'written alarms waiting for verification.'),
        cfg.IntOpt('max_connections', deprecated_name='max_concurrency', default=64, min=1,
                   help='Connections to Aodh kept open for reuse: the most '
                        'messages the notifier service hands this plugin at '
                        'once ([DEFAULT] executor_thread_pool_size, 64 by '
                        'default). Past it, a connection is closed after its '
                        'call and urllib3 warns "Connection pool is full". '
                        'At least [http] max_parallel_calls + 1.'),
        cfg.FloatOpt('verify_delay', default=0.1, min=0.0,
                     help='Seconds to wait after creating an alarm before '
                          'listing by name again to delete a duplicate '
                          'created at the same time by another notifier '
                          'process.'),
        cfg.FloatOpt('verify_interval', default=1.0, min=0.01,
                     help='Least seconds between two verification rounds '
                          '(and between a write and its first check). Each '
                          'round lists the project\'s event alarms once (or '
                          'by name, when fewer alarms are due than pages), '
                          'deletes duplicates and writes again a state '
                          'older than this process wrote.'),
        cfg.FloatOpt('reorder_window', default=10.0, min=0.0,
                     help='Seconds after its time during which a message about '
                          'a known alarm is written without reading the '
                          'alarm first; an older message is read first. '
                          'Each write is checked once more after its '
                          'message\'s time plus this (plus verify_interval), '
                          'and close() waits for those checks. Clock skew '
                          'between notifier hosts must stay well below '
                          'verify_interval.'),
        cfg.FloatOpt('max_clock_skew', default=300.0, min=0.0,
                     help='Seconds a message\'s time may be ahead of this '
                          'host\'s clock. A message dated later is rejected '
                          '(logged): applied, it would make every genuine '
                          'message about its deduced alarm until that date '
                          'look older, so change nothing.'),
    ]

    def __init__(self, context: PluginContext,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time,
                 verify_in_background: bool = True) -> None:
        super().__init__(context)
        self._sleep = sleep
        self._clock = clock
        self._background = verify_in_background
        self._client: Client | None = None
        self._severities = self._load_severity_map()
        self._interval = float(self.conf.verify_interval)
        self._window = float(self.conf.reorder_window)
        self._max_skew = float(self.conf.max_clock_skew)
        self._delete_on_deactivate = self.conf.deactivate_action == 'delete'
        self._known: Bounded[str, _Known] = Bounded(self.conf.cache_size)
        self._foreign: Bounded[str, bool] = Bounded(self.conf.cache_size)
        self._applied: Bounded[str, Order] = Bounded(self.conf.cache_size)
        self._locks = KeyedLocks()
        self._watch = Watchlist(self.conf.cache_size, self._interval)
        # Requests a listing of every event alarm costs, as last seen.
        self._listing_cost = 2
        self._round_lock = threading.Lock()
        self._thread_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()

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
        """Aodh's severity for a Vitrage one: mapped in any case, else ``low``.

        A severity neither mapped nor one of :data:`VITRAGE_SEVERITIES` is
        logged.
        """
        folded = severity.strip().lower()
        mapped = self._severities.get(folded)
        if mapped is None:
            if folded not in VITRAGE_SEVERITIES:
                LOG.warning('deduced alarm severity %r is not in [%s] severity_map; '
                            'using low', safe(severity), self.context.group)
            return 'low'
        return mapped

    # -- the contract ----------------------------------------------------

    def notify(self, msg: Message) -> Outcome:
        """Apply one deduced-alarm message to Aodh; see the module docstring."""
        metadata = msg.metadata if isinstance(msg.metadata, Mapping) else {}
        if msg.event_type not in deduced.EVENT_TYPES:
            LOG.debug('%s %s: not a deduced-alarm message; acknowledged',
                      safe(msg.event_type), safe(metadata.get('message_id', '')))
            return Outcome.DONE
        invalid: str | None = None
        try:
            alarm = deduced.from_message(msg.event_type, msg.payload)
            order = alarm.order(metadata.get('timestamp'))
        except InvalidMessage as exc:
            invalid = str(exc)
        if invalid is not None:
            # Logged outside the except block: oslo.log would append the
            # exception, unescaped, to the line.
            LOG.warning('%s %s rejected: %s', safe(msg.event_type),
                        safe(metadata.get('message_id', '')), safe(invalid, 400))
            return Outcome.REJECT
        latest = self._clock() + self._max_skew
        if order.micros / 1_000_000 > latest:
            LOG.warning('%s %s for deduced alarm %s rejected: dated %s, more than '
                        'max_clock_skew (%g s) ahead of this host\'s clock',
                        alarm.event_type, safe(metadata.get('message_id', '')),
                        safe(alarm.key), order.timestamp, self._max_skew)
            return Outcome.REJECT
        try:
            with self._locks.hold(alarm.key):
                return self._handle(alarm, order)
        except Exception:  # a bug must not escape into the bus listener
            LOG.exception('%s for deduced alarm %s failed unexpectedly',
                          alarm.event_type, safe(alarm.key))
            return Outcome.RETRY

    def _handle(self, msg: DeducedAlarm, order: Order) -> Outcome:
        last = self._applied.get(msg.key)
        if last is not None and order <= last:
            LOG.debug('%s for %s is not newer than %s: nothing to do',
                      msg.event_type, safe(msg.key), last)
            return Outcome.DONE
        try:
            for _attempt in range(_ATTEMPTS):
                try:
                    applied = self._apply(msg, order)
                except _Vanished:
                    continue
                if applied is not None:
                    self._note_applied(msg.key, applied)
                return Outcome.DONE
            LOG.warning('the Aodh alarm of deduced alarm %s kept vanishing; will retry',
                        safe(msg.key))
            return Outcome.RETRY
        except APIError as exc:
            if exc.transient:
                LOG.warning('%s for %s not applied, will retry: %s',
                            msg.event_type, safe(msg.key), safe(str(exc), 500))
                return Outcome.RETRY
            LOG.error('Aodh refused %s for deduced alarm %s: %s',
                      msg.event_type, safe(msg.key), safe(str(exc), 500))
            return Outcome.REJECT
        except BackendError as exc:
            LOG.warning('%s for %s not applied, will retry: %s',
                        msg.event_type, safe(msg.key), safe(str(exc), 500))
            return Outcome.RETRY

    def _note_applied(self, key: str, order: Order) -> None:
        last = self._applied.peek(key)
        if last is None or order > last:
            self._applied.put(key, order)

    # -- applying one message --------------------------------------------

    def _apply(self, msg: DeducedAlarm, order: Order) -> Order | None:
        """Bring Aodh to ``msg``'s state unless it holds a newer one.

        :returns: the newest order now known to be applied (``order`` or a
            newer one found in Aodh), or ``None`` when nothing is known.
        :raises _Vanished: the alarm was deleted while we worked on it.
        """
        state = ALARM_STATE if isinstance(msg, DeducedAlarmActivate) else OK_STATE
        if msg.aodh_alarm_id is not None and self._foreign.get(msg.aodh_alarm_id):
            return self._set_foreign_state(msg.aodh_alarm_id, state, order)
        known = self._known.get(msg.key)
        if (known is None or not self._fresh(order)
                or msg.aodh_alarm_id not in (None, known.alarm_id)
                or (state == OK_STATE and self._delete_on_deactivate)):
            return self._apply_read_first(msg, order, state)
        stored = self._stored(known.record)
        if stored is not None and stored >= order:
            return stored
        try:
            self._write(known.record, msg, order, state, blind=True)
        except BackendError as exc:
            # Done the safe way instead, which may be retried at any time.
            LOG.info('writing Aodh alarm %s without reading it failed (%s); reading it '
                     'first', safe(known.alarm_id), safe(str(exc), 500))
            if isinstance(exc, APIError) and not exc.transient:
                self._known.pop(msg.key)  # what we remember may be out of date
            return self._apply_read_first(msg, order, state)
        return order

    def _stored(self, alarm: AlarmRecord) -> Order | None:
        """The order ``alarm`` holds, or ``None`` when unknown or dated beyond
        ``max_clock_skew``: such an order (written before that check, or by
        a host whose clock ran ahead) must not make genuine messages look
        older, so the next message is written over it."""
        stored = aodh_alarm.applied_order(alarm)
        if stored is not None and stored.micros / 1_000_000 > self._clock() + self._max_skew:
            LOG.warning('Aodh alarm %s holds a change dated %s, more than max_clock_skew '
                        'ahead of this host\'s clock: taken as unknown',
                        safe(alarm.get('alarm_id')), stored.timestamp)
            return None
        return stored

    def _fresh(self, order: Order) -> bool:
        """Whether ``order``'s time is within ``reorder_window`` of now."""
        return order.micros / 1_000_000 >= self._clock() - self._window

    def _apply_read_first(self, msg: DeducedAlarm, order: Order,
                          state: str) -> Order | None:
        target = self._locate(msg)
        if target is not None and not aodh_alarm.is_mirror(target, msg):
            self._foreign.put(aodh_alarm.alarm_id(target), True)
            return self._set_foreign_state(aodh_alarm.alarm_id(target), state, order)
        if target is not None:
            stored = self._stored(target)
            if stored is not None and stored >= order:
                LOG.debug('Aodh alarm %s already reflects %s (newer than %s)',
                          safe(aodh_alarm.alarm_id(target)), stored, order)
                return stored
        if state == OK_STATE and self._delete_on_deactivate:
            return self._delete(msg, order, target)
        if target is None:
            if msg.aodh_name is None:
                LOG.info('%s for %s: Aodh alarm %s not found and no name to '
                         'find it by; nothing to do', msg.event_type,
                         safe(msg.key), safe(msg.aodh_alarm_id))
                return order
            return self._create(msg, order, state)
        self._write(target, msg, order, state)
        return order

    def _severity(self, msg: DeducedAlarm) -> str | None:
        return (self.aodh_severity(msg.severity)
                if isinstance(msg, DeducedAlarmActivate) else None)

    def _remember(self, key: str, alarm: AlarmRecord) -> None:
        self._known.put(key, _Known(aodh_alarm.alarm_id(alarm), alarm))

    def _locate(self, msg: DeducedAlarm) -> AlarmRecord | None:
        """The Aodh alarm of ``msg``: by its Aodh id, a remembered id, or by name."""
        if msg.aodh_alarm_id is not None:
            found = self._get(msg.aodh_alarm_id)
            if found is not None:
                if aodh_alarm.is_mirror(found, msg):
                    self._remember(msg.key, found)
                return found
        known = self._known.get(msg.key)
        if known is not None and known.alarm_id != msg.aodh_alarm_id:
            found = self._get(known.alarm_id)
            if found is not None and aodh_alarm.is_mirror(found, msg):
                self._remember(msg.key, found)
                return found
            self._known.pop(msg.key)
        if msg.aodh_name is None:
            return None
        mirrors = self._mirrors(msg.aodh_name, msg)
        return self._dedupe(msg.key, mirrors) if mirrors else None

    def _create(self, msg: DeducedAlarm, order: Order, state: str) -> Order | None:
        """Create the alarm, then list by name again and keep the oldest mirror.

        :returns: the order the surviving alarm is known to hold.
        """
        assert msg.aodh_name is not None
        created = round(self._clock() * 1_000_000)
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
        self._remember(msg.key, {**body, **alarm})
        LOG.info('created Aodh alarm %s (%s) for deduced alarm %s in state %s',
                 safe(new_id), safe(msg.aodh_name), safe(msg.key), state)
        # Another process may have created one at the same time.
        self._sleep(self.conf.verify_delay)
        mirrors = self._mirrors(msg.aodh_name, msg)
        if not mirrors:
            # Deleted since: by a newer deactivate (deactivate_action =
            # delete) or by hand. Either way not ours to bring back.
            self._known.pop(msg.key)
            return order
        keep = self._dedupe(msg.key, mirrors)
        stored = self._stored(keep)
        if stored is not None and stored >= order:
            self._watch_write(msg, order, state, msg.aodh_name)
            return stored
        LOG.info('Aodh alarm %s of deduced alarm %s holds %s, older than %s: '
                 'writing it', safe(aodh_alarm.alarm_id(keep)), safe(msg.key), stored, order)
        self._write(keep, msg, order, state)
        return order

    def _write(self, target: AlarmRecord, msg: DeducedAlarm, order: Order, state: str,
               *, blind: bool = False) -> None:
        """Write ``msg`` to the mirror ``target`` and watch the write.

        :param blind: ``target`` is remembered, not just read: the HTTP
            layer does not retry (a retry much later could land after the
            final check of a newer write; the caller reads first instead).
        """
        self._update(target, msg, order, state, retry=False if blind else None)
        name = msg.aodh_name or str(target.get('name') or '')
        self._watch_write(msg, order, state, name)

    def _update(self, target: AlarmRecord, msg: DeducedAlarm, order: Order,
                state: str, *, retry: bool | None = None) -> None:
        body = aodh_alarm.update_body(target, msg, order, state=state,
                                      severity=self._severity(msg))
        target_id = aodh_alarm.alarm_id(target)
        try:
            self.client.put(_alarm_path(target_id), json=body, retry=retry)
        except APIError as exc:
            if exc.status == 404:
                self._known.pop(msg.key)
                raise _Vanished() from exc
            raise
        self._remember(msg.key, {**body, 'alarm_id': target_id})
        LOG.info('Aodh alarm %s of deduced alarm %s: state %s (%s)', safe(target_id),
                 safe(msg.key), state, msg.event_type)

    def _set_foreign_state(self, target_id: str, state: str, order: Order) -> Order:
        """Set the state of an alarm this notifier did not create; nothing else."""
        try:
            self.client.put(f'{_alarm_path(target_id)}/state', json=state)
        except APIError as exc:
            if exc.status == 404:
                self._foreign.pop(target_id)
                raise _Vanished() from exc
            raise
        LOG.info('Aodh alarm %s: state %s', safe(target_id), state)
        return order

    def _delete(self, msg: DeducedAlarm, order: Order,
                target: AlarmRecord | None) -> Order:
        doomed = [] if target is None else [target]
        name = msg.aodh_name or (str(target['name']) if target and target.get('name')
                                 else None)
        if name is not None:
            doomed += self._mirrors(name, msg)
        seen: set[str] = set()
        for alarm in doomed:
            stored = self._stored(alarm)
            the_id = aodh_alarm.alarm_id(alarm)
            if the_id in seen or (stored is not None and stored >= order):
                continue
            seen.add(the_id)
            self._delete_one(the_id)
            LOG.info('deleted Aodh alarm %s of deduced alarm %s', safe(the_id), safe(msg.key))
        self._known.pop(msg.key)
        self._watch.forget(msg.key)
        return order

    # -- verification ------------------------------------------------------

    def _watch_write(self, msg: DeducedAlarm, order: Order, state: str, name: str) -> None:
        now = self._clock()
        # The first check doubles as the final one when the message is late.
        final = max(order.micros / 1_000_000 + self._window, now) + self._interval
        if self._watch.add(Written(msg.key, name, msg, order, state, now, final)):
            self._wake.set()
        if self._background and (self._thread is None or not self._thread.is_alive()):
            self._start_verifier()

    def verify(self) -> bool:
        """Run one verification round now, over the writes that are due.

        Never raises: a round that fails is logged and the next one tries
        again.

        :returns: whether the round completed (or had nothing to do).
        """
        return self._verify(everything=False)

    def _verify(self, *, everything: bool) -> bool:
        with self._round_lock:
            started = self._clock()
            entries = self._watch.entries() if everything else self._watch.due(started)
            if not entries:
                return True
            try:
                listed, complete = self._listing({e.aodh_name for e in entries})
                if complete:
                    entries = self._watch.entries()  # every one is listed: check all
                for entry in entries:
                    self._check(entry, listed.get(entry.aodh_name, []), started)
                if complete:
                    self._refresh(listed)
            except BackendError as exc:
                LOG.warning('verifying the Aodh alarms this process wrote failed, '
                            'will try again: %s', safe(str(exc), 500))
                return False
            except Exception:  # a bug must not kill the verifier
                LOG.exception('verifying the Aodh alarms this process wrote failed')
                return False
            return True

    def _listing(self, names: set[str]) -> tuple[dict[str, list[AlarmRecord]], bool]:
        """The alarms named ``names``, by name; whether every event alarm is there.

        One listing by name per name, or one listing of every event alarm
        of the project when that takes fewer requests.
        """
        if len(names) <= self._listing_cost:
            return {name: self._named(name) for name in names}, False
        alarms = list(self.client.paginate_marker(_ALARMS, 'alarm_id', _EVENT_ALARMS,
                                                  limit=_PAGE))
        self._listing_cost = len(alarms) // _PAGE + 2
        by_name: dict[str, list[AlarmRecord]] = {}
        for alarm in alarms:
            by_name.setdefault(str(alarm.get('name')), []).append(alarm)
        return by_name, True

    def _check(self, entry: Written, named: list[AlarmRecord], listed_at: float) -> None:
        """Check one write against a listing taken at ``listed_at``; repair it."""
        key = entry.key
        with self._locks.hold(key):
            if self._watch.get(key) is not entry or entry.written_at > listed_at:
                return  # written again since the listing: a later round checks it
            mirrors = [a for a in named if aodh_alarm.is_mirror(a, entry.message)]
            if not mirrors:
                LOG.info('the Aodh alarm of deduced alarm %s was deleted; no longer '
                         'verifying it', safe(key))
                self._known.pop(key)
                self._watch.discard(entry)
                return
            keep = self._dedupe(key, mirrors)
            stored = self._stored(keep)
            if stored is not None and stored >= entry.order:
                self._note_applied(key, stored)
                self._watch.checked(entry, listed_at)
                return
            if entry.repairs >= _MAX_REPAIRS:
                LOG.error('Aodh alarm %s of deduced alarm %s was overwritten with an '
                          'older state %d times; no longer verifying it',
                          safe(aodh_alarm.alarm_id(keep)), safe(key), entry.repairs)
                self._watch.discard(entry)
                return
            LOG.info('Aodh alarm %s of deduced alarm %s holds %s, older than %s '
                     'written by this process: writing it again',
                     safe(aodh_alarm.alarm_id(keep)), safe(key), stored, entry.order)
            try:
                self._update(keep, entry.message, entry.order, entry.state)
            except _Vanished:
                return  # the next round finds it gone, or its replacement
            except APIError as exc:
                if exc.transient:
                    raise
                LOG.error('Aodh refused to repair alarm %s of deduced alarm %s: %s',
                          safe(aodh_alarm.alarm_id(keep)), safe(key), safe(str(exc), 500))
                self._watch.discard(entry)
                return
            self._watch.rewritten(entry, self._clock())

    def _refresh(self, listed: Mapping[str, list[AlarmRecord]]) -> None:
        """Remember newer states other processes wrote to alarms this one knows.

        So that this process drops older messages without a request, and
        writes from an up-to-date record.
        """
        for name, alarms in listed.items():
            by_key: dict[str, list[AlarmRecord]] = {}
            for alarm in alarms:
                alarm_key = aodh_alarm.key_of(alarm)
                if alarm_key is not None:
                    by_key.setdefault(alarm_key, []).append(alarm)
            for key, mirrors in by_key.items():
                known = self._known.peek(key)
                if known is None or known.record.get('name') != name:
                    continue
                with self._locks.hold(key):
                    known = self._known.peek(key)
                    if known is None or self._watch.get(key) is not None:
                        continue
                    keep = aodh_alarm.survivor(mirrors)
                    listed_order = self._stored(keep)
                    mine = self._stored(known.record)
                    if (aodh_alarm.alarm_id(keep) != known.alarm_id
                            or (listed_order is not None
                                and (mine is None or listed_order > mine))):
                        self._remember(key, keep)
                        if listed_order is not None:
                            self._note_applied(key, listed_order)

    def _start_verifier(self) -> None:
        with self._thread_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping.clear()
            self._thread = threading.Thread(target=self._verify_loop, daemon=True,
                                            name=f'{self.context.group} verifier')
            self._thread.start()

    def _verify_loop(self) -> None:
        while not self._stopping.is_set():
            if not len(self._watch):
                self._wake.wait()
                self._wake.clear()
                continue
            if self._stopping.wait(self._interval):
                return
            self.verify()

    def _stop_verifier(self) -> None:
        with self._thread_lock:
            thread, self._thread = self._thread, None
            self._stopping.set()
            self._wake.set()
        if thread is not None:
            thread.join()

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

    def _named(self, aodh_name: str) -> list[AlarmRecord]:
        """Every alarm named ``aodh_name``.

        The query has exactly one item, ``name eq <aodh_name>``, whatever the
        name holds: the HTTP layer encodes it as one query-string value.
        """
        params = [('q.field', 'name'), ('q.op', 'eq'), ('q.value', aodh_name)]
        # A few alarms at most share a name: a short page is the last one.
        alarms = paging.short_listing(
            paging.marker_pages(self.client, _ALARMS, 'alarm_id', params, _PAGE), _PAGE)
        return [a for a in alarms if a.get('name') == aodh_name]

    def _mirrors(self, aodh_name: str, msg: DeducedAlarm) -> list[AlarmRecord]:
        """Every alarm named ``aodh_name`` that mirrors the deduced alarm of ``msg``."""
        return [a for a in self._named(aodh_name) if aodh_alarm.is_mirror(a, msg)]

    def _dedupe(self, key: str, mirrors: list[AlarmRecord]) -> AlarmRecord:
        """Delete every mirror but the survivor; remember and return the survivor."""
        keep = aodh_alarm.survivor(mirrors)
        keep_id = aodh_alarm.alarm_id(keep)
        for alarm in mirrors:
            if aodh_alarm.alarm_id(alarm) != keep_id:
                self._delete_one(aodh_alarm.alarm_id(alarm))
                LOG.info('deleted duplicate Aodh alarm %s of deduced alarm %s '
                         '(keeping %s)', safe(aodh_alarm.alarm_id(alarm)), safe(key), safe(keep_id))
        self._remember(key, keep)
        return keep

    def _delete_one(self, the_id: str) -> None:
        try:
            self.client.delete(_alarm_path(the_id))
        except APIError as exc:
            if exc.status != 404:  # already gone: what we wanted
                raise

    def close(self) -> None:
        """Stop the verifier after the final checks of every write.

        Checks every watched write at once, then waits until the last final
        check is due, at most ``reorder_window + 2 * verify_interval``, and
        checks again, so that a draining service leaves its alarms settled.
        A failed round is tried again every ``verify_interval``, at most
        three times past that deadline. What is still unverified then (Aodh
        failing, or messages dated ahead of this host's clock) is logged and
        forgotten. Idempotent; a later ``notify`` starts a new verifier.
        """
        self._stop_verifier()
        if not len(self._watch):
            return
        deadline = self._clock() + self._window + 2 * self._interval
        completed = self._verify(everything=True)
        while len(self._watch):
            now = self._clock()
            if now >= deadline and (completed or
                                    now >= deadline + _CLOSE_RETRIES * self._interval):
                left = self._watch.clear()
                LOG.warning('closing with %d Aodh alarms written whose final check '
                            'could not be made (Aodh failing, or messages dated ahead '
                            'of this host\'s clock): deduced alarms %s', len(left),
                            ', '.join(safe(e.key) for e in left[:10]))
                return
            latest = self._watch.latest_final_check() or now
            # Soon after a failed round, or a repair to check again.
            wake_at = (min(latest, deadline) if completed and latest > now
                       else now + self._interval)
            self._sleep(wake_at - now)
            completed = self._verify(everything=True)


def _alarm_path(the_id: str) -> str:
    return f'{_ALARMS}/{urllib.parse.quote(the_id, safe="")}'

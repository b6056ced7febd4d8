"""What one notifier process knows of the Aodh alarms of deduced alarms, and
the writes that both a message and a repair make.

Shared by the :class:`~vitrage_ds.notifiers.aodh.mirror.Mirror` (a message)
and the :class:`~vitrage_ds.notifiers.aodh.verifier.Verifier` (a repair):

* the *known* mirror of each deduced alarm, as this process last read or
  wrote it, and the order of the newest message applied to it, in bounded
  caches (``cache_size`` deduced alarms each, least recently used first
  out);
* one lock per deduced alarm (:attr:`AlarmStore.locks`): its messages and
  checks run one at a time;
* the order an alarm holds, an order dated more than ``max_clock_skew``
  ahead of this host's clock counting as unknown (logged): it must not make
  genuine messages look older, so the next message is written over it;
* a full ``PUT`` of a message's state and order to a mirror, or of a state
  its history recorded (a repair), and deleting every duplicate mirror but
  the survivor (:func:`~vitrage_ds.notifiers.aodh.record.survivor`).

Thread-safe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import NamedTuple

from vitrage_ds._logsafe import safe
from vitrage_ds.deduced import DeducedAlarm, DeducedAlarmActivate, Order
from vitrage_ds.notifiers.aodh.alarms import AodhAlarms, Vanished
from vitrage_ds.notifiers.aodh.keyed import Bounded, KeyedLocks
from vitrage_ds.notifiers.aodh.record import (AlarmRecord, Recorded, alarm_id, applied_order,
                                              is_mirror, recorded_in, restore_body, survivor,
                                              update_body)

__all__ = ['AlarmStore', 'Known']

LOG = logging.getLogger(__name__)


class Known(NamedTuple):
    """A mirror alarm as this process last read or wrote it."""

    alarm_id: str
    record: AlarmRecord


class AlarmStore:
    """The known mirrors of deduced alarms, and the writes to them.

    :param alarms: the requests to Aodh.
    :param cache_size: deduced alarms remembered (each cache).
    :param max_clock_skew: seconds an order may be dated ahead of ``clock``.
    :param severity: Aodh's severity for a Vitrage one.
    :param clock: the time in seconds since the epoch.
    """

    def __init__(self, alarms: AodhAlarms, *, cache_size: int, max_clock_skew: float,
                 severity: Callable[[str], str], clock: Callable[[], float]) -> None:
        self._aodh = alarms
        self._max_skew = max_clock_skew
        self._severity_of = severity
        self._clock = clock
        self._known: Bounded[str, Known] = Bounded(cache_size)
        self._applied: Bounded[str, Order] = Bounded(cache_size)
        #: One lock per deduced alarm: hold it to apply or check its messages.
        self.locks = KeyedLocks()

    @property
    def max_clock_skew(self) -> float:
        """Seconds an order may be dated ahead of this host's clock."""
        return self._max_skew

    # -- what this process remembers ---------------------------------------

    def known(self, key: str, *, used: bool = True) -> Known | None:
        """The mirror of ``key`` as last read or written, if remembered.

        :param used: count it as recently used (a message, not a check).
        """
        return self._known.get(key) if used else self._known.peek(key)

    def remember(self, key: str, alarm: AlarmRecord) -> None:
        """``alarm`` is the mirror of ``key``, as now read or written."""
        self._known.put(key, Known(alarm_id(alarm), alarm))

    def forget(self, key: str) -> None:
        """The mirror of ``key`` may be gone or changed: look it up next time."""
        self._known.pop(key)

    def applied(self, key: str) -> Order | None:
        """The order of the newest message known applied to the mirror of ``key``."""
        return self._applied.get(key)

    def note_applied(self, key: str, order: Order) -> None:
        """``order`` (or a newer one) is applied to the mirror of ``key``."""
        last = self._applied.peek(key)
        if last is None or order > last:
            self._applied.put(key, order)

    def stored(self, alarm: AlarmRecord) -> Order | None:
        """The order ``alarm`` holds, or ``None`` when unknown or dated beyond
        ``max_clock_skew``: such an order (written before that check, or by
        a host whose clock ran ahead) must not make genuine messages look
        older, so the next message is written over it."""
        stored = applied_order(alarm)
        if stored is not None and stored.micros / 1_000_000 > self._clock() + self._max_skew:
            LOG.warning('Aodh alarm %s holds a change dated %s, more than max_clock_skew '
                        'ahead of this host\'s clock: taken as unknown',
                        safe(alarm.get('alarm_id')), stored.timestamp)
            return None
        return stored

    def severity(self, msg: DeducedAlarm) -> str | None:
        """Aodh's severity for ``msg``: an activate's, mapped; ``None`` for a deactivate."""
        return (self._severity_of(msg.severity)
                if isinstance(msg, DeducedAlarmActivate) else None)

    # -- the writes both a message and a repair make -----------------------

    def mirrors(self, aodh_name: str, msg: DeducedAlarm) -> list[AlarmRecord]:
        """Every alarm named ``aodh_name`` that mirrors the deduced alarm of ``msg``."""
        return [a for a in self._aodh.named(aodh_name) if is_mirror(a, msg)]

    def update(self, target: AlarmRecord, msg: DeducedAlarm, order: Order,
               state: str, *, retry: bool | None = None) -> None:
        """Write ``msg``'s state and ``order`` to the mirror ``target`` (a full ``PUT``).

        :raises Vanished: the alarm is gone (and forgotten).
        """
        body = update_body(target, msg, order, state=state, severity=self.severity(msg))
        target_id = alarm_id(target)
        try:
            self._aodh.update(target_id, body, retry=retry)
        except Vanished:
            self._known.pop(msg.key)
            raise
        self.remember(msg.key, {**body, 'alarm_id': target_id})
        LOG.info('Aodh alarm %s of deduced alarm %s: state %s (%s)', safe(target_id),
                 safe(msg.key), state, msg.event_type)

    def restore(self, target: AlarmRecord, key: str, recorded: Recorded) -> None:
        """Write the ``recorded`` state and order back to the mirror ``target``
        of ``key`` (a full ``PUT``).

        :raises Vanished: the alarm is gone (and forgotten).
        """
        body = restore_body(target, recorded)
        target_id = alarm_id(target)
        try:
            self._aodh.update(target_id, body)
        except Vanished:
            self._known.pop(key)
            raise
        self.remember(key, {**body, 'alarm_id': target_id})
        LOG.info('Aodh alarm %s of deduced alarm %s: state %s again (%s)', safe(target_id),
                 safe(key), recorded.state, recorded.order)

    def dedupe(self, key: str, mirrors: list[AlarmRecord]) -> AlarmRecord:
        """Delete every mirror but the survivor; remember and return the survivor.

        When a duplicate holds a newer state than the survivor (its writer,
        another process, may not live to repair it), that state is written
        to the survivor first, and the survivor returned as written.

        :raises Vanished: the survivor was deleted meanwhile (nothing else is).
        """
        keep = survivor(mirrors)
        keep_id = alarm_id(keep)
        newest: Recorded | None = None
        for alarm in mirrors:
            recorded = recorded_in(alarm) if alarm_id(alarm) != keep_id else None
            if (recorded is not None and self.stored(alarm) is not None
                    and (newest is None or recorded.order > newest.order)):
                newest = recorded
        kept = self.stored(keep)
        if newest is not None and (kept is None or newest.order > kept):
            LOG.info('a duplicate of Aodh alarm %s of deduced alarm %s holds the newer %s: '
                     'writing it to the one kept', safe(keep_id), safe(key), newest.order)
            self.restore(keep, key, newest)
            self.note_applied(key, newest.order)
            keep = {**restore_body(keep, newest), 'alarm_id': keep_id}
        for alarm in mirrors:
            if alarm_id(alarm) != keep_id:
                self._aodh.delete(alarm_id(alarm))
                LOG.info('deleted duplicate Aodh alarm %s of deduced alarm %s '
                         '(keeping %s)', safe(alarm_id(alarm)), safe(key), safe(keep_id))
        self.remember(key, keep)
        return keep

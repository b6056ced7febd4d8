"""Applying one deduced-alarm message to its Aodh alarm, the *mirror*.

What this process knows of the mirrors, and the writes a repair makes too,
are :mod:`~vitrage_ds.notifiers.aodh.store`'s; the requests are
:mod:`~vitrage_ds.notifiers.aodh.alarms`'; what an alarm is ours and what
it holds is :mod:`~vitrage_ds.notifiers.aodh.record`'s; every write is then
handed to :mod:`~vitrage_ds.notifiers.aodh.watchlist` for the verifier to
check.

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
  creating, list by name again and delete every mirror except the oldest
  (:func:`~vitrage_ds.notifiers.aodh.record.survivor`: two notifier
  processes may race).
* The newest message wins: the order of the newest message applied is kept
  in the alarm (see :mod:`~vitrage_ds.notifiers.aodh.record`) and in a
  bounded per-process cache (:mod:`~vitrage_ds.notifiers.aodh.store`), and
  an older or repeated message changes nothing.
* One request per state change of a known alarm: a *fresh* message (its
  time at most ``reorder_window`` old) about an alarm this process knows is
  written with one ``PUT``, without reading first, and not retried by the
  HTTP layer (a retry much later could land after the final check of a
  newer write): when it fails, the message is applied again reading first.
  Any other message is read first. Every write is watched, and checked
  later by the verifier.
* An Aodh alarm not made by this notifier (named by ``aodh_alarm_id`` but
  not a mirror) only gets ``PUT .../state`` (one request once known), is
  never deleted nor verified; its ordering is per process.

Thread-safe when messages about one deduced alarm are applied one at a time
(:attr:`AlarmStore.locks <vitrage_ds.notifiers.aodh.store.AlarmStore.locks>`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from vitrage_ds._logsafe import safe
from vitrage_ds.deduced import DeducedAlarm, DeducedAlarmActivate, Order
from vitrage_ds.errors import APIError, BackendError
from vitrage_ds.notifiers.aodh.alarms import AodhAlarms, Vanished
from vitrage_ds.notifiers.aodh.keyed import Bounded
from vitrage_ds.notifiers.aodh.record import (ALARM_STATE, OK_STATE, AlarmRecord, alarm_id,
                                              create_body, is_mirror)
from vitrage_ds.notifiers.aodh.store import AlarmStore
from vitrage_ds.notifiers.aodh.watchlist import Watchlist

__all__ = ['Mirror', 'Vanished']

LOG = logging.getLogger(__name__)

# Attempts at one message when its alarm vanishes under us (deleted meanwhile).
_ATTEMPTS = 3


class Mirror:
    """Brings the Aodh alarm of a deduced alarm to its newest message's state.

    :param store: what this process knows of the mirrors, and their writes.
    :param alarms: the requests to Aodh.
    :param watchlist: where each write goes to be verified.
    :param conf: the ``[notifier.aodh]`` options.
    :param watched: called after each write is watched, with whether the
        watchlist was empty before.
    :param clock: the time in seconds since the epoch.
    :param sleep: waits after a create.
    """

    def __init__(self, store: AlarmStore, alarms: AodhAlarms, watchlist: Watchlist,
                 conf: Any, *, watched: Callable[[bool], None],
                 clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self._store = store
        self._aodh = alarms
        self._watch = watchlist
        self._watched = watched
        self._clock = clock
        self._sleep = sleep
        self._window = float(conf.reorder_window)
        self._verify_delay = float(conf.verify_delay)
        self._event_type = str(conf.event_type)
        self._delete_on_deactivate = conf.deactivate_action == 'delete'
        # Aodh ids of alarms this notifier did not create.
        self._foreign: Bounded[str, bool] = Bounded(conf.cache_size)

    # -- one message -------------------------------------------------------

    def apply(self, msg: DeducedAlarm, order: Order) -> None:
        """Bring Aodh to ``msg``'s state (dated ``order``) unless it holds a
        newer one; hold the store's ``locks.hold(msg.key)``.

        :raises Vanished: the alarm was deleted under us, attempt after attempt.
        :raises vitrage_ds.errors.BackendError: Aodh failed or refused.
        """
        last = self._store.applied(msg.key)
        if last is not None and order <= last:
            LOG.debug('%s for %s is not newer than %s: nothing to do',
                      msg.event_type, safe(msg.key), last)
            return
        for _attempt in range(_ATTEMPTS):
            try:
                applied = self._apply(msg, order)
            except Vanished:
                continue
            if applied is not None:
                self._store.note_applied(msg.key, applied)
            return
        raise Vanished()

    def _apply(self, msg: DeducedAlarm, order: Order) -> Order | None:
        """One attempt at ``msg``.

        :returns: the newest order now known to be applied (``order`` or a
            newer one found in Aodh), or ``None`` when nothing is known.
        :raises Vanished: the alarm was deleted while we worked on it.
        """
        state = ALARM_STATE if isinstance(msg, DeducedAlarmActivate) else OK_STATE
        if msg.aodh_alarm_id is not None and self._foreign.get(msg.aodh_alarm_id):
            return self._set_foreign_state(msg.aodh_alarm_id, state, order)
        known = self._store.known(msg.key)
        if (known is None or not self._fresh(order)
                or msg.aodh_alarm_id not in (None, known.alarm_id)
                or (state == OK_STATE and self._delete_on_deactivate)):
            return self._apply_read_first(msg, order, state)
        stored = self._store.stored(known.record)
        if stored is not None and stored >= order:
            return stored
        try:
            self._write(known.record, msg, order, state, blind=True)
        except BackendError as exc:
            # Done the safe way instead, which may be retried at any time.
            LOG.info('writing Aodh alarm %s without reading it failed (%s); reading it '
                     'first', safe(known.alarm_id), safe(str(exc), 500))
            if isinstance(exc, APIError) and not exc.transient:
                self._store.forget(msg.key)  # what we remember may be out of date
            return self._apply_read_first(msg, order, state)
        return order

    def _fresh(self, order: Order) -> bool:
        """Whether ``order``'s time is within ``reorder_window`` of now."""
        return order.micros / 1_000_000 >= self._clock() - self._window

    def _apply_read_first(self, msg: DeducedAlarm, order: Order,
                          state: str) -> Order | None:
        target = self._locate(msg)
        if target is not None and not is_mirror(target, msg):
            self._foreign.put(alarm_id(target), True)
            return self._set_foreign_state(alarm_id(target), state, order)
        if target is not None:
            stored = self._store.stored(target)
            if stored is not None and stored >= order:
                LOG.debug('Aodh alarm %s already reflects %s (newer than %s)',
                          safe(alarm_id(target)), stored, order)
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

    def _locate(self, msg: DeducedAlarm) -> AlarmRecord | None:
        """The Aodh alarm of ``msg``: by its Aodh id, a remembered id, or by name."""
        if msg.aodh_alarm_id is not None:
            found = self._aodh.get(msg.aodh_alarm_id)
            if found is not None:
                if is_mirror(found, msg):
                    self._store.remember(msg.key, found)
                return found
        known = self._store.known(msg.key)
        if known is not None and known.alarm_id != msg.aodh_alarm_id:
            found = self._aodh.get(known.alarm_id)
            if found is not None and is_mirror(found, msg):
                self._store.remember(msg.key, found)
                return found
            self._store.forget(msg.key)
        if msg.aodh_name is None:
            return None
        mirrors = self._store.mirrors(msg.aodh_name, msg)
        return self._store.dedupe(msg.key, mirrors) if mirrors else None


    def _create(self, msg: DeducedAlarm, order: Order, state: str) -> Order | None:
        """Create the alarm, then list by name again and keep the oldest mirror.

        :returns: the order the surviving alarm is known to hold.
        """
        assert msg.aodh_name is not None
        body = create_body(
            msg, order, state=state, severity=self._store.severity(msg) or 'low',
            created=round(self._clock() * 1_000_000), event_type=self._event_type)
        alarm = self._aodh.create(body)
        self._store.remember(msg.key, {**body, **alarm})
        LOG.info('created Aodh alarm %s (%s) for deduced alarm %s in state %s',
                 safe(alarm_id(alarm)), safe(msg.aodh_name), safe(msg.key), state)
        # Another process may have created one at the same time.
        self._sleep(self._verify_delay)
        mirrors = self._store.mirrors(msg.aodh_name, msg)
        if not mirrors:
            # Deleted since: by a newer deactivate (deactivate_action =
            # delete) or by hand. Either way not ours to bring back.
            self._store.forget(msg.key)
            return order
        keep = self._store.dedupe(msg.key, mirrors)
        stored = self._store.stored(keep)
        if stored is not None and stored >= order:
            self._watch_write(msg, order, state, msg.aodh_name)
            return stored
        LOG.info('Aodh alarm %s of deduced alarm %s holds %s, older than %s: '
                 'writing it', safe(alarm_id(keep)), safe(msg.key), stored, order)
        self._write(keep, msg, order, state)
        return order

    def _write(self, target: AlarmRecord, msg: DeducedAlarm, order: Order, state: str,
               *, blind: bool = False) -> None:
        """Write ``msg`` to the mirror ``target`` and watch the write.

        :param blind: ``target`` is remembered, not just read: the HTTP
            layer does not retry (a retry much later could land after the
            final check of a newer write; the caller reads first instead).
        """
        self._store.update(target, msg, order, state, retry=False if blind else None)
        self._watch_write(msg, order, state, msg.aodh_name or str(target.get('name') or ''))

    def _set_foreign_state(self, target_id: str, state: str, order: Order) -> Order:
        """Set the state of an alarm this notifier did not create; nothing else."""
        try:
            self._aodh.set_state(target_id, state)
        except Vanished:
            self._foreign.pop(target_id)
            raise
        LOG.info('Aodh alarm %s: state %s', safe(target_id), state)
        return order

    def _delete(self, msg: DeducedAlarm, order: Order,
                target: AlarmRecord | None) -> Order:
        doomed = [] if target is None else [target]
        name = msg.aodh_name or (str(target['name']) if target and target.get('name')
                                 else None)
        if name is not None:
            doomed += self._store.mirrors(name, msg)
        seen: set[str] = set()
        for alarm in doomed:
            stored = self._store.stored(alarm)
            the_id = alarm_id(alarm)
            if the_id in seen or (stored is not None and stored >= order):
                continue
            seen.add(the_id)
            self._aodh.delete(the_id)
            LOG.info('deleted Aodh alarm %s of deduced alarm %s', safe(the_id), safe(msg.key))
        self._store.forget(msg.key)
        self._watch.forget(msg.key)
        return order


    def _watch_write(self, msg: DeducedAlarm, order: Order, state: str, name: str) -> None:
        self._watched(self._watch.wrote(msg, order, state, name, self._clock()))

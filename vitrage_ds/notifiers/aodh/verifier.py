"""Checking later what the Aodh notifier wrote, in batches, on a thread of its own.

The :class:`~vitrage_ds.notifiers.aodh.mirror.Mirror` writes a known alarm
with one ``PUT``, without reading it first, and watches the write
(:mod:`~vitrage_ds.notifiers.aodh.watchlist`). The verifier's rounds, at
most every ``verify_interval``, check the writes that are due, and repair
them with the writes of :mod:`~vitrage_ds.notifiers.aodh.store`:

* each write is checked ``verify_interval`` after it and once more after
  its message's time plus ``reorder_window`` (plus ``verify_interval``);
* a round lists the project's event alarms once, or lists by name each
  alarm due when that takes fewer requests;
* duplicates are deleted, and an older state written over ours by another
  process is written again (at most :data:`MAX_REPAIRS` times, the repairs
  below included);
* a final check also reads the alarm's history in Aodh, in one query for
  every alarm of the round (:meth:`AodhAlarms.changes
  <vitrage_ds.notifiers.aodh.alarms.AodhAlarms.changes>`), back to the
  order checked minus ``max_clock_skew`` and ``verify_interval``: when it
  records an order newer than the alarm holds (another process's write
  that ours, or another older one, landed on), that state is written back
  and checked again;
* a round that finds newer states other processes wrote remembers them, so
  that this process drops older messages without a request.

Every process verifies what it wrote, and an older message can only be
written without reading while it is fresh, that is before the final check
of whoever wrote the newer one. A message is acknowledged once written,
before it is verified, so the writer of the newer state may be killed
before its final check; the history read closes that hole: whoever wrote
the older state last checks after its write, and the history holds every
write that landed before it (see ``doc/source/failure-semantics.rst``).
:meth:`Verifier.close` waits for the final checks (at most
``reorder_window + 2 * verify_interval``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping

from vitrage_ds import aodh_api
from vitrage_ds._logsafe import safe
from vitrage_ds.errors import APIError, BackendError
from vitrage_ds.notifiers.aodh.alarms import AodhAlarms, Vanished
from vitrage_ds.notifiers.aodh.record import (AlarmRecord, Recorded, alarm_id, is_mirror, key_of,
                                              newest_recorded, survivor)
from vitrage_ds.notifiers.aodh.store import AlarmStore
from vitrage_ds.notifiers.aodh.watchlist import Watchlist, Written

__all__ = ['MAX_REPAIRS', 'Verifier']

LOG = logging.getLogger(__name__)

#: Repairs of one write before the verifier gives up on it (someone keeps
#: writing older states: not another notifier process, which would stop).
MAX_REPAIRS = 3
# Rounds close() tries again (verify_interval apart) after its deadline
# when the last one failed.
_CLOSE_RETRIES = 3


class Verifier:
    """The verification rounds of one notifier, and the thread that runs them.

    :param store: what this process knows of the mirrors, and their writes.
    :param alarms: the requests to Aodh.
    :param watchlist: the writes to check.
    :param interval: ``verify_interval``.
    :param window: ``reorder_window``.
    :param name: the thread's name.
    :param background: whether a thread runs the rounds; without it only
        :meth:`verify` and :meth:`close` do.
    :param clock: the time in seconds since the epoch.
    :param sleep: waits in :meth:`close`.
    """

    def __init__(self, store: AlarmStore, alarms: AodhAlarms, watchlist: Watchlist, *,
                 interval: float, window: float, name: str, background: bool,
                 clock: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self._store = store
        self._aodh = alarms
        self._watch = watchlist
        self._interval = interval
        self._window = window
        self._name = name
        self._background = background
        self._clock = clock
        self._sleep = sleep
        # Requests a listing of every event alarm costs, as last seen.
        self._listing_cost = 2
        # Aodh refused the history query once already (logged then).
        self._history_refused = False
        self._round_lock = threading.Lock()
        self._thread_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._stopping = threading.Event()

    def watched(self, was_empty: bool) -> None:
        """A write was watched: wake the thread (started if need be)."""
        if was_empty:
            self._wake.set()
        if self._background and (self._thread is None or not self._thread.is_alive()):
            self._start()

    # -- rounds ------------------------------------------------------------

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
                finals: list[tuple[Written, AlarmRecord]] = []
                for entry in entries:
                    final = self._check(entry, listed.get(entry.aodh_name, []), started)
                    if final is not None:
                        finals.append(final)
                if finals:
                    self._check_history(finals, started)
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
            return {name: self._aodh.named(name) for name in names}, False
        alarms = self._aodh.event_alarms()
        self._listing_cost = len(alarms) // aodh_api.PAGE_SIZE + 2
        by_name: dict[str, list[AlarmRecord]] = {}
        for alarm in alarms:
            by_name.setdefault(str(alarm.get('name')), []).append(alarm)
        return by_name, True

    def _check(self, entry: Written, named: list[AlarmRecord], listed_at: float
               ) -> tuple[Written, AlarmRecord] | None:
        """Check one write against a listing taken at ``listed_at``; repair it.

        :returns: the entry and its alarm when this is the final check and
            the listing found it in order: its history is to be read.
        """
        key = entry.key
        with self._store.locks.hold(key):
            if self._watch.get(key) is not entry or entry.written_at > listed_at:
                return None  # written again since the listing: a later round checks it
            mirrors = [a for a in named if is_mirror(a, entry.message)]
            if not mirrors:
                LOG.info('the Aodh alarm of deduced alarm %s was deleted; no longer '
                         'verifying it', safe(key))
                self._store.forget(key)
                self._watch.discard(entry)
                return None
            try:
                keep = self._store.dedupe(key, mirrors)
            except Vanished:
                return None  # the next round finds its replacement, or none
            stored = self._store.stored(keep)
            if stored is not None and stored >= entry.order:
                self._store.note_applied(key, stored)
                if entry.final_check <= listed_at:
                    return entry, keep
                self._watch.checked(entry, listed_at)
                return None
            if self._gave_up(entry, keep):
                return None
            LOG.info('Aodh alarm %s of deduced alarm %s holds %s, older than %s '
                     'written by this process: writing it again',
                     safe(alarm_id(keep)), safe(key), stored, entry.order)
            if entry.description is not None:
                self._repair(entry, keep, Recorded(entry.order, entry.description,
                                                   entry.state, entry.severity))
            else:
                self._repair(entry, keep, None)
            return None

    def _gave_up(self, entry: Written, keep: AlarmRecord) -> bool:
        """Whether ``entry`` was repaired :data:`MAX_REPAIRS` times (then no
        longer watched)."""
        if entry.repairs < MAX_REPAIRS:
            return False
        LOG.error('Aodh alarm %s of deduced alarm %s was overwritten with an '
                  'older state %d times; no longer verifying it',
                  safe(alarm_id(keep)), safe(entry.key), entry.repairs)
        self._watch.discard(entry)
        return True

    def _repair(self, entry: Written, keep: AlarmRecord, recorded: Recorded | None) -> None:
        """Write ``entry``'s state again to ``keep`` (``recorded``'s, when
        given: a newer state the history holds), and check it again."""
        try:
            if recorded is None:
                self._store.update(keep, entry.message, entry.order, entry.state)
            else:
                self._store.restore(keep, entry.key, recorded)
        except Vanished:
            return  # the next round finds it gone, or its replacement
        except APIError as exc:
            if exc.transient:
                raise
            LOG.error('Aodh refused to repair alarm %s of deduced alarm %s: %s',
                      safe(alarm_id(keep)), safe(entry.key), safe(str(exc), 500))
            self._watch.discard(entry)
            return
        if recorded is None or recorded.order == entry.order:
            self._watch.rewritten(entry, self._clock())
        else:
            self._store.note_applied(entry.key, recorded.order)
            self._watch.restored(entry, recorded.order, recorded.state,
                                 recorded.description, recorded.severity, self._clock())

    def _check_history(self, finals: list[tuple[Written, AlarmRecord]],
                       listed_at: float) -> None:
        """The final checks that found their alarms in order: read those
        alarms' history (one query), and write back a newer state it
        records than the alarm holds.

        The history goes back to the oldest order checked, minus
        ``max_clock_skew`` and ``verify_interval``: a newer message is
        written no earlier than its own time minus those (a message may be
        dated up to ``max_clock_skew`` ahead, hosts' clocks differ by less
        than ``verify_interval``), and its time is no earlier than the
        order checked.
        """
        skew = self._store.max_clock_skew
        since = (min(entry.order.micros for entry, _ in finals) / 1_000_000
                 - skew - self._interval)
        try:
            changes = self._aodh.changes({alarm_id(k) for _, k in finals}, since)
        except APIError as exc:
            if exc.transient:
                raise
            if not self._history_refused:
                LOG.error('Aodh refused the query of alarm history (policy '
                          'telemetry:query_alarm_history): final checks go on without '
                          'it, so a newer state whose writer was killed before its final '
                          'check can stay written over: %s', safe(str(exc), 500))
            self._history_refused = True
            changes = []
        newest = newest_recorded(changes)
        latest = self._clock() + skew
        for entry, keep in finals:
            with self._store.locks.hold(entry.key):
                if self._watch.get(entry.key) is not entry or entry.written_at > listed_at:
                    continue  # written again since the listing: a later round checks it
                found = newest.get(alarm_id(keep))
                stored = self._store.stored(keep)
                if (found is None or found.order.micros / 1_000_000 > latest
                        or (stored is not None and found.order <= stored)):
                    self._watch.checked(entry, listed_at)
                    continue
                if self._gave_up(entry, keep):
                    continue
                LOG.info('Aodh alarm %s of deduced alarm %s holds %s; its history holds '
                         'the newer %s, written over since: writing it again',
                         safe(alarm_id(keep)), safe(entry.key), stored, found.order)
                self._repair(entry, keep, found)

    def _refresh(self, listed: Mapping[str, list[AlarmRecord]]) -> None:
        """Remember newer states other processes wrote to alarms this one knows.

        So that this process drops older messages without a request, and
        writes from an up-to-date record.
        """
        for name, alarms in listed.items():
            by_key: dict[str, list[AlarmRecord]] = {}
            for alarm in alarms:
                alarm_key = key_of(alarm)
                if alarm_key is not None:
                    by_key.setdefault(alarm_key, []).append(alarm)
            for key, mirrors in by_key.items():
                known = self._store.known(key, used=False)
                if known is None or known.record.get('name') != name:
                    continue
                with self._store.locks.hold(key):
                    known = self._store.known(key, used=False)
                    if known is None or self._watch.get(key) is not None:
                        continue
                    keep = survivor(mirrors)
                    listed_order = self._store.stored(keep)
                    mine = self._store.stored(known.record)
                    if (alarm_id(keep) != known.alarm_id
                            or (listed_order is not None
                                and (mine is None or listed_order > mine))):
                        self._store.remember(key, keep)
                        if listed_order is not None:
                            self._store.note_applied(key, listed_order)

    # -- the thread --------------------------------------------------------

    def _start(self) -> None:
        with self._thread_lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping.clear()
            self._thread = threading.Thread(target=self._loop, daemon=True, name=self._name)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stopping.is_set():
            if not len(self._watch):
                self._wake.wait()
                self._wake.clear()
                continue
            if self._stopping.wait(self._interval):
                return
            self.verify()

    def _stop(self) -> None:
        with self._thread_lock:
            thread, self._thread = self._thread, None
            self._stopping.set()
            self._wake.set()
        if thread is not None:
            thread.join()

    def close(self) -> None:
        """Stop the thread after the final checks of every write.

        Checks every watched write at once, then waits until the last final
        check is due, at most ``reorder_window + 2 * verify_interval``, and
        checks again, so that a draining service leaves its alarms settled.
        A failed round is tried again every ``verify_interval``, at most
        three times past that deadline. What is still unverified then (Aodh
        failing, or messages dated ahead of this host's clock) is logged and
        forgotten. Idempotent; a later write starts a new thread.
        """
        self._stop()
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

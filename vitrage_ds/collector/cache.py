"""The reconciliation cache: what the collector knows about one driver's entities.

One :class:`EntityCache` per driver owns the state of every entity that
driver reported, keyed by ``(entity_type, entity_id)``. Snapshots (complete
polls) and updates (notifications) are reconciled against it, and only
what the reconciliation accepts is emitted.

Rules, in the order they are applied to one incoming event:

* **Versions.** An event whose :class:`~vitrage_ds.event.Version` is not
  newer than the cached one (or the tombstone's) is stale and dropped: an
  older state never overwrites a newer one, whatever the arrival order.
  An event with no source time (``version.source == 0``) borrows the
  cached one, so it is ordered by when it was observed. An event with no
  observed time gets the poll's start time (snapshots) or the
  notification's envelope time (updates).
* **Times from the future.** A source time or an observed time later than
  the collector's own clock plus ``max_clock_skew`` is not believed (a
  forged notification dated 9000, a source host whose clock runs fast): the
  source time is ignored, so the event is ordered by when it was observed
  after the state it follows, and an observed time is replaced by the
  collector's clock. Counted in :attr:`Stats.future` and logged (one
  warning a minute at most, with a count). Times within the allowance are
  taken as they are.
* **Polls correct.** A complete poll is the source's truth when it ran: an
  entity no notification touched while the poll ran is corrected by it even
  when the cached version looks newer, if that version's source time is
  later than the poll's start (a time from the future the allowance let
  through, or a clock that has since been set back). A live or deleted
  entity is then what the poll says, with the poll's version.
* **Snapshots replace.** An entity the cache holds that is missing from a
  complete snapshot becomes a delete, unless a notification touched it
  while the poll was running (the poll's view predates it). A failed poll
  never reaches the cache, so it deletes nothing. A field a driver
  declares notification-only (its polls cannot see it) keeps the last
  non-``None`` value when a snapshot reports ``None``.
* **Tombstones.** A deleted entity leaves a tombstone holding the delete's
  version, so a late, older update does not bring it back. Tombstones
  live ``tombstone_ttl`` seconds and at most ``tombstone_limit`` of them
  are kept per driver (the oldest go first): an update older than a
  forgotten tombstone could resurrect an entity, so the lifetime should
  exceed the longest poll and the longest bus delay.
* **Emission.** In ``full`` mode every complete snapshot emits the whole
  state after reconciliation (Vitrage's snapshot semantics) and every
  accepted update is emitted. In ``diff`` mode only changes are emitted:
  added, updated (fields differ) and deleted entities. A delete is emitted
  once per entity in both modes.
* **Events that cannot be stored.** An event whose fields the cache cannot
  encode (a value whose text form raises) is dropped alone: the rest of its
  snapshot or notification is reconciled, the entity keeps its cached state
  (a snapshot does not delete it; a ``full`` one emits the cached state), and
  it is counted in :attr:`Stats.invalid` and logged (one warning a minute at
  most, with a count). Retrying would fail the same way.
* **All or nothing.** The emitted events are handed to ``deliver`` while
  the cache is locked; the cache changes only if ``deliver`` returned. If
  it raises, the cache is as before, so the same input can be retried.
* **Garbage collection.** With ``pause_gc``, Python's cyclic garbage
  collector is off while a snapshot is reconciled, and on again before its
  events are delivered: a sink that blocks (a bus sink during a broker
  outage) never holds it off.

Storage: an entity is kept as a compact, canonical byte string that doubles
as its fingerprint, about 0.7 KB per Heat stack (see
``vitrage_ds.collector._storage``). One reconciliation is planned, then
delivered, then committed (``vitrage_ds.collector._reconcile``).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from vitrage_ds import _gc
from vitrage_ds._logsafe import safe
from vitrage_ds.collector._reconcile import Deliver, Mode, Op, Plan, PollToken, Stats
from vitrage_ds.collector._storage import (Encoder, Entry, VersionTuple, fields_of,
                                           public_version)
from vitrage_ds.collector._throttle import Throttle
from vitrage_ds.event import DELETE_ENTITY, Action, Event, Phase, Version

__all__ = ['EntityCache', 'Mode', 'PollToken', 'Stats']

LOG = logging.getLogger(__name__)

#: Seconds between two warnings of one kind (future-dated events, events
#: that cannot be stored) about one cache.
_WARN_EVERY = 60.0


class EntityCache:
    """Entity state of one driver, reconciled from snapshots and updates.

    Thread-safe: reconciliations of one cache run one at a time (a
    re-entrant lock held across ``deliver``, so events of one driver reach
    the sinks in the order the cache accepted them); :meth:`lookup` takes
    no lock and may be called from ``deliver`` or from another thread.

    :param datasource: the driver's name, used for the events the cache
        builds itself (deletes of entities missing from a snapshot, and
        cached states re-emitted in ``full`` mode).
    :param mode: ``full`` or ``diff`` (see the module documentation).
    :param tombstone_ttl: seconds a tombstone is kept.
    :param tombstone_limit: most tombstones kept; the oldest go first.
    :param clock: monotonic clock for tombstone lifetimes.
    :param notification_only: fields, per entity type, that snapshots
        cannot observe (see
        :attr:`vitrage_ds.driver.Driver.notification_only_fields`): a
        snapshot's ``None`` for one of them keeps the cached non-``None``
        value.
    :param max_clock_skew: seconds a source or observed time may be ahead
        of ``wallclock`` and still be believed.
    :param wallclock: POSIX seconds, the collector's own clock.
    :param pause_gc: keep the cyclic garbage collector off while a snapshot
        is reconciled, never while it is delivered (see ``vitrage_ds._gc``).
    """

    def __init__(self, datasource: str, *, mode: Mode = 'full',
                 tombstone_ttl: float = 3600.0, tombstone_limit: int = 10_000,
                 clock: Callable[[], float] = time.monotonic,
                 notification_only: Mapping[str, Sequence[str]] | None = None,
                 max_clock_skew: float = 300.0,
                 wallclock: Callable[[], float] = time.time,
                 pause_gc: bool = True) -> None:
        if mode not in ('full', 'diff'):
            raise ValueError(f'mode must be full or diff, not {mode!r}')
        if max_clock_skew < 0:
            raise ValueError('max_clock_skew must be >= 0')
        self.datasource = datasource
        self.mode: Mode = mode
        self.tombstone_ttl = tombstone_ttl
        self.tombstone_limit = tombstone_limit
        self.max_clock_skew = max_clock_skew
        self.pause_gc = pause_gc
        self._wallclock = wallclock
        self._future = Throttle(_WARN_EVERY, clock=clock)
        self._invalid = Throttle(_WARN_EVERY, clock=clock)
        self._clock = clock
        self._lock = threading.RLock()
        self._live: dict[str, dict[str, Entry]] = {}
        self._tombstones: collections.OrderedDict[
            tuple[str, str], tuple[VersionTuple, float]] = collections.OrderedDict()
        self._encoder = Encoder()
        self._polls: set[PollToken] = set()
        self._preserve = {etype: tuple(names)
                          for etype, names in (notification_only or {}).items() if names}

    # -- reading ------------------------------------------------------------

    def lookup(self, entity_type: str, entity_id: str) -> Mapping[str, Any] | None:
        """The fields last delivered for a live entity, or ``None``.

        Deleted (tombstoned) and unknown entities give ``None``. The result
        is a new dict each call: changing it changes nothing here. This is
        the read-only ``lookup`` drivers receive in ``notifications``.
        """
        bucket = self._live.get(entity_type)
        entry = bucket.get(entity_id) if bucket is not None else None
        return None if entry is None else fields_of(entry)

    def version(self, entity_type: str, entity_id: str) -> Version | None:
        """The version of the cached state or tombstone, or ``None``."""
        known, _entry = self.known(entity_type, entity_id)
        return None if known is None else public_version(known)

    def is_deleted(self, entity_type: str, entity_id: str) -> bool:
        """Whether a tombstone for this entity is held."""
        return (entity_type, entity_id) in self._tombstones

    def keys(self) -> list[tuple[str, str]]:
        """``(entity_type, entity_id)`` of every live entity."""
        return [(t, i) for t, bucket in list(self._live.items()) for i in list(bucket)]

    def __len__(self) -> int:
        """Number of live entities."""
        return sum(len(b) for b in list(self._live.values()))

    @property
    def tombstones(self) -> int:
        """Number of tombstones held."""
        return len(self._tombstones)

    # -- polls --------------------------------------------------------------

    def begin_poll(self, started: float | None = None) -> PollToken:
        """Record that a poll starts now (wall-clock seconds, ``time.time()``).

        Call it before the driver's ``get_all()``: entities that updates
        touch from now on are not deleted by this poll's snapshot.
        """
        token = PollToken(time.time() if started is None else started)
        with self._lock:
            self._polls.add(token)
        return token

    def cancel_poll(self, token: PollToken) -> None:
        """Forget a poll that failed; nothing changes in the cache."""
        with self._lock:
            self._polls.discard(token)

    def apply_snapshot(self, token: PollToken, events: Iterable[Event],
                       action: Action, deliver: Deliver) -> Stats:
        """Reconcile a complete snapshot and deliver what it emits.

        :param token: from :meth:`begin_poll`, called before the poll.
        :param events: every entity the poll saw (deletes allowed, e.g. a
            stack reported ``DELETE_IN_PROGRESS``). An entity listed twice
            counts once (the first; logged).
        :param action: ``INIT_SNAPSHOT`` or ``SNAPSHOT``; every emitted
            event carries it.
        :param deliver: called once with every emitted event, in order:
            the snapshot's entities (in ``full`` mode as the cache holds
            them when the cache is newer), then in ``full`` mode the live
            entities the snapshot did not show but that were updated during
            the poll, then the deletes.
        :raises: whatever ``deliver`` raised; the cache is then unchanged
            and the token still open (retry or :meth:`cancel_poll`).
        """
        with self._lock:
            # A 100,000-entity diff allocates a few hundred thousand tuples:
            # collections during it doubled its time (see vitrage_ds._gc).
            with _gc.paused(self.pause_gc):
                plan = self._plan_snapshot(token, events, action)
            plan.run(deliver)
            self._polls.discard(token)
            return plan.stats

    def _plan_snapshot(self, token: PollToken, events: Iterable[Event],
                       action: Action) -> Plan:
        """The reconciliation of a snapshot, not yet delivered; under the lock."""
        plan = Plan(self, action, unique=True, poll=token, now=self._wallclock(),
                    max_skew=self.max_clock_skew)
        started = token.started
        seen: dict[str, set[str]] = {}
        last_type: str | None = None
        seen_ids: set[str] = set()
        duplicates = 0
        for event in events:
            etype = event.entity_type
            if etype != last_type:
                last_type = etype
                seen_ids = seen.setdefault(etype, set())
            eid = event.entity_id
            count = len(seen_ids)
            seen_ids.add(eid)
            if len(seen_ids) == count:
                duplicates += 1
                continue
            plan.take(event, started, event.event_type == DELETE_ENTITY)
        self._warn_dropped(plan)
        if duplicates:
            LOG.warning('%s snapshot listed %d entities more than once; '
                        'kept the first of each', self.datasource, duplicates)
        for etype, bucket in list(self._live.items()):
            ids = seen.get(etype)
            missing = bucket.keys() - ids if ids else set(bucket)
            for eid in missing:
                entry = bucket[eid]
                if any((etype, eid) in t.touched for t in self._polls):
                    plan.keep_touched(etype, eid, entry)
                else:
                    plan.delete_missing(etype, eid, entry,
                                        (entry[2][0], started, Phase.END))
        return plan

    # -- notifications ------------------------------------------------------

    def apply_updates(self, events: Iterable[Event], observed: float,
                      deliver: Deliver) -> Stats:
        """Reconcile the events of one notification and deliver what it emits.

        :param events: the driver's events for one notification, applied in
            order (a later event about the same entity sees the earlier).
        :param observed: the notification's time (envelope timestamp),
            used for events whose version has no observed time.
        :param deliver: called once with the emitted events (not called
            when nothing is emitted).
        :raises: whatever ``deliver`` raised; the cache is then unchanged.
        """
        with self._lock:
            plan = Plan(self, Action.UPDATE, unique=False, now=self._wallclock(),
                        max_skew=self.max_clock_skew)
            for event in events:
                plan.take(event, observed, event.deleted)
            self._warn_dropped(plan)
            plan.run(deliver)
            if self._polls:
                for etype, eid, _entry, _version in plan.ops:
                    for token in self._polls:
                        token.touched.add((etype, eid))
            return plan.stats

    # -- internals ----------------------------------------------------------

    def _warn_dropped(self, plan: Plan) -> None:
        """Log what a plan dated back (future-dated events) or dropped
        (events that could not be stored)."""
        if plan.first_future is not None:
            self._warn_future(plan.stats.future, plan.first_future)
        if plan.first_invalid is not None:
            self._warn_invalid(plan.stats.invalid, plan.first_invalid)

    def _warn_invalid(self, count: int, first: tuple[Event, Exception]) -> None:
        """Log events that could not be stored: one warning a minute at most, with a count."""
        due = self._invalid.add(count)
        if due:
            event, error = first
            LOG.warning('%s: dropped %d event(s) whose fields could not be stored since the '
                        'last such warning (one: %s %s, %s)', self.datasource, due,
                        event.entity_type, safe(event.entity_id),
                        safe(f'{type(error).__name__}: {error}'))

    def _warn_future(self, count: int, first: Event) -> None:
        """Log future-dated events: one warning a minute at most, with a count."""
        due = self._future.add(count)
        if due:
            LOG.warning('%s: %d event(s) dated more than %.0f s ahead of this host\'s '
                        'clock since the last such warning (one: %s %s, version '
                        '%s); their source times were ignored and observed times clamped',
                        self.datasource, due, self.max_clock_skew, first.entity_type,
                        safe(first.entity_id), safe(tuple(first.version)))

    # -- the collector's internal API, for a reconciliation Plan -------------
    # Called under the lock; drivers and sinks read through lookup().

    def known(self, entity_type: str, entity_id: str
              ) -> tuple[VersionTuple | None, Entry | None]:
        """The version known for an entity (live or tombstone) and its live entry.

        Collector-internal (used by ``_reconcile.Plan``).
        """
        bucket = self._live.get(entity_type)
        entry = bucket.get(entity_id) if bucket is not None else None
        if entry is not None:
            return entry[2], entry
        tomb = self._tombstones.get((entity_type, entity_id))
        return (None if tomb is None else tomb[0]), None

    def encode(self, fields: Mapping[str, Any]) -> tuple[tuple[str, ...], bytes]:
        """``fields`` in the cache's storage format. Collector-internal."""
        return self._encoder.encode(fields)

    def preserved(self, entity_type: str) -> Sequence[str]:
        """The notification-only fields of ``entity_type``. Collector-internal."""
        return self._preserve.get(entity_type, ())

    def commit(self, ops: Sequence[Op]) -> None:
        """Apply a plan's changes in order, then expire tombstones. Collector-internal.

        Only a ``_reconcile.Plan`` whose events
        were delivered commits.
        """
        live = self._live
        tombs = self._tombstones
        expires = self._clock() + self.tombstone_ttl
        for etype, eid, entry, version in ops:
            bucket = live.get(etype)
            if entry is not None:
                if bucket is None:
                    bucket = live[etype] = {}
                bucket[eid] = entry
                if tombs:
                    tombs.pop((etype, eid), None)
            else:
                if bucket is not None:
                    bucket.pop(eid, None)
                    if not bucket:
                        del live[etype]
                tombs[(etype, eid)] = (version, expires)
                tombs.move_to_end((etype, eid))
        self._expire(expires - self.tombstone_ttl)

    def _expire(self, now: float) -> None:
        tombs = self._tombstones
        while tombs:
            key, (_version, expires) = next(iter(tombs.items()))
            if expires > now and len(tombs) <= self.tombstone_limit:
                break
            del tombs[key]

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
* **All or nothing.** The emitted events are handed to ``deliver`` while
  the cache is locked; the cache changes only if ``deliver`` returned. If
  it raises, the cache is as before, so the same input can be retried.

Memory: an entity costs a few hundred bytes, not a dict. Its fields are
kept as one compact, canonical byte string (``marshal`` of the values in
key order, nested dicts with sorted keys) plus a shared tuple of key
names; the byte string doubles as the fingerprint that decides whether a
state changed (exact comparison, no hash collisions) and is decoded only
when :meth:`EntityCache.lookup` is called. About 0.7 KB per Heat stack.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import marshal
import operator
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

from vitrage_ds import _gc
from vitrage_ds._logsafe import safe
from vitrage_ds.collector._throttle import Throttle
from vitrage_ds.event import DELETE_ENTITY, Action, Event, Phase, Version, utcnow_iso

__all__ = ['EntityCache', 'Mode', 'PollToken', 'Stats']

LOG = logging.getLogger(__name__)

#: ``full``: every snapshot emits the whole state; ``diff``: only changes.
Mode = Literal['full', 'diff']

#: Receives the events a reconciliation emits; raising aborts it.
Deliver = Callable[[Sequence[Event]], None]

_MARSHAL_VERSION = 2  # no back-references: equal values give equal bytes
_SCALARS = frozenset({str, int, float, bool, type(None)})
_MAX_SHAPES = 4096
#: Seconds between two warnings about future-dated events of one cache.
_FUTURE_WARN_EVERY = 60.0


# Internal representations are plain tuples, not objects: CPython's garbage
# collector stops tracking a tuple of strings, bytes and numbers, so a cache of
# 100,000 entities adds nothing to each collection's work.

#: A version as a plain tuple ``(source, observed, phase)``.
_V = tuple[float, float, int]
#: A live entity: sorted field names (shared), encoded values, version.
_Entry = tuple[tuple[str, ...], bytes, _V]


class _Shape:
    """How to encode fields that have one particular key order."""

    __slots__ = ('keys', 'values')

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys
        if len(keys) == 1:
            only = keys[0]
            self.values: Callable[[Mapping[str, Any]], tuple[Any, ...]] = (
                lambda fields: (fields[only],))
        elif keys:
            self.values = operator.itemgetter(*keys)
        else:
            self.values = lambda fields: ()


def _fields(entry: _Entry) -> dict[str, Any]:
    return dict(zip(entry[0], marshal.loads(entry[1])))


def _keep_known(fields: Mapping[str, Any], cached: Mapping[str, Any],
                names: Sequence[str]) -> dict[str, Any] | None:
    """``fields`` with the cached value of each of ``names`` it reports as ``None``.

    ``None`` when nothing was taken from the cache.
    """
    merged: dict[str, Any] | None = None
    for name in names:
        if fields.get(name) is None and cached.get(name) is not None:
            if merged is None:
                merged = dict(fields)
            merged[name] = cached[name]
    return merged


def _public(version: _V) -> Version:
    return tuple.__new__(Version, version)


def _canonical(value: Any) -> Any:
    """``value`` with every nested dict's keys sorted and tuples as lists."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list or kind is tuple:
        if kind is list and _SCALARS.issuperset(map(type, value)):
            return value
        return [_canonical(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _canonical(value[k]) for k in sorted(value, key=str)}
    return str(value)  # not JSON-safe: keep something comparable


@dataclasses.dataclass
class Stats:
    """What one reconciliation did; ``emitted`` counts delivered events."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    stale: int = 0
    emitted: int = 0
    #: Events whose source or observed time was beyond the clock skew allowance.
    future: int = 0
    #: Entities a poll corrected although the cached version looked newer.
    corrected: int = 0

    def __str__(self) -> str:
        text = (f'{self.added} added, {self.updated} updated, {self.deleted} deleted, '
                f'{self.unchanged} unchanged, {self.stale} stale')
        if self.corrected:
            text += f', {self.corrected} corrected'
        if self.future:
            text += f', {self.future} dated in the future'
        return text


class PollToken:
    """A poll in progress: when it started and what notifications touched since.

    Obtained from :meth:`EntityCache.begin_poll` *before* calling the
    driver's ``get_all()``, and handed back to
    :meth:`EntityCache.apply_snapshot` or :meth:`EntityCache.cancel_poll`.
    """

    __slots__ = ('started', 'touched')

    def __init__(self, started: float) -> None:
        self.started = started
        self.touched: set[tuple[str, str]] = set()


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
    """

    def __init__(self, datasource: str, *, mode: Mode = 'full',
                 tombstone_ttl: float = 3600.0, tombstone_limit: int = 10_000,
                 clock: Callable[[], float] = time.monotonic,
                 notification_only: Mapping[str, Sequence[str]] | None = None,
                 max_clock_skew: float = 300.0,
                 wallclock: Callable[[], float] = time.time) -> None:
        if mode not in ('full', 'diff'):
            raise ValueError(f'mode must be full or diff, not {mode!r}')
        if max_clock_skew < 0:
            raise ValueError('max_clock_skew must be >= 0')
        self.datasource = datasource
        self.mode: Mode = mode
        self.tombstone_ttl = tombstone_ttl
        self.tombstone_limit = tombstone_limit
        self.max_clock_skew = max_clock_skew
        self._wallclock = wallclock
        self._future = Throttle(_FUTURE_WARN_EVERY, clock=clock)
        self._clock = clock
        self._lock = threading.RLock()
        self._live: dict[str, dict[str, _Entry]] = {}
        self._tombstones: collections.OrderedDict[tuple[str, str], tuple[_V, float]] = (
            collections.OrderedDict())
        self._shapes: dict[tuple[str, ...], _Shape] = {}
        self._key_tuples: dict[tuple[str, ...], tuple[str, ...]] = {}
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
        return None if entry is None else _fields(entry)

    def version(self, entity_type: str, entity_id: str) -> Version | None:
        """The version of the cached state or tombstone, or ``None``."""
        bucket = self._live.get(entity_type)
        entry = bucket.get(entity_id) if bucket is not None else None
        if entry is not None:
            return _public(entry[2])
        tomb = self._tombstones.get((entity_type, entity_id))
        return None if tomb is None else _public(tomb[0])

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
        # A 100,000-entity diff allocates a few hundred thousand tuples:
        # collections during it doubled its time (see vitrage_ds._gc).
        with self._lock, _gc.paused():
            plan = _Plan(self, action, unique=True, poll=token)
            started = token.started
            now = self._wallclock()
            limit = now + self.max_clock_skew
            future: Event | None = None
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
                v = event.version
                version = (v[0], v[1] or started, v[2])
                if version[0] > limit or version[1] > limit:
                    version = _believable(version, limit, now)
                    plan.stats.future += 1
                    future = future or event
                if event.event_type == DELETE_ENTITY:
                    plan.delete(event, version)
                else:
                    plan.upsert(event, version)
            if future is not None:
                self._warn_future(plan.stats.future, future)
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
            plan.run(deliver)
            self._polls.discard(token)
            return plan.stats

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
            plan = _Plan(self, Action.UPDATE, unique=False)
            now = self._wallclock()
            limit = now + self.max_clock_skew
            future: Event | None = None
            for event in events:
                v = event.version
                version = (v[0], v[1] or observed, v[2])
                if version[0] > limit or version[1] > limit:
                    version = _believable(version, limit, now)
                    plan.stats.future += 1
                    future = future or event
                if event.deleted:
                    plan.delete(event, version)
                else:
                    plan.upsert(event, version)
            if future is not None:
                self._warn_future(plan.stats.future, future)
            plan.run(deliver)
            if self._polls:
                for etype, eid, _entry, _version in plan.ops:
                    for token in self._polls:
                        token.touched.add((etype, eid))
            return plan.stats

    # -- internals ----------------------------------------------------------

    def _warn_future(self, count: int, first: Event) -> None:
        """Log future-dated events: one warning a minute at most, with a count."""
        due = self._future.add(count)
        if due:
            LOG.warning('%s: %d event(s) dated more than %.0f s ahead of this host\'s '
                        'clock since the last such warning (one: %s %s, version '
                        '%s); their source times were ignored and observed times clamped',
                        self.datasource, due, self.max_clock_skew, first.entity_type,
                        safe(first.entity_id), safe(tuple(first.version)))

    def _encode(self, fields: Mapping[str, Any]) -> tuple[tuple[str, ...], bytes]:
        order = tuple(fields)
        shape = self._shapes.get(order)
        if shape is None:
            shape = self._new_shape(order)
        values = shape.values(fields)
        if not _SCALARS.issuperset(map(type, values)):
            # Scalars as they are, without a call each: most values are.
            scalars = _SCALARS
            values = tuple([v if type(v) in scalars else _canonical(v) for v in values])
        return shape.keys, marshal.dumps(values, _MARSHAL_VERSION)

    def _new_shape(self, order: tuple[str, ...]) -> _Shape:
        keys = tuple(sorted(order))
        keys = self._key_tuples.setdefault(keys, keys)
        shape = _Shape(keys)
        if len(self._shapes) < _MAX_SHAPES:
            self._shapes[order] = shape
        return shape

    def _known(self, etype: str, eid: str) -> tuple[_V | None, _Entry | None]:
        """The version known for an entity (live or tombstone) and its entry."""
        bucket = self._live.get(etype)
        entry = bucket.get(eid) if bucket is not None else None
        if entry is not None:
            return entry[2], entry
        tomb = self._tombstones.get((etype, eid))
        return (None if tomb is None else tomb[0]), None

    def _commit(self, ops: Sequence[tuple[str, str, _Entry | None, _V]]) -> None:
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


def _believable(version: _V, limit: float, now: float) -> _V:
    """``version`` without a source time beyond ``limit``, observed no later than ``now``."""
    source, observed, phase = version
    return (0.0 if source > limit else source, now if observed > limit else observed, phase)


class _Plan:
    """The changes and events of one reconciliation, applied only on success.

    ``ops`` lists the changes in order: ``(type, id, entry, version)`` puts
    a live entry, ``(type, id, None, version)`` a tombstone.
    """

    def __init__(self, cache: EntityCache, action: Action, *, unique: bool,
                 poll: PollToken | None = None) -> None:
        self.cache = cache
        self.action = action
        self.poll = poll
        # A snapshot names each entity once, so what is known about an
        # entity is always the cache's; updates may name one twice and see
        # their own earlier changes through the overlay.
        self.unique = unique
        self.overlay: dict[tuple[str, str], tuple[_V, _Entry | None]] = {}
        self.ops: list[tuple[str, str, _Entry | None, _V]] = []
        self.events: list[Event] = []
        self.extra: list[Event] = []
        self.deletes: list[Event] = []
        self.stats = Stats()
        full = cache.mode == 'full'
        self.emit_unchanged = full
        self.emit_cached = full and unique

    def _known(self, etype: str, eid: str) -> tuple[_V | None, _Entry | None]:
        if not self.unique:
            known = self.overlay.get((etype, eid))
            if known is not None:
                return known
        return self.cache._known(etype, eid)

    def _put(self, etype: str, eid: str, entry: _Entry | None, version: _V) -> None:
        self.ops.append((etype, eid, entry, version))
        if not self.unique:
            self.overlay[(etype, eid)] = (version, entry)

    def upsert(self, event: Event, version: _V) -> None:
        """Plan ``event`` (not a delete) if it is newer than what is known."""
        etype, eid = event.entity_type, event.entity_id
        known, current = self._known(etype, eid)
        if known is not None:
            if not version[0]:
                version = (known[0], version[1], version[2])
            if version <= known and not self._corrects(etype, eid, known):
                self.stats.stale += 1
                if self.emit_cached and current is not None:
                    self.events.append(self._rebuilt(etype, eid, current))
                return
        keys, blob = self.cache._encode(event.fields)
        if current is not None and (current[1] != blob or current[0] != keys):
            kept = self.unique and self.cache._preserve.get(etype)
            if kept:
                merged = _keep_known(event.fields, _fields(current), kept)
                if merged is not None:
                    event = event.replace(fields=merged)
                    keys, blob = self.cache._encode(merged)
        if current is None:
            self.stats.added += 1
        elif current[1] == blob and current[0] == keys:
            self.stats.unchanged += 1
            self._put(etype, eid, (current[0], current[1], version), version)
            if self.emit_unchanged:
                self.events.append(self._stamped(event, version))
            return
        else:
            self.stats.updated += 1
        self._put(etype, eid, (keys, blob, version), version)
        self.events.append(self._stamped(event, version))

    def delete(self, event: Event, version: _V) -> None:
        """Plan a delete if it is newer than what is known; emit it once."""
        etype, eid = event.entity_type, event.entity_id
        known, current = self._known(etype, eid)
        if known is not None:
            if not version[0]:
                version = (known[0], version[1], version[2])
            if version <= known and not self._corrects(etype, eid, known):
                self.stats.stale += 1
                return
        self._put(etype, eid, None, version)
        if known is not None and current is None:
            return  # already deleted: a delete is emitted once
        self.stats.deleted += 1
        fields = event.fields
        if not fields and current is not None:
            fields = _fields(current)
        self.deletes.append(self._stamped(event.replace(fields=fields), version))

    def _corrects(self, etype: str, eid: str, known: _V) -> bool:
        """Whether this poll overrides a cached version that looks newer.

        Only a poll does, for an entity no notification touched while it
        ran, whose cached source time is later than the poll's start: a
        state claiming to come from after the poll began, yet not learnt
        during it, is from a clock that was (or is) wrong.
        """
        poll = self.poll
        if poll is None or known[0] <= poll.started or (etype, eid) in poll.touched:
            return False
        self.stats.corrected += 1
        return True

    def delete_missing(self, etype: str, eid: str, entry: _Entry, version: _V) -> None:
        """Plan the delete of a live entity a complete snapshot did not list."""
        self._put(etype, eid, None, version)
        self.stats.deleted += 1
        self.deletes.append(Event(
            datasource=self.cache.datasource, entity_type=etype, entity_id=eid,
            fields=_fields(entry), action=self.action, event_type=DELETE_ENTITY,
            version=_public(version)))

    def keep_touched(self, etype: str, eid: str, entry: _Entry) -> None:
        """A live entity the snapshot missed but an update touched during the poll."""
        if self.emit_cached:
            self.extra.append(self._rebuilt(etype, eid, entry))

    def _rebuilt(self, etype: str, eid: str, entry: _Entry) -> Event:
        return Event(datasource=self.cache.datasource, entity_type=etype,
                     entity_id=eid, fields=_fields(entry), action=self.action,
                     event_type=None, sample_date=utcnow_iso(),
                     version=_public(entry[2]))

    def _stamped(self, event: Event, version: _V) -> Event:
        if event.action is self.action and event.version == version:
            return event
        return event.replace(action=self.action, version=_public(version))

    def run(self, deliver: Deliver) -> None:
        """Deliver the events, then commit; nothing is committed if ``deliver`` raises."""
        emitted = self.events + self.extra + self.deletes
        if emitted:
            deliver(emitted)
        self.stats.emitted = len(emitted)
        self.cache._commit(self.ops)

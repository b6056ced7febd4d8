"""One reconciliation: what a snapshot or a notification changes, and what it emits.

Internal to :mod:`vitrage_ds.collector`, except :class:`Stats` and
:class:`PollToken`, which :mod:`vitrage_ds.collector.cache` exports. The
rules applied (versions, corrections by polls, tombstones, emission modes)
are documented there; this module is how one reconciliation applies them.

Guarantees:

* **Nothing changes until delivered.** A :class:`Plan` only records: the
  store's state changes (:meth:`Store.commit`) after ``deliver`` returned,
  never before and never if it raised.
* **Order.** The changes are committed in the order they were planned; the
  events are delivered in one call, in the order: the planned entities,
  then (``full`` snapshots) the cached entities a snapshot kept because a
  notification touched them during the poll, then the deletes.
* **A delete is emitted once** per entity, whatever the mode.
* **A notification sees itself.** The events of one notification may name
  an entity twice; the second sees the first's planned change. A snapshot
  names each entity once, so it reads the store only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Protocol

from vitrage_ds.collector._storage import Entry, VersionTuple, fields_of, public_version
from vitrage_ds.event import DELETE_ENTITY, Action, Event, utcnow_iso

__all__ = ['Deliver', 'Mode', 'Op', 'Plan', 'PollToken', 'Stats', 'Store',
           'believable']

#: ``full``: every snapshot emits the whole state; ``diff``: only changes.
Mode = Literal['full', 'diff']

#: Receives the events a reconciliation emits; raising aborts it.
Deliver = Callable[[Sequence[Event]], None]

#: One planned change: ``(type, id, entry, version)`` puts a live entry,
#: ``(type, id, None, version)`` a tombstone.
Op = tuple[str, str, Entry | None, VersionTuple]


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
    #: Events dropped because their fields could not be stored.
    invalid: int = 0

    def __str__(self) -> str:
        text = (f'{self.added} added, {self.updated} updated, {self.deleted} deleted, '
                f'{self.unchanged} unchanged, {self.stale} stale')
        if self.corrected:
            text += f', {self.corrected} corrected'
        if self.future:
            text += f', {self.future} dated in the future'
        if self.invalid:
            text += f', {self.invalid} invalid'
        return text


class PollToken:
    """A poll in progress: when it started and what notifications touched since.

    Obtained from :meth:`~vitrage_ds.collector.EntityCache.begin_poll`
    *before* calling the driver's ``get_all()``, and handed back to
    :meth:`~vitrage_ds.collector.EntityCache.apply_snapshot` or
    :meth:`~vitrage_ds.collector.EntityCache.cancel_poll`.
    """

    __slots__ = ('started', 'touched')

    def __init__(self, started: float) -> None:
        self.started = started
        self.touched: set[tuple[str, str]] = set()


class Store(Protocol):
    """What a :class:`Plan` needs of the state it reconciles against.

    :class:`~vitrage_ds.collector.EntityCache` is the one store; a plan
    calls it under the cache's lock.
    """

    datasource: str
    mode: Mode

    def known(self, entity_type: str, entity_id: str
              ) -> tuple[VersionTuple | None, Entry | None]:
        """The version known for an entity (live or tombstone) and its live entry."""

    def encode(self, fields: Mapping[str, Any]) -> tuple[tuple[str, ...], bytes]:
        """``fields`` in the store's format (see ``vitrage_ds.collector._storage``)."""

    def preserved(self, entity_type: str) -> Sequence[str]:
        """The notification-only fields a snapshot's ``None`` must not erase."""

    def commit(self, ops: Sequence[Op]) -> None:
        """Apply planned changes, in order."""


def believable(version: VersionTuple, limit: float, now: float) -> VersionTuple:
    """``version`` without a source time beyond ``limit``, observed no later than ``now``."""
    source, observed, phase = version
    return (0.0 if source > limit else source, now if observed > limit else observed, phase)


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


class Plan:
    """The changes and events of one reconciliation, applied only on success.

    ``ops`` lists the changes in order (see :data:`Op`).
    """

    def __init__(self, store: Store, action: Action, *, unique: bool,
                 poll: PollToken | None = None, now: float = 0.0,
                 max_skew: float = float('inf')) -> None:
        self.store = store
        self.action = action
        self.poll = poll
        # A snapshot names each entity once, so what is known about an
        # entity is always the store's; updates may name one twice and see
        # their own earlier changes through the overlay.
        self.unique = unique
        self.overlay: dict[tuple[str, str], tuple[VersionTuple, Entry | None]] = {}
        self.ops: list[Op] = []
        self.events: list[Event] = []
        self.extra: list[Event] = []
        self.deletes: list[Event] = []
        self.stats = Stats()
        #: The first event :meth:`invalid` dropped, and why.
        self.first_invalid: tuple[Event, Exception] | None = None
        #: The first event :meth:`take` dated back to ``now``.
        self.first_future: Event | None = None
        self._now = now
        self._limit = now + max_skew
        full = store.mode == 'full'
        self.emit_unchanged = full
        self.emit_cached = full and unique
        self._encode = store.encode

    def _known(self, etype: str, eid: str) -> tuple[VersionTuple | None, Entry | None]:
        if not self.unique:
            known = self.overlay.get((etype, eid))
            if known is not None:
                return known
        return self.store.known(etype, eid)

    def _put(self, etype: str, eid: str, entry: Entry | None, version: VersionTuple) -> None:
        self.ops.append((etype, eid, entry, version))
        if not self.unique:
            self.overlay[(etype, eid)] = (version, entry)

    def _placed(self, etype: str, eid: str, version: VersionTuple
                ) -> tuple[VersionTuple | None, VersionTuple | None, Entry | None]:
        """``version`` against what is known: ``(version, known, current)``.

        A version without a source time takes the known one's. The version
        is ``None`` (and counted stale) when it is not newer than the known
        one and this poll does not correct it.
        """
        known, current = self._known(etype, eid)
        if known is not None:
            if not version[0]:
                version = (known[0], version[1], version[2])
            if version <= known and not self._corrects(etype, eid, known):
                self.stats.stale += 1
                return None, known, current
        return version, known, current

    def upsert(self, event: Event, version: VersionTuple) -> None:
        """Plan ``event`` (not a delete) if it is newer than what is known."""
        etype, eid = event.entity_type, event.entity_id
        placed, _known, current = self._placed(etype, eid, version)
        if placed is None:
            if self.emit_cached and current is not None:
                self.events.append(self._rebuilt(etype, eid, current))
            return
        version = placed
        keys, blob = self._encode(event.fields)
        if current is not None and (current[1] != blob or current[0] != keys):
            kept = self.unique and self.store.preserved(etype)
            if kept:
                merged = _keep_known(event.fields, fields_of(current), kept)
                if merged is not None:
                    event = event.replace(fields=merged)
                    keys, blob = self._encode(merged)
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

    def delete(self, event: Event, version: VersionTuple) -> None:
        """Plan a delete if it is newer than what is known; emit it once."""
        etype, eid = event.entity_type, event.entity_id
        placed, known, current = self._placed(etype, eid, version)
        if placed is None:
            return
        version = placed
        self._put(etype, eid, None, version)
        if known is not None and current is None:
            return  # already deleted: a delete is emitted once
        self.stats.deleted += 1
        fields = event.fields
        if not fields and current is not None:
            fields = fields_of(current)
        self.deletes.append(self._stamped(event.replace(fields=fields), version))

    def _corrects(self, etype: str, eid: str, known: VersionTuple) -> bool:
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

    def delete_missing(self, etype: str, eid: str, entry: Entry,
                       version: VersionTuple) -> None:
        """Plan the delete of a live entity a complete snapshot did not list."""
        self._put(etype, eid, None, version)
        self.stats.deleted += 1
        self.deletes.append(Event(
            datasource=self.store.datasource, entity_type=etype, entity_id=eid,
            fields=fields_of(entry), action=self.action, event_type=DELETE_ENTITY,
            version=public_version(version)))

    def take(self, event: Event, observed: float, deleted: bool) -> None:
        """Plan ``event``: :meth:`delete` or :meth:`upsert`; an event
        :meth:`upsert` raises on is dropped alone (:meth:`invalid`).

        Its version's observed time is ``observed`` when it has none; a
        version dated more than ``max_skew`` after ``now`` is made
        :func:`believable` (counted in :attr:`Stats.future`).
        """
        v = event.version
        version = (v[0], v[1] or observed, v[2])
        if version[0] > self._limit or version[1] > self._limit:
            version = believable(version, self._limit, self._now)
            self.stats.future += 1
            self.first_future = self.first_future or event
        if deleted:
            self.delete(event, version)
            return
        try:
            self.upsert(event, version)
        except Exception as exc:  # a value the encoding cannot handle
            self.invalid(event, exc)

    def invalid(self, event: Event, error: Exception) -> None:
        """Drop an event :meth:`upsert` raised on: what is known stays, and a
        ``full`` snapshot emits it as cached. Nothing was planned for it."""
        self.stats.invalid += 1
        if self.first_invalid is None:
            self.first_invalid = (event, error)
        if self.emit_cached:
            _known, current = self.store.known(event.entity_type, event.entity_id)
            if current is not None:
                self.events.append(self._rebuilt(event.entity_type, event.entity_id, current))

    def keep_touched(self, etype: str, eid: str, entry: Entry) -> None:
        """A live entity the snapshot missed but an update touched during the poll."""
        if self.emit_cached:
            self.extra.append(self._rebuilt(etype, eid, entry))

    def _rebuilt(self, etype: str, eid: str, entry: Entry) -> Event:
        return Event(datasource=self.store.datasource, entity_type=etype,
                     entity_id=eid, fields=fields_of(entry), action=self.action,
                     event_type=None, sample_date=utcnow_iso(),
                     version=public_version(entry[2]))

    def _stamped(self, event: Event, version: VersionTuple) -> Event:
        if event.action is self.action and event.version == version:
            return event
        return event.replace(action=self.action, version=public_version(version))

    def run(self, deliver: Deliver) -> None:
        """Deliver the events, then commit; nothing is committed if ``deliver`` raises."""
        emitted = self.events + self.extra + self.deletes
        if emitted:
            deliver(emitted)
        self.stats.emitted = len(emitted)
        self.store.commit(self.ops)

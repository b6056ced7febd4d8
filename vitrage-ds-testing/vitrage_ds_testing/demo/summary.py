"""What the demo shows of the initial snapshot: counts, breakdowns and sample rows."""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from vitrage_ds.event import Event

__all__ = ['Snapshot', 'tally']

STACK = 'heat.stack'
RESOURCE = 'heat.resource'
ALARM = 'aodh'


def tally(values: Iterable[object]) -> list[tuple[str, int]]:
    """``(value, count)`` pairs, most frequent first, ties in name order."""
    counts = collections.Counter(str(v) for v in values)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """Every event of the drivers' first complete polls (``init_snapshot``).

    :ivar events: in delivery order.
    :ivar seconds: from the start of the collector to the last of them.
    :ivar featured: entity ids the scenario is about, shown first in samples.
    """

    events: tuple[Event, ...]
    seconds: float
    featured: frozenset[str] = frozenset()

    @property
    def counts(self) -> dict[str, int]:
        """Entities per entity type: stacks, resources, alarms, then any other."""
        counts = collections.Counter(e.entity_type for e in self.events)
        order = {STACK: 0, RESOURCE: 1, ALARM: 2}
        return {t: counts[t] for t in sorted(counts, key=lambda t: (order.get(t, 3), t))}

    def of(self, entity_type: str) -> list[Event]:
        """The events of ``entity_type``: featured first, then by name."""
        events = [e for e in self.events if e.entity_type == entity_type]
        return sorted(events, key=lambda e: (e.entity_id not in self.featured,
                                             str(e.fields.get('name') or e.entity_id)))

    def fields(self, entity_type: str, name: str) -> list[Any]:
        """The value of field ``name`` in every event of ``entity_type``."""
        return [e.fields.get(name) for e in self.events if e.entity_type == entity_type]

    @property
    def nested_stacks(self) -> int:
        """Stacks that have a parent stack."""
        return sum(1 for parent in self.fields(STACK, 'parent') if parent)

    @property
    def projects(self) -> int:
        """Distinct projects owning stacks or alarms."""
        owners = (self.fields(STACK, 'user_project_id')
                  + self.fields(ALARM, 'project_id'))
        return len({p for p in owners if p})

    def as_dict(self) -> Mapping[str, Any]:
        """The machine-readable summary (``--json``)."""
        return {
            'seconds': round(self.seconds, 3),
            'counts': self.counts,
            'nested_stacks': self.nested_stacks,
            'projects': self.projects,
            'stack_statuses': dict(tally(self.fields(STACK, 'status'))),
            'resource_types': dict(tally(self.fields(RESOURCE, 'resource_type'))),
            'alarm_types': dict(tally(self.fields(ALARM, 'type'))),
            'alarm_states': dict(tally(self.fields(ALARM, 'state'))),
        }

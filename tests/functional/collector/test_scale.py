"""The reconciliation cache at scale: memory per entity and an exact 1 % diff.

No timing is asserted (the benchmarks measure it); the measured figures are
attached to the test result as details.
"""

from __future__ import annotations

import gc
import random
import time
import tracemalloc
import uuid

import testtools
from testtools.content import text_content

from vitrage_ds.collector import EntityCache
from vitrage_ds.event import DELETE_ENTITY, Action, Event, Version

# Bytes per entity do not depend on the count; benchmark 4 measures 100,000.
ENTITIES = 20_000
BUDGET = 1500  # bytes per cached entity


def stack(i: int, status: str = 'CREATE_COMPLETE', source: float = 0.0) -> Event:
    """A Heat-stack-shaped event with the driver's fields and realistic sizes."""
    stack_id = str(uuid.UUID(int=i))
    return Event('heat.stack', 'heat.stack', stack_id, {
        'stack_id': stack_id, 'name': f'stack-{i:06d}-web-tier',
        'description': 'A web tier: a load balancer and its servers',
        'user_project_id': uuid.UUID(int=i % 50).hex, 'owner': uuid.UUID(int=i % 200).hex,
        'owner_name': f'user-{i % 200}', 'status': status,
        'status_reason': 'Stack CREATE completed successfully', 'parent': None,
        'creation_time': '2024-05-01T12:00:00Z', 'updated_time': None,
        'tags': ['web', 'prod'], 'scope': 'all_projects'},
        version=Version(source or 1714564800.0 + i, 0.0, 1))


class TestScale(testtools.TestCase):

    def test_a_cached_entity_costs_less_than_the_budget(self) -> None:
        cache = EntityCache('heat.stack', mode='diff')
        gc.collect()
        tracemalloc.start()
        try:
            events = [stack(i) for i in range(ENTITIES)]
            cache.apply_snapshot(cache.begin_poll(), events, Action.INIT_SNAPSHOT,
                                 lambda batch: None)
            del events
            gc.collect()
            used, _peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        per_entity = used / ENTITIES
        self.addDetail('bytes per entity', text_content(f'{per_entity:.0f}'))
        self.assertEqual(ENTITIES, len(cache))
        self.assertLess(per_entity, BUDGET)

    def test_a_one_percent_diff_emits_exactly_the_changes(self) -> None:
        cache = EntityCache('heat.stack', mode='diff')
        first = [stack(i) for i in range(ENTITIES)]
        cache.apply_snapshot(cache.begin_poll(), first, Action.INIT_SNAPSHOT,
                             lambda batch: None)
        rng = random.Random(7)
        changed = set(rng.sample(range(ENTITIES), ENTITIES // 100))
        removed = set(rng.sample(sorted(set(range(ENTITIES)) - changed), 10))
        second = [stack(i, 'UPDATE_COMPLETE', source=1714600000.0 + i) if i in changed
                  else first[i] for i in range(ENTITIES) if i not in removed]
        emitted: list[Event] = []
        start = time.perf_counter()
        stats = cache.apply_snapshot(cache.begin_poll(), second, Action.SNAPSHOT,
                                     emitted.extend)
        elapsed = time.perf_counter() - start
        self.addDetail('diff seconds', text_content(f'{elapsed:.3f}'))
        self.assertEqual({str(uuid.UUID(int=i)) for i in changed},
                         {e.entity_id for e in emitted if e.event_type != DELETE_ENTITY})
        self.assertEqual({str(uuid.UUID(int=i)) for i in removed},
                         {e.entity_id for e in emitted if e.event_type == DELETE_ENTITY})
        self.assertEqual((len(changed), len(removed), ENTITIES - len(changed) - len(removed)),
                         (stats.updated, stats.deleted, stats.unchanged))

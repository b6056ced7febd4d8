"""Benchmark 4: reconciliation of a 100,000-entity snapshot with 1 % changed.

The entities are real Heat events: the Heat driver polls the emulated cloud
(no added latency) for stacks of ten resources, about 100,000 entities.
A collector cache (:class:`vitrage_ds.collector.EntityCache`, ``diff``
mode) takes that snapshot; the next snapshot is the same entities seen by a
later poll, 1 % of them changed (stacks updated: a new status and update
time). Measured:

* the time ``apply_snapshot`` takes to deliver the changes, and that it
  delivers exactly them (no tracing active);
* the memory the cache keeps per entity, with :mod:`tracemalloc`: the
  snapshot is decoded from JSON under tracing, so every string it holds is
  counted, reconciled into a fresh cache, then every reference but the
  cache's is dropped.
"""

from __future__ import annotations

import gc
import json
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from benchmarks.cloudhost import CloudHost
from benchmarks.common import BenchResult, Settings, _conf_text, say

__all__ = ['run']

NUMBER = 4
PER_STACK = 10


def _poll(cloud: CloudHost) -> list[Any]:
    from vitrage_ds import config, registry
    with tempfile.TemporaryDirectory(prefix='bench-reconcile-') as tmp:
        conf_file = Path(tmp) / 'vitrage_ds.conf'
        conf_file.write_text(_conf_text('vitrage_ds', cloud.info))
        conf = config.load_config(['--config-file', str(conf_file)])
        driver = registry.load_drivers(conf, ['heat.stack']).plugins['heat.stack']
        events: list[Any] = driver.get_all()
        return events


def _changed(events: list[Any], changes: int, observed: float) -> tuple[list[Any], set[Any]]:
    """The next poll: every version observed later, ``changes`` stacks updated."""
    from vitrage_ds.event import Version
    later = []
    changed = set()
    stacks_left = changes
    for event in events:
        v = event.version
        fields = event.fields
        source = v.source
        if stacks_left and event.entity_type == 'heat.stack':
            stacks_left -= 1
            fields = {**fields, 'status': 'UPDATE_COMPLETE',
                      'status_reason': 'Stack UPDATE completed successfully'}
            fields['updated_time'] = '2025-01-01T00:00:00Z'
            source = max(source, observed - 1)
            changed.add(event.key)
        later.append(event.replace(fields=fields,
                                   version=Version(source, observed, v.phase)))
    return later, changed


def run(settings: Settings) -> BenchResult:
    from vitrage_ds.collector import EntityCache
    from vitrage_ds.event import Action, Event

    target = settings.reconcile_entities
    stacks = -(-target // (PER_STACK + 1))
    result = BenchResult(NUMBER, f'Reconciliation: {stacks * (PER_STACK + 1):,}-entity '
                                 f'snapshot, 1 % changed')
    with CloudHost() as cloud:
        cloud.call('populate_heat', stacks, PER_STACK)
        say(f'4: polling {stacks:,} stacks for the snapshot')
        first = _poll(cloud)
    total = len(first)
    changes = total // 100
    second, expected = _changed(first, changes, time.time())

    def no_delivery(events: Any) -> None:
        pass

    cache = EntityCache('heat.stack', mode='diff')
    cache.apply_snapshot(cache.begin_poll(), first, Action.INIT_SNAPSHOT, no_delivery)
    delivered: list[Any] = []
    gc.collect()
    say(f'4: reconciling {total:,} entities, {changes:,} changed')
    token = cache.begin_poll()
    began = time.perf_counter()
    cache.apply_snapshot(token, second, Action.SNAPSHOT, delivered.extend)
    elapsed = time.perf_counter() - began
    exact = {e.key for e in delivered} == expected and len(delivered) == changes
    del cache

    text = json.dumps([e.to_dict() for e in first])
    del first, second
    gc.collect()
    say('4: measuring the cache\'s memory with tracemalloc')
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        snapshot = [Event.from_dict(d) for d in json.loads(text)]
        cache = EntityCache('heat.stack', mode='diff')
        cache.apply_snapshot(cache.begin_poll(), snapshot, Action.INIT_SNAPSHOT, no_delivery)
        del snapshot
        gc.collect()
        kept = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    per_entity = kept / len(cache)
    result.row(f'time to emit the {changes:,} changes', f'{elapsed:.2f} s', '', None,
               '< 1 s', elapsed < 1.0)
    result.row('changes emitted', f'{len(delivered):,}', '', None,
               f'exactly the {changes:,}', exact)
    result.row('memory per cached entity', f'{per_entity / 1024:.2f} KB', '', None,
               '< 1.5 KB', per_entity < 1.5 * 1024)
    result.notes.append(
        f'{total:,} entities ({stacks:,} Heat stacks and their resources); '
        f'{kept / 2**20:.1f} MiB kept by the cache in all (tracemalloc).')
    result.data = {'seconds': elapsed, 'per_entity': per_entity}
    return result

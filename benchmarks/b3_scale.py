"""Benchmark 3, scale part: Heat and Aodh API requests per poll interval with
1, 2 and 3 collectors sharing the polls through tooz on Redis.

The collectors run in this process (the requests, not the CPU, are
measured), polls only, every :data:`INTERVAL` seconds, on a Redis key
namespace of their own (deleted afterwards). The emulated cloud's request
counts are read in the middle of two slots :data:`INTERVALS` slots apart,
when no poll runs (a poll starts at most half a second into its slot and
takes well under half a slot here), so they cover exactly that many poll
slots. Target: as many requests per interval as one collector makes.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks.cloudhost import CloudHost
from benchmarks.common import BenchResult, _conf_text, say

__all__ = ['measure_requests_per_interval']

#: Seconds between polls (both drivers): well above a poll of the full run.
INTERVAL = 6.0
#: Poll slots counted per measurement.
INTERVALS = 3
#: The same for ``--quick`` (CI), whose cloud polls in well under a second.
QUICK_INTERVAL, QUICK_INTERVALS = 3.0, 2
REDIS = ('127.0.0.1', 6379)


def measure_requests_per_interval(result: BenchResult, cloud: CloudHost,
                                  quick: bool = False) -> None:
    """Rows: Heat and Aodh requests per interval for 1, 2 and 3 collectors."""
    interval, intervals = (QUICK_INTERVAL, QUICK_INTERVALS) if quick else (INTERVAL, INTERVALS)
    try:
        import redis
        client = redis.Redis(*REDIS, socket_timeout=5)
        client.ping()
    except Exception as exc:
        result.notes.append(f'collectors sharing polls not measured: Redis unusable ({exc})')
        return
    namespace = f'vitrage_ds-bench-{uuid.uuid4().hex[:8]}'
    try:
        counts = {n: _per_interval(cloud, n, namespace, interval, intervals)
                  for n in (1, 2, 3)}
    finally:
        keys = list(client.scan_iter(match=f'{namespace}*'))
        if keys:
            client.delete(*keys)
        client.close()
    for service in ('heat', 'aodh'):
        one = counts[1][service]
        for n in (1, 2, 3):
            ours = counts[n][service]
            result.row(f'{service.capitalize()} API requests per {interval:.0f} s interval, '
                       f'{n} collector(s) on Redis', f'{ours:,.0f}', f'{one:,.0f}',
                       ours / one if one else None, '= 1 collector', ours == one)
    result.notes.append(
        f'Collectors sharing the polls: {intervals} poll slots of {interval:.0f} s counted per '
        f'group size, in-process collectors on tooz\'s Redis driver (timeout 2 s); the '
        f'reference is one collector of the same kind.')


def _per_interval(cloud: CloudHost, members: int, namespace: str, interval: float,
                  intervals: int) -> dict[str, float]:
    from vitrage_ds.collector import Collector
    from vitrage_ds.collector.coordination import SlotTiming
    from vitrage_ds.config import load_config

    say(f'3: API requests per interval with {members} collector(s)')
    url = f'redis://{REDIS[0]}:{REDIS[1]}?namespace={namespace}-{members}&timeout=2'
    with tempfile.TemporaryDirectory(prefix='bench-scale-') as tmp:
        conf_file = Path(tmp) / 'vitrage_ds.conf'
        conf_file.write_text(_conf_text('vitrage_ds', cloud.info) + '\n'.join([
            '[DEFAULT]', 'drivers = heat.stack,aodh', '',
            '[coordination]', f'backend_url = {url}', '',
            '[collector]', 'listen = false', '',
            '[driver.heat.stack]', f'poll_interval = {interval}', '',
            '[driver.aodh]', f'poll_interval = {interval}', '']))
        collectors = [Collector(load_config(['--config-file', str(conf_file)]), _discard)
                      for _ in range(members)]
    slots = SlotTiming(interval, 0.0, wallclock=time.time)
    try:
        for collector in collectors:
            collector.start()
        # From the middle of the second slot from now: every member runs by then.
        first = slots.slot(time.time()) + 2
        before = _at(cloud, (first + 0.5) * interval)
        after = _at(cloud, (first + intervals + 0.5) * interval)
    finally:
        for collector in collectors:
            collector.stop(30)
    return {service: sum(n - before.get(route, 0) for route, n in after.items()
                         if route.startswith(f'{service}.')) / intervals
            for service in ('heat', 'aodh')}


def _at(cloud: CloudHost, when: float) -> dict[str, int]:
    """The cloud's request counts at wall-clock time ``when``."""
    time.sleep(max(0.0, when - time.time()))
    counts: dict[str, int] = cloud.request_counts()
    return counts


def _discard(event: Any) -> None:
    """The collectors' sink: the requests are measured, not the events."""

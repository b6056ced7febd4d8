"""Benchmark 6: how vitrage_ds's Heat snapshot grows with stacks and latency.

Benchmark 1 for vitrage_ds alone (same runner, same cloud, defaults), over a
grid of stack counts (10 resources each) and per-request latencies: wall
time and Heat API requests of ``get_all``. The grid goes in a table and in a
plot (:func:`benchmarks.report.growth_plot`).
"""

from __future__ import annotations

from benchmarks.cloudhost import CloudHost
from benchmarks.common import BenchResult, Settings, fmt_s, run_driver, say

__all__ = ['run']

NUMBER = 6


def run(settings: Settings, ours_python: str) -> BenchResult:
    result = BenchResult(NUMBER, 'Cost growth of vitrage_ds\'s Heat snapshot')
    grid: list[dict[str, float]] = []
    for stacks in settings.growth_stacks:
        with CloudHost() as cloud:
            cloud.call('populate_heat', stacks, settings.resources_per_stack)
            for latency in settings.growth_latencies:
                cloud.latency(latency)
                say(f'6: {stacks:,} stacks, {latency * 1000:.0f} ms')
                run = run_driver('vitrage_ds', 'heat', cloud, ours_python)
                heat = run.per_call('heat.')
                grid.append({'stacks': stacks, 'latency_ms': latency * 1000,
                             'seconds': run.seconds, 'requests': heat,
                             'cpu_s': float(run.output['get_all_cpu_s'])})
    result.data = {'grid': grid}
    largest = max(grid, key=lambda p: (p['stacks'], p['latency_ms']))
    result.row(f'largest: {largest["stacks"]:,.0f} stacks, {largest["latency_ms"]:.0f} ms '
               f'(whole grid below)', f'{fmt_s(largest["seconds"])}, '
               f'{largest["requests"]:,.0f} requests')
    result.notes.append(
        f'Each stack costs one resources call; with 10 calls in flight the time is '
        f'bounded by latency x stacks / 10 when the latency dominates, and by the '
        f'client\'s CPU (about {1000 * largest["cpu_s"] / largest["stacks"]:.1f} ms a '
        f'stack here) when it does not.')
    return result

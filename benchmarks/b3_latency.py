"""Benchmark 3, latency part: from a notification's publication to its event at the sink.

A running collector (cache warmed by one poll of each driver, no polls
during the measure) listens while the emulated cloud makes changes at a
steady rate -- half the rate the collector drained a backlog at, so the
collector is loaded but keeps up -- for :data:`SECONDS` seconds. For every
``update`` event the sink receives, the latency is the sink's clock less
the notification's envelope time (set by oslo.messaging as the cloud
published it; same host, same clock). A notification's events (a stack
and its resources) count once each.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from typing import Any

from benchmarks.cloudhost import CloudHost
from benchmarks.common import BenchResult, say

__all__ = ['measure_latency']

#: Seconds the changes are made for.
SECONDS = 10.0
#: Seconds between two batches of changes.
BATCH_EVERY = 0.1
_SETTLE_TIMEOUT = 120.0


class _LatencySink:
    """Records each update event's publication-to-sink latency."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        if event.action.value != 'update':
            return
        latency = time.time() - event.version.observed
        with self._lock:
            self.latencies.append(latency)

    def count(self) -> int:
        with self._lock:
            return len(self.latencies)


def measure_latency(conf: Any, transport: Any, cloud: CloudHost, vhost: Any,
                    drain_rate: float) -> Callable[[BenchResult], None]:
    """Latency p50 and p99 at half of ``drain_rate`` notifications per second.

    :returns: what adds the rows and note to a result (so they follow the
        drain rates they depend on).
    """

    rate = max(10.0, drain_rate / 2)
    per_batch = max(4, round(rate * BATCH_EVERY))
    heat_updates = per_batch // 4  # a start and an end each: half the notifications
    transitions = per_batch - 2 * heat_updates
    say(f'3: publication-to-sink latency at {per_batch / BATCH_EVERY:,.0f} notifications/s')
    sink = _LatencySink()
    collector, no_polls = warm_collector(conf, transport, sink)
    sink.latencies.clear()
    collector.start()
    expected = 0
    try:
        cloud.call('connect_bus', vhost.transport_url)
        began = time.monotonic()
        batches = 0
        while time.monotonic() - began < SECONDS:
            kinds = cloud.call('emit_changes', heat_updates, transitions)
            expected += kinds.get('alarm.state_transition', 0)
            batches += 1
            time.sleep(max(0.0, began + batches * BATCH_EVERY - time.monotonic()))
        sent_s = time.monotonic() - began
        cloud.call('disconnect_bus')
        # Every transition gives one update event; stacks give more.
        deadline = time.monotonic() + _SETTLE_TIMEOUT
        while sink.count() < expected and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        no_polls.set()
        collector.stop(30)
    latencies = sorted(sink.latencies)
    offered = batches * per_batch / sent_s
    return lambda result: _report(result, latencies, offered, batches * per_batch, sent_s)


def _report(result: BenchResult, latencies: list[float], offered: float, sent: int,
            sent_s: float) -> None:
    if not latencies:
        result.notes.append('publication-to-sink latency: no event reached the sink')
        return
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    result.row(f'publication-to-sink latency p50 at {offered:,.0f} notifications/s',
               f'{p50 * 1000:,.1f} ms')
    result.row(f'publication-to-sink latency p99 at {offered:,.0f} notifications/s',
               f'{p99 * 1000:,.1f} ms')
    result.notes.append(
        f'Latency: {sent:,} notifications published over {sent_s:.1f} s in '
        f'batches every {BATCH_EVERY * 1000:.0f} ms (half the drain rate above), '
        f'{len(latencies):,} update events timed from the envelope time to the sink.')


def warm_collector(conf: Any, transport: Any, sink: Any) -> tuple[Any, threading.Event]:
    """A collector whose cache holds one poll of each driver, not yet started.

    Its scheduler is given a ``sleep`` that waits for the returned event
    and then says "stopping", so it polls nothing during the measurement.
    """
    from vitrage_ds.collector import Collector

    no_polls = threading.Event()

    def sleep(seconds: float) -> bool:
        no_polls.wait()
        return True

    collector = Collector(conf, sink, transport=transport, sleep=sleep)
    for name in collector.drivers:
        collector.poll(name)
    return collector, no_polls

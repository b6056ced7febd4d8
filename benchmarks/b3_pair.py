"""Benchmark 3, two collectors: one backlog drained by two collector processes.

Each collector runs in a process of its own (spawned; the GIL is per
process), its cache warmed by one poll of each driver, in the same
listener pool, with a sink that counts. Once both are ready the emulated
cloud queues the backlog; the clock runs from the moment both start
listening until their listeners together acknowledged every message.
"""

from __future__ import annotations

import multiprocessing
import threading
import time
from typing import Any

from benchmarks.common import say

__all__ = ['drain_with_collectors']

_TIMEOUT = 600.0


def _collector_process(conf_file: str, ready: Any, go: Any, done: Any, handled: Any) -> None:
    """A child: a warmed collector that listens from ``go`` to ``done``."""
    from vitrage_ds.collector import Collector
    from vitrage_ds.config import load_config

    no_polls = threading.Event()

    def sleep(seconds: float) -> bool:
        no_polls.wait()
        return True

    collector = Collector(load_config(['--config-file', conf_file]), lambda event: None,
                          sleep=sleep)
    for name in collector.drivers:
        collector.poll(name)
    ready.set()
    go.wait()
    collector.start()
    listener = collector.listener
    assert listener is not None
    while not done.is_set():
        handled.value = listener.handled + listener.rejected
        time.sleep(0.002)
    no_polls.set()
    collector.stop(30)


def drain_with_collectors(conf_file: str, count: int, queue_backlog: Any,
                          expected: int) -> float:
    """Seconds ``count`` collector processes take to drain ``expected`` messages.

    :param queue_backlog: called once every collector is ready; queues the
        backlog and returns when the broker holds it.
    """
    ctx = multiprocessing.get_context('spawn')
    ready = [ctx.Event() for _ in range(count)]
    go, done = ctx.Event(), ctx.Event()
    handled = [ctx.Value('q', 0) for _ in range(count)]
    children = [ctx.Process(target=_collector_process, daemon=True,
                            args=(conf_file, ready[i], go, done, handled[i]))
                for i in range(count)]
    for child in children:
        child.start()
    try:
        for event in ready:
            if not event.wait(_TIMEOUT):
                raise RuntimeError('a collector process did not get ready')
        queue_backlog()
        say(f'3: {count} collector processes draining')
        began = time.perf_counter()
        go.set()
        deadline = time.monotonic() + _TIMEOUT
        while sum(h.value for h in handled) < expected:
            if time.monotonic() > deadline:
                raise RuntimeError(f'{count} collectors drained '
                                   f'{sum(h.value for h in handled)} of {expected}')
            time.sleep(0.002)
        return time.perf_counter() - began
    finally:
        done.set()
        go.set()
        for child in children:
            child.join(60)
            if child.is_alive():
                child.kill()

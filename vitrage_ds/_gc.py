"""Pausing Python's cyclic garbage collector while a poll builds its snapshot.

A poll decodes and maps tens of thousands of JSON objects that all stay
alive: every few thousand allocations the collector runs, and each full
collection walks every object of the process again (measured: a quarter of
the CPU of a 10,000-alarm poll). None of what a poll builds is cyclic, so
nothing is lost by collecting once, after it.

The switch is process-wide, so pausing is the collector's decision
(``[collector] pause_gc``), taken around each poll it runs; a driver's
``get_all()`` called on its own leaves the collector alone.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

__all__ = ['paused']

_lock = threading.Lock()
_holders = 0
_resume = False


@contextlib.contextmanager
def paused(enabled: bool = True) -> Iterator[None]:
    """Keep the cyclic garbage collector off for the ``with`` block.

    Nests and may be entered by several threads at once: the collector is
    turned off by the first holder and back on when the last one leaves,
    and only if it was on before (an application that turned it off keeps
    it off). Reference counting frees memory as usual meanwhile; only
    reference cycles wait for the end of the block.

    :param enabled: ``False`` makes this a no-op (the operator's choice).
    """
    if not enabled:
        yield
        return
    global _holders, _resume
    with _lock:
        if _holders == 0:
            _resume = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _resume:
                gc.enable()

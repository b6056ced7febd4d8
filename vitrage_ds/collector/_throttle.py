"""Rate-limited warnings: at most one line per period, carrying a count."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ['Throttle']


class Throttle:
    """Counts occurrences of one kind of problem and says when to report them.

    The first occurrence is reported at once; later ones at most once per
    ``every`` seconds, with the number seen since the last report, so a
    flood of bad input writes a bounded number of log lines and a lasting
    problem never goes quiet. Thread-safe.

    :param every: seconds between two reports.
    :param clock: monotonic seconds.
    """

    def __init__(self, every: float = 60.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self._clock = clock
        self._lock = threading.Lock()
        self._last: float | None = None
        self._unreported = 0

    def add(self, count: int = 1) -> int:
        """Count ``count`` more; the number to report now, or 0 to stay quiet."""
        with self._lock:
            self._unreported += count
            now = self._clock()
            if self._last is not None and now - self._last < self.every:
                return 0
            self._last = now
            due, self._unreported = self._unreported, 0
            return due

"""A clock that moves only when told to, for code that takes ``clock`` and ``sleep``."""

from __future__ import annotations

import threading

from vitrage_ds.event import parse_time

__all__ = ['FakeClock']


class FakeClock:
    """Seconds since the epoch that only :meth:`sleep` and :meth:`advance` move.

    Pass :meth:`time` as a ``clock`` and :meth:`sleep` as a ``sleep``:
    waiting then takes no real time and what depends on the time is
    deterministic. Thread-safe.

    :param start: the initial time, seconds or an ISO 8601 string.
    """

    def __init__(self, start: float | str = 1_714_564_800.0) -> None:
        seconds = parse_time(start) if isinstance(start, str) else float(start)
        if seconds is None:
            raise ValueError(f'not a time: {start!r}')
        self._now = seconds
        self._lock = threading.Lock()
        #: Every duration :meth:`sleep` was asked for, in order.
        self.slept: list[float] = []

    def time(self) -> float:
        """The current fake time."""
        with self._lock:
            return self._now

    def sleep(self, seconds: float) -> None:
        """Record ``seconds`` and move the clock on by as much, at once."""
        with self._lock:
            self.slept.append(seconds)
            self._now += max(seconds, 0.0)

    def advance(self, seconds: float) -> None:
        """Move the clock on by ``seconds``, as if that much time passed."""
        with self._lock:
            self._now += seconds

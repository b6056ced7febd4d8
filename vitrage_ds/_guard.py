"""Calling plugin code with a time limit, so one hung plugin stalls nothing else.

A :class:`Guard` runs one plugin's calls on threads of its own and waits
for each at most ``timeout`` seconds. A call that overstays is abandoned
(Python cannot stop a thread): :class:`PluginTimeout` is raised to the
caller, the thread keeps running and its eventual result is dropped. Calls
still running past their time count as *stuck*; once every thread of the
guard is stuck, further calls fail at once instead of queueing behind them.
The threads are reused: one that finished a call takes the next, and one
left without a call for a while exits (starting a thread per call cost
more CPU than handling a typical notification).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from vitrage_ds.errors import VitrageDSError

__all__ = ['Guard', 'PluginTimeout']

T = TypeVar('T')

#: Seconds a guard's thread waits for another call before it exits.
_IDLE_SECONDS = 30.0


class PluginTimeout(VitrageDSError):
    """A plugin call did not return in time, or the plugin is stuck."""


class _Call(Generic[T]):
    """One call handed to a guard's thread.

    ``done`` is a plain lock held from creation until the call finished:
    the caller waits by acquiring it (cheaper than an event, which builds a
    condition and a lock per wait).
    """

    __slots__ = ('abandoned', 'args', 'done', 'error', 'finished', 'fn', 'result')

    def __init__(self, fn: Callable[..., T], args: tuple[Any, ...]) -> None:
        self.done = threading.Lock()
        self.done.acquire()
        self.abandoned = False
        self.finished = False
        self.result: Any = None
        self.error: BaseException | None = None
        self.fn = fn
        self.args = args


class Guard:
    """Time-limited calls into one plugin.

    :param name: names the plugin in errors and thread names.
    :param timeout: seconds one call may take; ``None`` or ``<= 0``: no limit
        (calls run on the caller's thread).
    :param workers: most calls in flight at once, stuck ones included.
    """

    def __init__(self, name: str, timeout: float | None, workers: int, *,
                 idle_seconds: float = _IDLE_SECONDS) -> None:
        self.name = name
        self.timeout = timeout if timeout and timeout > 0 else None
        self.workers = workers
        self.idle_seconds = idle_seconds
        self._in_flight = 0
        self._stuck = 0
        # Threads waiting for a call, less the calls queued for them.
        self._idle = 0
        self._calls: queue.SimpleQueue[_Call[Any]] = queue.SimpleQueue()
        self._lock = threading.Condition()

    @property
    def stuck(self) -> int:
        """Calls that overstayed and have not returned yet."""
        with self._lock:
            return self._stuck

    def call(self, what: str, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)``, or :class:`PluginTimeout` after ``timeout`` seconds.

        :param what: the call, for the error message (``get_all()``).
        :raises PluginTimeout: it overstayed (abandoned), or every thread is
            stuck (not called), or no thread freed up in time (not called).
        :raises Exception: whatever ``fn`` raised.
        """
        if self.timeout is None:
            return fn(*args)
        call: _Call[T] = _Call(fn, args)
        with self._lock:
            if self._stuck >= self.workers:
                raise PluginTimeout(
                    f'{self.name}: {what} not called: {self._stuck} earlier call(s) '
                    f'still have not returned after {self.timeout} s')
            if self._in_flight >= self.workers and not self._lock.wait_for(
                    lambda: self._in_flight < self.workers, self.timeout):
                raise PluginTimeout(f'{self.name}: {what} not called: the plugin was '
                                    f'busy for {self.timeout} s')
            self._in_flight += 1
            self._calls.put(call)
            if self._idle > 0:
                self._idle -= 1  # a waiting thread takes it
            else:
                threading.Thread(target=self._work, daemon=True,
                                 name=f'vitrage_ds-{self.name}').start()
        if not call.done.acquire(timeout=self.timeout):
            with self._lock:
                if not call.finished:
                    call.abandoned = True
                    self._stuck += 1
                    raise PluginTimeout(f'{self.name}: {what} did not return within '
                                        f'{self.timeout} s; abandoned')
        if call.error is not None:
            raise call.error
        return call.result  # type: ignore[no-any-return]

    def _work(self) -> None:
        """Run queued calls until none came for ``idle_seconds``."""
        calls = self._calls
        while True:
            try:
                call = calls.get(timeout=self.idle_seconds)
            except queue.Empty:
                with self._lock:
                    try:  # queued for a waiting thread just now: take it
                        call = calls.get_nowait()
                    except queue.Empty:
                        self._idle -= 1
                        return
            try:
                call.result = call.fn(*call.args)
            except BaseException as exc:  # handed to the caller
                call.error = exc
            with self._lock:
                call.finished = True
                self._in_flight -= 1
                if call.abandoned:
                    self._stuck -= 1
                # Back among the waiting threads before the caller wakes, so
                # that its next call finds this thread rather than starting one.
                self._idle += 1
                if self._in_flight == self.workers - 1:
                    self._lock.notify_all()  # a caller may wait for a free slot
            call.done.release()

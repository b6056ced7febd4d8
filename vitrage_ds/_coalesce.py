"""Sharing one read between callers that ask for the same thing at once.

A notification that says "stack X changed" makes the Heat driver read X's
resources. A burst of notifications about X (an update's ``*.end`` and the
``*.end`` of its nested stacks, a backlog drained after a restart) would
read X once each, at the same time. :class:`SharedReads` makes them share:

* The first caller for a key reads at once (no added latency).
* Callers arriving while that read runs cannot use it -- it started
  before they asked, so it may predate the change they were told about --
  and share **one** follow-up read, which starts once the running one ended.
* So at most two reads of a key are ever under way (one running, one
  waiting), and every caller gets a result read entirely after it called:
  never older than what it was told about.

Reads of different keys never wait for one another. A read that raises
raises to every caller that shared it. Keys are forgotten once no read of
theirs is under way: memory is bounded by the callers in flight.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

__all__ = ['SharedReads']

T = TypeVar('T')


class _Read:
    """One read and the callers sharing it."""

    def __init__(self) -> None:
        self.may_start = threading.Event()
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None


class _Key:
    def __init__(self, running: _Read) -> None:
        self.running: _Read = running
        self.next: _Read | None = None


class SharedReads(Generic[T]):
    """Concurrent reads of one key shared as the module says. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: dict[Hashable, _Key] = {}
        #: Reads made and callers served, for tests and statistics.
        self.reads = 0
        self.calls = 0

    def read(self, key: Hashable, fn: Callable[[], T]) -> T:
        """``fn()``, or the result of a read of ``key`` that started after this call.

        :raises Exception: what the shared read raised.
        """
        with self._lock:
            self.calls += 1
            state = self._keys.get(key)
            if state is None:
                read = _Read()
                read.may_start.set()
                self._keys[key] = _Key(read)
                runner = True
            elif state.next is None:
                read = state.next = _Read()
                runner = True  # the first of the follow-up runs it
            else:
                read = state.next
                runner = False
        if runner:
            read.may_start.wait()  # set once the read before it ended
            self._run(key, read, fn)
        else:
            read.done.wait()
        if read.error is not None:
            raise read.error
        return read.result  # type: ignore[no-any-return]

    def _run(self, key: Hashable, read: _Read, fn: Callable[[], T]) -> None:
        with self._lock:
            self.reads += 1
        try:
            read.result = fn()
        except BaseException as exc:  # handed to every caller sharing it
            read.error = exc
        finally:
            with self._lock:
                state = self._keys[key]
                following = state.next
                if following is None:
                    del self._keys[key]
                else:
                    state.running, state.next = following, None
            read.done.set()
            if following is not None:
                following.may_start.set()

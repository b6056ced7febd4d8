"""Per-key state for handlers running in many threads: a bounded map and per-key locks."""

from __future__ import annotations

import collections
import contextlib
import threading
from collections.abc import Iterator
from typing import Generic, TypeVar

__all__ = ['Bounded', 'KeyedLocks']

K = TypeVar('K')
V = TypeVar('V')


class Bounded(Generic[K, V]):
    """A thread-safe mapping keeping only the ``size`` most recently used keys."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: collections.OrderedDict[K, V] = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value of ``key`` (now the most recently used), or ``None``."""
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def peek(self, key: K) -> V | None:
        """The value of ``key`` without counting it as used, or ``None``."""
        with self._lock:
            return self._items.get(key)

    def put(self, key: K, value: V) -> None:
        """Set ``key``; the least recently used key goes when over ``size``."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def pop(self, key: K) -> None:
        """Forget ``key`` (nothing happens when it is unknown)."""
        with self._lock:
            self._items.pop(key, None)


class KeyedLocks:
    """One lock per key, existing only while someone holds or waits for it."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, tuple[threading.Lock, list[int]]] = {}

    @contextlib.contextmanager
    def hold(self, key: str) -> Iterator[None]:
        """Hold the lock of ``key`` for the ``with`` block."""
        with self._guard:
            lock, users = self._locks.setdefault(key, (threading.Lock(), [0]))
            users[0] += 1
        try:
            with lock:
                yield
        finally:
            with self._guard:
                users[0] -= 1
                if not users[0]:
                    del self._locks[key]

"""The record of every request the emulated cloud received, in arrival order."""

from __future__ import annotations

import dataclasses
import fnmatch
import threading
import time
from collections.abc import Iterator
from typing import Any

__all__ = ['LoggedRequest', 'RequestLog']

_NO_BODY = object()


@dataclasses.dataclass(frozen=True)
class LoggedRequest:
    """One request as received.

    :ivar service: ``identity``, ``orchestration``, ``alarming`` or ``''``.
    :ivar route: the route name (``heat.stacks.list``) or ``''`` if none.
    :ivar path: the path below the service's prefix (``/v1/P/stacks``).
    :ivar params: the query string as ``(name, value)`` pairs, in order.
    :ivar headers: the headers, names lower-cased.
    :ivar json: the decoded JSON body, ``None`` when empty or not JSON.
    :ivar at: when it was received, POSIX seconds.
    """

    method: str
    service: str
    route: str
    path: str
    params: tuple[tuple[str, str], ...]
    headers: dict[str, str]
    json: Any = None
    at: float = dataclasses.field(default_factory=time.time)

    def param(self, name: str) -> str | None:
        """The last value of query parameter ``name``."""
        values = [v for k, v in self.params if k == name]
        return values[-1] if values else None

    @property
    def call(self) -> tuple[str, str]:
        """``(method, path)``, handy to compare call sequences."""
        return self.method, self.path


class RequestLog:
    """Thread-safe, ordered list of :class:`LoggedRequest`.

    Route arguments are route-name globs (``heat.*``) as in fault rules.
    """

    def __init__(self) -> None:
        self._items: list[LoggedRequest] = []
        self._lock = threading.Lock()

    def append(self, item: LoggedRequest) -> None:
        with self._lock:
            self._items.append(item)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def __iter__(self) -> Iterator[LoggedRequest]:
        return iter(self.snapshot())

    def __getitem__(self, index: int) -> LoggedRequest:
        with self._lock:
            return self._items[index]

    def snapshot(self) -> list[LoggedRequest]:
        with self._lock:
            return list(self._items)

    def filter(self, route: str = '*', method: str = '*',
               service: str = '*') -> list[LoggedRequest]:
        """The requests whose route, method and service match the globs."""
        return [r for r in self.snapshot()
                if fnmatch.fnmatchcase(r.route, route)
                and fnmatch.fnmatchcase(r.method, method.upper())
                and fnmatch.fnmatchcase(r.service, service)]

    def count(self, route: str = '*', method: str = '*', service: str = '*') -> int:
        """How many requests :meth:`filter` would return."""
        return len(self.filter(route, method, service))

    def counts(self) -> dict[str, int]:
        """Requests per route name, in first-seen order."""
        result: dict[str, int] = {}
        for item in self.snapshot():
            result[item.route] = result.get(item.route, 0) + 1
        return result

    def calls(self, service: str = '*') -> list[tuple[str, str]]:
        """``(method, path)`` of every request (of ``service``), in order."""
        return [r.call for r in self.snapshot() if fnmatch.fnmatchcase(r.service, service)]

"""Bounded fan-out: one call per item, a fixed number of them in flight."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sized
from typing import Any, TypeVar

__all__ = ['fan_out']

T = TypeVar('T')
R = TypeVar('R')


def fan_out(fn: Callable[[T], R], items: Iterable[T], width: int) -> list[R]:
    """Run ``fn`` on every item, at most ``width`` at once.

    ``items`` is read lazily, one item whenever a call can start (never
    by two threads at once), so calls start while a generator is still
    producing items, e.g. while a listing is still paging. Calls start
    in the order of ``items``. Once a call, or reading ``items``, has
    raised, no further call starts; the calls in flight are let finish
    before the error is raised, so nothing runs on after this function
    returned.

    :returns: the results in the order of ``items``.
    :raises: the first exception a call or ``items`` raised; nothing
        partial is returned.
    """
    source = iter(items)
    if isinstance(items, Sized):
        width = min(width, len(items))
    if width <= 1:
        return [fn(item) for item in source]
    # ``width`` threads each take the next item until none is left or a
    # call failed: no future or wait per item, which cost as much CPU as
    # the calls' own bookkeeping when thousands of short calls fan out.
    results: list[Any] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if errors:
                    return
                try:
                    item = next(source)
                except StopIteration:
                    return
                except BaseException as exc:
                    errors.append(exc)
                    return
                index = len(results)
                results.append(None)
            try:
                results[index] = fn(item)
            except BaseException as exc:
                with lock:
                    errors.append(exc)
                return

    threads = [threading.Thread(target=worker, name=f'vitrage_ds-fanout-{n}')
               for n in range(width)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results

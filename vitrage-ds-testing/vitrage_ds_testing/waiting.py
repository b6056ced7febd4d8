"""Waiting in a test for something another thread or process makes true."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

__all__ = ['wait_until']

T = TypeVar('T')


def wait_until(fetch: Callable[[], T], what: str, timeout: float = 30.0,
               interval: float = 0.1) -> T:
    """Call ``fetch`` every ``interval`` seconds until it returns something truthy.

    ``fetch`` is called at once, then after each pause; the first truthy
    value it returns is returned.

    :param what: what is waited for, named in the failure.
    :param timeout: the bound that stops a broken test from hanging, never
        a measure of how long the wait should take.
    :raises AssertionError: ``fetch`` returned nothing truthy within
        ``timeout`` seconds (a test failure); an exception ``fetch`` raises
        comes out unchanged.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f'timed out after {timeout} s waiting for {what}')
        time.sleep(interval)

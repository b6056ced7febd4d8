"""Lazy: what a plugin builds on first use (its API clients) is built once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import testtools

from vitrage_ds.plugin import Lazy


def racing_build(built: list[object]) -> object:
    """Record a build; the first one waits (at most half a second) for a second
    one to start, so that callers not kept out run it meanwhile."""
    value = object()
    built.append(value)
    if len(built) == 1:
        _second.wait(0.5)
    else:
        _second.set()
    return value


_second = threading.Event()


class LazyTest(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        _second.clear()

    def test_nothing_is_built_before_the_first_call(self) -> None:
        built: list[object] = []
        lazy = Lazy(lambda: built.append(object()) or built[-1])
        self.assertEqual([], built)
        self.assertEqual([lazy()], built)

    def test_later_calls_return_what_the_first_built(self) -> None:
        lazy = Lazy(object)
        self.assertIs(lazy(), lazy())

    def test_threads_asking_at_once_share_one_build(self) -> None:
        built: list[object] = []
        lazy = Lazy(lambda: racing_build(built))

        with ThreadPoolExecutor(8) as callers:
            values = list(callers.map(lambda _: lazy(), range(8)))

        self.assertEqual(1, len(built))
        self.assertEqual([built[0]] * 8, values)

    def test_a_failed_build_is_tried_again_by_the_next_call(self) -> None:
        attempts: list[int] = []

        def build() -> str:
            attempts.append(1)
            if len(attempts) == 1:
                raise OSError('no catalog yet')
            return 'client'

        lazy = Lazy(build)
        self.assertRaises(OSError, lazy)
        self.assertEqual('client', lazy())
        self.assertEqual(2, len(attempts))

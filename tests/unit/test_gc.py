"""Pausing the cyclic garbage collector: nesting, threads and the caller's choice."""

from __future__ import annotations

import gc
import threading

import fixtures
import testtools

from vitrage_ds import _gc


class _RestoreCollector(fixtures.Fixture):
    def _setUp(self) -> None:
        self.addCleanup(gc.enable if gc.isenabled() else gc.disable)


class TestPaused(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(_RestoreCollector())
        gc.enable()

    def test_off_inside_and_on_again_after(self) -> None:
        with _gc.paused():
            self.assertFalse(gc.isenabled())
        self.assertTrue(gc.isenabled())

    def test_back_on_after_an_exception(self) -> None:
        with testtools.ExpectedException(RuntimeError), _gc.paused():
            raise RuntimeError('poll failed')
        self.assertTrue(gc.isenabled())

    def test_nested_blocks_turn_it_on_only_at_the_outermost_end(self) -> None:
        with _gc.paused():
            with _gc.paused():
                pass
            self.assertFalse(gc.isenabled())
        self.assertTrue(gc.isenabled())

    def test_overlapping_threads_turn_it_on_when_the_last_one_leaves(self) -> None:
        entered, release = threading.Event(), threading.Event()

        def other() -> None:
            with _gc.paused():
                entered.set()
                release.wait(10.0)

        thread = threading.Thread(target=other)
        thread.start()
        self.assertTrue(entered.wait(10.0))
        with _gc.paused():
            pass
        self.assertFalse(gc.isenabled())  # the other thread still polls
        release.set()
        thread.join(10.0)
        self.assertTrue(gc.isenabled())

    def test_an_application_that_turned_it_off_keeps_it_off(self) -> None:
        gc.disable()
        with _gc.paused():
            pass
        self.assertFalse(gc.isenabled())

    def test_not_enabled_leaves_it_alone(self) -> None:
        with _gc.paused(enabled=False):
            self.assertTrue(gc.isenabled())

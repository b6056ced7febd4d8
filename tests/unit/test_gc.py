"""Pausing the cyclic garbage collector: nesting, threads, the caller's choice,
and the collector pausing it around a poll."""

from __future__ import annotations

import gc
import threading
from typing import Any

import fixtures
import testtools

from vitrage_ds import _gc
from vitrage_ds.collector import Collector
from vitrage_ds.event import Event
from vitrage_ds_testing import new_test_config
from vitrage_ds_testing.collector import RecordingSink, ScriptedDriver, entity
from vitrage_ds_testing.plugins import construct_plugin


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


class _Observing(ScriptedDriver):
    """Records whether the cyclic collector runs while it polls."""

    states: list[bool]

    def get_all(self) -> list[Event]:
        self.states.append(gc.isenabled())
        return super().get_all()


class TestTheCollectorsPolls(testtools.TestCase):
    """Pausing is the collector's choice around a poll, not the driver's."""

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(_RestoreCollector())
        gc.enable()

    def states_while_polled(self, **collector_options: Any) -> list[bool]:
        conf = new_test_config({'collector': {'listen': False, **collector_options}})
        driver = construct_plugin(_Observing, 'driver', name='observing', conf=conf)
        driver.states = []
        driver.script([entity('a')])
        Collector(conf, RecordingSink(), drivers={'observing': driver}).poll('observing')
        return driver.states

    def test_off_during_a_poll_and_back_on_after(self) -> None:
        self.assertEqual([False], self.states_while_polled())
        self.assertTrue(gc.isenabled())

    def test_stays_on_when_pause_gc_is_off(self) -> None:
        self.assertEqual([True], self.states_while_polled(pause_gc=False))

    def test_a_driver_called_outside_the_collector_leaves_it_alone(self) -> None:
        driver = construct_plugin(_Observing, 'driver', name='observing')
        driver.states = []
        driver.script([entity('a')])
        driver.get_all()
        self.assertEqual([True], driver.states)

    def test_pause_gc_is_no_driver_option(self) -> None:
        self.assertNotIn('pause_gc', [o.dest for o in _Observing.list_opts()])

"""The Collector: polls, notifications, delivery, lifecycle (scripted drivers, fake:// bus)."""

from __future__ import annotations

import gc
import json
import os
import threading
from collections.abc import Sequence
from typing import Any, ClassVar

import fixtures
import testtools

from vitrage_ds.bus import Publisher, get_transport
from vitrage_ds.collector import Collector, CollectorStopped, JsonLinesSink
from vitrage_ds.errors import BackendError, ConfigurationError
from vitrage_ds.event import DELETE_ENTITY, Action
from vitrage_ds.notifier import Outcome
from vitrage_ds_testing.collector import (BrokenSink, RecordingSink, ScriptedDriver, entity, ids,
                                          notification, scripted_driver)
from vitrage_ds_testing import wait_until
from vitrage_ds_testing.plugins import construct_plugin, new_test_config

STAMP = '2024-05-01 12:00:00.000000'


class VersionedDriver(ScriptedDriver):
    """A scripted driver of a service publishing on ``nova``/``versioned_notifications``.

    It handles the same event types as :class:`ScriptedDriver`, so only the
    pair a notification came on tells which of the two gets it.
    """

    name = 'versioned'
    exchanges: ClassVar[Sequence[str]] = ('nova',)
    topics: ClassVar[Sequence[str]] = ('versioned_notifications',)


class _Base(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(name='vitrage_ds'))
        self.conf = new_test_config({'collector': {'mode': 'diff', 'listen': False}})
        self.sink = RecordingSink()

    def driver(self, name: str = 'scripted', **kw: Any) -> ScriptedDriver:
        return scripted_driver(name, conf=self.conf, **kw)

    def versioned_driver(self) -> VersionedDriver:
        driver: VersionedDriver = construct_plugin(VersionedDriver, 'driver', conf=self.conf)
        return driver

    def collector(self, *drivers: ScriptedDriver, **kw: Any) -> Collector:
        drivers = drivers or (self.driver(),)
        return Collector(self.conf, self.sink, drivers={d.context.name: d for d in drivers},
                         **kw)


class TestPolls(_Base):

    def test_the_first_complete_poll_is_the_init_snapshot(self) -> None:
        collector = self.collector(self.driver(snapshot=[entity('a', source=1.0)]))
        collector.poll('scripted')
        self.assertEqual([Action.INIT_SNAPSHOT], [e.action for e in self.sink.events])

    def test_later_polls_are_snapshots(self) -> None:
        driver = self.driver()
        driver.script([entity('a', source=1.0)], [entity('b', source=1.0)])
        collector = self.collector(driver)
        collector.poll('scripted')
        collector.poll('scripted')
        self.assertEqual([('a', Action.INIT_SNAPSHOT, None), ('b', Action.SNAPSHOT, None),
                          ('a', Action.SNAPSHOT, DELETE_ENTITY)],
                         [(e.entity_id, e.action, e.event_type) for e in self.sink.events])

    def test_events_carry_the_driver_name(self) -> None:
        collector = self.collector(self.driver('mine', snapshot=[entity('a')]))
        collector.poll('mine')
        self.assertEqual(['mine'], [e.datasource for e in self.sink.events])

    def test_a_failed_poll_raises_and_delivers_nothing(self) -> None:
        driver = self.driver()
        driver.script([entity('a', source=1.0)], BackendError('down'))
        collector = self.collector(driver)
        collector.poll('scripted')
        self.assertRaises(BackendError, collector.poll, 'scripted')
        self.assertEqual(['a'], ids(self.sink.events))
        self.assertIsNotNone(collector.lookup('scripted', 'scripted.thing', 'a'))

    def test_a_failed_first_poll_leaves_the_next_one_the_init_snapshot(self) -> None:
        driver = self.driver()
        driver.script(BackendError('down'), [entity('a')])
        collector = self.collector(driver)
        self.assertRaises(BackendError, collector.poll, 'scripted')
        collector.poll('scripted')
        self.assertEqual([Action.INIT_SNAPSHOT], [e.action for e in self.sink.events])

    def test_a_sink_failure_fails_the_poll_and_changes_nothing(self) -> None:
        collector = self.collector(self.driver(snapshot=[entity('a')]))
        self.sink.fail_next()
        self.assertRaises(BrokenSink, collector.poll, 'scripted')
        self.assertIsNone(collector.lookup('scripted', 'scripted.thing', 'a'))
        collector.poll('scripted')
        self.assertEqual([Action.INIT_SNAPSHOT], [e.action for e in self.sink.events])

    def test_an_entity_the_cache_cannot_store_does_not_fail_the_poll(self) -> None:
        collector = self.collector(self.driver(snapshot=[entity('a', extra=_Unstorable()),
                                                         entity('b')]))
        stats = collector.poll('scripted')
        self.assertEqual((['b'], 1), (ids(self.sink.events), stats.invalid))

    def test_objects_that_are_not_events_fail_the_poll(self) -> None:
        # A garbled snapshot must not read as deletions of what it lacks.
        driver = self.driver()
        driver.script([entity('a')], [entity('b'), 'junk'])  # type: ignore[list-item]
        collector = self.collector(driver)
        collector.poll('scripted')
        error = self.assertRaises(BackendError, collector.poll, 'scripted')
        self.assertIn('not events', str(error))
        self.assertEqual(['a'], ids(self.sink.events))


class TestNotifications(_Base):

    def test_events_of_a_matching_driver_are_delivered_as_updates(self) -> None:
        collector = self.collector()
        outcome = collector.handle('scripted.change', notification('a', status='ok'),
                                   {'timestamp': STAMP})
        self.assertEqual(Outcome.DONE, outcome)
        self.assertEqual([('a', Action.UPDATE, 'scripted.change')],
                         [(e.entity_id, e.action, e.event_type) for e in self.sink.events])

    def test_the_envelope_time_is_the_observed_time(self) -> None:
        collector = self.collector()
        collector.handle('scripted.change', notification('a'), {'timestamp': STAMP})
        self.assertEqual(1714564800.0, self.sink.events[0].version.observed)

    def test_only_drivers_that_handle_the_event_type_see_it(self) -> None:
        first, second = self.driver('first'), self.driver('second')
        collector = self.collector(first, second)
        self.assertEqual(Outcome.DONE, collector.handle('other.thing', notification('a'), {}))
        self.assertEqual([], self.sink.events)

    def test_every_matching_driver_gets_the_notification(self) -> None:
        collector = self.collector(self.driver('first'), self.driver('second'))
        collector.handle('scripted.change', notification('a'), {})
        self.assertEqual(['first', 'second'], [e.datasource for e in self.sink.events])

    def test_a_notification_goes_only_to_the_drivers_that_declared_its_pair(self) -> None:
        collector = self.collector(self.driver(), self.versioned_driver())
        collector.handle('scripted.change', notification('a'), {},
                         target=('nova', 'versioned_notifications'))
        self.assertEqual(['versioned'], [e.datasource for e in self.sink.events])

    def test_a_notification_on_a_pair_no_driver_declared_goes_to_none(self) -> None:
        collector = self.collector(self.driver(), self.versioned_driver())
        outcome = collector.handle('scripted.change', notification('a'), {},
                                   target=('nova', 'notifications'))
        self.assertEqual((Outcome.DONE, []), (outcome, self.sink.events))

    def test_a_sink_failure_asks_for_the_message_again(self) -> None:
        collector = self.collector()
        self.sink.fail_next()
        self.assertEqual(Outcome.RETRY,
                         collector.handle('scripted.change', notification('a'), {}))

    def test_the_message_delivered_again_is_not_lost(self) -> None:
        collector = self.collector()
        self.sink.fail_next()
        metadata = {'timestamp': STAMP, 'message_id': 'm-1'}
        collector.handle('scripted.change', notification('a'), metadata)
        self.assertEqual(Outcome.DONE,
                         collector.handle('scripted.change', notification('a'), metadata))
        self.assertEqual(['a'], ids(self.sink.events))

    def test_a_driver_that_raises_is_logged_and_the_message_acknowledged(self) -> None:
        driver = self.driver()
        driver.notifications = _raising  # type: ignore[method-assign]
        collector = self.collector(driver)
        self.assertEqual(Outcome.DONE, collector.handle('scripted.change', notification('a'), {}))
        self.assertIn('driver scripted raised', self.log.output)

    def test_an_event_the_cache_cannot_store_is_dropped_not_retried(self) -> None:
        collector = self.collector()
        outcome = collector.handle('scripted.change', notification('a', extra=_Unstorable()), {})
        self.assertEqual((Outcome.DONE, []), (outcome, self.sink.events))
        self.assertIn('could not be stored', self.log.output)
        self.assertNotIn('will come again', self.log.output)

    def test_an_error_before_delivery_drops_the_notification_for_that_driver(self) -> None:
        collector = self.collector(self.driver('first'), self.driver('second'))
        self.useFixture(fixtures.MockPatchObject(collector.cache('first'), 'apply_updates',
                                                 side_effect=RecursionError('too deep')))
        outcome = collector.handle('scripted.change\nCRITICAL forged', notification('a'), {})
        self.assertEqual((Outcome.DONE, ['second']),
                         (outcome, [e.datasource for e in self.sink.events]))
        self.assertIn('could not reconcile', self.log.output)
        self.assertIn('RecursionError: too deep', self.log.output)
        self.assertNotIn('will come again', self.log.output)
        self.assertNotIn('\nCRITICAL forged', self.log.output)

    def test_a_newline_in_the_event_type_forges_no_log_line(self) -> None:
        driver = self.driver()
        driver.notifications = _raising  # type: ignore[method-assign]
        collector = self.collector(driver, self.driver('other'))
        self.sink.fail_next()  # the other driver's delivery fails: logged too
        collector.handle('scripted.change\nCRITICAL forged', notification('a'), {})
        self.assertIn('driver scripted raised', self.log.output)
        self.assertIn('will come again', self.log.output)
        self.assertNotIn('\nCRITICAL forged', self.log.output)

    def test_a_lone_surrogate_from_a_notification_reaches_a_file_sink(self) -> None:
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'events.jsonl')
        collector = Collector(self.conf, JsonLinesSink(path),
                              drivers={'scripted': self.driver()})
        self.addCleanup(collector.stop)
        name = json.loads('"x\\ud800"')
        outcome = collector.handle('scripted.change', notification('a', name=name), {})
        with open(path, 'rb') as f:
            written = json.loads(f.read().decode('utf-8'))
        self.assertEqual((Outcome.DONE, name), (outcome, written['name']))

    def test_the_driver_looks_up_the_collector_cache(self) -> None:
        driver = self.driver(snapshot=[entity('a', status='known')])
        collector = self.collector(driver)
        collector.poll('scripted')
        collector.handle('scripted.change', notification('a'), {})
        self.assertEqual(('scripted.thing', 'a', {'id': 'a', 'status': 'known'}),
                         driver.lookups[0])

    def test_a_stopped_collector_asks_for_the_message_again(self) -> None:
        collector = self.collector()
        collector.stop()
        self.assertEqual(Outcome.RETRY,
                         collector.handle('scripted.change', notification('a'), {}))


class TestFieldLimits(_Base):
    """Events are bounded before the cache and the sinks see them."""

    def setUp(self) -> None:
        super().setUp()
        self.conf.set_override('max_field_length', 1000, 'collector')

    def test_a_huge_description_from_a_poll_is_cut_before_caching(self) -> None:
        collector = self.collector(self.driver(snapshot=[entity('a', description='d' * 8_000_000)]))
        collector.poll('scripted')
        cached = collector.lookup('scripted', 'scripted.thing', 'a')
        self.assertEqual((1000, 1000), (len(self.sink.events[0].fields['description']),
                                        len(cached['description'] if cached else '')))

    def test_a_list_as_a_name_in_a_notification_reaches_the_sink_as_none(self) -> None:
        collector = self.collector()
        collector.handle('scripted.change', notification('a', name=['x'], severity=3), {})
        self.assertEqual((None, None), (self.sink.events[0].fields['name'],
                                        self.sink.events[0].fields['severity']))

    def test_a_deeply_nested_value_in_a_notification_is_dropped_and_the_event_delivered(
            self) -> None:
        self.conf.set_override('max_field_length', 65_536, 'collector')  # 600 levels fit
        collector = self.collector()
        outcome = collector.handle('scripted.change', notification('a', rule=_nested(600)), {})
        self.assertEqual((Outcome.DONE, [None]),
                         (outcome, [e.fields['rule'] for e in self.sink.events]))

    def test_a_deeply_nested_value_in_a_poll_is_dropped_and_the_poll_completes(self) -> None:
        self.conf.set_override('max_field_length', 65_536, 'collector')  # 600 levels fit
        collector = self.collector(self.driver(snapshot=[entity('a', rule=_nested(600))]))
        collector.poll('scripted')
        self.assertEqual([None], [e.fields['rule'] for e in self.sink.events])

    def test_bounded_fields_are_warned_about_once_a_minute_with_a_count(self) -> None:
        collector = self.collector()
        for n in range(5):
            collector.handle('scripted.change', notification(f'a{n}', name=['x']), {})
        warnings = [line for line in self.log.output.splitlines() if 'field value(s)' in line]
        self.assertEqual(1, len(warnings), self.log.output)
        self.assertIn("driver scripted: 1 field value(s) of the wrong type", warnings[0])


class _Unstorable:
    """A field value the cache cannot encode: it has no text form."""

    def __str__(self) -> str:
        raise ValueError('no text form')


def _nested(levels: int) -> Any:
    value: Any = None
    for _ in range(levels):
        value = [value]
    return value


def _raising(*args: Any) -> Any:
    raise RuntimeError('driver bug')


class TestConfiguration(_Base):

    def test_listens_on_the_drivers_exchanges_and_the_notifications_topic(self) -> None:
        self.conf.set_override('listen', True, 'collector')
        self.assertEqual([('scripted', 'notifications')], self.collector().targets)

    def test_each_driver_listens_on_its_own_topics(self) -> None:
        self.conf.set_override('listen', True, 'collector')
        collector = self.collector(self.driver(), self.versioned_driver())
        self.assertEqual([('scripted', 'notifications'), ('nova', 'versioned_notifications')],
                         collector.targets)

    def test_the_default_topic_is_notifications(self) -> None:
        self.assertEqual(('notifications',), tuple(self.driver().topics))

    def test_configured_topics_replace_the_topics_of_every_driver(self) -> None:
        self.conf.set_override('topics', ['renamed'], 'collector')
        collector = self.collector(self.driver(), self.versioned_driver())
        self.assertEqual({'scripted': [('scripted', 'renamed')],
                          'versioned': [('nova', 'renamed')]},
                         {name: collector.pairs(name) for name in collector.drivers})

    def test_configured_exchanges_replace_the_exchanges_of_every_driver(self) -> None:
        self.conf.set_override('exchanges', ['renamed'], 'collector')
        collector = self.collector(self.driver(), self.versioned_driver())
        self.assertEqual({'scripted': [('renamed', 'notifications')],
                          'versioned': [('renamed', 'versioned_notifications')]},
                         {name: collector.pairs(name) for name in collector.drivers})

    def test_configured_exchanges_and_topics_replace_the_defaults(self) -> None:
        self.conf.set_override('listen', True, 'collector')
        self.conf.set_override('exchanges', ['heat', 'aodh'], 'collector')
        self.conf.set_override('topics', ['notifications', 'vitrage_notifications'], 'collector')
        self.assertEqual([('heat', 'notifications'), ('heat', 'vitrage_notifications'),
                          ('aodh', 'notifications'), ('aodh', 'vitrage_notifications')],
                         self.collector().targets)

    def test_not_listening_means_no_targets(self) -> None:
        self.assertEqual([], self.collector().targets)

    def test_the_poll_interval_comes_from_the_driver_group(self) -> None:
        delays: list[float] = []
        stop = threading.Event()

        def sleep(seconds: float) -> bool:
            delays.append(seconds)
            if len(delays) >= 2:
                stop.set()
                return True
            return False

        collector = self.collector(self.driver(poll_interval=42.0, snapshot=[]),
                                   sleep=sleep, rand=lambda: 0.0)
        collector.start()
        self.assertTrue(stop.wait(30))
        collector.stop(30)
        self.assertEqual(42.0, round(delays[1]))

    def test_sinks_come_from_the_configuration_by_default(self) -> None:
        path = self.useFixture(fixtures.TempDir()).join('events.jsonl')
        self.conf.set_override('sinks', ['stdout', f'file:{path}'], 'collector')
        collector = Collector(self.conf, drivers={'scripted': self.driver()})
        self.addCleanup(collector.stop)
        self.assertEqual(['<stdout>', path],
                         [s.name for s in collector.sinks if isinstance(s, JsonLinesSink)])

    def test_a_wrong_sink_spec_is_a_configuration_error(self) -> None:
        self.conf.set_override('sinks', ['kafka:x'], 'collector')
        self.assertRaises(ConfigurationError, Collector, self.conf,
                          drivers={'scripted': self.driver()})

    def test_no_driver_is_a_configuration_error(self) -> None:
        self.assertRaises(ConfigurationError, Collector, self.conf, self.sink, drivers={})

    def test_a_retry_backoff_of_zero_is_refused(self) -> None:
        self.assertRaises(ValueError, self.conf.set_override, 'retry_backoff', 0.0, 'collector')

    def test_a_retry_backoff_max_of_zero_is_refused(self) -> None:
        self.assertRaises(ValueError, self.conf.set_override, 'retry_backoff_max', 0.0,
                          'collector')

    def test_a_retry_backoff_of_a_tenth_of_a_second_is_accepted(self) -> None:
        self.conf.set_override('retry_backoff', 0.1, 'collector')
        self.assertEqual(0.1, self.conf.collector.retry_backoff)

    def test_drivers_load_from_the_configuration_by_default(self) -> None:
        self.conf.set_override('drivers', ['example'])
        collector = Collector(self.conf, self.sink)
        self.assertEqual(['example'], list(collector.drivers))


class TestGarbageCollector(_Base):
    """Sinks deliver with the cyclic garbage collector on, whatever ``pause_gc`` says."""

    def setUp(self) -> None:
        super().setUp()
        self.addCleanup(gc.enable if gc.isenabled() else gc.disable)
        gc.enable()

    def states_while_delivered(self) -> list[bool]:
        states: list[bool] = []
        driver = self.driver(snapshot=[entity('a')])
        Collector(self.conf, lambda event: states.append(gc.isenabled()),
                  drivers={'scripted': driver}).poll('scripted')
        return states

    def test_a_snapshot_is_delivered_with_it_on(self) -> None:
        self.assertEqual([True], self.states_while_delivered())

    def test_a_snapshot_is_delivered_with_it_on_when_pause_gc_is_off(self) -> None:
        self.conf.set_override('pause_gc', False, 'collector')
        self.assertEqual([True], self.states_while_delivered())


class TestLifecycle(_Base):

    def setUp(self) -> None:
        super().setUp()
        self.transport = get_transport(self.conf, 'fake://')
        self.addCleanup(self.transport.cleanup)

    def test_notifications_on_the_bus_reach_the_sink(self) -> None:
        self.conf.set_override('listen', True, 'collector')
        collector = self.collector(self.driver(snapshot=[]), transport=self.transport,
                                   sleep=lambda s: True)
        with collector:
            Publisher(self.transport, topic='notifications', exchange='scripted').publish(
                'scripted.change', notification('a', status='ok'))
            self.sink.wait_for(lambda events: ids(events) == ['a'])

    def test_a_driver_gets_the_notifications_of_the_topic_it_declares(self) -> None:
        self.conf.set_override('listen', True, 'collector')
        collector = self.collector(self.driver(snapshot=[]), self.versioned_driver(),
                                   transport=self.transport, sleep=lambda s: True)
        with collector:
            self.publish('nova', 'versioned_notifications', 'a')
            self.publish('scripted', 'notifications', 'b')
            events = self.sink.wait_for(lambda events: len(events) >= 2)
        self.assertEqual({('versioned', 'a'), ('scripted', 'b')},
                         {(e.datasource, e.entity_id) for e in events})

    def test_a_driver_gets_nothing_from_a_pair_it_did_not_declare(self) -> None:
        self.conf.set_override('listen', True, 'collector')
        collector = self.collector(self.driver(snapshot=[]), self.versioned_driver(),
                                   transport=self.transport, sleep=lambda s: True)
        with collector:
            self.publish('scripted', 'notifications', 'a')
            self.publish('nova', 'notifications', 'b')  # no driver's pair
            self.publish('nova', 'versioned_notifications', 'c')
            listener = collector.listener
            assert listener is not None
            wait_until(lambda: listener.handled >= 2, 'two notifications handled', 30, 0.01)
        self.assertEqual([('scripted', 'a'), ('versioned', 'c')],
                         sorted((e.datasource, e.entity_id) for e in self.sink.events))

    def publish(self, exchange: str, topic: str, entity_id: str) -> None:
        publisher = Publisher(self.transport, topic=topic, exchange=exchange)
        self.addCleanup(publisher.close)
        publisher.publish('scripted.change', notification(entity_id))

    def test_stop_closes_the_sinks(self) -> None:
        collector = self.collector(sleep=lambda s: True)
        collector.start()
        collector.stop()
        self.assertTrue(self.sink.closed)

    def test_stop_leaves_drivers_it_did_not_load_open(self) -> None:
        driver = self.driver()
        collector = self.collector(driver, sleep=lambda s: True)
        collector.start()
        collector.stop()
        self.assertFalse(driver.closed)

    def test_a_poll_after_stop_cannot_deliver(self) -> None:
        collector = self.collector(self.driver(snapshot=[entity('a')]), sleep=lambda s: True)
        collector.start()
        collector.stop()
        self.assertRaises(CollectorStopped, collector.poll, 'scripted')

    def test_a_delivery_stuck_in_a_sink_does_not_hold_the_stop_past_its_timeout(self) -> None:
        release = threading.Event()
        self.addCleanup(release.set)
        entered = threading.Event()

        def stuck(event: Any) -> None:
            entered.set()
            release.wait(60)
        collector = Collector(self.conf, stuck, drivers={'scripted': self.driver()},
                              sleep=lambda s: True)
        handler = threading.Thread(target=collector.handle,
                                   args=('scripted.change', notification('a'), {}), daemon=True)
        handler.start()
        self.assertTrue(entered.wait(10))
        stopped = threading.Thread(target=collector.stop, args=(0.2,), daemon=True)
        stopped.start()
        stopped.join(10)  # a bound on a broken test, not a timing
        self.assertFalse(stopped.is_alive(), 'stop() waited for the stuck delivery')
        self.assertIn('a delivery to the sinks was still in progress', self.log.output)

    def test_stop_is_idempotent_and_wait_returns(self) -> None:
        collector = self.collector(sleep=lambda s: True)
        collector.start()
        self.assertTrue(collector.stop())
        self.assertTrue(collector.stop())
        self.assertTrue(collector.wait(0))

    def test_a_stopped_collector_cannot_start_again(self) -> None:
        collector = self.collector(sleep=lambda s: True)
        collector.stop()
        self.assertRaises(RuntimeError, collector.start)

    def test_the_scheduler_polls_every_driver(self) -> None:
        first = self.driver('first', snapshot=[entity('a')])
        second = self.driver('second', snapshot=[entity('b')])
        collector = self.collector(first, second, rand=lambda: 0.0)
        with collector:
            self.sink.wait_for(lambda events: sorted(ids(events)) == ['a', 'b'])
        self.assertEqual({'first', 'second'}, {e.datasource for e in self.sink.events})

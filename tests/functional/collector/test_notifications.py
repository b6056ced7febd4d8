"""The collector listening on real RabbitMQ to the emulated cloud's notifications.

Heat and Aodh changes reach the sinks once each in diff mode; ordering
cases replayed over the bus; a transient sink failure requeues the
notification, which is then delivered once. Each driver gets the
notifications of the (exchange, topic) pairs it declares, and only those.
"""

from __future__ import annotations

import datetime
import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import fixtures
import testtools

from tests import life_cycles
from vitrage_ds.bus import Publisher, get_transport
from vitrage_ds.collector import Collector
from vitrage_ds.config import new_config
from vitrage_ds.driver import Driver
from vitrage_ds.event import DELETE_ENTITY, Event
from vitrage_ds.registry import load_drivers
from vitrage_ds_testing import wait_until
from tests.kit import RabbitVhost
from vitrage_ds_testing.cloud import EmulatedCloud
from vitrage_ds_testing.collector import RecordingSink, ScriptedDriver, notification
from vitrage_ds_testing.plugins import construct_plugin

DEADLINE = 30.0


def about(entity_id: str) -> Callable[[Event], bool]:
    return lambda e: e.entity_id == entity_id


class _BusCase(testtools.TestCase):
    """A collector (diff mode, its own listener pool) on a per-test vhost."""

    #: More ``[collector]`` options, when a test class sets them.
    collector_options: ClassVar[dict[str, Any]] = {}

    def setUp(self) -> None:
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        vhost = self.useFixture(RabbitVhost())
        self.transport = get_transport(new_config(), url=vhost.transport_url)
        self.addCleanup(self.transport.cleanup)
        self.cloud = self.useFixture(EmulatedCloud(seed=5, global_index_allowed=True))
        self.cloud.populate(stacks=3, resources_per_stack=2, alarms=3, projects=2)
        self.sink = RecordingSink()
        self.collector = self.make_collector()
        self.collector.poll('heat.stack')
        self.collector.poll('aodh')
        self.sink.batches.clear()
        self.collector.start()
        self.addCleanup(self.collector.stop, 30)

    def make_collector(self) -> Collector:
        conf = self.cloud.make_conf('password', overrides={
            'http': {'retries': 0},
            'collector': {'mode': 'diff', 'listen': True,
                          'listener_pool': f'collector-{uuid.uuid4().hex[:8]}',
                          **self.collector_options}})

        # sleep() answering "stopping" ends each poll thread at once: no
        # scheduled polls, the tests poll when they mean to.
        return Collector(conf, self.sink, transport=self.transport, sleep=lambda s: True)

    def events_about(self, entity_id: str, count: int) -> list[Event]:
        """Wait until ``count`` events about ``entity_id`` arrived; return them."""
        events = self.sink.wait_for(
            lambda evs: len([e for e in evs if e.entity_id == entity_id]) >= count, DEADLINE)
        return [e for e in events if e.entity_id == entity_id]

    def connect_cloud(self) -> None:
        self.cloud.connect_bus(self.transport)


class TestHeatOverTheBus(_BusCase):

    def setUp(self) -> None:
        super().setUp()
        self.connect_cloud()

    def handled(self, count: int) -> None:
        """Wait until the listener acknowledged ``count`` notifications in all."""
        listener = self.collector.listener
        assert listener is not None
        wait_until(lambda: listener.handled >= count, f'{count} notification(s) handled',
                   DEADLINE, 0.02)

    def test_a_stack_created_updated_failed_and_deleted_gives_each_change_once(self) -> None:
        # One notification at a time: the pooled listener keeps no order
        # between two messages in flight (a .end may overtake its .start).
        heat = self.cloud.heat
        stack = heat.create_stack('lifecycle', resources=1, description='d', complete=False)
        steps = [lambda: None, lambda: heat.complete(stack.id),
                 lambda: heat.update_stack(stack.id, description='changed', complete=False),
                 lambda: heat.complete(stack.id),
                 lambda: heat.update_stack(stack.id, description='doomed', complete=False),
                 lambda: heat.fail(stack.id, 'boom'),
                 lambda: heat.delete_stack(stack.id, complete=False)]
        for count, step in enumerate(steps, 1):
            step()
            self.events_about(stack.id, count)
        heat.complete(stack.id)  # delete.end: the delete was already emitted
        self.handled(len(steps) + 1)
        self.collector.poll('heat.stack')  # a poll afterwards adds nothing
        self.assertEqual(
            life_cycles.STACK_LIFE_CYCLE,
            [(e.event_type, e.fields['status']) for e in self.sink.events
             if e.entity_id == stack.id])

    def test_a_poll_right_after_a_notification_emits_nothing(self) -> None:
        stack = self.cloud.heat.create_stack('quiet', resources=2, description='told')
        self.handled(2)  # create.start and create.end, in either order
        self.sink.batches.clear()
        self.collector.poll('heat.stack')
        self.assertEqual([], self.sink.events)
        cached = self.collector.lookup('heat.stack', 'heat.stack', stack.id)
        self.assertEqual('CREATE_COMPLETE', cached['status'] if cached else None)

    def test_a_notification_during_a_poll_is_not_undone_by_it(self) -> None:
        stack = self.cloud.heat.ordered()[0]
        slow = self.cloud.delay('heat.resources.list', 1.0)
        polled = threading.Thread(target=self.collector.poll, args=('heat.stack',))
        polled.start()
        self.addCleanup(polled.join, DEADLINE)
        # the stack listing is done: its view is old now
        wait_until(lambda: slow.calls > 0, 'the resources calls', DEADLINE, 0.02)
        self.cloud.heat.update_stack(stack.id, description='during the poll')
        self.handled(2)
        polled.join(DEADLINE)
        self.assertFalse(polled.is_alive())
        # update.start is not emitted when update.end overtook it; the poll
        # emits nothing about the stack either way.
        statuses = [e.fields['status'] for e in self.sink.events if e.entity_id == stack.id]
        self.assertIn(statuses, (['UPDATE_IN_PROGRESS', 'UPDATE_COMPLETE'],
                                 ['UPDATE_COMPLETE']))
        cached = self.collector.lookup('heat.stack', 'heat.stack', stack.id)
        self.assertEqual('UPDATE_COMPLETE', cached['status'] if cached else None)


class TestAodhOverTheBus(_BusCase):

    def setUp(self) -> None:
        super().setUp()
        self.connect_cloud()

    def test_an_alarm_created_fired_and_deleted_gives_each_change_once(self) -> None:
        aodh = self.cloud.aodh
        alarm_id = aodh.create_alarm('lifecycle', 'event')['alarm_id']
        self.events_about(alarm_id, 1)
        aodh.set_state(alarm_id, 'alarm', 'fired')
        self.events_about(alarm_id, 2)
        aodh.delete_alarm(alarm_id)
        self.events_about(alarm_id, 3)
        self.collector.poll('aodh')
        self.assertEqual(
            life_cycles.ALARM_LIFE_CYCLE,
            [(e.event_type, e.fields.get('state')) for e in self.sink.events
             if e.entity_id == alarm_id])


class TestReplayedOrder(_BusCase):
    """Real payloads, captured from the emulated cloud, delivered out of order.

    Each is published with the envelope time of its original sending (as
    if the bus had delayed the earlier one), in the order under test.
    """

    def capture(self, change: Callable[[], Any]) -> list[Any]:
        self.cloud.notifications.clear()
        change()
        sent = list(self.cloud.notifications.sent)
        base = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        return [(note, base + datetime.timedelta(milliseconds=i))
                for i, note in enumerate(sent)]

    def send(self, *notes: Any) -> None:
        """Publish each note and wait until it is handled before the next."""
        publishers = {'orchestration': Publisher(self.transport, topic='notifications',
                                                 exchange='heat'),
                      'alarming': Publisher(self.transport, topic='notifications',
                                            exchange='aodh')}
        for publisher in publishers.values():  # their own transports, before the vhost goes
            self.addCleanup(publisher.close)
        listener = self.collector.listener
        assert listener is not None
        for count, (note, sent_at) in enumerate(notes, 1):
            with fixtures.MonkeyPatch('oslo_messaging.notify.notifier.timeutils.utcnow',
                                      lambda sent_at=sent_at: sent_at):
                publishers[note.service].publish(note.event_type, note.payload,
                                                 note.priority)
            wait_until(lambda count=count: listener.handled >= count,
                       f'{count} notification(s) handled', DEADLINE, 0.02)

    def test_create_end_before_create_start_leaves_create_complete(self) -> None:
        start, end = self.capture(lambda: self.cloud.heat.create_stack('x', resources=0))
        self.send(end, start)
        stack_id = end[0].payload['stack_identity'].rsplit('/', 1)[-1]
        self.assertEqual(['CREATE_COMPLETE'], [e.fields['status'] for e in self.sink.events
                                               if e.entity_id == stack_id])
        cached = self.collector.lookup('heat.stack', 'heat.stack', stack_id)
        self.assertEqual('CREATE_COMPLETE', cached['status'] if cached else None)

    def test_a_poll_reading_a_state_heat_announced_but_not_stored_changes_nothing(
            self) -> None:
        start, end = self.capture(lambda: self.cloud.heat.create_stack('x', resources=0))
        stack_id = end[0].payload['stack_identity'].rsplit('/', 1)[-1]
        # Heat 27 sends create.end, then stores CREATE_COMPLETE: a listing
        # read in between still shows the stack in progress.
        record = self.cloud.heat.get(stack_id)
        with self.cloud.heat.lock:
            record.status, record.reason = 'IN_PROGRESS', 'Stack CREATE started'
        self.send(start, end)
        self.sink.batches.clear()

        self.collector.poll('heat.stack')

        self.assertEqual([], [e for e in self.sink.events if e.entity_id == stack_id])
        cached = self.collector.lookup('heat.stack', 'heat.stack', stack_id)
        self.assertEqual('CREATE_COMPLETE', cached['status'] if cached else None)

    def test_a_late_update_does_not_resurrect_a_deleted_alarm(self) -> None:
        alarm_id = self.cloud.aodh.ordered()[0]['alarm_id']
        [fired] = self.capture(lambda: self.cloud.aodh.set_state(alarm_id, 'alarm', 'x'))
        [deleted] = self.capture(lambda: self.cloud.aodh.delete_alarm(alarm_id))
        self.send(deleted, fired)
        self.assertEqual([DELETE_ENTITY], [e.event_type for e in self.sink.events
                                           if e.entity_id == alarm_id])
        self.assertIsNone(self.collector.lookup('aodh', 'aodh', alarm_id))

    def test_a_notification_older_than_the_cache_is_dropped(self) -> None:
        alarm_id = self.cloud.aodh.ordered()[0]['alarm_id']
        [fired] = self.capture(lambda: self.cloud.aodh.set_state(alarm_id, 'alarm', 'x'))
        [cleared] = self.capture(lambda: self.cloud.aodh.set_state(alarm_id, 'ok', 'y'))
        self.send(cleared, fired)
        self.assertEqual(['ok'], [e.fields['state'] for e in self.sink.events
                                  if e.entity_id == alarm_id])
        cached = self.collector.lookup('aodh', 'aodh', alarm_id)
        self.assertEqual('ok', cached['state'] if cached else None)


class TestTransientSinkFailure(_BusCase):

    def test_the_notification_is_requeued_and_delivered_once(self) -> None:
        self.connect_cloud()
        self.sink.fail_next(1)
        alarm_id = self.cloud.aodh.create_alarm('requeued', 'event')['alarm_id']
        self.events_about(alarm_id, 1)
        listener = self.collector.listener
        assert listener is not None
        wait_until(lambda: listener.handled >= 1, 'the notification handled', DEADLINE, 0.02)
        self.assertEqual((1, 1, 0), (listener.requeued, listener.handled, listener.rejected))
        self.assertEqual(1, self.sink.failures)
        self.assertEqual(['alarm.creation'], [e.event_type for e in self.sink.events
                                              if e.entity_id == alarm_id])


#: ``[collector]`` options of the batch variants.
BATCHES = {'batch_size': 10, 'batch_timeout': 0.05}


class TestHeatOverTheBusInBatches(TestHeatOverTheBus):
    collector_options = BATCHES


class TestAodhOverTheBusInBatches(TestAodhOverTheBus):
    collector_options = BATCHES


class TestTransientSinkFailureInBatches(TestTransientSinkFailure):
    """In a batch the failed notification is retried in place, then delivered once."""

    collector_options = BATCHES

    def test_every_listener_takes_batches_as_configured(self) -> None:
        listeners = self.collector.listener
        assert listeners is not None
        self.assertEqual({(10, 0.05)}, {(listener.batch_size, listener.batch_timeout)
                                        for listener in listeners.listeners})


class VersionedDriver(ScriptedDriver):
    """A scripted driver of a service publishing on ``nova``/``versioned_notifications``."""

    name = 'versioned'
    exchanges: ClassVar[Sequence[str]] = ('nova',)
    topics: ClassVar[Sequence[str]] = ('versioned_notifications',)


class TestDriverTopics(_BusCase):
    """The Heat and Aodh drivers beside one of Nova's versioned notifications."""

    #: ``[collector] topics``, when a test class sets it.
    topics: list[str] | None = None

    def make_collector(self) -> Collector:
        collector = {'mode': 'diff', 'listen': True,
                     'listener_pool': f'collector-{uuid.uuid4().hex[:8]}'}
        if self.topics is not None:
            collector['topics'] = self.topics
        conf = self.cloud.make_conf('password', overrides={
            'http': {'retries': 0}, 'collector': collector})
        drivers: dict[str, Driver] = dict(load_drivers(conf).plugins)
        drivers['versioned'] = construct_plugin(VersionedDriver, 'driver', conf=conf)
        for driver in drivers.values():
            self.addCleanup(driver.close)
        return Collector(conf, self.sink, drivers=drivers, transport=self.transport,
                         sleep=lambda s: True)

    def publish(self, exchange: str, topic: str, event_type: str, payload: Any) -> None:
        publisher = Publisher(self.transport, topic=topic, exchange=exchange)
        self.addCleanup(publisher.close)  # its own transport, before the vhost goes
        publisher.publish(event_type, payload)

    def handled(self, count: int) -> None:
        listener = self.collector.listener
        assert listener is not None
        wait_until(lambda: listener.handled >= count, f'{count} notification(s) handled',
                   DEADLINE, 0.02)


class TestEachDriverOnItsTopics(TestDriverTopics):

    def test_a_versioned_notification_reaches_its_driver_while_heat_keeps_its_topic(
            self) -> None:
        self.connect_cloud()
        self.publish('nova', 'versioned_notifications', 'scripted.change', notification('vm'))
        stack = self.cloud.heat.create_stack('beside', resources=0)
        self.events_about('vm', 1)
        self.events_about(stack.id, 1)
        self.assertEqual({('versioned', 'vm'), ('heat.stack', stack.id)},
                         {(e.datasource, e.entity_id) for e in self.sink.events})

    def test_a_driver_gets_nothing_from_a_pair_it_did_not_declare(self) -> None:
        # The versioned driver handles scripted.* wherever it comes from;
        # only the pair it declared gives it notifications.
        self.publish('heat', 'notifications', 'scripted.change', notification('on-heat'))
        self.handled(1)
        self.publish('nova', 'versioned_notifications', 'scripted.change',
                     notification('on-nova'))
        self.handled(2)
        self.assertEqual([('versioned', 'on-nova')],
                         [(e.datasource, e.entity_id) for e in self.sink.events])


class TestRenamedTopic(TestDriverTopics):

    topics = ['renamed_notifications']

    def test_heat_notifications_on_the_configured_topic_reach_the_heat_driver(self) -> None:
        self.cloud.notifications.clear()
        stack = self.cloud.heat.create_stack('renamed', resources=0)
        end = self.cloud.notifications.sent[-1]  # create.end, as Heat would send it
        self.publish('heat', 'renamed_notifications', end.event_type, end.payload)
        self.assertEqual(['CREATE_COMPLETE'],
                         [e.fields['status'] for e in self.events_about(stack.id, 1)])

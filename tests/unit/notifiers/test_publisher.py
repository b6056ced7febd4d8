"""The graph-side publisher: validated, stamped, in order."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import testtools

from vitrage_ds.bus import Listener, Notification, get_transport
from vitrage_ds.config import new_config
from vitrage_ds.deduced import DeducedAlarmDeactivate, Order, from_message
from vitrage_ds.errors import InvalidMessage
from vitrage_ds.notifier import Outcome
from vitrage_ds.notifier_service import DeducedAlarmPublisher

DEADLINE = 15.0


class PublisherTest(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.conf = new_config()
        self.transport = get_transport(self.conf, 'fake://')
        self.addCleanup(self.transport.cleanup)
        self.topic = f't-{uuid.uuid4().hex[:8]}'
        self.received: list[Notification] = []
        self.arrived = threading.Semaphore(0)
        listener = Listener(self.transport, [('vitrage', self.topic)], self._record)
        listener.start()
        self.addCleanup(listener.stop, DEADLINE)

    def _record(self, note: Notification) -> Outcome:
        self.received.append(note)
        self.arrived.release()
        return Outcome.DONE

    def wait_for(self, count: int) -> list[Notification]:
        for _ in range(count):
            self.assertTrue(self.arrived.acquire(timeout=DEADLINE))
        return self.received

    def publisher(self, clock: Iterator[float] | None = None) -> DeducedAlarmPublisher:
        ticks = clock or iter(float(t) for t in range(1714564800, 1714564900))
        return DeducedAlarmPublisher(self.transport, topic=self.topic, exchange='vitrage',
                                     publisher_id='graph.host', clock=lambda: next(ticks))

    def test_activate_sends_the_documented_payload(self) -> None:
        self.publisher().activate(vitrage_id='v-1', name='cpu high', severity='CRITICAL',
                                  affected_resource_id='host-1', aodh_alarm_id='a-1')

        [note] = self.wait_for(1)
        self.assertEqual(('vitrage.deduced_alarm.activate', 'info', 'graph.host'),
                         (note.event_type, note.priority, note.publisher_id))
        self.assertEqual({'vitrage_id': 'v-1', 'name': 'cpu high', 'severity': 'CRITICAL',
                          'affected_resource_id': 'host-1', 'aodh_alarm_id': 'a-1',
                          'timestamp': '2024-05-01T12:00:00.000000Z', 'sequence': 1},
                         note.payload)

    def test_deactivate_sends_the_aodh_id_as_id(self) -> None:
        self.publisher().deactivate(vitrage_id='v-1', aodh_alarm_id='a-1')

        [note] = self.wait_for(1)
        self.assertEqual('vitrage.deduced_alarm.deactivate', note.event_type)
        self.assertEqual({'vitrage_id': 'v-1', 'id': 'a-1', 'sequence': 1,
                          'timestamp': '2024-05-01T12:00:00.000000Z'}, note.payload)

    def test_an_invalid_message_is_refused_before_the_bus(self) -> None:
        publisher = self.publisher()
        error = self.assertRaises(InvalidMessage, publisher.activate, vitrage_id='v-1',
                                  name='cpu', severity='', affected_resource_id='h')
        self.assertEqual('severity', error.field)
        error = self.assertRaises(InvalidMessage, publisher.deactivate, vitrage_id='v-1')
        self.assertEqual('name', error.field)
        publisher.deactivate(vitrage_id='v-1', aodh_alarm_id='a-1')

        [note] = self.wait_for(1)  # only the valid one, and it took sequence 1
        self.assertEqual(1, note.payload['sequence'])

    def test_orders_increase_even_when_the_clock_steps_back(self) -> None:
        publisher = self.publisher(iter([100.0, 90.0, 90.0, 101.0]))
        for _ in range(4):
            publisher.deactivate(vitrage_id='v-1', aodh_alarm_id='a-1')

        orders = [from_message(n.event_type, n.payload).order() for n in self.wait_for(4)]
        self.assertEqual([Order(100_000_000, 1), Order(100_000_000, 2),
                          Order(100_000_000, 3), Order(101_000_000, 4)], orders)

    def test_a_given_timestamp_is_kept(self) -> None:
        self.publisher().activate(vitrage_id='v-1', name='n', severity='low',
                                  affected_resource_id='r', timestamp='2020-01-01T00:00:00Z')

        [note] = self.wait_for(1)
        self.assertEqual('2020-01-01T00:00:00Z', note.payload['timestamp'])

    def test_publish_stamps_a_message_built_by_the_caller(self) -> None:
        sent = self.publisher().publish(DeducedAlarmDeactivate(vitrage_id='v',
                                                               aodh_alarm_id='a'))

        [note] = self.wait_for(1)
        self.assertEqual(sent.to_payload(), note.payload)
        self.assertEqual('2024-05-01T12:00:00.000000Z', note.payload['timestamp'])

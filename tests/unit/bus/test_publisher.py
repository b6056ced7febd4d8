"""Publisher: what it refuses before anything reaches the bus, the exchange it reaches."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import fixtures
import oslo_messaging  # type: ignore[import-untyped]
import testtools

from tests.kit import FakeBus
from vitrage_ds.bus import Listener, Notification, Publisher, exchange_of, get_transport
from vitrage_ds.config import new_config
from vitrage_ds.errors import InvalidMessage
from vitrage_ds.outcome import Outcome


class PublisherRefusalTest(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        transport = self.useFixture(FakeBus()).transport
        self.publisher = Publisher(transport, exchange=f'ex-{uuid.uuid4().hex}')

    def test_unknown_priority_is_refused(self) -> None:
        error = self.assertRaises(InvalidMessage, self.publisher.publish,
                                  'a.b', {}, priority='loud')
        self.assertEqual('priority', error.field)

    def test_payload_that_is_not_json_is_refused(self) -> None:
        error = self.assertRaises(InvalidMessage, self.publisher.publish,
                                  'a.b', {'x': object()})
        self.assertEqual('payload', error.field)

    def test_empty_event_type_is_refused(self) -> None:
        error = self.assertRaises(InvalidMessage, self.publisher.publish, '', {})
        self.assertEqual('event_type', error.field)

    def test_closed_publisher_refuses(self) -> None:
        self.publisher.close()
        self.publisher.close()
        self.assertRaises(RuntimeError, self.publisher.publish, 'a.b', {})


class PublisherExchangeTest(testtools.TestCase):
    """A publisher reaches the exchange it names, through public oslo.messaging only."""

    def setUp(self) -> None:
        super().setUp()
        self.transport = self.useFixture(FakeBus()).transport

    def received_on(self, exchange: str, publisher: Publisher) -> list[Notification]:
        seen: list[Notification] = []
        arrived = threading.Event()

        def handler(note: Notification) -> Outcome:
            seen.append(note)
            arrived.set()
            return Outcome.DONE

        listener = Listener(self.transport, [(exchange, 'topic')], handler)
        listener.start()
        self.addCleanup(listener.stop, 10.0)
        publisher.publish('a.b', {'n': 1})
        self.assertTrue(arrived.wait(10.0), f'nothing arrived on {exchange}')
        return seen

    def test_a_named_exchange_is_reached_from_the_callers_transport(self) -> None:
        exchange = f'ex-{uuid.uuid4().hex}'
        publisher = Publisher(self.transport, topic='topic', exchange=exchange)
        self.addCleanup(publisher.close)
        (note,) = self.received_on(exchange, publisher)
        self.assertEqual(('a.b', {'n': 1}), (note.event_type, note.payload))

    def test_closing_it_right_after_a_send_drops_nothing_queued_on_fake(self) -> None:
        exchange = f'ex-{uuid.uuid4().hex}'
        publisher = Publisher(self.transport, topic='topic', exchange=exchange)
        send = publisher.publish

        def publish_and_close(event_type: str, payload: Any) -> None:
            send(event_type, payload)
            publisher.close()  # before the listener could take it
        publisher.publish = publish_and_close  # type: ignore[method-assign]

        self.assertEqual(1, len(self.received_on(exchange, publisher)))

    def test_no_exchange_is_the_transports_control_exchange(self) -> None:
        publisher = Publisher(self.transport, topic='topic')
        self.assertEqual(1, len(self.received_on(exchange_of(self.transport), publisher)))

    def test_another_exchange_needs_a_transport_of_ours(self) -> None:
        foreign = oslo_messaging.get_notification_transport(new_config(), url='fake://')
        self.addCleanup(foreign.cleanup)
        error = self.assertRaises(ValueError, Publisher, foreign, exchange='elsewhere')
        self.assertIn("'elsewhere'", str(error))
        Publisher(foreign, exchange=exchange_of(foreign)).close()  # its own one is fine


class PublisherDeliveryTest(testtools.TestCase):
    """What oslo.messaging's public Notifier tells of a send it gave up on: nothing."""

    def test_an_unreachable_broker_is_logged_by_oslo_messaging_not_raised(self) -> None:
        logs = self.useFixture(fixtures.FakeLogger())
        conf = new_config()
        transport = get_transport(conf, 'rabbit://guest:guest@127.0.0.1:9/')
        self.addCleanup(transport.cleanup)
        # oslo.messaging retries a notification forever unless told not to.
        conf.set_override('retry', 0, 'oslo_messaging_notifications')
        publisher = Publisher(transport, topic='t', exchange='ex')
        self.addCleanup(publisher.close)

        publisher.publish('a.b', {})

        self.assertIn('Could not send notification to t', logs.output)

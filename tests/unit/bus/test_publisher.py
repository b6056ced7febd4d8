"""Publisher: what it refuses before anything reaches the bus."""

from __future__ import annotations

import uuid

import fixtures
import testtools

from vitrage_ds.bus import Publisher, get_transport
from vitrage_ds.config import new_config
from vitrage_ds.errors import DeliveryFailed, InvalidMessage


class PublisherRefusalTest(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        transport = get_transport(new_config(), 'fake://')
        self.addCleanup(transport.cleanup)
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


class PublisherDeliveryTest(testtools.TestCase):
    """A send the broker never took is raised, not only logged."""

    def unreachable(self) -> Publisher:
        conf = new_config()
        transport = get_transport(conf, 'rabbit://guest:guest@127.0.0.1:9/')
        # oslo.messaging retries a notification forever unless told not to.
        conf.set_override('retry', 0, 'oslo_messaging_notifications')
        self.addCleanup(transport.cleanup)
        return Publisher(transport, topic='t', exchange='ex')

    def test_an_unreachable_broker_raises_delivery_failed(self) -> None:
        self.useFixture(fixtures.FakeLogger())  # oslo.messaging logs the refusal

        error = self.assertRaises(DeliveryFailed, self.unreachable().publish, 'a.b', {})

        self.assertIn('a.b was not delivered to ex/t', str(error))
        self.assertNotIn('guest', str(error))

"""Publisher: what it refuses before anything reaches the bus."""

from __future__ import annotations

import uuid

import testtools

from vitrage_ds.bus import Publisher, get_transport
from vitrage_ds.config import new_config
from vitrage_ds.errors import InvalidMessage


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

"""get_transport: which URL wins, options readable before any transport, other exchanges."""

from __future__ import annotations

import oslo_messaging  # type: ignore[import-untyped]
import testtools

from vitrage_ds.bus import (DEFAULT_TRANSPORT_URL, exchange_of, get_transport, register_opts,
                            transport_for_exchange)
from vitrage_ds.config import new_config


class GetTransportTest(testtools.TestCase):

    def _driver_name(self, transport: object) -> str:
        return type(transport._driver).__name__  # type: ignore[attr-defined]

    def test_fake_is_the_default(self) -> None:
        conf = new_config()
        transport = get_transport(conf)
        self.addCleanup(transport.cleanup)
        self.assertEqual(('fake://', 'FakeDriver'),
                         (DEFAULT_TRANSPORT_URL, self._driver_name(transport)))

    def test_default_transport_url_is_used(self) -> None:
        conf = new_config()
        register_opts(conf)
        conf.set_override('transport_url', 'rabbit://u:p@127.0.0.1:1/vh')
        transport = get_transport(conf)
        self.addCleanup(transport.cleanup)
        self.assertEqual('RabbitDriver', self._driver_name(transport))

    def test_explicit_url_wins_over_configuration(self) -> None:
        conf = new_config()
        register_opts(conf)
        conf.set_override('transport_url', 'rabbit://u:p@127.0.0.1:1/vh')
        transport = get_transport(conf, 'fake://')
        self.addCleanup(transport.cleanup)
        self.assertEqual('FakeDriver', self._driver_name(transport))

    def test_queue_options_are_settable_before_a_transport_exists(self) -> None:
        conf = new_config()
        register_opts(conf)
        conf.set_override('amqp_durable_queues', True, group='oslo_messaging_rabbit')
        conf.set_override('rabbit_quorum_queue', True, group='oslo_messaging_rabbit')
        self.assertTrue(conf.oslo_messaging_rabbit.amqp_durable_queues)
        self.assertTrue(conf.oslo_messaging_rabbit.rabbit_quorum_queue)

    def test_registering_twice_is_harmless(self) -> None:
        conf = new_config()
        register_opts(conf)
        register_opts(conf)
        self.assertEqual('fake://', conf.transport_url)


class TransportForExchangeTest(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.conf = new_config()
        register_opts(self.conf)
        self.conf.set_override('transport_url', 'rabbit://u:p@127.0.0.1:1/vh')
        self.conf.set_override('retry', 2, 'oslo_messaging_notifications')
        self.transport = get_transport(self.conf, 'fake://')
        self.addCleanup(self.transport.cleanup)

    def sibling(self, exchange: str) -> oslo_messaging.Transport:
        sibling = transport_for_exchange(self.transport, exchange)
        self.addCleanup(sibling.cleanup)
        return sibling

    def test_it_sends_to_the_exchange_it_was_built_for(self) -> None:
        self.assertEqual(('heat', 'openstack'),
                         (exchange_of(self.sibling('heat')), exchange_of(self.transport)))

    def test_it_keeps_the_url_the_transport_was_built_with(self) -> None:
        self.assertEqual('FakeDriver', type(self.sibling('heat')._driver).__name__)

    def test_it_copies_the_oslo_messaging_options_and_leaves_the_original_alone(self) -> None:
        sibling = self.sibling('heat')
        self.assertEqual(2, sibling.conf.oslo_messaging_notifications.retry)
        self.assertIsNot(self.conf, sibling.conf)
        self.assertEqual('openstack', self.conf.control_exchange)

    def test_a_transport_built_elsewhere_is_refused(self) -> None:
        foreign = oslo_messaging.get_notification_transport(self.conf, url='fake://')
        self.addCleanup(foreign.cleanup)
        self.assertRaises(ValueError, transport_for_exchange, foreign, 'heat')

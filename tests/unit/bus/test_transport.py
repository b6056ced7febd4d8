"""get_transport: which URL wins, and options readable before any transport."""

from __future__ import annotations

import testtools

from vitrage_ds.bus import DEFAULT_TRANSPORT_URL, get_transport, register_opts
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

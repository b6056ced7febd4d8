"""The bus behaviour on the in-process fake:// transport and on RabbitMQ."""

from __future__ import annotations

from typing import Any

import testtools

from tests.functional.bus.base import BusBehaviour, Recorder
from tests.kit import RabbitVhost


class FakeBusTest(BusBehaviour, testtools.TestCase):
    """fake:// keeps its queues in memory: one process, nothing durable."""

    def transport_url(self) -> str:
        return 'fake://'


class RabbitBusTest(BusBehaviour, testtools.TestCase):
    """The machine's RabbitMQ, in a vhost of the test's own."""

    def transport_url(self) -> str:
        self.rabbit = self.useFixture(RabbitVhost())
        return self.rabbit.transport_url

    def configure(self, conf: Any) -> None:
        # One unacknowledged message per consumer: messages not yet in flight
        # stay in the broker's queue (what stop() must leave there) and a
        # pool's messages spread over its listeners.
        conf.set_override('rabbit_qos_prefetch_count', 1, group='oslo_messaging_rabbit')

    def _pool_queue(self, **options: Any) -> dict[str, str]:
        for name, value in options.items():
            self.conf.set_override(name, value, group='oslo_messaging_rabbit')
        from vitrage_ds.bus import get_transport
        transport = get_transport(self.conf, self.rabbit.transport_url)
        self.addCleanup(transport.cleanup)
        from vitrage_ds.bus import Listener
        listener = Listener(transport, [(self.exchange, self.topic)], Recorder())
        listener.start()
        self.addCleanup(listener.stop)
        return self.rabbit.queues()[f'vitrage_ds.{self.exchange}.{self.topic}']

    def test_queues_are_transient_by_default(self) -> None:
        self.assertEqual('false', self._pool_queue()['durable'])

    def test_durable_queues_on_request(self) -> None:
        self.assertEqual('true', self._pool_queue(amqp_durable_queues=True)['durable'])

    def test_quorum_queues_on_request(self) -> None:
        queue = self._pool_queue(rabbit_quorum_queue=True)
        self.assertEqual(('true', 'quorum'), (queue['durable'], queue['type']))

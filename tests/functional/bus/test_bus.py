"""The bus behaviour on the in-process fake:// transport and on RabbitMQ,
one message at a time and in batches."""

from __future__ import annotations

from typing import Any

import testtools

from tests.functional.bus.base import DEADLINE, BusBehaviour, Recorder
from tests.kit import RabbitVhost, envelope, publish_raw
from vitrage_ds.bus import Notification
from vitrage_ds.notifier import Outcome
from vitrage_ds_testing import wait_until

#: Listener options of the batch variants.
BATCHES = {'batch_size': 10, 'batch_timeout': 0.05}


class FakeBusTest(BusBehaviour, testtools.TestCase):
    """fake:// keeps its queues in memory: one process, nothing durable."""

    def transport_url(self) -> str:
        return 'fake://'


class _RawEnvelopes(BusBehaviour):
    """What only a raw sender can put on RabbitMQ."""

    rabbit: RabbitVhost

    def test_a_priority_oslo_messaging_cannot_read_is_acknowledged_once(self) -> None:
        recorder = Recorder()
        listener = self.listen(recorder)
        for priority in (5, None, 'LOUD'):
            publish_raw(self.rabbit.transport_url, self.exchange, f'{self.topic}.info',
                        envelope('test.poison', {'n': -1}, priority=priority))
        self.publisher().publish('test.event', {'n': 1})

        recorder.wait_for(lambda: bool(recorder.seen), 'the good message')
        wait_until(lambda: listener.unaccountable == 3, 'the three acknowledged', DEADLINE)
        wait_until(lambda: self.rabbit.queues()[
            f'vitrage_ds.{self.exchange}.{self.topic}']['messages'] == '0',
            'the queue drained', DEADLINE)
        self.assertEqual([1], recorder.ids())
        self.assertEqual((4, 3, 1), (listener.received, listener.rejected, listener.handled))


class RabbitBusTest(_RawEnvelopes, testtools.TestCase):
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


class RabbitBatchBusTest(_RawEnvelopes, testtools.TestCase):
    """RabbitMQ in batches of up to ten."""

    listener_options = BATCHES

    def transport_url(self) -> str:
        self.rabbit = self.useFixture(RabbitVhost())
        return self.rabbit.transport_url

    def configure(self, conf: Any) -> None:
        # Enough unacknowledged messages per consumer for a whole batch
        # (oslo.messaging makes batches no larger than the prefetch count).
        conf.set_override('rabbit_qos_prefetch_count', 10, group='oslo_messaging_rabbit')

    def queue_then_listen(self, count: int, handler: Recorder) -> None:
        """Queue ``count`` messages, then listen in batches of ``count`` that
        wait long enough to fill (so they come as one batch)."""
        self.listen(Recorder()).stop(DEADLINE)  # declares the pool's queue
        publisher = self.publisher()
        for n in range(count):
            publisher.publish('test.event', {'n': n})
        self.listen(handler, batch_size=count, batch_timeout=DEADLINE)

    def test_a_batch_is_handled_in_the_order_it_was_published(self) -> None:
        recorder = Recorder()
        self.queue_then_listen(10, recorder)
        recorder.wait_for(lambda: len(recorder.seen) == 10, 'the batch')
        self.assertEqual(list(range(10)), recorder.ids())

    def test_a_transient_failure_is_retried_before_the_next_message(self) -> None:
        failed: list[Any] = []

        def fail_once(note: Notification) -> Outcome:
            if note.payload['n'] == 3 and not failed:
                failed.append(3)
                return Outcome.RETRY
            return Outcome.DONE

        recorder = Recorder(fail_once)
        self.queue_then_listen(6, recorder)
        recorder.wait_for(lambda: len(recorder.seen) == 7, 'the batch and one retry')
        self.assertEqual([0, 1, 2, 3, 3, 4, 5], recorder.ids())

"""Queues nobody reads, on RabbitMQ: which consumer reads what a publisher leaves.

oslo.messaging's publisher declares ``<topic>.<priority>`` and keeps every
message there for a pool-less consumer. A pooled listener reads a copy of
its own, so that queue grows unless something else reads it; a pool-less
listener reads it. Where no reader exists, the RabbitMQ policy that
failure-semantics.rst documents bounds it.
"""

from __future__ import annotations

import json
import re

import testtools

from tests.functional.bus.base import DEADLINE, Recorder
from vitrage_ds.bus import Listener, Publisher, get_transport, register_opts
from vitrage_ds.collector import BusSink
from vitrage_ds.config import new_config
from vitrage_ds.event import Action, Event
from vitrage_ds_testing import wait_until
from tests.kit import RabbitVhost

MESSAGES = 40


class QueuesNobodyReadsTest(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.rabbit = self.useFixture(RabbitVhost())
        conf = new_config()
        register_opts(conf)
        self.transport = get_transport(conf, self.rabbit.transport_url)
        self.addCleanup(self.transport.cleanup)
        self.exchange, self.topic = 'vitrage', 'vitrage_ds.events'

    def listen(self, pool: str | None) -> Recorder:
        recorder = Recorder()
        listener = Listener(self.transport, [(self.exchange, self.topic)], recorder, pool=pool)
        listener.start()
        self.addCleanup(listener.stop, DEADLINE)
        return recorder

    def sink(self) -> BusSink:
        return BusSink(Publisher(self.transport, topic=self.topic, exchange=self.exchange),
                       owned=True)

    def events(self) -> list[Event]:
        return [Event(datasource='test', entity_type='widget', entity_id=f'e-{n}',
                      fields={'name': f'widget {n}'}, action=Action.UPDATE,
                      event_type='widget.update') for n in range(MESSAGES)]

    def depths(self) -> dict[str, int]:
        return {name: int(q['messages']) for name, q in self.rabbit.queues().items()}

    def test_a_bus_sink_read_without_a_pool_leaves_every_queue_empty(self) -> None:
        recorder = self.listen(pool=None)
        sink = self.sink()
        sent = self.events()
        sink.deliver(sent)
        sink.close()

        recorder.wait_for(lambda: len(recorder.seen) == MESSAGES, 'every event')
        self.assertCountEqual(sent, [Event.from_dict(note.payload) for note in recorder.seen])
        wait_until(lambda: self.depths().get(f'{self.topic}.info') == 0,
                   'the sink queue drained', DEADLINE)
        self.assertEqual({}, {name: depth for name, depth in self.depths().items() if depth})

    def test_a_pooled_reader_leaves_the_publisher_queue_holding_everything(self) -> None:
        # Why a bus sink's consumer must not use a pool (failure-semantics.rst).
        recorder = self.listen(pool='graph')
        self.sink().deliver(self.events())

        recorder.wait_for(lambda: len(recorder.seen) == MESSAGES, 'every event')
        self.assertEqual(MESSAGES, self.depths()[f'{self.topic}.info'])

    def test_the_documented_policy_bounds_a_queue_nobody_reads(self) -> None:
        self.rabbit.ctl('set_policy', '-p', self.rabbit.vhost, '--apply-to', 'queues',
                        'vitrage-ds-unread', f'^{re.escape(self.topic)}\\.info$',
                        json.dumps({'max-length': 10, 'overflow': 'drop-head'}))
        recorder = self.listen(pool='graph')
        self.sink().deliver(self.events())

        recorder.wait_for(lambda: len(recorder.seen) == MESSAGES, 'every event, pooled')
        wait_until(lambda: self.depths().get(f'{self.topic}.info') == 10,
                   'the unread queue at its bound', DEADLINE)

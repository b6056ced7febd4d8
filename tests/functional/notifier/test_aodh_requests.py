"""What warm activations cost the emulated Aodh, through real RabbitMQ.

A notifier service with the Aodh plugin (default options, its background
verifier running) gets a few hundred deduced alarms: first activated (each
a create), then deactivated and activated again, with duplicates. Once the
alarms exist, a state change must cost at most 1.05 Aodh requests,
verification and the final checks of close() included.
"""

from __future__ import annotations

import logging
import random
import uuid
from typing import Any

import fixtures
import testtools

from vitrage_ds.bus import get_transport
from vitrage_ds.deduced import DeducedAlarm, DeducedAlarmActivate, DeducedAlarmDeactivate
from vitrage_ds.notifier_service import DeducedAlarmPublisher, NotifierService
from vitrage_ds_testing import EmulatedCloud, load_plugin, wait_until
from tests.kit import RabbitVhost

DEDUCED = 300


class WarmActivationsTest(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        rabbit = self.useFixture(RabbitVhost())
        self.cloud = self.useFixture(EmulatedCloud())
        conf = self.cloud.make_conf('none', http={'retries': 0})
        self.plugin = load_plugin('notifier', 'aodh', conf=conf)
        self.addCleanup(self.plugin.close)
        transport = get_transport(conf, rabbit.transport_url)
        self.addCleanup(transport.cleanup)
        run = uuid.uuid4().hex[:10]
        topic, exchange = f'vitrage.graph.{run}', f'vitrage-{run}'
        self.service = NotifierService({'aodh': self.plugin}, transport, topic=topic,
                                       exchange=exchange, pool=f'vds-test-{run}')
        self.service.start()
        self.addCleanup(self.service.stop, 30.0)
        self.publisher = DeducedAlarmPublisher(transport, topic=topic, exchange=exchange)
        self.addCleanup(self.publisher.close)

    def test_a_warm_state_change_costs_at_most_1_05_requests(self) -> None:
        ids = [f'v-{n:03}' for n in range(DEDUCED)]
        self.publish([_activate(vid) for vid in ids])
        before = len(self.cloud.requests)

        self.publish([_deactivate(vid) for vid in ids])
        activations = self.publish([_activate(vid) for vid in ids])
        duplicates = random.Random(5).sample(activations, DEDUCED // 10)
        self.publish(duplicates)
        self.service.stop(30.0)
        self.plugin.close()

        requests = len(self.cloud.requests) - before
        changes = 2 * DEDUCED
        self.assertLessEqual(requests / changes, 1.05,
                             f'{requests} requests for {changes} state changes: '
                             f'{self.cloud.requests.counts()}')
        alarms = self.mirrors()
        self.assertEqual(ids, sorted(alarms))
        self.assertEqual({('alarm', 1)}, {(found[0]['state'], len(found))
                                          for found in alarms.values()})

    def publish(self, messages: list[DeducedAlarm]) -> list[DeducedAlarm]:
        """Publish ``messages`` (stamped now) and wait until all are handled."""
        target = self.service.listener.handled + len(messages)
        sent = [self.publisher.publish(msg) for msg in messages]
        wait_until(lambda: self.service.listener.handled >= target,
                   f'{len(messages)} messages handled', timeout=60.0)
        return sent

    def mirrors(self) -> dict[str, list[dict[str, Any]]]:
        """The emulated Aodh's alarms by the vitrage_id of their rule."""
        return self.cloud.aodh.by_vitrage_id()


def _activate(vitrage_id: str) -> DeducedAlarm:
    return DeducedAlarmActivate(vitrage_id=vitrage_id, name='deduced', severity='critical',
                                affected_resource_id=f'host-{vitrage_id}')


def _deactivate(vitrage_id: str) -> DeducedAlarm:
    return DeducedAlarmDeactivate(vitrage_id=vitrage_id, name='deduced',
                                  affected_resource_id=f'host-{vitrage_id}')

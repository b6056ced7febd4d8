"""The emulated cloud's notifications on the real RabbitMQ, as Heat and Aodh send them."""

from __future__ import annotations

import json
import uuid

import testtools

from tests.functional.bus.base import DEADLINE, Recorder
from vitrage_ds.bus import Listener, get_transport
from vitrage_ds.config import new_config
from vitrage_ds_testing import EmulatedCloud
from tests.kit import RabbitVhost


class TestConnectBus(testtools.TestCase):

    def setUp(self):
        super().setUp()
        rabbit = self.useFixture(RabbitVhost())
        self.transport = get_transport(new_config(), rabbit.transport_url)
        self.addCleanup(self.transport.cleanup)
        self.topic = f'notifications-{uuid.uuid4().hex[:8]}'
        self.cloud = self.useFixture(EmulatedCloud(seed=8))
        self.cloud.connect_bus(self.transport, topic=self.topic)
        self.received = Recorder()
        listener = Listener(self.transport, [('heat', self.topic), ('aodh', self.topic)],
                            self.received, pool=None)
        listener.start()
        self.addCleanup(listener.stop, DEADLINE)

    def wait_for(self, count):
        self.received.wait_for(lambda: len(self.received.seen) >= count,
                               f'{count} notifications')

    def test_heat_notifications_on_exchange_heat_with_error_priority(self):
        stack = self.cloud.heat.create_stack('web', complete=False)
        self.cloud.heat.fail(stack.id, 'Resource CREATE failed: boom')
        self.wait_for(2)
        seen = {(n.event_type, n.priority, n.publisher_id) for n in self.received.seen}
        self.assertEqual({('orchestration.stack.create.start', 'info',
                           'orchestration.emulated-cloud'),
                          ('orchestration.stack.create.error', 'error',
                           'orchestration.emulated-cloud')}, seen)
        error = next(n for n in self.received.seen if n.priority == 'error')
        self.assertEqual(('CREATE_FAILED', stack.id),
                         (error.payload['state'], error.payload['stack_identity']))

    def test_aodh_notifications_on_exchange_aodh_from_api_and_evaluator(self):
        alarm = self.cloud.aodh.create_alarm('a', 'event')
        self.cloud.aodh.set_state(alarm['alarm_id'], 'alarm', 'crossed')
        self.wait_for(2)
        by_type = {n.event_type: n for n in self.received.seen}
        self.assertEqual('aodh.api', by_type['alarm.creation'].publisher_id)
        transition = by_type['alarm.state_transition']
        self.assertEqual('aodh.evaluator', transition.publisher_id)
        self.assertEqual({'state': 'alarm', 'transition_reason': 'crossed'},
                         json.loads(transition.payload['detail']))

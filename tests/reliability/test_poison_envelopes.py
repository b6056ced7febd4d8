"""A poison envelope is acknowledged once, with one log line, by both services.

A raw message whose ``message_id`` is a list (or a mapping, or an event type
that is not a string) used to make the listener's bookkeeping raise, and one
whose priority is a number or ``null`` made oslo.messaging's own dispatcher
raise. oslo.messaging answers either by requeueing the message at once:
thousands of tracebacks a second from ``vitrage-ds collect`` and
``vitrage-ds notifier``, and a queue that could not be drained. Now each such message is logged once
and acknowledged, the queue drains, and good messages behind it still flow.
"""

from __future__ import annotations

from typing import Any

from tests.reliability import figures
from tests.kit import envelope, publish_raw
from tests.reliability.rawbus import DEADLINE, ServicesOnRabbit
from vitrage_ds.deduced import ACTIVATE
from vitrage_ds.notifier_service import DeducedAlarmPublisher
from vitrage_ds_testing import wait_until

#: (what is wrong, message_id, event_type, priority) of each poison envelope.
POISONS: list[tuple[str, Any, Any, Any]] = [
    ('list id', ['a', 'b'], None, 'INFO'),
    ('mapping id', {'id': 'm-1'}, None, 'INFO'),
    ('number id', 12345, None, 'INFO'),
    ('overlong id', 'm' * 10_000, None, 'INFO'),
    ('list event type', None, ['alarm.state_transition'], 'INFO'),
    # oslo.messaging's own dispatcher calls .lower() on the priority.
    ('number priority', None, None, 5),
    ('null priority', None, None, None),
    ('unknown priority', None, None, 'LOUD'),
]


class TestPoisonEnvelopes(ServicesOnRabbit):

    def send_poisons(self, exchange: str, routing_key: str, event_type: str,
                     payload: Any) -> None:
        for _what, message_id, bad_type, priority in POISONS:
            publish_raw(self.rabbit.transport_url, exchange, routing_key,
                        envelope(bad_type if bad_type is not None else event_type, payload,
                                 message_id=message_id, priority=priority))
        figures.add(poison_envelopes_tried=len(POISONS))

    def assert_each_logged_once(self, output: str) -> None:
        self.assertEqual(len(POISONS), output.count('unaccountable '), output[-5000:])
        self.assertNotIn('Traceback', output)
        self.assertNotIn('Callback raised an exception', output)
        self.assertNotIn('Unknown priority', output)

    def test_the_collector_acknowledges_each_once_and_keeps_collecting(self) -> None:
        alarm = self.cloud.aodh.create_alarm('behind the poison', 'event')
        collector = self.start('collect')
        self.send_poisons('aodh', 'notifications.info', 'alarm.state_transition',
                          {'alarm_id': alarm['alarm_id'], 'detail': {'state': 'alarm'}})
        # A good notification behind them.
        self.cloud.connect_bus(self.transport)
        self.cloud.aodh.set_state(alarm['alarm_id'], 'alarm')

        wait_until(lambda: any(e['vitrage_ds_entity_id'] == alarm['alarm_id']
                               and e['vitrage_datasource_action'] == 'update'
                               and e.get('state') == 'alarm' for e in self.events()),
                   'the good notification collected', DEADLINE)
        # The collector's own queues (the stand-in Aodh's publisher also
        # declares notifications.info, which Ceilometer reads in a cloud).
        wait_until(lambda: self.depths().get('vitrage_ds.aodh.notifications') == 0,
                   "the collector's queue drained", DEADLINE)
        self.assertEqual(0, collector.terminate())
        self.assert_each_logged_once(collector.output())

    def test_the_notifier_acknowledges_each_once_and_keeps_notifying(self) -> None:
        notifier = self.start('notifier')
        payload = {'vitrage_id': 'v-poison', 'name': 'cpu high', 'severity': 'CRITICAL',
                   'affected_resource_id': 'host-1'}
        self.send_poisons('vitrage', f'{self.topic}.info', ACTIVATE, payload)
        publisher = DeducedAlarmPublisher(self.transport, topic=self.topic, exchange='vitrage')
        publisher.activate(vitrage_id='v-good', name='cpu high', severity='CRITICAL',
                           affected_resource_id='host-2')

        wait_until(lambda: 'v-good' in self.cloud.aodh.by_vitrage_id(),
                   'the good message applied', DEADLINE)
        wait_until(self.all_queues_empty, 'every queue drained', DEADLINE)
        self.assertEqual(0, notifier.terminate())
        self.assert_each_logged_once(notifier.output())
        self.assertNotIn('v-poison', self.cloud.aodh.by_vitrage_id())

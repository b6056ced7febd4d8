"""Values from the bus cannot forge a line in a service's log.

A newline in an Aodh ``alarm_id``, a Heat ``stack_identity`` or
``stack_name``, or a message's ``message_id``, ``event_type`` or priority used to
start a line of its own -- here a forged ``CRITICAL`` one -- in the log of
``vitrage-ds collect`` or ``vitrage-ds notifier``. Both services run at
debug level, so every line that mentions such a value is written; none may
start with the forged text.
"""

from __future__ import annotations

import copy
from typing import Any

from tests.reliability import figures
from tests.kit import envelope, publish_raw
from tests.reliability.rawbus import DEADLINE, ServicesOnRabbit
from vitrage_ds.bus import Publisher
from vitrage_ds.deduced import ACTIVATE
from vitrage_ds_testing import wait_until

FORGED = 'CRITICAL vitrage_ds forged: the operator was logged out'
#: What precedes the forged line in each value.
INJECT = f'x\n{FORGED}'


class _LogInjection(ServicesOnRabbit):

    def assert_nothing_forged(self, output: str) -> None:
        # In any case: oslo.messaging lower-cases a priority before logging it.
        forged = [line for line in output.splitlines()
                  if line.lower().startswith(FORGED.lower())]
        self.assertEqual([], forged)
        self.assertIn('forged', output, 'no value was logged: the test proves nothing')

    def drained(self, *queues: str) -> bool:
        depths = self.depths()
        return all(depths.get(queue) == 0 for queue in queues)

    def send_raw(self, exchange: str, routing_key: str, event_type: str,
                 payload: Any) -> None:
        """A good notification with a forged ``message_id``; one with a forged
        ``event_type``; one whose list ``message_id`` holds a forged line; one
        with a forged priority (oslo.messaging logs an unknown one as it is)."""
        messages = (envelope(event_type, payload, message_id=f'm-1{INJECT}'),
                    envelope(f'{event_type}{INJECT}', payload),
                    envelope(event_type, payload, message_id=[INJECT]),
                    envelope(event_type, payload, priority=f'INFO{INJECT}'))
        for message in messages:
            publish_raw(self.rabbit.transport_url, exchange, routing_key, message)
        figures.add(bad_inputs_tried=len(messages))


class TestCollectorLog(_LogInjection):

    def extra_config(self) -> list[str]:
        # The sink cannot write (the disk is full): every notification with
        # events is retried, so the listener logs its id and type.
        return ['[collector]', 'sinks = file:/dev/full', 'max_retries = 1',
                'retry_backoff = 0.1']

    def test_the_collector_log_holds_no_forged_line(self) -> None:
        self.cloud.populate(stacks=1, resources_per_stack=1, alarms=1)
        stack = self.cloud.heat.ordered()[0]
        alarm = self.cloud.aodh.ordered()[0]
        self.cloud.heat.update_stack(stack.id, description='changed')
        self.cloud.aodh.set_state(alarm['alarm_id'], 'alarm')
        samples = {n.event_type: n for n in self.cloud.notifications.sent}
        collector = self.start('collect', '--debug')

        heat = Publisher(self.transport, topic='notifications', exchange='heat',
                         publisher_id='orchestration.host1')
        stack_note = samples['orchestration.stack.update.end']
        for field in ('stack_identity', 'stack_name'):
            payload = copy.deepcopy(stack_note.payload)
            payload[field] = f'{payload[field]}{INJECT}'
            heat.publish(stack_note.event_type, payload, stack_note.priority)
        aodh = Publisher(self.transport, topic='notifications', exchange='aodh',
                         publisher_id='aodh.api')
        alarm_note = samples['alarm.state_transition']
        payload = copy.deepcopy(alarm_note.payload)
        payload['alarm_id'] = f'{alarm["alarm_id"]}{INJECT}'
        aodh.publish(alarm_note.event_type, payload, alarm_note.priority)
        self.send_raw('aodh', 'notifications.info', alarm_note.event_type,
                      alarm_note.payload)

        wait_until(lambda: self.drained('vitrage_ds.heat.notifications',
                                        'vitrage_ds.aodh.notifications'),
                   "the collector's queues drained", DEADLINE)
        self.assertEqual(0, collector.terminate())
        self.assert_nothing_forged(collector.output())

class TestNotifierLog(_LogInjection):

    def test_the_notifier_log_holds_no_forged_line(self) -> None:
        # Aodh fails the first calls: the message is retried, its id logged.
        self.cloud.fail('aodh.*', 503, times=2)
        notifier = self.start('notifier', '--debug')
        payload = {'vitrage_id': 'v-1', 'name': 'cpu high', 'severity': 'CRITICAL',
                   'affected_resource_id': 'host-1'}
        self.send_raw('vitrage', f'{self.topic}.info', ACTIVATE, payload)

        wait_until(lambda: 'v-1' in self.cloud.aodh.by_vitrage_id()
                   and self.drained(f'{self.topic}.info'),
                   'the messages handled', DEADLINE)
        self.assertEqual(0, notifier.terminate())
        self.assert_nothing_forged(notifier.output())

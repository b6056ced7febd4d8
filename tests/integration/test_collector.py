"""The collector against real Heat 27, Aodh 23 and RabbitMQ, in diff mode.

A stack created, updated, failed and deleted, and an alarm created, fired
and deleted: each change reaches the sink exactly once, from the
notifications, and a poll afterwards adds nothing about them.
"""

from __future__ import annotations

import itertools
import logging
import uuid
from collections.abc import Sequence

import fixtures

from tests import life_cycles
from tests.integration import base
from vitrage_ds.collector import Collector, options
from vitrage_ds.event import DELETE_ENTITY, Event
from vitrage_ds_testing import RecordingSink


class CollectorTest(base.RealServicesTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(fixtures.FakeLogger(name='vitrage_ds', level=logging.INFO))
        self.project = self.new_project()
        self.heat_client = self.heat(self.project)
        self.aodh_client = self.aodh(self.project)
        conf = self.real.config(self.project)
        options.register_opts(conf)
        conf.set_override('drivers', ['heat.stack', 'aodh'])
        for name, value in {
                'mode': 'diff', 'listen': True,
                'exchanges': [self.coords.heat_exchange, self.coords.aodh_exchange],
                'topics': [self.coords.topic],
                'listener_pool': f'collector-{uuid.uuid4().hex[:8]}'}.items():
            conf.set_override(name, value, options.GROUP)
        self.sink = RecordingSink()
        # sleep() answering "stopping" ends the poll threads: the test polls.
        self.collector = Collector(conf, self.sink, sleep=lambda seconds: True)
        self.addCleanup(self.collector.stop, 30)
        self.collector.start()
        self.collector.poll('heat.stack')
        self.collector.poll('aodh')

    def about(self, entity_id: str) -> list[Event]:
        return [e for e in self.sink.events if e.entity_id == entity_id]

    def wait_for(self, entity_id: str, event_type: str, status_field: str,
                 status: str) -> None:
        self.sink.wait_for(lambda events: any(
            e.entity_id == entity_id and e.event_type == event_type
            and e.fields.get(status_field) == status for e in events), base.DEADLINE)

    def assert_each_once(self, expected: Sequence[tuple[str, str]],
                         got: Sequence[tuple[str, str]], *, may_lose: Sequence[int] = ()
                         ) -> None:
        """``got`` is ``expected``, except that any of the items at
        ``may_lose`` may be missing: a ``*.start`` that lost the race with its
        own ``*.end`` or ``*.error`` (handled by another thread of the pooled
        listener, or sent at ERROR priority through another queue) is older
        than it and rightly dropped."""
        allowed = [[item for i, item in enumerate(expected) if i not in lost]
                   for n in range(len(may_lose) + 1)
                   for lost in itertools.combinations(may_lose, n)]
        if list(got) not in allowed:
            self.fail(f'events {list(got)} are not, once each, {list(expected)}')

    def test_a_stack_created_updated_failed_and_deleted_gives_each_change_once(self) -> None:
        client, name = self.heat_client, 'collected'
        stack_id = self.create_stack(client, name, base.THREE)
        self.wait_for(stack_id, 'orchestration.stack.create.end', 'status', 'CREATE_COMPLETE')
        client.request('PUT', f'stacks/{name}/{stack_id}', json={'template': base.UPDATED})
        self.wait_for(stack_id, 'orchestration.stack.update.end', 'status', 'UPDATE_COMPLETE')
        client.request('PUT', f'stacks/{name}/{stack_id}', json={'template': base.FAILING})
        self.wait_for(stack_id, 'orchestration.stack.update.error', 'status', 'UPDATE_FAILED')
        client.delete(f'stacks/{name}/{stack_id}')
        self.wait_for(stack_id, DELETE_ENTITY, 'status', 'DELETE_IN_PROGRESS')
        base.wait_until(lambda: client.get(f'stacks/{name}/{stack_id}')['stack']
                        ['stack_status'] == 'DELETE_COMPLETE', 'the stack to be deleted')
        self.collector.poll('heat.stack')

        self.assert_each_once(
            life_cycles.STACK_LIFE_CYCLE,
            [(str(e.event_type), e.fields['status']) for e in self.about(stack_id)],
            may_lose=[0, 2, 4])

    def test_a_poll_right_after_the_notifications_of_a_stack_emits_nothing(self) -> None:
        stack_id = self.create_stack(self.heat_client, 'quiet', base.THREE)
        self.wait_for(stack_id, 'orchestration.stack.create.end', 'status', 'CREATE_COMPLETE')
        before = len(self.sink.events)
        self.collector.poll('heat.stack')
        # Other tests' stacks (the credentials are admin's) may change meanwhile.
        self.assertEqual([], [(e.key, e.fields) for e in self.sink.events[before:]
                              if e.entity_id.split('/')[0] == stack_id])

    def test_an_alarm_created_fired_and_deleted_gives_each_change_once(self) -> None:
        client = self.aodh_client
        alarm_id = self.create_alarm(client, base.event_alarm('collected'))['alarm_id']
        self.wait_for(alarm_id, 'alarm.creation', 'state', 'insufficient data')
        client.put(f'v2/alarms/{alarm_id}/state', json='alarm')
        self.wait_for(alarm_id, 'alarm.state_transition', 'state', 'alarm')
        self.collector.poll('aodh')
        client.delete(f'v2/alarms/{alarm_id}')
        self.sink.wait_for(lambda events: any(
            e.entity_id == alarm_id and e.deleted for e in events), base.DEADLINE)
        self.collector.poll('aodh')

        self.assert_each_once(
            life_cycles.ALARM_LIFE_CYCLE,
            [(str(e.event_type), e.fields.get('state')) for e in self.about(alarm_id)])

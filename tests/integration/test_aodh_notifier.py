"""The Aodh notifier on real Aodh 23, messages over the real RabbitMQ.

A graph-side :class:`DeducedAlarmPublisher` posts on a topic of the test's
own; a :class:`NotifierService` with the Aodh plugin consumes it and acts on
Aodh as a project of the test's own.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

from tests.integration import base
from vitrage_ds import registry
from vitrage_ds.bus import get_transport
from vitrage_ds.deduced import ACTIVATE, DEACTIVATE, DeducedAlarmActivate, Order, format_time
from vitrage_ds.notifier import Message, Outcome
from vitrage_ds.notifiers.aodh import AodhNotifier, record
from vitrage_ds.notifier_service import DeducedAlarmPublisher, NotifierService
from vitrage_ds.plugin import PluginContext
from vitrage_ds_testing import construct_plugin


class AodhNotifierTest(base.RealServicesTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.project = self.new_project()
        self.client = self.aodh(self.project)
        self.conf = self.real.config(self.project)
        self.addCleanup(self._delete_project_alarms)
        run = uuid.uuid4().hex[:10]
        self.topic, self.exchange = f'vitrage.graph.{run}', f'vitrage-{run}'

    def _delete_project_alarms(self) -> None:
        for alarm in self.client.get('v2/alarms'):
            base._delete_quietly(self.client, f'v2/alarms/{alarm["alarm_id"]}')

    def plugin(self) -> Any:
        loaded = registry.load_notifiers(self.conf, ['aodh'])
        plugin = loaded.plugins['aodh']
        self.addCleanup(plugin.close)
        return plugin

    def start_service(self) -> tuple[NotifierService, DeducedAlarmPublisher]:
        transport = get_transport(self.conf)
        self.addCleanup(transport.cleanup)
        service = NotifierService({'aodh': self.plugin()}, transport, topic=self.topic,
                                  exchange=self.exchange, pool=f'vds-test-{self.topic}')
        service.start()
        self.addCleanup(service.stop, base.DEADLINE)
        publisher = DeducedAlarmPublisher(transport, topic=self.topic, exchange=self.exchange)
        self.addCleanup(publisher.close)
        return service, publisher

    def named(self, name: str) -> list[dict[str, Any]]:
        return list(self.client.get('v2/alarms', params=[
            ('q.field', 'name'), ('q.op', 'eq'), ('q.value', name)]))

    def handled(self, service: NotifierService, count: int) -> None:
        base.wait_until(lambda: service.listener.handled >= count,
                        f'{count} messages handled')

    def test_activate_again_and_deactivate(self) -> None:
        service, publisher = self.start_service()
        publisher.activate(vitrage_id='v-int-1', name='cpu high', severity='CRITICAL',
                           affected_resource_id='host-1')
        self.handled(service, 1)

        [alarm] = self.named('cpu high_host-1')
        self.assertEqual(('event', 'alarm', 'critical'),
                         (alarm['type'], alarm['state'], alarm['severity']))
        self.assertEqual([
            {'field': 'resource_id', 'op': 'eq', 'type': 'string', 'value': 'host-1'},
            {'field': 'vitrage_id', 'op': 'eq', 'type': 'string', 'value': 'v-int-1'}],
            alarm['event_rule']['query'])
        self.assertTrue(alarm['description'].startswith('Deduced by Vitrage'),
                        alarm['description'])

        publisher.activate(vitrage_id='v-int-1', name='cpu high', severity='CRITICAL',
                           affected_resource_id='host-1')
        self.handled(service, 2)
        self.assertEqual([alarm['alarm_id']], [a['alarm_id'] for a in
                                               self.named('cpu high_host-1')])

        publisher.deactivate(vitrage_id='v-int-1', name='cpu high',
                             affected_resource_id='host-1')
        self.handled(service, 3)
        self.assertEqual('ok', self.client.get(f'v2/alarms/{alarm["alarm_id"]}/state'))

    def test_deactivate_by_aodh_id(self) -> None:
        service, publisher = self.start_service()
        publisher.activate(vitrage_id='v-int-2', name='disk', severity='warning',
                           affected_resource_id='vol-1')
        self.handled(service, 1)
        [alarm] = self.named('disk_vol-1')
        self.assertEqual('low', alarm['severity'])

        publisher.deactivate(vitrage_id='v-int-2', aodh_alarm_id=alarm['alarm_id'])
        self.handled(service, 2)

        self.assertEqual('ok', self.client.get(f'v2/alarms/{alarm["alarm_id"]}/state'))

    def test_activate_with_the_aodh_id_of_an_alarm_not_ours_only_sets_its_state(
            self) -> None:
        theirs = self.create_alarm(self.client, base.event_alarm(
            'made by hand', severity='low', state='ok', description='not a mirror'))
        msg = Message(ACTIVATE, {'vitrage_id': 'v-int-3', 'name': 'cpu high',
                                 'severity': 'critical', 'affected_resource_id': 'host-3',
                                 'aodh_alarm_id': theirs['alarm_id'],
                                 'timestamp': format_time(1_714_564_800_000_000)})

        self.assertEqual(Outcome.DONE, self.plugin().notify(msg))

        after = self.client.get(f'v2/alarms/{theirs["alarm_id"]}')
        self.assertEqual(
            ('alarm', 'made by hand', 'low', 'not a mirror', theirs['event_rule']),
            (after['state'], after['name'], after['severity'], after['description'],
             after['event_rule']))
        # PUT .../state: Aodh records a state transition, not a rule change.
        history = self.client.get(f'v2/alarms/{theirs["alarm_id"]}/history')
        self.assertEqual(['state transition', 'creation'], [h['type'] for h in history])
        self.assertEqual([], self.named('cpu high_host-3'))

    def test_names_with_query_syntax_find_exactly_their_alarm(self) -> None:
        plugin = self.plugin()
        tricky = 'a&q.field=name&q.value=x "quoted" \'single\''
        for vitrage_id, name in (('v-a', tricky), ('v-b', 'a')):
            self.assertEqual(Outcome.DONE, plugin.notify(_activate(vitrage_id, name, 'r')))

        self.assertEqual(['v-a'], [_vitrage_id(a) for a in self.named(f'{tricky}_r')])
        self.assertEqual(['v-b'], [_vitrage_id(a) for a in self.named('a_r')])

    def test_two_notifiers_racing_on_one_activate_leave_one_alarm(self) -> None:
        plugins = [self.plugin(), self.plugin()]  # two processes: nothing shared
        msg = _activate('v-race', 'race', 'host-9')
        barrier = threading.Barrier(len(plugins))
        outcomes: list[Outcome] = []

        def run(plugin: Any) -> None:
            barrier.wait()
            outcomes.append(plugin.notify(msg))

        threads = [threading.Thread(target=run, args=(p,)) for p in plugins]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(base.DEADLINE)

        self.assertEqual([Outcome.DONE, Outcome.DONE], outcomes)
        self.assertEqual(1, len(self.named('race_host-9')))

    def test_an_older_state_written_over_a_write_is_repaired_at_close(self) -> None:
        plugin = self.plugin()
        now = round(time.time() * 1_000_000)
        for vitrage_id in ('v-r1', 'v-r2', 'v-r3'):  # more than fit one listing by name
            self.assertEqual(Outcome.DONE, plugin.notify(_activate(
                vitrage_id, 'repair', vitrage_id, format_time(now))))
        deactivate = Message(DEACTIVATE, {'vitrage_id': 'v-r1', 'name': 'repair',
                                          'affected_resource_id': 'v-r1',
                                          'timestamp': format_time(now + 2)})
        self.assertEqual(Outcome.DONE, plugin.notify(deactivate))  # one PUT, not read
        [alarm] = self.named('repair_v-r1')
        self.assertEqual('ok', alarm['state'])
        # Another process writes an older message over it.
        older = DeducedAlarmActivate(vitrage_id='v-r1', name='repair', severity='critical',
                                     affected_resource_id='v-r1')
        self.client.put(f'v2/alarms/{alarm["alarm_id"]}', json=record.update_body(
            alarm, older, Order(now + 1), state='alarm', severity='critical'))

        plugin.close()

        [alarm] = self.named('repair_v-r1')
        self.assertEqual('ok', alarm['state'])
        self.assertTrue(alarm['description'].endswith(
            f'deactivate at {format_time(now + 2)}, sequence 0.'), alarm['description'])

    def test_a_newer_state_whose_writer_died_is_written_back_from_the_history(self) -> None:
        class Killed(AodhNotifier):
            """A process killed after its write: its verifier never runs."""

            def __init__(self, context: PluginContext) -> None:
                super().__init__(context, verify_in_background=False)

        killed = construct_plugin(Killed, 'notifier', name='aodh', conf=self.conf)
        other = self.plugin()
        now = round(time.time() * 1_000_000)
        self.assertEqual(Outcome.DONE, killed.notify(_activate(
            'v-k', 'killed', 'host-k', format_time(now))))
        self.assertEqual(Outcome.DONE, other.notify(_activate(  # reads it: knows it
            'v-k', 'killed', 'host-k', format_time(now))))
        deactivate = Message(DEACTIVATE, {'vitrage_id': 'v-k', 'name': 'killed',
                                          'affected_resource_id': 'host-k',
                                          'timestamp': format_time(now + 2)})
        self.assertEqual(Outcome.DONE, killed.notify(deactivate))  # one PUT, not read
        # The other process writes the older activate over it, not reading.
        self.assertEqual(Outcome.DONE, other.notify(_activate(
            'v-k', 'killed', 'host-k', format_time(now + 1))))
        [alarm] = self.named('killed_host-k')
        self.assertEqual('alarm', alarm['state'])
        # Real Aodh's history query: each full PUT is a rule change whose
        # detail holds the description written.
        changes = self.client.post('v2/query/alarms/history', json={
            'filter': json.dumps({'and': [
                {'in': {'alarm_id': [alarm['alarm_id']]}},
                {'in': {'type': ['creation', 'rule change']}},
                {'>=': {'timestamp': format_time(now - 60_000_000)}}]}),
            'orderby': json.dumps([{'timestamp': 'desc'}]), 'limit': 1000})
        self.assertEqual(['rule change', 'rule change', 'creation'],
                         [c['type'] for c in changes])
        self.assertEqual(['activate', 'deactivate', 'activate'],
                         [json.loads(c['detail'])['description'].split('last change: ')[1]
                          .split(' ')[0] for c in changes])

        other.close()  # its final check reads the history

        [alarm] = self.named('killed_host-k')
        self.assertEqual('ok', alarm['state'])
        self.assertTrue(alarm['description'].endswith(
            f'deactivate at {format_time(now + 2)}, sequence 0.'), alarm['description'])


def _activate(vitrage_id: str, name: str, resource: str,
              timestamp: str = format_time(1_714_564_800_000_000)) -> Message:
    return Message(ACTIVATE, {'vitrage_id': vitrage_id, 'name': name, 'severity': 'critical',
                              'affected_resource_id': resource,
                              'timestamp': timestamp})


def _vitrage_id(alarm: dict[str, Any]) -> str:
    return next(q['value'] for q in alarm['event_rule']['query'] if q['field'] == 'vitrage_id')

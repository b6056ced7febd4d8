"""The Aodh notifier, call by call: what it asks Aodh for each deduced-alarm message,
and what its verification rounds ask afterwards."""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import fixtures
import testtools
import requests_mock
from requests_mock.contrib import fixture as rm_fixture

from vitrage_ds.deduced import ACTIVATE, DEACTIVATE
from vitrage_ds.errors import PluginLoadError
from vitrage_ds.event import parse_time
from vitrage_ds.notifier import Message, Outcome
from vitrage_ds.notifiers.aodh import AodhNotifier
from vitrage_ds.plugin import PluginContext
from vitrage_ds.testing import FakeClock, construct_plugin, load_plugin, new_test_config

from tests.unit.notifiers.test_deduced import GRAPH_ACTIVATION, GRAPH_DEACTIVATION

AODH = 'http://aodh.test/aodh'
ALARMS = f'{AODH}/v2/alarms'
T1 = '2024-05-01T12:00:01.000000Z'
T2 = '2024-05-01T12:00:02.000000Z'
T3 = '2024-05-01T12:00:03.000000Z'
T9 = '2024-05-01T12:00:09.000000Z'
#: The plugin's clock when a test starts: T1..T3 are fresh (reorder_window 10 s).
NOW = '2024-05-01T12:00:05Z'
CREATED = '2024-05-01T11:00:00.000000Z'
WINDOW = 10.0
INTERVAL = 1.0


def activate(**overrides: Any) -> Message:
    payload = {'vitrage_id': 'v-1', 'name': 'cpu high', 'severity': 'CRITICAL',
               'affected_resource_id': 'host-1', 'timestamp': T2, 'sequence': 0}
    payload.update(overrides)
    return Message(ACTIVATE, {k: v for k, v in payload.items() if v is not None},
                   {'message_id': 'm-1', 'timestamp': '2024-05-01 12:00:05.000000'})


def deactivate(**overrides: Any) -> Message:
    payload = {'vitrage_id': 'v-1', 'name': 'cpu high', 'affected_resource_id': 'host-1',
               'timestamp': T3, 'sequence': 0}
    payload.update(overrides)
    return Message(DEACTIVATE, {k: v for k, v in payload.items() if v is not None},
                   {'message_id': 'm-2', 'timestamp': '2024-05-01 12:00:06.000000'})


def description(kind: str, at: str, sequence: int = 0, name: str = 'cpu high',
                resource: str = 'host-1', vitrage_id: str = 'v-1',
                created: str = CREATED) -> str:
    return (f'Deduced by Vitrage from alarm "{name}" on resource {resource} '
            f'(vitrage_id {vitrage_id}). Created {created}; last change: {kind} at {at}, '
            f'sequence {sequence}.')


def mirror(alarm_id: str = 'a-1', *, state: str = 'alarm', kind: str = 'activate',
           at: str = T1, vitrage_id: str = 'v-1', name: str = 'cpu high_host-1',
           created: str = CREATED, severity: str = 'critical') -> dict[str, Any]:
    """An alarm as Aodh lists one this notifier created."""
    return {
        'alarm_id': alarm_id, 'name': name, 'type': 'event', 'enabled': True,
        'description': description(kind, at, vitrage_id=vitrage_id, created=created),
        'severity': severity, 'state': state, 'repeat_actions': False,
        'ok_actions': [], 'alarm_actions': [], 'insufficient_data_actions': [],
        'time_constraints': [], 'project_id': 'p-1', 'user_id': 'u-1',
        'timestamp': '2024-05-01T11:00:00.000000', 'state_timestamp': '2024-05-01T11:00:00',
        'event_rule': {'event_type': '*', 'query': [
            {'field': 'resource_id', 'op': 'eq', 'type': 'string', 'value': 'host-1'},
            {'field': 'vitrage_id', 'op': 'eq', 'type': 'string', 'value': vitrage_id}]},
    }


def foreign(alarm_id: str = 'x-1') -> dict[str, Any]:
    """An alarm someone else created (no vitrage_id in its rule)."""
    return {'alarm_id': alarm_id, 'name': 'disk full', 'type': 'event', 'state': 'ok',
            'description': 'by hand', 'severity': 'low',
            'event_rule': {'event_type': 'x.*', 'query': []}}


def by_name(name: str = 'cpu high_host-1') -> str:
    query = urllib.parse.urlencode([('q.field', 'name'), ('q.op', 'eq'),
                                    ('q.value', name), ('limit', 1000)])
    return f'{ALARMS}?{query}'


def event_alarms(marker: str | None = None) -> str:
    """A page of the listing of every event alarm (what a round may read)."""
    params = [('q.field', 'type'), ('q.op', 'eq'), ('q.value', 'event'),
              ('sort', 'alarm_id:asc'), ('limit', 1000)]
    if marker is not None:
        params.append(('marker', marker))
    return f'{ALARMS}?{urllib.parse.urlencode(params)}'


class _AodhCallsTest(testtools.TestCase):
    """Aodh answered by requests-mock; the plugin on a fake clock, no verifier thread."""

    def setUp(self) -> None:
        super().setUp()
        self.http = self.useFixture(rm_fixture.Fixture())
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.clock = FakeClock(NOW)

    def plugin(self, conf: Any = None, **options: Any) -> Any:
        clock = self.clock

        class ClockedAodhNotifier(AodhNotifier):
            def __init__(self, context: PluginContext) -> None:
                super().__init__(context, sleep=clock.sleep, clock=clock.time,
                                 verify_in_background=False)

        options = {'endpoint_override': AODH, 'verify_delay': 0.0, **options}
        plugin = construct_plugin(ClockedAodhNotifier, 'notifier', name='aodh', conf=conf,
                                  options=options)
        self.addCleanup(plugin.close)
        return plugin

    # -- registering and reading calls -----------------------------------

    def list_answers(self, *answers: list[dict[str, Any]], name: str = 'cpu high_host-1'
                     ) -> None:
        """Successive answers of the listing by ``name``."""
        self.http.get(by_name(name), [{'json': a} for a in answers], complete_qs=True)

    def forget_calls(self) -> None:
        self.http.request_history.clear()

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.url) for r in self.http.request_history]

    def body(self, index: int) -> Any:
        return json.loads(self.http.request_history[index].text)

    def known(self, plugin: Any, alarm: dict[str, Any] | None = None,
              msg: Message | None = None) -> None:
        """Make ``plugin`` know ``alarm`` (read by name for ``msg``), then forget the calls."""
        alarm = alarm or mirror()
        self.list_answers([alarm], name=alarm['name'])
        self.assertEqual(Outcome.DONE, plugin.notify(msg or activate(timestamp=T1)))
        self.forget_calls()

    def written(self, plugin: Any, msg: Message | None = None) -> None:
        """Have ``plugin`` write ``msg`` (a deactivate) to a known alarm; forget the calls."""
        self.http.put(f'{ALARMS}/a-1', json={})
        self.known(plugin, mirror(at='2024-05-01T12:00:00Z'), activate(timestamp=T1))
        self.assertEqual(Outcome.DONE, plugin.notify(msg or deactivate()))
        self.forget_calls()


class AodhNotifierTest(_AodhCallsTest):
    """What each message costs and writes."""

    def test_the_first_messages_at_once_share_one_client(self) -> None:
        built: list[object] = []
        second = threading.Event()

        def factory(service_type: str, options: Any) -> Any:
            built.append(service_type)
            if len(built) == 1:
                second.wait(0.5)  # long enough for an unguarded caller to build too
            else:
                second.set()
            return object()

        plugin = construct_plugin(AodhNotifier, 'notifier', name='aodh',
                                  client_factory=factory, options={'endpoint_override': AODH})
        self.addCleanup(plugin.close)
        with ThreadPoolExecutor(4) as callers:
            clients = list(callers.map(lambda _: plugin.client, range(4)))

        self.assertEqual(['alarming'], built)
        self.assertEqual(1, len({id(c) for c in clients}))

    # -- activate ---------------------------------------------------------

    def test_activate_creates_an_event_alarm_when_none_exists(self) -> None:
        created = {**mirror(at=T2), 'alarm_id': 'new-1'}
        self.list_answers([], [created])
        self.http.post(ALARMS, json=created, status_code=201)

        self.assertEqual(Outcome.DONE, self.plugin().notify(activate()))

        self.assertEqual([('GET', by_name()), ('POST', ALARMS), ('GET', by_name())],
                         self.calls())
        body = self.body(1)
        self.assertEqual('cpu high_host-1', body['name'])
        self.assertEqual('event', body['type'])
        self.assertEqual('alarm', body['state'])
        self.assertEqual('critical', body['severity'])
        self.assertEqual(
            {'event_type': '*', 'query': [
                {'field': 'resource_id', 'op': 'eq', 'type': 'string', 'value': 'host-1'},
                {'field': 'vitrage_id', 'op': 'eq', 'type': 'string', 'value': 'v-1'}]},
            body['event_rule'])
        self.assertTrue(body['description'].startswith(
            'Deduced by Vitrage from alarm "cpu high" on resource host-1 (vitrage_id v-1).'))
        self.assertTrue(body['description'].endswith(
            f'last change: activate at {T2}, sequence 0.'))

    def test_the_read_back_after_a_create_waits_verify_delay(self) -> None:
        created = {**mirror(at=T2), 'alarm_id': 'new-1'}
        self.list_answers([], [created])
        self.http.post(ALARMS, json=created, status_code=201)

        self.plugin(verify_delay=0.25).notify(activate())

        self.assertEqual([0.25], self.clock.slept)

    def test_severity_is_mapped_as_vitrages_aodh_notifier_maps_it_in_any_case(self) -> None:
        for given, expected in (('CRITICAL', 'critical'), ('Critical', 'critical'),
                                ('SEVERE', 'moderate'), ('warning', 'low'),
                                ('OK', 'low'), ('N/A', 'low')):
            self.assertEqual(expected, self.plugin().aodh_severity(given), given)

    def test_vitrages_own_severities_outside_the_map_are_not_logged(self) -> None:
        for given in ('OK', 'N/A', 'ok'):
            self.plugin().aodh_severity(given)
        self.assertNotIn('severity_map', self.logs.output)

    def test_unknown_severity_becomes_low_and_is_logged(self) -> None:
        self.assertEqual('low', self.plugin().aodh_severity('apocalyptic'))
        self.assertIn("severity 'apocalyptic' is not in [notifier.aodh] severity_map",
                      self.logs.output)

    def test_severity_map_can_be_configured(self) -> None:
        plugin = self.plugin(severity_map={'Warning': 'Moderate'})
        self.assertEqual('moderate', plugin.aodh_severity('WARNING'))

    def test_a_severity_map_to_an_unknown_aodh_severity_fails_at_load(self) -> None:
        error = self.assertRaises(PluginLoadError, load_plugin, 'notifier', 'aodh',
                                  options={'severity_map': {'critical': 'urgent'}})
        self.assertIn("'critical' maps to 'urgent'", str(error))

    def test_activate_updates_the_existing_alarm_found_by_name(self) -> None:
        existing = mirror(state='ok', kind='deactivate', at=T1, severity='low')
        self.list_answers([existing])
        self.http.put(f'{ALARMS}/a-1', json={})

        self.assertEqual(Outcome.DONE, self.plugin().notify(activate()))

        self.assertEqual([('GET', by_name()), ('PUT', f'{ALARMS}/a-1')], self.calls())
        body = self.body(1)
        self.assertEqual('alarm', body['state'])
        self.assertEqual('critical', body['severity'])
        self.assertEqual(description('activate', T2), body['description'])
        self.assertEqual(existing['event_rule'], body['event_rule'])
        self.assertNotIn('project_id', body)
        self.assertNotIn('alarm_id', body)

    def test_the_same_activate_twice_writes_once(self) -> None:
        created = {**mirror(at=T2), 'alarm_id': 'new-1'}
        self.list_answers([], [created])
        self.http.post(ALARMS, json=created, status_code=201)
        plugin = self.plugin()

        plugin.notify(activate())
        self.assertEqual(Outcome.DONE, plugin.notify(activate()))

        self.assertEqual(3, len(self.calls()))

    def test_an_activate_already_applied_by_another_process_only_reads(self) -> None:
        self.list_answers([mirror(at=T2)])

        self.assertEqual(Outcome.DONE, self.plugin().notify(activate()))

        self.assertEqual([('GET', by_name())], self.calls())

    def test_activate_with_the_aodh_id_of_our_alarm_updates_it(self) -> None:
        self.http.get(f'{ALARMS}/a-1', json=mirror(state='ok', kind='deactivate'))
        self.http.put(f'{ALARMS}/a-1', json={})

        self.assertEqual(Outcome.DONE, self.plugin().notify(activate(aodh_alarm_id='a-1')))

        self.assertEqual([('GET', f'{ALARMS}/a-1'), ('PUT', f'{ALARMS}/a-1')], self.calls())
        self.assertEqual('alarm', self.body(1)['state'])

    def test_activate_with_the_aodh_id_of_another_alarm_only_sets_its_state(self) -> None:
        self.http.get(f'{ALARMS}/x-1', json=foreign())
        self.http.put(f'{ALARMS}/x-1/state', json='alarm')

        self.assertEqual(Outcome.DONE, self.plugin().notify(activate(aodh_alarm_id='x-1')))

        self.assertEqual([('GET', f'{ALARMS}/x-1'), ('PUT', f'{ALARMS}/x-1/state')],
                         self.calls())
        self.assertEqual('alarm', self.body(1))

    def test_an_alarm_not_ours_once_known_costs_one_request_per_message(self) -> None:
        self.http.get(f'{ALARMS}/x-1', json=foreign())
        self.http.put(f'{ALARMS}/x-1/state', json='ok')
        plugin = self.plugin()
        plugin.notify(activate(aodh_alarm_id='x-1'))

        self.assertEqual(Outcome.DONE, plugin.notify(deactivate(id='x-1')))

        self.assertEqual([('PUT', f'{ALARMS}/x-1/state')], self.calls()[2:])
        self.assertEqual('ok', self.body(2))

    def test_activate_with_an_unknown_aodh_id_falls_back_to_the_name(self) -> None:
        self.http.get(f'{ALARMS}/gone', status_code=404,
                      json={'error_message': {'faultstring': 'Alarm gone not found'}})
        created = {**mirror(at=T2), 'alarm_id': 'new-1'}
        self.list_answers([], [created])
        self.http.post(ALARMS, json=created, status_code=201)

        self.assertEqual(Outcome.DONE, self.plugin().notify(activate(aodh_alarm_id='gone')))

        self.assertEqual([('GET', f'{ALARMS}/gone'), ('GET', by_name()), ('POST', ALARMS),
                          ('GET', by_name())], self.calls())

    # -- a known alarm ----------------------------------------------------

    def test_a_fresh_message_about_a_known_alarm_is_one_put(self) -> None:
        created = {**mirror(at=T2), 'alarm_id': 'new-1'}
        self.list_answers([], [created])
        self.http.post(ALARMS, json=created, status_code=201)
        self.http.put(f'{ALARMS}/new-1', json={})
        plugin = self.plugin()
        plugin.notify(activate())

        self.assertEqual(Outcome.DONE, plugin.notify(deactivate()))

        self.assertEqual([('PUT', f'{ALARMS}/new-1')], self.calls()[3:])
        body = self.body(3)
        self.assertEqual('ok', body['state'])
        self.assertEqual(description('deactivate', T3), body['description'])
        self.assertEqual(created['event_rule'], body['event_rule'])

    def test_every_state_change_of_a_known_alarm_is_one_put(self) -> None:
        self.http.put(f'{ALARMS}/a-1', json={})
        plugin = self.plugin()
        self.known(plugin, mirror(at='2024-05-01T12:00:00Z'), activate(timestamp=T1))

        for n, msg in enumerate([deactivate(timestamp=T2), activate(timestamp=T3),
                                 deactivate(timestamp=T3, sequence=1)]):
            self.assertEqual(Outcome.DONE, plugin.notify(msg))
            self.assertEqual(n + 1, len(self.calls()))

        self.assertEqual([('PUT', f'{ALARMS}/a-1')] * 3, self.calls())
        self.assertEqual(['ok', 'alarm', 'ok'], [self.body(i)['state'] for i in range(3)])

    def test_a_late_message_about_a_known_alarm_is_read_first(self) -> None:
        plugin = self.plugin()
        self.known(plugin)
        self.http.get(f'{ALARMS}/a-1', json=mirror())
        self.http.put(f'{ALARMS}/a-1', json={})
        self.clock.advance(WINDOW)  # T3 is now more than reorder_window old

        self.assertEqual(Outcome.DONE, plugin.notify(deactivate()))

        self.assertEqual([('GET', f'{ALARMS}/a-1'), ('PUT', f'{ALARMS}/a-1')], self.calls())

    def test_a_late_message_older_than_what_aodh_holds_writes_nothing(self) -> None:
        plugin = self.plugin()
        self.known(plugin)
        self.http.get(f'{ALARMS}/a-1', json=mirror(state='ok', kind='deactivate', at=T9))
        self.clock.advance(WINDOW)

        self.assertEqual(Outcome.DONE, plugin.notify(deactivate()))

        self.assertEqual([('GET', f'{ALARMS}/a-1')], self.calls())

    def test_a_failed_put_without_reading_first_is_done_again_reading_first(self) -> None:
        conf = new_test_config({'http': {'retries': 1, 'retry_backoff': 0.0}})
        plugin = self.plugin(conf)
        self.known(plugin)
        self.http.put(f'{ALARMS}/a-1', [{'status_code': 503}, {'status_code': 503},
                                        {'json': {}}])
        self.http.get(f'{ALARMS}/a-1', json=mirror())

        self.assertEqual(Outcome.DONE, plugin.notify(deactivate()))

        # Not retried by the HTTP layer; the write after the read is.
        self.assertEqual([('PUT', f'{ALARMS}/a-1'), ('GET', f'{ALARMS}/a-1'),
                          ('PUT', f'{ALARMS}/a-1'), ('PUT', f'{ALARMS}/a-1')], self.calls())

    def test_a_write_failing_with_and_without_reading_first_is_retried(self) -> None:
        plugin = self.plugin()
        self.known(plugin)
        self.http.put(f'{ALARMS}/a-1', status_code=503)
        self.http.get(f'{ALARMS}/a-1', json=mirror())

        self.assertEqual(Outcome.RETRY, plugin.notify(deactivate()))

    def test_a_known_alarm_deleted_meanwhile_is_looked_up_again(self) -> None:
        plugin = self.plugin()
        self.known(plugin)
        self.http.put(f'{ALARMS}/a-1', status_code=404)
        tombstone = mirror('new-1', state='ok', kind='deactivate', at=T3)
        self.list_answers([], [tombstone])
        self.http.post(ALARMS, json=tombstone, status_code=201)

        self.assertEqual(Outcome.DONE, plugin.notify(deactivate()))

        self.assertEqual([('PUT', f'{ALARMS}/a-1'), ('GET', by_name()), ('POST', ALARMS),
                          ('GET', by_name())], self.calls())

    def test_a_refused_put_of_a_known_alarm_reads_it_and_writes_again(self) -> None:
        plugin = self.plugin()
        self.known(plugin)
        self.http.put(f'{ALARMS}/a-1', [{'status_code': 400}, {'json': {}}])

        self.assertEqual(Outcome.DONE, plugin.notify(deactivate()))

        self.assertEqual([('PUT', f'{ALARMS}/a-1'), ('GET', by_name()),
                          ('PUT', f'{ALARMS}/a-1')], self.calls())

    # -- deactivate -------------------------------------------------------

    def test_deactivate_sets_ok_on_the_alarm_found_by_id(self) -> None:
        self.http.get(f'{ALARMS}/a-1', json=mirror())
        self.http.put(f'{ALARMS}/a-1', json={})

        self.assertEqual(Outcome.DONE, self.plugin().notify(deactivate(id='a-1')))

        self.assertEqual([('GET', f'{ALARMS}/a-1'), ('PUT', f'{ALARMS}/a-1')], self.calls())
        body = self.body(1)
        self.assertEqual('ok', body['state'])
        self.assertEqual('critical', body['severity'])  # a deactivate keeps it
        self.assertEqual(description('deactivate', T3), body['description'])

    def test_deactivate_with_only_an_id_keeps_the_description_whole(self) -> None:
        self.http.get(f'{ALARMS}/a-1', json=mirror())
        self.http.put(f'{ALARMS}/a-1', json={})
        msg = Message(DEACTIVATE, {'id': 'a-1', 'vitrage_id': 'v-1', 'timestamp': T3})

        self.assertEqual(Outcome.DONE, self.plugin().notify(msg))

        self.assertEqual([('GET', f'{ALARMS}/a-1'), ('PUT', f'{ALARMS}/a-1')], self.calls())
        self.assertEqual(description('deactivate', T3), self.body(1)['description'])

    def test_deactivate_finds_the_alarm_by_name_and_vitrage_id(self) -> None:
        other = mirror('b-2', vitrage_id='v-other')
        self.list_answers([other, mirror()])
        self.http.put(f'{ALARMS}/a-1', json={})

        self.assertEqual(Outcome.DONE, self.plugin().notify(deactivate()))

        self.assertEqual([('GET', by_name()), ('PUT', f'{ALARMS}/a-1')], self.calls())
        self.assertEqual('ok', self.body(1)['state'])

    def test_deactivate_without_an_alarm_creates_it_in_state_ok(self) -> None:
        tombstone = {**mirror(state='ok', kind='deactivate', at=T3, severity='low')}
        self.list_answers([], [tombstone])
        self.http.post(ALARMS, json=tombstone, status_code=201)

        self.assertEqual(Outcome.DONE, self.plugin().notify(deactivate()))

        self.assertEqual([('GET', by_name()), ('POST', ALARMS), ('GET', by_name())],
                         self.calls())
        self.assertEqual(('ok', 'low'), (self.body(1)['state'], self.body(1)['severity']))

    def test_deactivate_of_an_unknown_id_without_a_name_does_nothing(self) -> None:
        self.http.get(f'{ALARMS}/gone', status_code=404)
        msg = Message(DEACTIVATE, {'id': 'gone', 'vitrage_id': 'v-1', 'timestamp': T3})

        self.assertEqual(Outcome.DONE, self.plugin().notify(msg))

        self.assertEqual([('GET', f'{ALARMS}/gone')], self.calls())

    def test_deactivate_action_delete_deletes_the_alarm(self) -> None:
        self.list_answers([mirror()])
        self.http.delete(f'{ALARMS}/a-1', status_code=204)

        self.assertEqual(Outcome.DONE,
                         self.plugin(deactivate_action='delete').notify(deactivate()))

        self.assertEqual([('GET', by_name()), ('GET', by_name()),
                          ('DELETE', f'{ALARMS}/a-1')], self.calls())

    def test_deactivate_action_delete_reads_even_a_known_alarm(self) -> None:
        plugin = self.plugin(deactivate_action='delete')
        self.known(plugin)
        self.http.get(f'{ALARMS}/a-1', json=mirror())
        self.http.delete(f'{ALARMS}/a-1', status_code=204)

        self.assertEqual(Outcome.DONE, plugin.notify(deactivate()))

        self.assertEqual([('GET', f'{ALARMS}/a-1'), ('GET', by_name()),
                          ('DELETE', f'{ALARMS}/a-1')], self.calls())

    def test_deactivate_action_delete_leaves_an_alarm_holding_a_newer_message(self) -> None:
        self.list_answers([mirror(at=T9)])

        self.assertEqual(Outcome.DONE,
                         self.plugin(deactivate_action='delete').notify(deactivate()))

        self.assertEqual([('GET', by_name())], self.calls())

    def test_deactivate_never_deletes_an_alarm_it_did_not_create(self) -> None:
        self.http.get(f'{ALARMS}/x-1', json=foreign())
        self.http.put(f'{ALARMS}/x-1/state', json='ok')

        self.plugin(deactivate_action='delete').notify(deactivate(id='x-1'))

        self.assertEqual([('GET', f'{ALARMS}/x-1'), ('PUT', f'{ALARMS}/x-1/state')],
                         self.calls())
        self.assertEqual('ok', self.body(1))

    # -- ordering -----------------------------------------------------------

    def test_an_older_activate_after_a_deactivate_changes_nothing(self) -> None:
        self.list_answers([mirror(state='ok', kind='deactivate', at=T3)])

        self.assertEqual(Outcome.DONE, self.plugin().notify(activate(timestamp=T2)))

        self.assertEqual([('GET', by_name())], self.calls())

    def test_the_same_time_is_ordered_by_sequence(self) -> None:
        self.list_answers([mirror(state='ok', kind='deactivate', at=T2)])
        self.http.put(f'{ALARMS}/a-1', json={})

        self.plugin().notify(activate(timestamp=T2, sequence=1))

        self.assertEqual(('PUT', f'{ALARMS}/a-1'), self.calls()[1])
        self.assertTrue(self.body(1)['description'].endswith(f'at {T2}, sequence 1.'))

    def test_within_a_process_an_older_message_after_a_newer_one_makes_no_call(self) -> None:
        self.list_answers([], [mirror(state='ok', kind='deactivate', at=T3)])
        self.http.post(ALARMS, json=mirror(state='ok', kind='deactivate', at=T3),
                       status_code=201)
        plugin = self.plugin()
        plugin.notify(deactivate())

        self.assertEqual(Outcome.DONE, plugin.notify(activate(timestamp=T2)))

        self.assertEqual(3, len(self.calls()))

    def test_the_envelope_timestamp_orders_a_payload_without_one(self) -> None:
        self.list_answers([mirror(state='ok', kind='deactivate', at=T3)])
        self.http.put(f'{ALARMS}/a-1', json={})

        self.plugin().notify(activate(timestamp=None))

        self.assertTrue(self.body(1)['description'].endswith(
            'activate at 2024-05-01T12:00:05.000000Z, sequence 0.'))

    # -- races with another notifier process ----------------------------

    def test_after_a_create_a_duplicate_made_concurrently_is_deleted(self) -> None:
        ours = {**mirror(at=T2), 'alarm_id': 'new-1'}
        theirs = mirror('old-1', at=T2, created='2024-05-01T10:00:00Z')
        self.list_answers([], [ours, theirs])
        self.http.post(ALARMS, json=ours, status_code=201)
        self.http.delete(f'{ALARMS}/new-1', status_code=204)

        self.assertEqual(Outcome.DONE, self.plugin().notify(activate()))

        self.assertEqual([('GET', by_name()), ('POST', ALARMS), ('GET', by_name()),
                          ('DELETE', f'{ALARMS}/new-1')], self.calls())

    def test_the_survivor_of_duplicates_gets_our_newer_state(self) -> None:
        ours = {**mirror(state='ok', kind='deactivate', at=T3), 'alarm_id': 'new-1'}
        theirs = mirror('old-1', at=T2, created='2024-05-01T10:00:00Z')
        self.list_answers([], [ours, theirs])
        self.http.post(ALARMS, json=ours, status_code=201)
        self.http.delete(f'{ALARMS}/new-1', status_code=204)
        self.http.put(f'{ALARMS}/old-1', json={})

        self.assertEqual(Outcome.DONE, self.plugin().notify(deactivate()))

        self.assertEqual([('GET', by_name()), ('POST', ALARMS), ('GET', by_name()),
                          ('DELETE', f'{ALARMS}/new-1'), ('PUT', f'{ALARMS}/old-1')],
                         self.calls())
        self.assertEqual('ok', self.body(4)['state'])
        self.assertIn('Created 2024-05-01T10:00:00.000000Z;', self.body(4)['description'])

    def test_an_alarm_deleted_while_being_updated_is_looked_up_again(self) -> None:
        tombstone = mirror('new-1', state='ok', kind='deactivate', at=T3)
        self.list_answers([mirror()], [], [tombstone])
        self.http.put(f'{ALARMS}/a-1', status_code=404)
        self.http.post(ALARMS, json=tombstone, status_code=201)

        self.assertEqual(Outcome.DONE, self.plugin().notify(deactivate()))

        self.assertEqual([('GET', by_name()), ('PUT', f'{ALARMS}/a-1'), ('GET', by_name()),
                          ('POST', ALARMS), ('GET', by_name())], self.calls())

    # -- failures -----------------------------------------------------------

    def test_a_refused_create_is_rejected_with_aodhs_message(self) -> None:
        self.list_answers([])
        self.http.post(ALARMS, status_code=400, json={'error_message': {
            'faultstring': 'Alarm quota exceeded for user u on project p'}})

        self.assertEqual(Outcome.REJECT, self.plugin(
            new_test_config({'http': {'retries': 2, 'retry_backoff': 0.0}})).notify(activate()))

        self.assertEqual([('GET', by_name()), ('POST', ALARMS)], self.calls())  # no retry
        self.assertIn('Alarm quota exceeded for user u on project p', self.logs.output)

    def test_a_refused_update_is_not_retried_and_is_rejected_with_aodhs_message(self) -> None:
        self.http.get(f'{ALARMS}/a-1', json=mirror())
        self.http.put(f'{ALARMS}/a-1', status_code=400, json={'error_message': {
            'faultstring': 'Alarm incorrect'}})
        conf = new_test_config({'http': {'retries': 2, 'retry_backoff': 0.0}})

        self.assertEqual(Outcome.REJECT, self.plugin(conf).notify(deactivate(id='a-1')))

        self.assertEqual([('GET', f'{ALARMS}/a-1'), ('PUT', f'{ALARMS}/a-1')], self.calls())
        self.assertIn('Alarm incorrect', self.logs.output)

    def test_a_transient_error_is_retried_by_the_http_layer(self) -> None:
        created = {**mirror(at=T2), 'alarm_id': 'new-1'}
        self.http.get(by_name(), [{'status_code': 503}, {'json': []}, {'json': [created]}],
                      complete_qs=True)
        self.http.post(ALARMS, json=created, status_code=201)
        conf = new_test_config({'http': {'retries': 1, 'retry_backoff': 0.0}})

        self.assertEqual(Outcome.DONE, self.plugin(conf).notify(activate()))

        self.assertEqual([('GET', by_name()), ('GET', by_name()), ('POST', ALARMS),
                          ('GET', by_name())], self.calls())

    def test_a_server_error_is_retried(self) -> None:
        self.http.get(by_name(), status_code=503, complete_qs=True)

        self.assertEqual(Outcome.RETRY, self.plugin().notify(activate()))

    def test_a_failed_create_is_retried_and_the_retry_finds_what_it_made(self) -> None:
        created = {**mirror(at=T2), 'alarm_id': 'new-1'}
        self.list_answers([], [created])
        self.http.post(ALARMS, [{'status_code': 502}])
        plugin = self.plugin()

        self.assertEqual(Outcome.RETRY, plugin.notify(activate()))
        self.assertEqual(Outcome.DONE, plugin.notify(activate()))

        self.assertEqual([('GET', by_name()), ('POST', ALARMS), ('GET', by_name())],
                         self.calls())

    def test_a_malformed_message_is_rejected_without_a_call(self) -> None:
        msg = Message(ACTIVATE, {'vitrage_id': 'v-1', 'name': 'x', 'timestamp': T1,
                                 'affected_resource_id': 'h'})

        self.assertEqual(Outcome.REJECT, self.plugin().notify(msg))

        self.assertEqual([], self.calls())
        self.assertIn("invalid 'severity': required", self.logs.output)

    def test_other_event_types_are_ignored(self) -> None:
        self.assertEqual(Outcome.DONE,
                         self.plugin().notify(Message('vitrage.other', {'vitrage_id': 'v'})))
        self.assertEqual([], self.calls())

    # -- names that look like query syntax ------------------------------

    def test_names_with_query_syntax_give_exactly_one_name_item(self) -> None:
        name = 'a&q.field=project_id&q.value=x "quoted" \'single\' = %20'
        resource = 'r?x=1&y=#2'
        aodh_name = f'{name}_{resource}'
        self.list_answers([], [], name=aodh_name)
        self.http.post(ALARMS, json=mirror('n-1', name=aodh_name), status_code=201)

        self.plugin().notify(activate(name=name, affected_resource_id=resource))

        query = urllib.parse.parse_qsl(urllib.parse.urlsplit(
            self.http.request_history[0].url).query, keep_blank_values=True)
        self.assertEqual([('q.field', 'name'), ('q.op', 'eq'), ('q.value', aodh_name),
                          ('limit', '1000')], query)
        self.assertEqual(aodh_name, self.body(1)['name'])
        self.assertEqual(resource, self.body(1)['event_rule']['query'][0]['value'])

    def test_a_long_name_is_sent_whole(self) -> None:
        name = 'n' * 255
        resource = 'r' * 255
        aodh_name = f'{name}_{resource}'
        self.list_answers([], [], name=aodh_name)
        self.http.post(ALARMS, json=mirror('n-1', name=aodh_name), status_code=201)

        self.plugin().notify(activate(name=name, affected_resource_id=resource))

        self.assertEqual(aodh_name, self.body(1)['name'])

    def test_an_aodh_id_is_quoted_into_the_path(self) -> None:
        self.http.get(f'{ALARMS}/a.b_c-1', json=foreign('a.b_c-1'))
        self.http.put(f'{ALARMS}/a.b_c-1/state', json='alarm')

        self.plugin().notify(activate(aodh_alarm_id='a.b_c-1'))

        self.assertEqual(('PUT', f'{ALARMS}/a.b_c-1/state'), self.calls()[1])


GRAPH_ID = GRAPH_ACTIVATION['vitrage_id']


def envelope(timestamp: str, message_id: str = 'm-g') -> dict[str, str]:
    """A bus envelope as oslo.messaging writes it."""
    return {'message_id': message_id, 'timestamp': timestamp}


class MessageShapesTest(_AodhCallsTest):
    """Every shape a sender uses gives the same Aodh alarm, exactly once."""

    def test_a_vitrage_graph_activate_creates_the_alarm_of_its_resource(self) -> None:
        created = {**mirror(at='2024-05-01T12:00:04.500000Z', vitrage_id=GRAPH_ID),
                   'alarm_id': 'new-1'}
        self.list_answers([], [created])
        self.http.post(ALARMS, json=created, status_code=201)
        msg = Message(ACTIVATE, GRAPH_ACTIVATION, envelope('2024-05-01 12:00:04.500000'))

        self.assertEqual(Outcome.DONE, self.plugin().notify(msg))

        self.assertEqual([('GET', by_name()), ('POST', ALARMS), ('GET', by_name())],
                         self.calls())
        body = self.body(1)
        self.assertEqual(('cpu high_host-1', 'event', 'alarm', 'critical'),
                         (body['name'], body['type'], body['state'], body['severity']))
        self.assertEqual([
            {'field': 'resource_id', 'op': 'eq', 'type': 'string', 'value': 'host-1'},
            {'field': 'vitrage_id', 'op': 'eq', 'type': 'string', 'value': GRAPH_ID}],
            body['event_rule']['query'])
        self.assertTrue(body['description'].endswith(
            'activate at 2024-05-01T12:00:04.500000Z, sequence 0.'), body['description'])

    def test_a_vitrage_graph_deactivate_sets_the_alarm_to_ok(self) -> None:
        self.list_answers([mirror(vitrage_id=GRAPH_ID)])
        self.http.put(f'{ALARMS}/a-1', json={})
        msg = Message(DEACTIVATE, GRAPH_DEACTIVATION, envelope('2024-05-01 12:00:04.6'))

        self.assertEqual(Outcome.DONE, self.plugin().notify(msg))

        self.assertEqual([('GET', by_name()), ('PUT', f'{ALARMS}/a-1')], self.calls())
        self.assertEqual('ok', self.body(1)['state'])

    def test_the_seeds_activate_without_vitrage_id_queries_the_resource_only(self) -> None:
        seed = Message(ACTIVATE, {'name': 'cpu high', 'severity': 'CRITICAL',
                                  'affected_resource_id': 'host-1'}, envelope(T2))
        created = _without_vitrage_id(mirror(at=T2))
        self.list_answers([], [created])
        self.http.post(ALARMS, json=created, status_code=201)

        self.assertEqual(Outcome.DONE, self.plugin().notify(seed))

        body = self.body(1)
        self.assertEqual('cpu high_host-1', body['name'])
        self.assertEqual([{'field': 'resource_id', 'op': 'eq', 'type': 'string',
                           'value': 'host-1'}], body['event_rule']['query'])
        self.assertTrue(body['description'].startswith(
            'Deduced by Vitrage from alarm "cpu high" on resource host-1. Created'),
            body['description'])

    def test_another_process_finds_the_alarm_of_an_activate_without_vitrage_id(
            self) -> None:
        seed = Message(ACTIVATE, {'name': 'cpu high', 'severity': 'CRITICAL',
                                  'affected_resource_id': 'host-1'}, envelope(T2))
        self.list_answers([_without_vitrage_id(mirror(at=T1)), mirror('b-2')])
        self.http.put(f'{ALARMS}/a-1', json={})

        self.assertEqual(Outcome.DONE, self.plugin().notify(seed))

        # The alarm of vitrage_id v-1 is another deduced alarm's: left alone.
        self.assertEqual([('GET', by_name()), ('PUT', f'{ALARMS}/a-1')], self.calls())

    def test_an_alarm_named_alike_but_made_by_hand_is_not_adopted(self) -> None:
        seed = Message(ACTIVATE, {'name': 'cpu high', 'severity': 'CRITICAL',
                                  'affected_resource_id': 'host-1'}, envelope(T2))
        by_hand = {**_without_vitrage_id(mirror('h-1')), 'description': 'by hand'}
        created = {**_without_vitrage_id(mirror(at=T2)), 'alarm_id': 'new-1'}
        self.list_answers([by_hand], [by_hand, created])
        self.http.post(ALARMS, json=created, status_code=201)

        self.assertEqual(Outcome.DONE, self.plugin().notify(seed))

        self.assertEqual([('GET', by_name()), ('POST', ALARMS), ('GET', by_name())],
                         self.calls())

    def test_the_seeds_id_only_deactivate_writes_state_and_order_to_our_alarm(
            self) -> None:
        self.http.get(f'{ALARMS}/a-1', json=mirror())
        self.http.put(f'{ALARMS}/a-1', json={})

        self.assertEqual(Outcome.DONE, self.plugin().notify(
            Message(DEACTIVATE, {'id': 'a-1'}, envelope(T3))))

        self.assertEqual([('GET', f'{ALARMS}/a-1'), ('PUT', f'{ALARMS}/a-1')], self.calls())
        self.assertEqual(('ok', description('deactivate', T3)),
                         (self.body(1)['state'], self.body(1)['description']))

    def test_the_seeds_id_only_deactivate_of_an_alarm_not_ours_sets_its_state(
            self) -> None:
        self.http.get(f'{ALARMS}/x-1', json=foreign())
        self.http.put(f'{ALARMS}/x-1/state', json='ok')

        self.assertEqual(Outcome.DONE, self.plugin().notify(
            Message(DEACTIVATE, {'id': 'x-1'}, envelope(T3))))

        self.assertEqual([('GET', f'{ALARMS}/x-1'), ('PUT', f'{ALARMS}/x-1/state')],
                         self.calls())

    def test_other_vitrage_event_types_are_acknowledged_with_one_debug_line(self) -> None:
        debug = self.useFixture(fixtures.FakeLogger(level=logging.DEBUG))
        plugin = self.plugin()
        for event_type in ('vitrage.alarm.activate', 'vitrage.alarm.deactivate',
                           'vitrage.mark_down.activate', 'something.unknown'):
            self.assertEqual(Outcome.DONE, plugin.notify(
                Message(event_type, GRAPH_ACTIVATION, envelope(T2))))

        self.assertEqual([], self.calls())
        lines = [line for line in debug.output.splitlines()
                 if 'not a deduced-alarm message' in line]
        self.assertEqual(4, len(lines), debug.output)
        self.assertEqual('', self.logs.output)  # nothing at INFO or above

    def test_log_lines_escape_what_came_from_the_bus(self) -> None:
        forged = '\nCRITICAL forged line'
        plugin = self.plugin()

        plugin.notify(Message(ACTIVATE, {'name': 'x'}, envelope(T2, f'm{forged}')))
        plugin.notify(Message(ACTIVATE, {**GRAPH_ACTIVATION, 'severity': f'bad{forged}'},
                              envelope(T2)))

        self.assertIn('CRITICAL forged line', self.logs.output)
        self.assertEqual([], [line for line in self.logs.output.splitlines()
                              if line.startswith('CRITICAL')])


class FutureMessagesTest(_AodhCallsTest):
    """A message dated beyond the clock plus max_clock_skew changes nothing."""

    def test_a_message_dated_beyond_the_skew_is_rejected_without_a_call(self) -> None:
        ahead = '2024-05-01T12:05:06Z'  # NOW + 301 s

        self.assertEqual(Outcome.REJECT, self.plugin().notify(activate(timestamp=ahead)))

        self.assertEqual([], self.calls())
        self.assertIn('more than max_clock_skew (300 s) ahead', self.logs.output)

    def test_a_message_dated_within_the_skew_is_applied(self) -> None:
        self.list_answers([mirror()])
        self.http.put(f'{ALARMS}/a-1', json={})

        self.assertEqual(Outcome.DONE, self.plugin().notify(
            deactivate(timestamp='2024-05-01T12:05:04Z')))  # NOW + 299 s

        self.assertEqual('ok', self.body(1)['state'])

    def test_the_skew_is_configurable(self) -> None:
        self.assertEqual(Outcome.REJECT, self.plugin(max_clock_skew=10).notify(
            activate(timestamp='2024-05-01T12:00:16Z')))

    def test_an_activate_dated_9000_does_not_silence_a_later_deactivate(self) -> None:
        self.http.put(f'{ALARMS}/a-1', json={})
        plugin = self.plugin()
        self.known(plugin)

        self.assertEqual(Outcome.REJECT, plugin.notify(
            activate(timestamp='9000-01-01T00:00:00Z', sequence=1)))
        self.assertEqual(Outcome.DONE, plugin.notify(deactivate()))

        self.assertEqual([('PUT', f'{ALARMS}/a-1')], self.calls())
        self.assertEqual(('ok', description('deactivate', T3)),
                         (self.body(0)['state'], self.body(0)['description']))

    def test_an_alarm_already_holding_a_change_from_the_future_is_corrected(self) -> None:
        self.list_answers([mirror(at='9000-01-01T00:00:00.000000Z')])
        self.http.put(f'{ALARMS}/a-1', json={})

        self.assertEqual(Outcome.DONE, self.plugin().notify(deactivate()))

        self.assertEqual([('GET', by_name()), ('PUT', f'{ALARMS}/a-1')], self.calls())
        self.assertEqual(('ok', description('deactivate', T3)),
                         (self.body(1)['state'], self.body(1)['description']))
        self.assertIn('holds a change dated 9000-01-01T00:00:00.000000Z, more than '
                      'max_clock_skew ahead', self.logs.output)

    def test_a_change_within_the_skew_still_wins_over_an_older_message(self) -> None:
        self.list_answers([mirror(state='ok', kind='deactivate', at='2024-05-01T12:04:00Z')])

        self.assertEqual(Outcome.DONE, self.plugin().notify(activate()))

        self.assertEqual([('GET', by_name())], self.calls())

    def test_a_time_near_year_9999_is_rejected_as_invalid(self) -> None:
        plugin = self.plugin()
        for msg in (activate(timestamp='9999-12-31T23:59:59.999999Z'),
                    Message(ACTIVATE, {**GRAPH_ACTIVATION,
                                       'update_timestamp': '9999-12-31T23:59:59Z'},
                            envelope(T2))):
            self.assertEqual(Outcome.REJECT, plugin.notify(msg))

        self.assertEqual([], self.calls())
        self.assertIn("invalid 'timestamp'", self.logs.output)
        self.assertIn("invalid 'update_timestamp'", self.logs.output)


def _without_vitrage_id(alarm: dict[str, Any]) -> dict[str, Any]:
    """``alarm`` as created from a message without a vitrage_id."""
    rule = alarm['event_rule']
    return {**alarm,
            'description': alarm['description'].replace(' (vitrage_id v-1)', ''),
            'event_rule': {**rule, 'query': [q for q in rule['query']
                                             if q['field'] != 'vitrage_id']}}


class AodhVerificationTest(_AodhCallsTest):
    """What the verification rounds and close() ask Aodh after the writes."""

    def test_a_write_is_checked_by_name_verify_interval_later(self) -> None:
        plugin = self.plugin()
        self.written(plugin)
        self.list_answers([mirror(state='ok', kind='deactivate', at=T3)])
        self.clock.advance(INTERVAL)

        plugin.verify()

        self.assertEqual([('GET', by_name())], self.calls())

    def test_no_check_before_verify_interval_has_passed(self) -> None:
        plugin = self.plugin()
        self.written(plugin)
        self.clock.advance(INTERVAL / 2)

        plugin.verify()

        self.assertEqual([], self.calls())

    def test_a_checked_write_is_not_checked_again_until_its_final_check(self) -> None:
        plugin = self.plugin()
        self.written(plugin)
        self.list_answers([mirror(state='ok', kind='deactivate', at=T3)])
        self.clock.advance(INTERVAL)
        plugin.verify()
        self.forget_calls()

        self.clock.advance(2 * INTERVAL)
        plugin.verify()

        self.assertEqual([], self.calls())

    def test_the_final_check_comes_reorder_window_after_the_message_time(self) -> None:
        plugin = self.plugin()
        self.written(plugin)  # deactivate at T3
        self.list_answers([mirror(state='ok', kind='deactivate', at=T3)])
        self.clock.advance(INTERVAL)
        plugin.verify()
        self.forget_calls()
        # due at T3 + reorder_window + verify_interval = 12:00:14
        self.clock.advance(7.5)
        plugin.verify()
        self.assertEqual([], self.calls())

        self.clock.advance(0.5)
        plugin.verify()

        self.assertEqual([('GET', by_name())], self.calls())

    def test_the_write_of_a_late_message_has_its_final_check_first(self) -> None:
        plugin = self.plugin()
        self.known(plugin)
        self.http.get(f'{ALARMS}/a-1', json=mirror())
        self.http.put(f'{ALARMS}/a-1', json={})
        self.clock.advance(WINDOW)
        plugin.notify(deactivate())  # read first: T3 is too old to write blind
        self.list_answers([mirror(state='ok', kind='deactivate', at=T3)])
        self.forget_calls()
        self.clock.advance(INTERVAL)
        plugin.verify()

        plugin.close()

        self.assertEqual([('GET', by_name())], self.calls())
        self.assertEqual([], self.clock.slept)

    def test_after_its_final_check_a_write_is_forgotten(self) -> None:
        plugin = self.plugin()
        self.written(plugin)
        self.list_answers([mirror(state='ok', kind='deactivate', at=T3)])
        self.clock.advance(WINDOW + 2 * INTERVAL)
        plugin.verify()
        self.forget_calls()

        self.clock.advance(WINDOW)
        plugin.verify()
        plugin.close()

        self.assertEqual([], self.calls())

    def test_an_older_state_written_over_ours_is_written_again(self) -> None:
        plugin = self.plugin()
        self.written(plugin)  # ok at T3
        self.list_answers([mirror(at=T2)])  # another process wrote an older activate
        self.http.put(f'{ALARMS}/a-1', json={})
        self.clock.advance(INTERVAL)

        plugin.verify()

        self.assertEqual([('GET', by_name()), ('PUT', f'{ALARMS}/a-1')], self.calls())
        self.assertEqual(('ok', description('deactivate', T3)),
                         (self.body(1)['state'], self.body(1)['description']))
        self.assertIn('Aodh alarm a-1 of deduced alarm v-1 holds Order(', self.logs.output)
        self.assertIn('written by this process: writing it again', self.logs.output)

    def test_a_repaired_write_is_checked_again(self) -> None:
        plugin = self.plugin()
        self.written(plugin)
        self.list_answers([mirror(at=T2)], [mirror(state='ok', kind='deactivate', at=T3)])
        self.http.put(f'{ALARMS}/a-1', json={})
        self.clock.advance(INTERVAL)
        plugin.verify()
        self.clock.advance(INTERVAL)

        plugin.verify()

        self.assertEqual([('GET', by_name()), ('PUT', f'{ALARMS}/a-1'), ('GET', by_name())],
                         self.calls())

    def test_an_alarm_overwritten_again_and_again_is_given_up_on(self) -> None:
        plugin = self.plugin()
        self.written(plugin)
        self.list_answers([mirror(at=T2)])
        self.http.put(f'{ALARMS}/a-1', json={})
        for _round in range(5):
            self.clock.advance(INTERVAL)
            plugin.verify()

        self.assertEqual([('GET', by_name()), ('PUT', f'{ALARMS}/a-1')] * 3
                         + [('GET', by_name())], self.calls())
        self.assertIn('was overwritten with an older state 3 times; no longer verifying it',
                      self.logs.output)

    def test_a_duplicate_found_by_a_check_is_deleted(self) -> None:
        plugin = self.plugin()
        self.written(plugin)
        ours = mirror(state='ok', kind='deactivate', at=T3)
        newer_copy = mirror('b-9', state='ok', kind='deactivate', at=T3,
                            created='2024-05-01T11:30:00Z')
        self.list_answers([newer_copy, ours])
        self.http.delete(f'{ALARMS}/b-9', status_code=204)
        self.clock.advance(INTERVAL)

        plugin.verify()

        self.assertEqual([('GET', by_name()), ('DELETE', f'{ALARMS}/b-9')], self.calls())

    def test_a_newer_state_written_by_another_process_is_remembered(self) -> None:
        plugin = self.plugin()
        self.written(plugin)  # ok at T3
        self.list_answers([mirror(at=T9)])
        self.clock.advance(INTERVAL)
        plugin.verify()
        self.forget_calls()

        self.assertEqual(Outcome.DONE, plugin.notify(deactivate(timestamp=T9)))

        self.assertEqual([], self.calls())

    def test_a_deleted_alarm_is_forgotten_and_read_again_next_time(self) -> None:
        plugin = self.plugin()
        self.written(plugin)
        self.list_answers([])
        self.clock.advance(INTERVAL)
        plugin.verify()
        self.assertIn('the Aodh alarm of deduced alarm v-1 was deleted', self.logs.output)
        self.http.post(ALARMS, json=mirror(at=T9), status_code=201)

        plugin.notify(activate(timestamp=T9))

        self.assertEqual([('GET', by_name()), ('GET', by_name()), ('POST', ALARMS),
                          ('GET', by_name())], self.calls())

    def test_many_due_writes_are_checked_with_one_listing_of_the_event_alarms(self) -> None:
        plugin = self.plugin()
        alarms = [mirror(f'a-{n}', vitrage_id=f'v-{n}', name=f'cpu high_host-{n}',
                         at='2024-05-01T12:00:00Z') for n in range(3)]
        self.http.put(requests_mock.ANY, json={})
        for n, alarm in enumerate(alarms):
            self.known(plugin, alarm, activate(vitrage_id=f'v-{n}', affected_resource_id=
                                               f'host-{n}', timestamp=T1))
        for n in range(3):
            plugin.notify(deactivate(vitrage_id=f'v-{n}', affected_resource_id=f'host-{n}'))
        written = [{**a, 'description': description('deactivate', T3, vitrage_id=a[
            'event_rule']['query'][1]['value']), 'state': 'ok'} for a in alarms]
        self.http.get(event_alarms(), json=written, complete_qs=True)
        self.http.get(event_alarms('a-2'), json=[], complete_qs=True)
        self.forget_calls()
        self.clock.advance(INTERVAL)

        plugin.verify()

        self.assertEqual([('GET', event_alarms()), ('GET', event_alarms('a-2'))],
                         self.calls())

    def test_a_failed_round_is_logged_and_tried_again(self) -> None:
        plugin = self.plugin()
        self.written(plugin)
        self.http.get(by_name(), [{'status_code': 503}, {'json': [mirror(
            state='ok', kind='deactivate', at=T3)]}], complete_qs=True)
        self.clock.advance(INTERVAL)
        plugin.verify()
        self.assertIn('verifying the Aodh alarms this process wrote failed, will try again',
                      self.logs.output)

        self.clock.advance(INTERVAL)
        plugin.verify()

        self.assertEqual([('GET', by_name())] * 2, self.calls())
        self.forget_calls()
        plugin.close()
        self.assertEqual([('GET', by_name())] * 2, self.calls())  # now and at the final check

    def test_close_checks_at_once_and_again_when_the_final_check_is_due(self) -> None:
        plugin = self.plugin()
        self.written(plugin)
        self.list_answers([mirror(state='ok', kind='deactivate', at=T3)])

        plugin.close()

        self.assertEqual([('GET', by_name())] * 2, self.calls())
        self.assertEqual(parse('2024-05-01T12:00:14Z'), self.clock.time())

    def test_close_without_writes_makes_no_request(self) -> None:
        plugin = self.plugin()
        self.known(plugin)

        plugin.close()

        self.assertEqual([], self.calls())
        self.assertEqual([], self.clock.slept)

    def test_close_gives_up_after_the_longest_wait_and_says_so(self) -> None:
        plugin = self.plugin(max_clock_skew=7200)
        self.written(plugin, deactivate(timestamp='2024-05-01T13:00:00Z'))  # an hour ahead
        self.list_answers([mirror(state='ok', kind='deactivate', at='2024-05-01T13:00:00Z')])

        plugin.close()

        self.assertEqual(parse(NOW) + WINDOW + 2 * INTERVAL, self.clock.time())
        self.assertIn('closing with 1 Aodh alarms written whose final check could not be '
                      'made', self.logs.output)

    def test_close_tries_a_failed_final_round_again(self) -> None:
        plugin = self.plugin()
        self.written(plugin)
        ok = mirror(state='ok', kind='deactivate', at=T3)
        self.http.get(by_name(), [{'json': [ok]}, {'status_code': 503},
                                  {'status_code': 503}, {'json': [ok]}], complete_qs=True)

        plugin.close()

        self.assertEqual([('GET', by_name())] * 4, self.calls())
        self.assertEqual([9.0, 1.0, 1.0], self.clock.slept)  # to 12:00:14, then retries
        self.assertNotIn('closing with', self.logs.output)

    def test_a_background_thread_verifies_and_close_stops_it(self) -> None:
        clock = self.clock

        class Background(AodhNotifier):
            def __init__(self, context: PluginContext) -> None:
                super().__init__(context, sleep=clock.sleep, clock=clock.time)

        plugin = construct_plugin(Background, 'notifier', name='aodh', options={
            'endpoint_override': AODH, 'verify_interval': 0.01})
        self.addCleanup(plugin.close)
        self.written(plugin)
        self.list_answers([mirror(state='ok', kind='deactivate', at=T3)])
        self.clock.advance(INTERVAL)

        deadline = time.monotonic() + 30
        while not self.calls() and time.monotonic() < deadline:
            time.sleep(0.01)
        self.assertEqual([('GET', by_name())], self.calls())
        plugin.close()
        self.assertEqual([], [t.name for t in threading.enumerate()
                              if t.name == 'notifier.aodh verifier'])


def parse(when: str) -> float:
    seconds = parse_time(when)
    assert seconds is not None
    return seconds

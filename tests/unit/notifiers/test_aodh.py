"""The Aodh notifier, call by call: what it asks Aodh for each deduced-alarm message."""

from __future__ import annotations

import json
import logging
import urllib.parse
from typing import Any

import fixtures
import testtools
from requests_mock.contrib import fixture as rm_fixture

from vitrage_ds.deduced import ACTIVATE, DEACTIVATE
from vitrage_ds.errors import PluginLoadError
from vitrage_ds.notifier import Message, Outcome
from vitrage_ds.testing import load_plugin

AODH = 'http://aodh.test/aodh'
ALARMS = f'{AODH}/v2/alarms'
T1 = '2024-05-01T12:00:01.000000Z'
T2 = '2024-05-01T12:00:02.000000Z'
T3 = '2024-05-01T12:00:03.000000Z'
CREATED = '2024-05-01T11:00:00.000000Z'


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


class AodhNotifierTest(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.http = self.useFixture(rm_fixture.Fixture())
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.INFO))

    def plugin(self, **options: Any) -> Any:
        options = {'endpoint_override': AODH, 'verify_delay': 0.0, **options}
        plugin = load_plugin('notifier', 'aodh', options=options)
        self.addCleanup(plugin.close)
        return plugin

    # -- registering and reading calls -----------------------------------

    def list_answers(self, *answers: list[dict[str, Any]], name: str = 'cpu high_host-1'
                     ) -> None:
        """Successive answers of the listing by ``name``."""
        self.http.get(by_name(name), [{'json': a} for a in answers], complete_qs=True)

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.url) for r in self.http.request_history]

    def body(self, index: int) -> Any:
        return json.loads(self.http.request_history[index].text)

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

    def test_severity_is_mapped_in_any_case(self) -> None:
        for given, expected in (('Critical', 'critical'), ('SEVERE', 'moderate'),
                                ('warning', 'low'), ('MODERATE', 'moderate'),
                                ('low', 'low')):
            self.assertEqual(expected, self.plugin().aodh_severity(given), given)

    def test_unknown_severity_becomes_low_and_is_logged(self) -> None:
        self.assertEqual('low', self.plugin().aodh_severity('apocalyptic'))
        self.assertIn("severity 'apocalyptic' is not in [notifier.aodh] severity_map",
                      self.logs.output)

    def test_severity_map_can_be_configured(self) -> None:
        plugin = self.plugin(severity_map={'Warning': 'Moderate'})
        self.assertEqual('moderate', plugin.aodh_severity('WARNING'))

    def test_a_severity_map_to_an_unknown_aodh_severity_fails_at_load(self) -> None:
        error = self.assertRaises(PluginLoadError, self.plugin,
                                  severity_map={'critical': 'urgent'})
        self.assertIn("'critical' maps to 'urgent'", str(error))

    def test_activate_updates_the_existing_alarm_found_by_name(self) -> None:
        existing = mirror(state='ok', kind='deactivate', at=T1, severity='low')
        self.list_answers([existing], [{**existing, 'description': description(
            'activate', T2), 'state': 'alarm'}])
        self.http.put(f'{ALARMS}/a-1', json={})

        self.assertEqual(Outcome.DONE, self.plugin().notify(activate()))

        self.assertEqual([('GET', by_name()), ('PUT', f'{ALARMS}/a-1'), ('GET', by_name())],
                         self.calls())
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
        self.list_answers([mirror(at=T2)])

        self.assertEqual(Outcome.DONE, self.plugin().notify(activate(aodh_alarm_id='a-1')))

        self.assertEqual([('GET', f'{ALARMS}/a-1'), ('PUT', f'{ALARMS}/a-1'),
                          ('GET', by_name())], self.calls())
        self.assertEqual('alarm', self.body(1)['state'])

    def test_activate_with_the_aodh_id_of_another_alarm_only_sets_its_state(self) -> None:
        self.http.get(f'{ALARMS}/x-1', json=foreign())
        self.http.put(f'{ALARMS}/x-1/state', json='alarm')

        self.assertEqual(Outcome.DONE, self.plugin().notify(activate(aodh_alarm_id='x-1')))

        self.assertEqual([('GET', f'{ALARMS}/x-1'), ('PUT', f'{ALARMS}/x-1/state')],
                         self.calls())
        self.assertEqual('alarm', self.body(1))

    def test_activate_with_an_unknown_aodh_id_falls_back_to_the_name(self) -> None:
        self.http.get(f'{ALARMS}/gone', status_code=404,
                      json={'error_message': {'faultstring': 'Alarm gone not found'}})
        created = {**mirror(at=T2), 'alarm_id': 'new-1'}
        self.list_answers([], [created])
        self.http.post(ALARMS, json=created, status_code=201)

        self.assertEqual(Outcome.DONE, self.plugin().notify(activate(aodh_alarm_id='gone')))

        self.assertEqual([('GET', f'{ALARMS}/gone'), ('GET', by_name()), ('POST', ALARMS),
                          ('GET', by_name())], self.calls())

    def test_a_known_alarm_is_read_by_id_next_time(self) -> None:
        created = {**mirror(at=T2), 'alarm_id': 'new-1'}
        ok = {**mirror(state='ok', kind='deactivate', at=T3), 'alarm_id': 'new-1'}
        self.list_answers([], [created], [ok])
        self.http.post(ALARMS, json=created, status_code=201)
        self.http.get(f'{ALARMS}/new-1', json=created)
        self.http.put(f'{ALARMS}/new-1', json={})
        plugin = self.plugin()
        plugin.notify(activate())

        self.assertEqual(Outcome.DONE, plugin.notify(deactivate()))

        self.assertEqual([('GET', f'{ALARMS}/new-1'), ('PUT', f'{ALARMS}/new-1'),
                          ('GET', by_name())], self.calls()[3:])

    # -- deactivate -------------------------------------------------------

    def test_deactivate_sets_ok_on_the_alarm_found_by_id(self) -> None:
        self.http.get(f'{ALARMS}/a-1', json=mirror())
        self.http.put(f'{ALARMS}/a-1', json={})
        self.list_answers([mirror(state='ok', kind='deactivate', at=T3)])

        self.assertEqual(Outcome.DONE, self.plugin().notify(deactivate(id='a-1')))

        self.assertEqual([('GET', f'{ALARMS}/a-1'), ('PUT', f'{ALARMS}/a-1'),
                          ('GET', by_name())], self.calls())
        body = self.body(1)
        self.assertEqual('ok', body['state'])
        self.assertEqual('critical', body['severity'])  # a deactivate keeps it
        self.assertEqual(description('deactivate', T3), body['description'])

    def test_deactivate_with_only_an_id_still_settles_by_the_alarm_name(self) -> None:
        self.http.get(f'{ALARMS}/a-1', json=mirror())
        self.http.put(f'{ALARMS}/a-1', json={})
        self.list_answers([mirror(state='ok', kind='deactivate', at=T3)])
        msg = Message(DEACTIVATE, {'id': 'a-1', 'vitrage_id': 'v-1', 'timestamp': T3})

        self.assertEqual(Outcome.DONE, self.plugin().notify(msg))

        self.assertEqual([('GET', f'{ALARMS}/a-1'), ('PUT', f'{ALARMS}/a-1'),
                          ('GET', by_name())], self.calls())
        self.assertEqual(description('deactivate', T3), self.body(1)['description'])

    def test_deactivate_finds_the_alarm_by_name_and_vitrage_id(self) -> None:
        other = mirror('b-2', vitrage_id='v-other')
        self.list_answers([other, mirror()], [other, mirror(state='ok', at=T3,
                                                            kind='deactivate')])
        self.http.put(f'{ALARMS}/a-1', json={})

        self.assertEqual(Outcome.DONE, self.plugin().notify(deactivate()))

        self.assertEqual([('GET', by_name()), ('PUT', f'{ALARMS}/a-1'), ('GET', by_name())],
                         self.calls())
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

    def test_deactivate_action_delete_leaves_an_alarm_holding_a_newer_message(self) -> None:
        self.list_answers([mirror(at='2024-05-01T12:00:09Z')])

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
        self.list_answers([mirror(state='ok', kind='deactivate', at=T2)],
                          [mirror(at=T2)])
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
        self.list_answers([mirror(state='ok', kind='deactivate', at=T3)],
                          [mirror(at='2024-05-01T12:00:05Z')])
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
        self.list_answers([], [ours, theirs], [{**theirs, 'description': description(
            'deactivate', T3, created='2024-05-01T10:00:00.000000Z')}])
        self.http.post(ALARMS, json=ours, status_code=201)
        self.http.delete(f'{ALARMS}/new-1', status_code=204)
        self.http.put(f'{ALARMS}/old-1', json={})

        self.assertEqual(Outcome.DONE, self.plugin().notify(deactivate()))

        self.assertEqual([('GET', by_name()), ('POST', ALARMS), ('GET', by_name()),
                          ('DELETE', f'{ALARMS}/new-1'), ('PUT', f'{ALARMS}/old-1'),
                          ('GET', by_name())], self.calls())
        self.assertEqual('ok', self.body(4)['state'])
        self.assertIn('Created 2024-05-01T10:00:00.000000Z;', self.body(4)['description'])

    def test_an_older_state_written_over_ours_is_repaired(self) -> None:
        self.list_answers([mirror(at=T1)],
                          [mirror(at=T1)],  # another process overwrote our deactivate
                          [mirror(state='ok', kind='deactivate', at=T3)])
        self.http.put(f'{ALARMS}/a-1', json={})

        self.assertEqual(Outcome.DONE, self.plugin().notify(deactivate()))

        self.assertEqual([('GET', by_name()), ('PUT', f'{ALARMS}/a-1'), ('GET', by_name()),
                          ('PUT', f'{ALARMS}/a-1'), ('GET', by_name())], self.calls())

    def test_an_alarm_that_never_settles_is_retried(self) -> None:
        self.list_answers([mirror(at=T1)])
        self.http.put(f'{ALARMS}/a-1', json={})

        self.assertEqual(Outcome.RETRY, self.plugin().notify(deactivate()))

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

        self.assertEqual(Outcome.REJECT, self.plugin().notify(activate()))

        self.assertIn('Alarm quota exceeded for user u on project p', self.logs.output)

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

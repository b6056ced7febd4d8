"""The Aodh notifier, call by call: what it asks Aodh for each deduced-alarm message."""

from __future__ import annotations

import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from tests.unit.notifiers.aodh_calls import (
    ALARMS,
    AODH,
    T1,
    T2,
    T3,
    T9,
    WINDOW,
    AodhCallsTest,
    activate,
    by_name,
    deactivate,
    description,
    foreign,
    mirror,
)
from vitrage_ds.deduced import ACTIVATE, DEACTIVATE
from vitrage_ds.errors import PluginLoadError
from vitrage_ds.notifier import Message, Outcome
from vitrage_ds.notifiers.aodh import AodhNotifier
from vitrage_ds_testing import construct_plugin, load_plugin, new_test_config


class AodhNotifierTest(AodhCallsTest):
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

        # Written to the survivor before the duplicate holding it is deleted.
        self.assertEqual([('GET', by_name()), ('POST', ALARMS), ('GET', by_name()),
                          ('PUT', f'{ALARMS}/old-1'), ('DELETE', f'{ALARMS}/new-1')],
                         self.calls())
        self.assertEqual('ok', self.body(3)['state'])
        self.assertIn('Created 2024-05-01T10:00:00.000000Z;', self.body(3)['description'])

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

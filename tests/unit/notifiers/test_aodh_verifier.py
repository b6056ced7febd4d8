"""The Aodh notifier's verifier, call by call: what its rounds ask Aodh after the writes."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import requests_mock

from tests.unit.notifiers.aodh_calls import (
    ALARMS,
    AODH,
    CREATED,
    INTERVAL,
    NOW,
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
    event_alarms,
    mirror,
    parse,
)
from vitrage_ds.notifier import Outcome
from vitrage_ds.notifiers.aodh import AodhNotifier
from vitrage_ds.plugin import PluginContext
from vitrage_ds_testing import construct_plugin


#: Aodh's complex query of alarm history: what a final check reads.
HISTORY = f'{AODH}/v2/query/alarms/history'


def change(event_id: str, when: str, kind: str = 'rule change', alarm_id: str = 'a-1',
           **detail: Any) -> dict[str, Any]:
    """An entry of an alarm's history, as Aodh answers one."""
    return {'event_id': event_id, 'alarm_id': alarm_id, 'type': kind,
            'detail': json.dumps(detail), 'user_id': 'u-1', 'project_id': 'p-1',
            'on_behalf_of': 'p-1', 'timestamp': when}


class AodhVerificationTest(AodhCallsTest):
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

        self.assertEqual([('GET', by_name()), ('POST', HISTORY)], self.calls())

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

        self.assertEqual([('GET', by_name()), ('POST', HISTORY)], self.calls())
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

    def test_the_final_check_reads_the_alarms_writes_in_its_history_in_one_query(
            self) -> None:
        plugin = self.plugin()
        self.written(plugin)  # deactivate at T3
        self.list_answers([mirror(state='ok', kind='deactivate', at=T3)])
        self.clock.advance(WINDOW + 2 * INTERVAL)

        plugin.verify()

        self.assertEqual([('GET', by_name()), ('POST', HISTORY)], self.calls())
        # Back to T3 minus max_clock_skew (300 s) and verify_interval: a newer
        # message cannot have been written earlier.
        self.assertEqual({
            'filter': {'and': [{'in': {'alarm_id': ['a-1']}},
                               {'in': {'type': ['creation', 'rule change']}},
                               {'>=': {'timestamp': '2024-05-01T11:55:02.000000Z'}}]},
            'orderby': [{'timestamp': 'desc'}], 'limit': 1000},
            {k: json.loads(v) if k != 'limit' else v for k, v in self.body(1).items()})

    def hole(self, plugin: Any, *history: dict[str, Any]) -> None:
        """Another process wrote the newer deactivate at T3 and was killed; then
        ``plugin`` wrote its older activate at T2 over it, blind: the alarm
        holds T2, its history ``history``; the final check is due."""
        self.written(plugin, activate(timestamp=T2))
        self.list_answers([mirror(at=T2)], [mirror(state='ok', kind='deactivate', at=T3)])
        self.http.post(HISTORY, json=list(history) or [
            change('e-3', '2024-05-01T12:00:05.100000', description=description(
                'activate', T2), state='alarm'),
            change('e-2', '2024-05-01T12:00:04.000000', description=description(
                'deactivate', T3), state='ok'),
            change('e-1', '2024-05-01T11:00:00.000000', 'creation', description=description(
                'activate', T1), state='alarm', severity='critical', name='cpu high_host-1')])
        self.http.put(f'{ALARMS}/a-1', json={})
        self.clock.advance(WINDOW + 2 * INTERVAL)

    def test_a_newer_state_in_the_history_written_over_by_an_older_one_is_written_back(
            self) -> None:
        plugin = self.plugin()
        self.hole(plugin)

        plugin.verify()

        self.assertEqual([('GET', by_name()), ('POST', HISTORY), ('PUT', f'{ALARMS}/a-1')],
                         self.calls())
        self.assertEqual(('ok', description('deactivate', T3), 'critical'),
                         (self.body(2)['state'], self.body(2)['description'],
                          self.body(2)['severity']))
        self.assertIn('its history holds the newer Order(', self.logs.output)

    def test_a_state_written_back_from_the_history_is_checked_again_then_forgotten(
            self) -> None:
        plugin = self.plugin()
        self.hole(plugin)
        plugin.verify()
        self.forget_calls()
        self.clock.advance(INTERVAL)

        plugin.verify()
        self.clock.advance(WINDOW)
        plugin.verify()

        self.assertEqual([('GET', by_name()), ('POST', HISTORY)], self.calls())

    def test_an_older_message_after_a_state_written_back_costs_no_request(self) -> None:
        plugin = self.plugin()
        self.hole(plugin)
        plugin.verify()
        self.forget_calls()

        self.assertEqual(Outcome.DONE, plugin.notify(activate(timestamp=T2, sequence=1)))

        self.assertEqual([], self.calls())

    def test_a_history_holding_no_newer_state_changes_nothing(self) -> None:
        plugin = self.plugin()
        self.hole(plugin, change('e-3', '2024-05-01T12:00:05.100000', description=description(
            'activate', T2), state='alarm'), change('e-1', '2024-05-01T11:00:00.000000',
                                                    'creation', description=description(
                                                        'deactivate', T1), state='ok'))

        plugin.verify()

        self.assertEqual([('GET', by_name()), ('POST', HISTORY)], self.calls())

    def test_a_state_in_the_history_dated_beyond_max_clock_skew_is_not_written_back(
            self) -> None:
        plugin = self.plugin()
        self.hole(plugin, change('e-2', '2024-05-01T12:00:04.000000', description=description(
            'deactivate', '9000-01-01T00:00:00.000000Z'), state='ok'))

        plugin.verify()

        self.assertEqual([('GET', by_name()), ('POST', HISTORY)], self.calls())

    def test_the_written_back_state_keeps_the_creation_time_the_alarm_holds(self) -> None:
        plugin = self.plugin()
        self.hole(plugin, change('e-2', '2024-05-01T12:00:04.000000', description=description(
            'deactivate', T3, created='2024-05-01T11:59:00.000000Z'), state='ok'))

        plugin.verify()

        self.assertEqual(description('deactivate', T3, created=CREATED),
                         self.body(2)['description'])
        self.assertEqual('critical', self.body(2)['severity'])  # as listed: the history
        # read does not say

    def test_a_full_page_of_history_is_followed_by_the_changes_up_to_its_oldest_time(
            self) -> None:
        plugin = self.plugin()
        page = [change(f'e-{n:04}', f'2024-05-01T12:00:04.{999 - n // 2:06}',
                       description=description('activate', T1), state='alarm')
                for n in range(1000)]
        rest = [page[-1], change('e-old', '2024-05-01T11:59:59.000000', description=description(
            'deactivate', T3), state='ok')]
        self.hole(plugin)
        self.http.post(HISTORY, [{'json': page}, {'json': rest}])

        plugin.verify()

        self.assertEqual([('GET', by_name()), ('POST', HISTORY), ('POST', HISTORY),
                          ('PUT', f'{ALARMS}/a-1')], self.calls())
        self.assertEqual({'<=': {'timestamp': '2024-05-01T12:00:04.000500'}},
                         json.loads(self.body(2)['filter'])['and'][-1])
        self.assertEqual(description('deactivate', T3), self.body(3)['description'])

    def test_a_refused_history_query_is_logged_once_and_the_final_checks_go_on(
            self) -> None:
        plugin = self.plugin()
        self.hole(plugin)
        self.http.post(HISTORY, status_code=403, json={'error_message': {
            'faultstring': 'RBAC Authorization Failed'}})

        plugin.verify()
        plugin.notify(deactivate(timestamp=T9))  # another write, another final check
        self.list_answers([mirror(state='ok', kind='deactivate', at=T9)])
        self.clock.advance(WINDOW + 2 * INTERVAL)
        plugin.verify()
        plugin.close()

        self.assertEqual([('GET', by_name()), ('POST', HISTORY), ('PUT', f'{ALARMS}/a-1'),
                          ('GET', by_name()), ('POST', HISTORY)], self.calls())
        self.assertEqual(1, self.logs.output.count('Aodh refused the query of alarm history'))
        self.assertIn('RBAC Authorization Failed', self.logs.output)

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

    def test_a_newer_state_on_a_duplicate_is_written_to_the_survivor_before_deleting_it(
            self) -> None:
        plugin = self.plugin()
        self.written(plugin)  # deactivate at T3
        ours = mirror(state='ok', kind='deactivate', at=T3)
        newer_copy = mirror('b-9', at=T9, created='2024-05-01T11:30:00Z', severity='low')
        self.list_answers([newer_copy, ours])
        self.http.delete(f'{ALARMS}/b-9', status_code=204)
        self.clock.advance(INTERVAL)

        plugin.verify()

        self.assertEqual([('GET', by_name()), ('PUT', f'{ALARMS}/a-1'),
                          ('DELETE', f'{ALARMS}/b-9')], self.calls())
        self.assertEqual(('alarm', description('activate', T9), 'low'),
                         (self.body(1)['state'], self.body(1)['description'],
                          self.body(1)['severity']))

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
        # now, and at the final check with the history
        self.assertEqual([('GET', by_name())] * 2 + [('POST', HISTORY)], self.calls())

    def test_close_checks_at_once_and_again_when_the_final_check_is_due(self) -> None:
        plugin = self.plugin()
        self.written(plugin)
        self.list_answers([mirror(state='ok', kind='deactivate', at=T3)])

        plugin.close()

        self.assertEqual([('GET', by_name())] * 2 + [('POST', HISTORY)], self.calls())
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

        self.assertEqual([('GET', by_name())] * 4 + [('POST', HISTORY)], self.calls())
        self.assertEqual([9.0, 1.0, 1.0], self.clock.slept)  # to 12:00:14, then retries
        self.assertNotIn('closing with', self.logs.output)

    def test_a_background_thread_verifies_and_close_stops_it(self) -> None:
        clock = self.clock
        # Other tests of this process may have left verifiers of their own.
        others = set(threading.enumerate())

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
                              if t.name == 'notifier.aodh verifier' and t not in others])

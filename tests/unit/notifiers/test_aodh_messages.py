"""The Aodh notifier, call by call: every message shape a sender uses, and messages
dated from the future."""

from __future__ import annotations

import logging
from typing import Any

import fixtures

from tests.unit.notifiers.aodh_calls import (
    ALARMS,
    T1,
    T2,
    T3,
    AodhCallsTest,
    activate,
    by_name,
    deactivate,
    description,
    foreign,
    mirror,
)
from tests.unit.notifiers.test_deduced import GRAPH_ACTIVATION, GRAPH_DEACTIVATION
from vitrage_ds.deduced import ACTIVATE, DEACTIVATE
from vitrage_ds.notifier import Message, Outcome

GRAPH_ID = GRAPH_ACTIVATION['vitrage_id']


def envelope(timestamp: str, message_id: str = 'm-g') -> dict[str, str]:
    """A bus envelope as oslo.messaging writes it."""
    return {'message_id': message_id, 'timestamp': timestamp}


class MessageShapesTest(AodhCallsTest):
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


class FutureMessagesTest(AodhCallsTest):
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

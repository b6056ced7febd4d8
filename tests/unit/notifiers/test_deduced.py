"""The deduced-alarm message model: validation names the wrong field; ordering."""

from __future__ import annotations

from typing import Any

import testtools

from vitrage_ds.deduced import (ACTIVATE, DEACTIVATE, DeducedAlarmActivate,
                                DeducedAlarmDeactivate, Order, from_message)
from vitrage_ds.errors import InvalidMessage

ACTIVATION = {'vitrage_id': 'v-1', 'name': 'cpu high', 'severity': 'CRITICAL',
              'affected_resource_id': 'host-1', 'timestamp': '2024-05-01T12:00:00Z',
              'sequence': 4}

#: What Vitrage 15.0.1's GraphNotifier published for a deduced alarm raised on
#: a nova.host (captured from the bus; tests/integration/vitrage_scripts).
GRAPH_ACTIVATION = {
    'is_real_vitrage_id': True, 'name': 'cpu high',
    'resource': {'id': 'host-1', 'is_real_vitrage_id': True, 'name': 'host-1',
                 'state': 'available', 'update_timestamp': '2024-05-01T11:00:00Z',
                 'vitrage_category': 'RESOURCE',
                 'vitrage_id': 'd8038bc4-6b63-4441-9480-3ddf25891099',
                 'vitrage_is_deleted': False, 'vitrage_is_placeholder': False,
                 'vitrage_sample_timestamp': '2024-05-01T11:00:00Z',
                 'vitrage_type': 'nova.host'},
    'resource_id': 'd8038bc4-6b63-4441-9480-3ddf25891099', 'severity': 'CRITICAL',
    'state': 'Active', 'update_timestamp': '2024-05-01T12:00:00Z',
    'vitrage_cached_id': '1f51720baed397ce3a2b312b4da9afa3', 'vitrage_category': 'ALARM',
    'vitrage_id': '46b04aaa-ae2a-4ccd-a0eb-b69bf3f611ea', 'vitrage_is_deleted': False,
    'vitrage_is_placeholder': False,
    'vitrage_resource_id': 'd8038bc4-6b63-4441-9480-3ddf25891099',
    'vitrage_resource_type': 'nova.host',
    'vitrage_sample_timestamp': '2024-05-01T12:00:00Z', 'vitrage_type': 'vitrage'}
#: Its deactivation: the vertex marked deleted (only vitrage_sample_timestamp moves).
GRAPH_DEACTIVATION = {**GRAPH_ACTIVATION, 'state': 'Inactive', 'vitrage_is_deleted': True,
                      'vitrage_sample_timestamp': '2024-05-01 12:00:00.055750+00:00'}


def invalid(event_type: str, payload: Any) -> InvalidMessage:
    try:
        from_message(event_type, payload)
    except InvalidMessage as exc:
        return exc
    raise AssertionError(f'{payload!r:.200} was accepted')


class ParsingTest(testtools.TestCase):

    def test_an_activate_payload_parses_into_its_fields(self) -> None:
        alarm = from_message(ACTIVATE, {**ACTIVATION, 'aodh_alarm_id': 'a-1', 'extra': 1})

        self.assertEqual(DeducedAlarmActivate(
            vitrage_id='v-1', name='cpu high', severity='CRITICAL',
            affected_resource_id='host-1', aodh_alarm_id='a-1',
            timestamp='2024-05-01T12:00:00Z', sequence=4), alarm)

    def test_a_deactivate_carries_the_aodh_id_as_id(self) -> None:
        alarm = from_message(DEACTIVATE, {'vitrage_id': 'v-1', 'id': 'a-1'})

        self.assertEqual(DeducedAlarmDeactivate(vitrage_id='v-1', aodh_alarm_id='a-1'), alarm)
        self.assertEqual({'vitrage_id': 'v-1', 'id': 'a-1', 'sequence': 0},
                         alarm.to_payload())

    def test_payloads_round_trip(self) -> None:
        for event_type, payload in (
                (ACTIVATE, ACTIVATION),
                (DEACTIVATE, {'vitrage_id': 'v', 'name': 'n', 'affected_resource_id': 'r',
                              'timestamp': '2024-05-01T12:00:00Z', 'sequence': 2})):
            alarm = from_message(event_type, payload)
            self.assertEqual(alarm, from_message(event_type, alarm.to_payload()))
            self.assertEqual(event_type, alarm.event_type)

    def test_the_aodh_name_joins_name_and_resource(self) -> None:
        self.assertEqual('cpu high_host-1', from_message(ACTIVATE, ACTIVATION).aodh_name)
        self.assertIsNone(DeducedAlarmDeactivate(vitrage_id='v', aodh_alarm_id='a').aodh_name)

    def test_quotes_and_query_syntax_are_allowed(self) -> None:
        name = 'a&q.field=x "b" \'c\' = %20 ; DROP'
        self.assertEqual(name, from_message(ACTIVATE, {**ACTIVATION, 'name': name}).name)


class ShapesTest(testtools.TestCase):
    """Every shape a sender uses: vitrage_ds's own, the seed's, Vitrage 15's graph."""

    def test_a_vitrage_graph_activation_reads_the_resource_id_from_its_resource(
            self) -> None:
        alarm = from_message(ACTIVATE, GRAPH_ACTIVATION)

        self.assertEqual(DeducedAlarmActivate(
            vitrage_id='46b04aaa-ae2a-4ccd-a0eb-b69bf3f611ea', name='cpu high',
            severity='CRITICAL', affected_resource_id='host-1',
            graph_timestamp='2024-05-01T12:00:00Z'), alarm)
        self.assertEqual('cpu high_host-1', alarm.aodh_name)
        self.assertEqual('46b04aaa-ae2a-4ccd-a0eb-b69bf3f611ea', alarm.key)

    def test_a_vitrage_graph_deactivation_parses_the_same_alarm(self) -> None:
        alarm = from_message(DEACTIVATE, GRAPH_DEACTIVATION)

        self.assertEqual(('46b04aaa-ae2a-4ccd-a0eb-b69bf3f611ea', 'cpu high_host-1', None),
                         (alarm.key, alarm.aodh_name, alarm.aodh_alarm_id))

    def test_the_seeds_activate_without_vitrage_id_is_keyed_by_its_aodh_name(self) -> None:
        alarm = from_message(ACTIVATE, {'name': 'cpu high', 'severity': 'CRITICAL',
                                        'affected_resource_id': 'host-1'})

        self.assertIsNone(alarm.vitrage_id)
        self.assertEqual('name:cpu high_host-1', alarm.key)

    def test_the_seeds_activate_may_carry_the_aodh_id_as_id(self) -> None:
        alarm = from_message(ACTIVATE, {'name': 'cpu high', 'severity': 'CRITICAL',
                                        'affected_resource_id': 'host-1', 'id': 'a-1'})
        self.assertEqual('a-1', alarm.aodh_alarm_id)

    def test_aodh_alarm_id_wins_over_id(self) -> None:
        alarm = from_message(DEACTIVATE, {'id': 'a-1', 'aodh_alarm_id': 'a-2'})
        self.assertEqual('a-2', alarm.aodh_alarm_id)

    def test_the_seeds_deactivate_with_only_an_id_is_keyed_by_it(self) -> None:
        alarm = from_message(DEACTIVATE, {'id': 'a-1'})

        self.assertEqual(DeducedAlarmDeactivate(aodh_alarm_id='a-1'), alarm)
        self.assertEqual('aodh:a-1', alarm.key)


class ValidationTest(testtools.TestCase):

    def test_each_required_activate_field_is_named_when_missing(self) -> None:
        for field in ('name', 'severity', 'affected_resource_id'):
            payload = {k: v for k, v in ACTIVATION.items() if k != field}
            self.assertEqual(field, invalid(ACTIVATE, payload).field)

    def test_a_message_naming_no_alarm_is_refused(self) -> None:
        self.assertEqual('name', invalid(DEACTIVATE, {'vitrage_id': 'v'}).field)
        self.assertEqual('name', invalid(DEACTIVATE, {}).field)

    def test_a_deactivate_without_id_needs_name_and_resource(self) -> None:
        self.assertEqual('name', invalid(DEACTIVATE, {'vitrage_id': 'v',
                                                      'affected_resource_id': 'r'}).field)
        self.assertEqual('affected_resource_id',
                         invalid(DEACTIVATE, {'vitrage_id': 'v', 'name': 'n'}).field)

    def test_wrong_types_name_the_field(self) -> None:
        for field, value in (('vitrage_id', 7), ('name', ['x']), ('severity', None),
                             ('affected_resource_id', {'a': 1}), ('timestamp', 12),
                             ('sequence', -1), ('sequence', '3'), ('sequence', True),
                             ('aodh_alarm_id', 5)):
            error = invalid(ACTIVATE, {**ACTIVATION, field: value})
            self.assertEqual(field, error.field, f'{field}={value!r}')

    def test_empty_long_and_control_character_strings_are_refused(self) -> None:
        for value, reason in (('', 'must not be empty'), ('  ', 'must not be empty'),
                              ('x' * 256, '256 characters; at most 255'),
                              ('a\nb', 'control characters'), ('a\x00b', 'control')):
            error = invalid(ACTIVATE, {**ACTIVATION, 'name': value})
            self.assertEqual('name', error.field)
            self.assertIn(reason, str(error))

    def test_the_longest_strings_are_accepted(self) -> None:
        alarm = from_message(ACTIVATE, {**ACTIVATION, 'name': 'n' * 255,
                                        'affected_resource_id': 'r' * 255})
        self.assertEqual(511, len(alarm.aodh_name or ''))

    def test_an_aodh_id_that_could_change_the_url_path_is_refused(self) -> None:
        for bad in ('../x', 'a/b', 'a?b', '.hidden', 'a b', 'x' * 129):
            self.assertEqual('id', invalid(DEACTIVATE, {'vitrage_id': 'v', 'id': bad}).field,
                             bad)
            self.assertEqual('aodh_alarm_id',
                             invalid(ACTIVATE, {**ACTIVATION, 'aodh_alarm_id': bad}).field)

    def test_a_time_near_year_9999_is_refused_up_front(self) -> None:
        for late in ('9999-12-31T23:59:59.999999Z', '9999-01-01T00:00:00Z',
                     '9999-06-30 12:00:00'):
            self.assertEqual('timestamp',
                             invalid(ACTIVATE, {**ACTIVATION, 'timestamp': late}).field)
            self.assertEqual('update_timestamp', invalid(ACTIVATE, {
                **GRAPH_ACTIVATION, 'update_timestamp': late}).field)

    def test_a_time_near_year_9999_in_the_envelope_is_refused(self) -> None:
        alarm = from_message(ACTIVATE, {k: v for k, v in ACTIVATION.items()
                                        if k != 'timestamp'})
        error = self.assertRaises(InvalidMessage, alarm.order, '9999-12-31 23:59:59.999999')
        self.assertEqual('timestamp', error.field)

    def test_the_last_time_before_the_limit_is_accepted_and_formats(self) -> None:
        alarm = from_message(ACTIVATE, {**ACTIVATION, 'timestamp': '9998-12-31T23:59:59Z'})
        self.assertEqual('9998-12-31T23:59:59.000000Z', alarm.order().timestamp)

    def test_an_unparsable_timestamp_is_refused(self) -> None:
        self.assertEqual('timestamp',
                         invalid(ACTIVATE, {**ACTIVATION, 'timestamp': 'yesterday'}).field)

    def test_a_payload_that_is_not_an_object_is_refused(self) -> None:
        for payload in (None, [], 'x', 3):
            self.assertEqual('payload', invalid(ACTIVATE, payload).field)

    def test_other_event_types_are_refused(self) -> None:
        self.assertEqual('event_type', invalid('vitrage.other', ACTIVATION).field)

    def test_constructing_an_invalid_message_raises(self) -> None:
        error = self.assertRaises(InvalidMessage, DeducedAlarmActivate, vitrage_id='v',
                                  name='n', affected_resource_id='r', severity='')
        self.assertEqual('severity', error.field)


class OrderTest(testtools.TestCase):

    def test_messages_are_ordered_by_time_then_sequence(self) -> None:
        def order(timestamp: str, sequence: int) -> Order:
            return from_message(ACTIVATE, {**ACTIVATION, 'timestamp': timestamp,
                                           'sequence': sequence}).order()

        self.assertLess(order('2024-05-01T12:00:00Z', 9), order('2024-05-01T12:00:01Z', 0))
        self.assertLess(order('2024-05-01T12:00:00Z', 1), order('2024-05-01T12:00:00Z', 2))
        self.assertEqual(order('2024-05-01T12:00:00Z', 1),
                         order('2024-05-01 12:00:00.000000', 1))

    def test_the_envelope_timestamp_orders_a_payload_without_one(self) -> None:
        alarm = from_message(ACTIVATE, {k: v for k, v in ACTIVATION.items()
                                        if k != 'timestamp'})

        self.assertEqual('2024-05-01T12:00:05.250000Z',
                         alarm.order('2024-05-01 12:00:05.250000').timestamp)

    def test_a_payload_time_wins_over_the_envelope(self) -> None:
        alarm = from_message(ACTIVATE, ACTIVATION)
        self.assertEqual('2024-05-01T12:00:00.000000Z',
                         alarm.order('2030-01-01 00:00:00').timestamp)

    def test_a_vitrage_graph_message_is_ordered_by_its_envelope_first(self) -> None:
        activate = from_message(ACTIVATE, GRAPH_ACTIVATION)
        deactivate = from_message(DEACTIVATE, GRAPH_DEACTIVATION)

        self.assertLess(activate.order('2024-05-01 12:00:00.042028'),
                        deactivate.order('2024-05-01 12:00:00.055824'))
        self.assertEqual('2024-05-01T12:00:00.042028Z',
                         activate.order('2024-05-01 12:00:00.042028').timestamp)

    def test_without_an_envelope_the_later_vitrage_time_orders_it(self) -> None:
        activate = from_message(ACTIVATE, GRAPH_ACTIVATION)
        deactivate = from_message(DEACTIVATE, GRAPH_DEACTIVATION)

        # The same update_timestamp: only vitrage_sample_timestamp tells them apart.
        self.assertEqual('2024-05-01T12:00:00.000000Z', activate.order().timestamp)
        self.assertEqual('2024-05-01T12:00:00.055750Z', deactivate.order().timestamp)

    def test_without_any_time_there_is_no_order(self) -> None:
        alarm = from_message(ACTIVATE, {k: v for k, v in ACTIVATION.items()
                                        if k != 'timestamp'})
        error = self.assertRaises(InvalidMessage, alarm.order, None)
        self.assertEqual('timestamp', error.field)

"""The alarm mapping: generic fields for every alarm, the rest per type."""

from __future__ import annotations

import datetime
import json

import testtools

from tests.unit.drivers.aodh import samples
from vitrage_ds.drivers.aodh import DERIVED, GENERIC, TYPES, alarm_fields, alarm_version
from vitrage_ds.drivers.aodh.fields import TIME_FORMAT
from vitrage_ds.event import Phase, Version, parse_time

BLUEPRINT = ('alarm_id', 'name', 'description', 'enabled', 'project_id',
             'repeat_actions', 'severity', 'state', 'time_constraints', 'type',
             'user_id', 'resource_id', 'sync_type')


class TestGenericFields(testtools.TestCase):

    def test_every_type_has_every_blueprint_field(self) -> None:
        for alarm_type in samples.TYPES:
            fields = alarm_fields(samples.alarm(alarm_type))
            for name in BLUEPRINT:
                self.assertIn(name, fields, alarm_type)

    def test_generic_fields_are_copied_as_aodh_gives_them(self) -> None:
        body = samples.alarm('prometheus', severity='critical', state='alarm',
                             enabled=False, repeat_actions=True,
                             time_constraints=[{'name': 'nightly', 'start': '0 23 * * *',
                                                'duration': 10800, 'timezone': '',
                                                'description': 'x'}])
        fields = alarm_fields(body)
        for name in GENERIC:
            self.assertEqual(body[name], fields[name], name)

    def test_sync_type_is_aodh(self) -> None:
        self.assertEqual('aodh', alarm_fields(samples.alarm('event'))['sync_type'])

    def test_keys_aodh_does_not_give_are_none(self) -> None:
        fields = alarm_fields({'alarm_id': 'a1', 'type': 'event'})
        self.assertIsNone(fields['name'])
        self.assertIsNone(fields['severity'])
        self.assertIsNone(fields['resource_id'])

    def test_timestamp_is_the_current_time_when_aodh_gives_none(self) -> None:
        fields = alarm_fields(samples.alarm('event', timestamp=None))
        self.assertIsNotNone(parse_time(fields['timestamp']))

    def test_a_missing_timestamp_is_written_as_aodh_writes_times(self) -> None:
        # Vitrage's Aodh transformer parses it with exactly Aodh's format: no 'Z'.
        fields = alarm_fields(samples.alarm('event', timestamp=None))
        datetime.datetime.strptime(fields['timestamp'], TIME_FORMAT)

    def test_actions_and_evaluate_timestamp_are_not_fields(self) -> None:
        fields = alarm_fields(samples.alarm('event'))
        for name in ('ok_actions', 'alarm_actions', 'insufficient_data_actions',
                     'evaluate_timestamp'):
            self.assertNotIn(name, fields)

    def test_fields_are_exactly_generic_derived_and_the_type_extras(self) -> None:
        for alarm_type, row in TYPES.items():
            fields = alarm_fields(samples.alarm(alarm_type))
            expected = {*GENERIC, *DERIVED, row.rule_key, *row.copied}
            self.assertEqual(expected, set(fields), alarm_type)

    def test_fields_are_json_safe(self) -> None:
        for alarm_type in samples.TYPES:
            fields = alarm_fields(samples.alarm(alarm_type))
            self.assertEqual(fields, json.loads(json.dumps(fields)))


class TestPerType(testtools.TestCase):

    def test_each_type_keeps_its_rule_under_its_own_key(self) -> None:
        for alarm_type in samples.TYPES:
            fields = alarm_fields(samples.alarm(alarm_type))
            self.assertEqual(samples.RULES[alarm_type], fields[f'{alarm_type}_rule'])

    def test_legacy_threshold_rule_is_threshold_rule(self) -> None:
        fields = alarm_fields(samples.alarm('threshold'))
        self.assertEqual(samples.RULES['threshold'], fields['threshold_rule'])

    def test_each_type_finds_its_resource(self) -> None:
        for alarm_type, expected in samples.EXPECTED_RESOURCE.items():
            fields = alarm_fields(samples.alarm(alarm_type))
            self.assertEqual(expected, fields['resource_id'], alarm_type)

    def test_event_alarm_copies_event_type(self) -> None:
        fields = alarm_fields(samples.alarm('event'))
        self.assertEqual('compute.instance.update', fields['event_type'])

    def test_event_resource_from_a_bare_resource_id_item(self) -> None:
        body = samples.alarm('event', event_rule={'event_type': '*', 'query': [
            {'field': 'resource_id', 'op': 'eq', 'type': 'string', 'value': 'r9'}]})
        self.assertEqual('r9', alarm_fields(body)['resource_id'])

    def test_event_resource_prefers_resource_id_over_instance_id(self) -> None:
        body = samples.alarm('event', event_rule={'event_type': '*', 'query': [
            {'field': 'traits.instance_id', 'op': 'eq', 'type': 'string', 'value': 'i1'},
            {'field': 'traits.resource_id', 'op': 'eq', 'type': 'string', 'value': 'r1'}]})
        self.assertEqual('r1', alarm_fields(body)['resource_id'])

    def test_event_resource_from_instance_id_when_alone(self) -> None:
        body = samples.alarm('event', event_rule={'event_type': '*', 'query': [
            {'field': 'traits.instance_id', 'op': 'eq', 'type': 'string', 'value': 'i1'}]})
        self.assertEqual('i1', alarm_fields(body)['resource_id'])

    def test_event_item_with_another_operator_names_no_resource(self) -> None:
        body = samples.alarm('event', event_rule={'event_type': '*', 'query': [
            {'field': 'traits.resource_id', 'op': 'ne', 'type': 'string', 'value': 'r1'}]})
        self.assertIsNone(alarm_fields(body)['resource_id'])

    def test_event_alarm_without_query_has_no_resource(self) -> None:
        body = samples.alarm('event', event_rule={'event_type': '*', 'query': []})
        self.assertIsNone(alarm_fields(body)['resource_id'])

    def test_aggregation_by_resources_without_an_id_has_no_resource(self) -> None:
        rule = dict(samples.RULES['gnocchi_aggregation_by_resources_threshold'],
                    query='{"=": {"server_group": "g1"}}')
        body = samples.alarm('gnocchi_aggregation_by_resources_threshold',
                             gnocchi_aggregation_by_resources_threshold_rule=rule)
        self.assertIsNone(alarm_fields(body)['resource_id'])

    def test_composite_leaves_naming_different_resources_give_none(self) -> None:
        rule = {'and': [
            {'type': 'gnocchi_resources_threshold', 'resource_id': 'r1'},
            {'type': 'gnocchi_resources_threshold', 'resource_id': 'r2'}]}
        body = samples.alarm('composite', composite_rule=rule)
        self.assertIsNone(alarm_fields(body)['resource_id'])

    def test_loadbalancer_alarm_is_raised_on_its_autoscaling_group(self) -> None:
        fields = alarm_fields(samples.alarm('loadbalancer_member_health'))
        self.assertEqual(samples.GROUP, fields['resource_id'])
        self.assertEqual(samples.STACK,
                         fields['loadbalancer_member_health_rule']['stack_id'])


class TestDeducedAlarms(testtools.TestCase):

    def test_event_alarm_with_vitrage_id_is_deduced(self) -> None:
        fields = alarm_fields(samples.deduced_alarm())
        self.assertEqual(samples.VITRAGE_ID, fields['vitrage_id'])
        self.assertIs(True, fields['vitrage_deduced'])
        self.assertEqual(samples.SERVER, fields['resource_id'])

    def test_alarm_without_vitrage_id_is_not_deduced(self) -> None:
        for alarm_type in samples.TYPES:
            fields = alarm_fields(samples.alarm(alarm_type))
            self.assertIsNone(fields['vitrage_id'], alarm_type)
            self.assertIs(False, fields['vitrage_deduced'], alarm_type)

    def test_vitrage_id_in_a_non_event_rule_is_ignored(self) -> None:
        rule = dict(samples.RULES['threshold'], query=[
            {'field': 'vitrage_id', 'op': 'eq', 'value': samples.VITRAGE_ID}])
        fields = alarm_fields(samples.alarm('threshold', threshold_rule=rule))
        self.assertIs(False, fields['vitrage_deduced'])


class TestUnknownTypes(testtools.TestCase):

    def test_unknown_type_gets_the_generic_fields(self) -> None:
        body = samples.alarm('future_type', future_type_rule={'resource_id': 'r1'})
        fields = alarm_fields(body)
        self.assertEqual({*GENERIC, *DERIVED}, set(fields))
        self.assertEqual('future_type', fields['type'])
        self.assertIsNone(fields['resource_id'])

    def test_unknown_type_is_reported(self) -> None:
        seen: list[str] = []
        alarm_fields(samples.alarm('future_type'), seen.append)
        self.assertEqual(['future_type'], seen)

    def test_an_alarm_without_a_type_is_not_an_unknown_type(self) -> None:
        seen: list[str] = []
        fields = alarm_fields({'alarm_id': 'a1', 'state': 'ok'}, seen.append)
        self.assertEqual([], seen)
        self.assertIsNone(fields['type'])

    def test_known_type_is_not_reported(self) -> None:
        seen: list[str] = []
        alarm_fields(samples.alarm('event'), seen.append)
        self.assertEqual([], seen)

    def test_rule_of_the_wrong_shape_does_not_raise(self) -> None:
        for alarm_type in samples.TYPES:
            for rule in (None, 'x', 7, [], {'query': 'not a list'}, {'query': [1, None]}):
                fields = alarm_fields(samples.alarm(alarm_type, **{f'{alarm_type}_rule': rule}))
                self.assertIsNone(fields['resource_id'], (alarm_type, rule))

    def test_type_of_the_wrong_shape_is_generic(self) -> None:
        fields = alarm_fields({'alarm_id': 'a1', 'type': ['event']})
        self.assertIsNone(fields['resource_id'])


class TestVersion(testtools.TestCase):

    def test_source_is_the_later_of_timestamp_and_state_timestamp(self) -> None:
        body = samples.alarm('event', state_timestamp=samples.STATE_CHANGED)
        self.assertEqual(Version(parse_time(samples.STATE_CHANGED) or 0, 5.0, Phase.END),
                         alarm_version(body, 5.0))

    def test_definition_change_after_state_change_counts(self) -> None:
        body = samples.alarm('event', timestamp=samples.STATE_CHANGED,
                             state_timestamp=samples.CREATED)
        self.assertEqual(parse_time(samples.STATE_CHANGED), alarm_version(body, 0.0).source)

    def test_no_times_gives_source_zero(self) -> None:
        self.assertEqual(Version(0.0, 7.0, Phase.END),
                         alarm_version({'alarm_id': 'a1'}, 7.0))


class TestHiddenRuleKeys(testtools.TestCase):

    def test_prometheus_scope_to_project_is_dropped(self) -> None:
        rule = dict(samples.RULES['prometheus'], scope_to_project=samples.PROJECT_A)
        fields = alarm_fields(samples.alarm('prometheus', prometheus_rule=rule))
        self.assertEqual(samples.RULES['prometheus'], fields['prometheus_rule'])

    def test_scope_to_project_of_composite_prometheus_leaves_is_dropped(self) -> None:
        leaf = {'type': 'prometheus', 'query': 'up', 'threshold': 1.0,
                'comparison_operator': 'lt'}
        rule = {'or': [dict(leaf, scope_to_project=None),
                       {'and': [dict(leaf, scope_to_project=None)]}]}
        fields = alarm_fields(samples.alarm('composite', composite_rule=rule))
        self.assertEqual({'or': [leaf, {'and': [leaf]}]}, fields['composite_rule'])

    def test_other_leaves_and_keys_are_kept(self) -> None:
        fields = alarm_fields(samples.alarm('composite'))
        self.assertEqual(samples.RULES['composite'], fields['composite_rule'])

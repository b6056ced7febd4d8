"""Finding the one resource a rule names, in each rule language."""

from __future__ import annotations

import testtools

from vitrage_ds.drivers.aodh import resources
from vitrage_ds.drivers.aodh.alarm_types import composite_resource


class TestQueryValue(testtools.TestCase):

    def test_item_without_op_is_equality(self) -> None:
        query = [{'field': 'resource_id', 'value': 'r1'}]
        self.assertEqual('r1', resources.query_value(query, ('resource_id',)))

    def test_fields_are_tried_in_the_order_given(self) -> None:
        query = [{'field': 'b', 'op': 'eq', 'value': 'vb'},
                 {'field': 'a', 'op': 'eq', 'value': 'va'}]
        self.assertEqual('va', resources.query_value(query, ('a', 'b')))

    def test_other_operators_are_skipped(self) -> None:
        for op in ('ne', 'gt', 'lt', 'ge', 'le'):
            query = [{'field': 'resource_id', 'op': op, 'value': 'r1'}]
            self.assertIsNone(resources.query_value(query, ('resource_id',)), op)

    def test_non_string_values_are_skipped(self) -> None:
        query = [{'field': 'resource_id', 'op': 'eq', 'value': 7},
                 {'field': 'resource_id', 'op': 'eq', 'value': 'r2'}]
        self.assertEqual('r2', resources.query_value(query, ('resource_id',)))

    def test_not_a_list_gives_none(self) -> None:
        for query in (None, 'resource_id=r1', {'field': 'resource_id', 'value': 'r1'}):
            self.assertIsNone(resources.query_value(query, ('resource_id',)))


class TestGnocchiSearch(testtools.TestCase):

    def test_id_equality_in_a_json_string(self) -> None:
        self.assertEqual('r1', resources.aggregation_query_resource('{"=": {"id": "r1"}}'))

    def test_id_under_and_with_other_conditions(self) -> None:
        query = {'and': [{'=': {'project_id': 'p'}}, {'==': {'id': 'r1'}}]}
        self.assertEqual('r1', resources.aggregation_query_resource(query))

    def test_symbolic_conjunction(self) -> None:
        query = {'\u2227': [{'eq': {'resource_id': 'r1'}}, {'=': {'ended_at': None}}]}
        self.assertEqual('r1', resources.aggregation_query_resource(query))

    def test_several_ids_give_none(self) -> None:
        query = {'or': [{'=': {'id': 'r1'}}, {'=': {'id': 'r2'}}]}
        self.assertIsNone(resources.aggregation_query_resource(query))

    def test_negated_id_is_ignored(self) -> None:
        query = {'and': [{'not': {'=': {'id': 'r1'}}}, {'=': {'id': 'r2'}}]}
        self.assertEqual('r2', resources.aggregation_query_resource(query))

    def test_invalid_json_gives_none(self) -> None:
        self.assertIsNone(resources.aggregation_query_resource('{"=": '))

    def test_absurdly_deep_gnocchi_filter_does_not_raise(self) -> None:
        deep = '{"and": [' * 100_000 + ']}' * 100_000
        self.assertIsNone(resources.aggregation_query_resource(deep))


class TestPromQL(testtools.TestCase):

    def test_equality_matcher(self) -> None:
        self.assertEqual('r1', resources.promql_resource('cpu{resource_id="r1"}'))

    def test_exporter_resource_label(self) -> None:
        query = 'ceilometer_cpu{resource="r1", server_group="none"}'
        self.assertEqual('r1', resources.promql_resource(query))

    def test_other_matchers_name_no_resource(self) -> None:
        for matcher in ('resource_id!="r1"', 'resource_id=~"r.*"', 'resource_id!~"r1"',
                        'other_resource_id="r1"', 'resource!="r1"', 'my_resource="r1"',
                        'resource_name="r1"'):
            self.assertIsNone(resources.promql_resource(f'cpu{{{matcher}}}'), matcher)

    def test_the_same_resource_twice_is_one(self) -> None:
        query = 'a{resource_id="r1"} / b{resource_id = "r1"}'
        self.assertEqual('r1', resources.promql_resource(query))

    def test_two_resources_give_none(self) -> None:
        self.assertIsNone(resources.promql_resource('a{resource_id="r1"} + b{resource_id="r2"}'))


class TestComposite(testtools.TestCase):

    def test_nested_leaves_agreeing_give_their_resource(self) -> None:
        rule = {'and': [{'or': [{'type': 'gnocchi_resources_threshold', 'resource_id': 'r1'}]},
                        {'type': 'prometheus', 'query': 'x{resource_id="r1"}'}]}
        self.assertEqual('r1', composite_resource(rule))

    def test_leaves_of_unknown_type_are_ignored(self) -> None:
        rule = {'or': [{'type': 'gnocchi_resources_threshold', 'resource_id': 'r1'},
                       {'type': 'mystery', 'resource_id': 'r2'}]}
        self.assertEqual('r1', composite_resource(rule))

    def test_absurd_nesting_does_not_raise(self) -> None:
        rule: dict[str, object] = {'type': 'gnocchi_resources_threshold', 'resource_id': 'r1'}
        for _ in range(5000):
            rule = {'and': [rule]}
        self.assertIsNone(composite_resource(rule))

"""Field limits: types of the contract's text fields and sizes of every field."""

from __future__ import annotations

import math
from typing import Any

import testtools

from vitrage_ds.collector._storage import Encoder
from vitrage_ds.collector.limits import MAX_DEPTH, FieldLimits
from vitrage_ds.event import Event
from vitrage_ds_testing.collector import entity


def _bounded(limit: int = 100, **fields: Any) -> tuple[dict[str, Any], int]:
    result = FieldLimits(limit).apply([entity('a', **fields)])
    [event] = result.events
    return dict(event.fields), result.changed


class TestTypes(testtools.TestCase):

    def test_a_list_as_a_name_is_dropped(self) -> None:
        fields, changed = _bounded(name=['not', 'a', 'name'], status='ok')
        self.assertEqual(({'id': 'a', 'name': None, 'status': 'ok'}, 1), (fields, changed))

    def test_an_integer_severity_is_dropped(self) -> None:
        fields, _ = _bounded(severity=3)
        self.assertIsNone(fields['severity'])

    def test_a_mapping_as_a_state_is_dropped(self) -> None:
        fields, _ = _bounded(state={'forged': True})
        self.assertIsNone(fields['state'])

    def test_other_fields_keep_their_json_types(self) -> None:
        kept = {'enabled': True, 'count': 3, 'ratio': 0.5, 'tags': ['a'], 'rule': {'k': 1},
                'name': None}
        fields, changed = _bounded(**kept)
        self.assertEqual(({'id': 'a', **kept}, 0), (fields, changed))

    def test_a_float_that_is_not_json_is_dropped(self) -> None:
        fields, changed = _bounded(ratio=math.inf, other=math.nan)
        self.assertEqual((None, None, 2), (fields['ratio'], fields['other'], changed))


class TestSizes(testtools.TestCase):

    def test_a_long_string_is_cut_to_the_limit(self) -> None:
        fields, changed = _bounded(10, description='x' * 8_000_000)
        self.assertEqual(('x' * 10, 1), (fields['description'], changed))

    def test_a_string_at_the_limit_is_kept(self) -> None:
        fields, changed = _bounded(10, description='y' * 10)
        self.assertEqual(('y' * 10, 0), (fields['description'], changed))

    def test_a_large_list_is_dropped(self) -> None:
        fields, _ = _bounded(100, tags=['t'] * 1000)
        self.assertIsNone(fields['tags'])

    def test_a_deeply_nested_value_is_measured_without_recursion(self) -> None:
        deep: Any = 'bottom'
        for _ in range(100_000):
            deep = [deep]
        fields, _ = _bounded(100, rule=deep)
        self.assertIsNone(fields['rule'])

    def test_zero_means_no_size_limit(self) -> None:
        fields, changed = _bounded(0, description='z' * 100_000, tags=['t'] * 10_000)
        self.assertEqual((100_000, 10_000, 0),
                         (len(fields['description']), len(fields['tags']), changed))


class TestEvents(testtools.TestCase):

    def test_an_event_within_bounds_is_the_same_object(self) -> None:
        event = entity('a', name='fine')
        self.assertIs(event, FieldLimits(100).apply([event]).events[0])

    def test_identity_and_version_are_kept(self) -> None:
        event: Event = entity('a', source=5.0, name=['x'])
        [bounded] = FieldLimits(100).apply([event]).events
        self.assertEqual((event.key, event.version, event.datasource),
                         (bounded.key, bounded.version, bounded.datasource))

    def test_the_first_change_is_described_for_the_log(self) -> None:
        result = FieldLimits(100).apply([entity('a', name=['x']), entity('b', severity=2)])
        self.assertEqual(2, result.changed)
        self.assertEqual("scripted.thing 'a' field 'name': a list, not text: dropped",
                         result.first)


def _nested(levels: int, bottom: Any = None) -> Any:
    """``bottom`` inside ``levels`` lists."""
    value: Any = bottom
    for _ in range(levels):
        value = [value]
    return value


class TestDepth(testtools.TestCase):

    def test_a_value_nested_deeper_than_the_bound_is_dropped(self) -> None:
        fields, changed = _bounded(100_000, rule=_nested(MAX_DEPTH + 1))
        self.assertEqual((None, 1), (fields['rule'], changed))

    def test_a_value_nested_to_the_bound_is_kept(self) -> None:
        deep = _nested(MAX_DEPTH, 'bottom')
        fields, changed = _bounded(100_000, rule=deep)
        self.assertEqual((deep, 0), (fields['rule'], changed))

    def test_mappings_count_as_levels_too(self) -> None:
        deep: Any = {}
        for _ in range(MAX_DEPTH):
            deep = {'k': [deep]}
        fields, _ = _bounded(100_000, rule=deep)
        self.assertIsNone(fields['rule'])

    def test_depth_is_bounded_without_a_size_limit(self) -> None:
        fields, changed = _bounded(0, rule=_nested(100_000))
        self.assertEqual((None, 1), (fields['rule'], changed))

    def test_a_small_deep_value_can_be_cached_after_bounding(self) -> None:
        [event] = FieldLimits(100_000).apply([entity('a', rule=_nested(600))]).events
        keys, _blob = Encoder().encode(event.fields)
        self.assertEqual(('id', 'rule'), keys)

    def test_the_change_is_described_for_the_log(self) -> None:
        result = FieldLimits(100_000).apply([entity('a', rule=_nested(MAX_DEPTH + 1))])
        self.assertEqual(f"scripted.thing 'a' field 'rule': a list nested more than "
                         f"{MAX_DEPTH} levels deep: dropped", result.first)

"""The event model: flat form, JSON round trip, times and version order."""

from __future__ import annotations

import datetime
import json
from typing import Any

import testtools
from hypothesis import given, settings
from hypothesis import strategies as st

from vitrage_ds.event import (DELETE_ENTITY, METADATA_KEYS, Action, Event, Phase, Version,
                              parse_time)


def _event(**changes: Any) -> Event:
    base = Event(datasource='heat.stack', entity_type='heat.stack', entity_id='s-1',
                 fields={'stack_id': 's-1', 'name': 'web', 'tags': ['a', 'b'],
                         'nested': {'k': [1, 2.5, None, True]}},
                 action=Action.UPDATE, event_type='orchestration.stack.create.end',
                 sample_date='2024-05-01T12:00:00.000000Z',
                 version=Version(1714564800.0, 1714564801.5, Phase.END))
    return base.replace(**changes)


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)
_field_names = st.text(min_size=1, max_size=12).filter(lambda k: k not in METADATA_KEYS)


class TestEventFlatForm(testtools.TestCase):

    def test_to_dict_holds_fields_and_every_metadata_key(self) -> None:
        flat = _event().to_dict()
        self.assertEqual({'stack_id', 'name', 'tags', 'nested', *METADATA_KEYS}, set(flat))
        self.assertEqual('heat.stack', flat['vitrage_datasource_name'])
        self.assertEqual('heat.stack', flat['vitrage_entity_type'])
        self.assertEqual('update', flat['vitrage_datasource_action'])
        self.assertEqual('orchestration.stack.create.end', flat['vitrage_event_type'])
        self.assertEqual('2024-05-01T12:00:00.000000Z', flat['vitrage_sample_date'])
        self.assertEqual('s-1', flat['vitrage_ds_entity_id'])
        self.assertEqual([1714564800.0, 1714564801.5, 1], flat['vitrage_ds_version'])

    def test_metadata_wins_over_a_field_of_the_same_name(self) -> None:
        flat = _event(fields={'vitrage_datasource_name': 'forged'}).to_dict()
        self.assertEqual('heat.stack', flat['vitrage_datasource_name'])

    def test_json_round_trip_gives_an_equal_event(self) -> None:
        event = _event()
        self.assertEqual(event, Event.from_dict(json.loads(json.dumps(event.to_dict()))))

    @settings(max_examples=60, deadline=None)
    @given(fields=st.dictionaries(_field_names, _json, max_size=6),
           entity_id=st.text(min_size=1, max_size=30),
           action=st.sampled_from(list(Action)),
           event_type=st.none() | st.just(DELETE_ENTITY) | st.text(min_size=1, max_size=30),
           version=st.tuples(st.floats(0, 2e9), st.floats(0, 2e9), st.sampled_from(list(Phase))))
    def test_json_round_trip_of_any_json_fields(self, fields: dict[str, Any], entity_id: str,
                                                action: Action, event_type: str | None,
                                                version: tuple[float, float, int]) -> None:
        event = Event('aodh', 'aodh', entity_id, fields, action, event_type,
                      version=Version(*version))
        self.assertEqual(event, Event.from_dict(json.loads(json.dumps(event.to_dict()))))

    def test_from_dict_without_a_metadata_key_raises_key_error(self) -> None:
        flat = _event().to_dict()
        del flat['vitrage_entity_type']
        self.assertRaises(KeyError, Event.from_dict, flat)

    def test_from_dict_with_an_unknown_action_raises_value_error(self) -> None:
        flat = {**_event().to_dict(), 'vitrage_datasource_action': 'guess'}
        self.assertRaises(ValueError, Event.from_dict, flat)

    def test_delete_entity_event_type_means_deleted(self) -> None:
        self.assertTrue(_event(event_type=DELETE_ENTITY).deleted)
        self.assertFalse(_event().deleted)

    def test_key_is_entity_type_and_id(self) -> None:
        self.assertEqual(('heat.stack', 's-1'), _event().key)

    def test_default_sample_date_is_parsable_utc_now(self) -> None:
        event = Event('aodh', 'aodh', 'a-1', {})
        sampled = parse_time(event.sample_date)
        self.assertIsNotNone(sampled)
        self.assertTrue(event.sample_date.endswith('Z'))


class TestParseTime(testtools.TestCase):
    NOON = datetime.datetime(2024, 5, 1, 12, 0, tzinfo=datetime.timezone.utc).timestamp()

    def test_formats_services_send(self) -> None:
        for text in ('2024-05-01T12:00:00', '2024-05-01T12:00:00Z', '2024-05-01 12:00:00',
                     '2024-05-01T12:00:00.000000', '2024-05-01 12:00:00.000000',
                     '2024-05-01T12:00:00.000000Z', '2024-05-01T12:00:00+00:00',
                     '2024-05-01T14:00:00+02:00', '2024-05-01T07:00:00-05:00',
                     ' 2024-05-01T12:00:00Z '):
            self.assertEqual(self.NOON, parse_time(text), text)

    def test_fractions_are_kept(self) -> None:
        self.assertEqual(self.NOON + 0.25, parse_time('2024-05-01T12:00:00.250000'))

    def test_naive_time_is_utc(self) -> None:
        self.assertEqual(parse_time('2024-05-01T12:00:00Z'), parse_time('2024-05-01 12:00:00'))

    def test_missing_or_unparsable_is_none(self) -> None:
        for value in (None, '', 'yesterday', '2024-13-45T99:00:00', 12, 1.5, [], {}):
            self.assertIsNone(parse_time(value), repr(value))

    def test_a_time_in_year_9999_is_refused(self) -> None:
        for text in ('9999-12-31T23:59:59.999999', '9999-12-31 23:59:59.9999995',
                     '9999-12-31T23:59:59-01:00', '9999-01-01T00:00:00Z'):
            self.assertIsNone(parse_time(text), text)

    def test_every_time_it_gives_formats_back_as_a_date(self) -> None:
        seconds = parse_time('9998-12-31T23:59:59Z')
        assert seconds is not None
        moment = datetime.datetime.fromtimestamp(seconds + 86_400 * 180, datetime.timezone.utc)
        self.assertEqual(9999, moment.year)


class TestVersionOrder(testtools.TestCase):

    def test_source_time_comes_first(self) -> None:
        self.assertLess(Version(1.0, 99.0, Phase.END), Version(2.0, 0.0, Phase.START))

    def test_observed_time_breaks_a_source_tie(self) -> None:
        self.assertLess(Version(5.0, 1.0, Phase.END), Version(5.0, 2.0, Phase.START))

    def test_start_phase_is_older_than_end_when_times_tie(self) -> None:
        self.assertLess(Version(5.0, 5.0, Phase.START), Version(5.0, 5.0, Phase.END))

    def test_default_version_is_oldest(self) -> None:
        self.assertLessEqual(Version(), Version(0.0, 0.0, Phase.END))
        self.assertLess(Version(), Version(0.0, 0.1))

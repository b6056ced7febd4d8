"""The reconciliation cache: snapshots, updates, versions, tombstones, emission modes."""

from __future__ import annotations

import gc
import logging
from collections.abc import Iterator, Sequence
from typing import Any

import fixtures
import testtools
from hypothesis import given, settings
from hypothesis import strategies as st

from vitrage_ds.collector.cache import EntityCache, Mode, Stats
from vitrage_ds.event import DELETE_ENTITY, Action, Event, Phase, Version
from vitrage_ds_testing.collector import entity, ids

T0 = 1_700_000_000.0  # a poll's start time
CREATED = 1_699_999_000.0  # the entities' source time


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class _Base(testtools.TestCase):
    mode: Mode = 'diff'

    def setUp(self) -> None:
        super().setUp()
        self.clock = _Clock()
        self.cache = EntityCache('scripted', mode=self.mode, tombstone_ttl=60.0,
                                 tombstone_limit=100, clock=self.clock)
        self.out: list[Event] = []

    def snapshot(self, events: Sequence[Event], *, started: float = T0,
                 action: Action = Action.SNAPSHOT) -> list[Event]:
        token = self.cache.begin_poll(started)
        return self.finish(token, events, action)

    def finish(self, token: Any, events: Sequence[Event],
               action: Action = Action.SNAPSHOT) -> list[Event]:
        emitted: list[Event] = []
        self.cache.apply_snapshot(token, events, action, emitted.extend)
        self.out.extend(emitted)
        return emitted

    def update(self, *events: Event, observed: float = T0 + 10) -> list[Event]:
        emitted: list[Event] = []
        self.cache.apply_updates(events, observed, emitted.extend)
        self.out.extend(emitted)
        return emitted


def thing(eid: str, status: str = 'ok', *, source: float = CREATED, **kw: Any) -> Event:
    return entity(eid, source=source, status=status, **kw)


def upd(eid: str, status: str = 'ok', *, source: float = CREATED,
        event_type: str = 'scripted.change', **kw: Any) -> Event:
    return entity(eid, source=source, status=status, action=Action.UPDATE,
                  event_type=event_type, **kw)


def gone(eid: str, *, source: float = CREATED, **kw: Any) -> Event:
    return entity(eid, source=source, deleted=True, action=Action.UPDATE, **kw)


class TestSnapshotsInDiffMode(_Base):

    def test_first_snapshot_emits_every_entity_with_the_given_action(self) -> None:
        out = self.snapshot([thing('a'), thing('b')], action=Action.INIT_SNAPSHOT)
        self.assertEqual(['a', 'b'], ids(out))
        self.assertEqual({Action.INIT_SNAPSHOT}, {e.action for e in out})

    def test_emitted_snapshot_events_get_the_poll_start_as_observed_time(self) -> None:
        out = self.snapshot([thing('a')], started=T0)
        self.assertEqual(Version(CREATED, T0, Phase.END), out[0].version)

    def test_unchanged_snapshot_emits_nothing(self) -> None:
        self.snapshot([thing('a'), thing('b')])
        self.assertEqual([], self.snapshot([thing('a'), thing('b')], started=T0 + 60))

    def test_emits_exactly_what_was_added_updated_and_deleted(self) -> None:
        self.snapshot([thing('a'), thing('b'), thing('c')])
        out = self.snapshot([thing('a'), thing('b', 'broken', source=CREATED + 5),
                             thing('d')], started=T0 + 60)
        self.assertEqual([('b', None, 'broken'), ('d', None, 'ok'), ('c', DELETE_ENTITY, 'ok')],
                         [(e.entity_id, e.event_type, e.fields['status']) for e in out])

    def test_stats_count_each_kind_of_change(self) -> None:
        self.snapshot([thing('a'), thing('b'), thing('c')])
        stats = self.cache.apply_snapshot(
            self.cache.begin_poll(T0 + 60),
            [thing('a'), thing('b', 'broken', source=CREATED + 5), thing('d')],
            Action.SNAPSHOT, lambda events: None)
        self.assertEqual(Stats(added=1, updated=1, unchanged=1, deleted=1, stale=0, emitted=3),
                         stats)

    def test_missing_entity_becomes_a_delete_with_its_last_fields(self) -> None:
        self.snapshot([thing('a', 'fine', colour='red')])
        [delete] = self.snapshot([], started=T0 + 60)
        self.assertEqual(('a', DELETE_ENTITY, Action.SNAPSHOT), (delete.entity_id,
                                                                 delete.event_type, delete.action))
        self.assertEqual({'id': 'a', 'status': 'fine', 'colour': 'red'}, dict(delete.fields))
        self.assertEqual(Version(CREATED, T0 + 60, Phase.END), delete.version)

    def test_a_delete_is_emitted_once(self) -> None:
        self.snapshot([thing('a')])
        self.snapshot([], started=T0 + 60)
        self.assertEqual([], self.snapshot([], started=T0 + 120))

    def test_every_entity_type_of_the_driver_is_reconciled(self) -> None:
        self.snapshot([thing('a'), thing('r', entity_type='scripted.part')])
        out = self.snapshot([thing('a')], started=T0 + 60)
        self.assertEqual([('scripted.part', 'r')], [e.key for e in out])

    def test_a_cancelled_poll_deletes_nothing(self) -> None:
        self.snapshot([thing('a'), thing('b')])
        token = self.cache.begin_poll(T0 + 60)
        self.cache.cancel_poll(token)  # get_all() raised
        self.assertEqual([('scripted.thing', 'a'), ('scripted.thing', 'b')],
                         sorted(self.cache.keys()))
        self.assertEqual([], self.snapshot([thing('a'), thing('b')], started=T0 + 120))

    def test_a_failed_delivery_leaves_the_cache_as_it_was(self) -> None:
        self.snapshot([thing('a'), thing('b')])

        def broken(events: Sequence[Event]) -> None:
            raise OSError('sink down')

        token = self.cache.begin_poll(T0 + 60)
        self.assertRaises(OSError, self.cache.apply_snapshot, token,
                          [thing('a', 'changed', source=CREATED + 1)], Action.SNAPSHOT, broken)
        self.assertEqual({'id': 'b', 'status': 'ok'}, self.cache.lookup('scripted.thing', 'b'))
        self.assertEqual('ok', self.cache.lookup('scripted.thing', 'a')['status'])

    def test_a_snapshot_retried_after_a_failed_delivery_emits_the_same_events(self) -> None:
        self.snapshot([thing('a'), thing('b')])
        second = [thing('a', 'changed', source=CREATED + 1)]
        token = self.cache.begin_poll(T0 + 60)
        self.assertRaises(OSError, self.cache.apply_snapshot, token, second, Action.SNAPSHOT,
                          _raise(OSError('sink down')))
        out = self.finish(token, second)
        self.assertEqual([('a', None), ('b', DELETE_ENTITY)],
                         [(e.entity_id, e.event_type) for e in out])

    def test_an_entity_listed_twice_counts_once(self) -> None:
        out = self.snapshot([thing('a'), thing('a', 'other')])
        self.assertEqual([('a', 'ok')], [(e.entity_id, e.fields['status']) for e in out])

    def test_a_deleted_entity_in_the_snapshot_is_emitted_as_a_delete(self) -> None:
        self.snapshot([thing('a')])
        out = self.snapshot([thing('a', 'DELETE_IN_PROGRESS', source=CREATED + 9, deleted=True)],
                            started=T0 + 60)
        self.assertEqual([('a', DELETE_ENTITY)], [(e.entity_id, e.event_type) for e in out])
        self.assertTrue(self.cache.is_deleted('scripted.thing', 'a'))

    def test_a_deleted_entity_listed_again_is_not_deleted_twice(self) -> None:
        self.snapshot([thing('a', deleted=True)])
        self.assertEqual([], self.snapshot([thing('a', deleted=True)], started=T0 + 60))

    def test_nested_key_order_is_not_a_change(self) -> None:
        self.snapshot([thing('a', rule={'x': 1, 'y': [{'p': 1, 'q': 2}]})])
        out = self.snapshot([thing('a', rule={'y': [{'q': 2, 'p': 1}], 'x': 1})],
                            started=T0 + 60)
        self.assertEqual([], out)

    def test_top_level_key_order_is_not_a_change(self) -> None:
        self.snapshot([entity('a', source=CREATED, one=1, two=2)])
        self.assertEqual([], self.snapshot([entity('a', source=CREATED, two=2, one=1)],
                                           started=T0 + 60))

    def test_a_nested_value_change_is_a_change(self) -> None:
        self.snapshot([thing('a', rule={'x': 1, 'y': [1, 2]})])
        out = self.snapshot([thing('a', rule={'x': 1, 'y': [1, 3]})], started=T0 + 60)
        self.assertEqual(['a'], ids(out))

    def test_a_value_changing_type_is_a_change(self) -> None:
        self.snapshot([thing('a', count=1)])
        self.assertEqual(['a'], ids(self.snapshot([thing('a', count='1')], started=T0 + 60)))

    def test_a_new_field_is_a_change(self) -> None:
        self.snapshot([thing('a')])
        self.assertEqual(['a'], ids(self.snapshot([thing('a', extra=None)], started=T0 + 60)))


class TestSnapshotsInFullMode(_Base):
    mode: Mode = 'full'

    def test_unchanged_snapshot_emits_everything_again(self) -> None:
        self.snapshot([thing('a'), thing('b')])
        out = self.snapshot([thing('a'), thing('b')], started=T0 + 60)
        self.assertEqual(['a', 'b'], ids(out))
        self.assertEqual({Action.SNAPSHOT}, {e.action for e in out})

    def test_missing_entity_still_becomes_a_delete(self) -> None:
        self.snapshot([thing('a'), thing('b')])
        out = self.snapshot([thing('a')], started=T0 + 60)
        self.assertEqual([('a', None), ('b', DELETE_ENTITY)],
                         [(e.entity_id, e.event_type) for e in out])

    def test_a_stale_entry_is_emitted_as_the_newer_cached_state(self) -> None:
        self.snapshot([thing('a')])
        token = self.cache.begin_poll(T0 + 60)
        self.update(upd('a', 'newer', source=CREATED + 70), observed=T0 + 70)
        [event] = self.finish(token, [thing('a', 'older')])
        self.assertEqual(('newer', Action.SNAPSHOT, None),
                         (event.fields['status'], event.action, event.event_type))

    def test_an_entity_created_during_the_poll_is_part_of_the_snapshot(self) -> None:
        token = self.cache.begin_poll(T0)
        self.update(upd('new'), observed=T0 + 1)
        out = self.finish(token, [thing('a')])
        self.assertEqual(['a', 'new'], ids(out))

    def test_an_update_identical_to_the_cache_is_emitted(self) -> None:
        self.snapshot([thing('a')])
        self.assertEqual(['a'], ids(self.update(upd('a'), observed=T0 + 5)))


class TestNotificationsDuringAPoll(_Base):

    def test_an_update_during_the_poll_is_not_undone_by_its_older_view(self) -> None:
        self.snapshot([thing('a', 'old')])
        token = self.cache.begin_poll(T0 + 60)
        self.update(upd('a', 'new'), observed=T0 + 61)  # same source time, seen later
        out = self.finish(token, [thing('a', 'old')])
        self.assertEqual([], out)
        self.assertEqual('new', self.cache.lookup('scripted.thing', 'a')['status'])

    def test_an_entity_created_during_the_poll_is_not_deleted_by_it(self) -> None:
        token = self.cache.begin_poll(T0)
        self.update(upd('new'), observed=T0 + 1)
        self.assertEqual([], self.finish(token, []))
        self.assertIsNotNone(self.cache.lookup('scripted.thing', 'new'))

    def test_the_next_poll_deletes_an_entity_it_does_not_list(self) -> None:
        token = self.cache.begin_poll(T0)
        self.update(upd('new'), observed=T0 + 1)
        self.finish(token, [])
        out = self.snapshot([], started=T0 + 60)
        self.assertEqual([('new', DELETE_ENTITY)], [(e.entity_id, e.event_type) for e in out])

    def test_an_entity_deleted_during_the_poll_is_not_revived_by_it(self) -> None:
        self.snapshot([thing('a')])
        token = self.cache.begin_poll(T0 + 60)
        self.update(gone('a'), observed=T0 + 61)
        self.assertEqual([], self.finish(token, [thing('a')]))
        self.assertIsNone(self.cache.lookup('scripted.thing', 'a'))

    def test_a_poll_right_after_a_notification_about_the_same_entity_emits_nothing(self) -> None:
        self.snapshot([thing('a', 'CREATE_IN_PROGRESS')])
        self.update(upd('a', 'CREATE_COMPLETE', source=CREATED + 3), observed=T0 + 30)
        out = self.snapshot([thing('a', 'CREATE_COMPLETE', source=CREATED + 3)], started=T0 + 60)
        self.assertEqual([], out)


class TestUpdates(_Base):

    def test_an_update_about_an_unknown_entity_is_emitted(self) -> None:
        [event] = self.update(upd('a'))
        self.assertEqual((Action.UPDATE, 'scripted.change'), (event.action, event.event_type))

    def test_the_notification_time_fills_a_missing_observed_time(self) -> None:
        [event] = self.update(upd('a'), observed=T0 + 42)
        self.assertEqual(Version(CREATED, T0 + 42, Phase.END), event.version)

    def test_an_update_older_than_the_cache_is_dropped(self) -> None:
        self.update(upd('a', 'new', source=CREATED + 10))
        self.assertEqual([], self.update(upd('a', 'old', source=CREATED + 5), observed=T0 + 99))
        self.assertEqual('new', self.cache.lookup('scripted.thing', 'a')['status'])

    def test_a_redelivered_update_is_dropped(self) -> None:
        self.update(upd('a'), observed=T0 + 10)
        self.assertEqual([], self.update(upd('a'), observed=T0 + 10))

    def test_end_delivered_before_start_leaves_the_end_state(self) -> None:
        end = upd('a', 'CREATE_COMPLETE', phase=Phase.END, event_type='x.create.end')
        start = upd('a', 'CREATE_IN_PROGRESS', phase=Phase.START, event_type='x.create.start')
        self.update(end, observed=T0 + 2)  # sent after start, delivered first
        self.assertEqual([], self.update(start, observed=T0))
        self.assertEqual('CREATE_COMPLETE', self.cache.lookup('scripted.thing', 'a')['status'])

    def test_end_and_start_with_the_same_times_are_ordered_by_phase(self) -> None:
        end = upd('a', 'CREATE_COMPLETE', phase=Phase.END, event_type='x.create.end')
        start = upd('a', 'CREATE_IN_PROGRESS', phase=Phase.START, event_type='x.create.start')
        self.update(end, observed=T0)
        self.assertEqual([], self.update(start, observed=T0))
        self.assertEqual('CREATE_COMPLETE', self.cache.lookup('scripted.thing', 'a')['status'])

    def test_a_newer_identical_update_emits_nothing_in_diff_mode(self) -> None:
        self.update(upd('a'), observed=T0)
        self.assertEqual([], self.update(upd('a'), observed=T0 + 1))

    def test_an_update_without_source_time_is_ordered_by_observed_time(self) -> None:
        self.update(upd('a', 'first', source=CREATED), observed=T0)
        out = self.update(upd('a', 'second', source=0.0), observed=T0 + 1)
        self.assertEqual([Version(CREATED, T0 + 1, Phase.END)], [e.version for e in out])
        self.assertEqual([], self.update(upd('a', 'late', source=0.0), observed=T0 - 1))

    def test_events_of_one_notification_apply_in_order(self) -> None:
        out = self.update(upd('a', 'one', source=CREATED), upd('a', 'two', source=CREATED + 1),
                          upd('a', 'stale', source=CREATED - 1))
        self.assertEqual(['one', 'two'], [e.fields['status'] for e in out])
        self.assertEqual('two', self.cache.lookup('scripted.thing', 'a')['status'])

    def test_a_failed_delivery_leaves_the_cache_as_it_was(self) -> None:
        self.update(upd('a', 'one'), observed=T0)
        self.assertRaises(OSError, self.cache.apply_updates,
                          [upd('a', 'two', source=CREATED + 1)], T0 + 1,
                          _raise(OSError('sink down')))
        self.assertEqual('one', self.cache.lookup('scripted.thing', 'a')['status'])
        self.assertEqual(['a'], ids(self.update(upd('a', 'two', source=CREATED + 1))))

    def test_nothing_is_delivered_when_nothing_is_emitted(self) -> None:
        self.update(upd('a'), observed=T0)
        calls: list[Sequence[Event]] = []
        self.cache.apply_updates([upd('a')], T0, calls.append)
        self.assertEqual([], calls)


class TestDeletesAndTombstones(_Base):

    def test_a_delete_notification_is_emitted_with_the_last_known_fields(self) -> None:
        self.update(upd('a', 'ok', colour='red'), observed=T0)
        [event] = self.update(entity('a', deleted=True, action=Action.UPDATE, source=CREATED,
                                     event_type=None).replace(fields={}), observed=T0 + 1)
        self.assertEqual(DELETE_ENTITY, event.event_type)
        self.assertEqual({'id': 'a', 'status': 'ok', 'colour': 'red'}, dict(event.fields))

    def test_a_late_older_update_does_not_resurrect_a_deleted_entity(self) -> None:
        self.update(upd('a'), observed=T0)
        self.update(gone('a'), observed=T0 + 2)
        self.assertEqual([], self.update(upd('a', 'late'), observed=T0 + 1))
        self.assertIsNone(self.cache.lookup('scripted.thing', 'a'))

    def test_a_late_update_without_source_time_does_not_resurrect(self) -> None:
        self.update(upd('a'), observed=T0)
        self.update(gone('a', source=0.0), observed=T0 + 2)
        self.assertEqual([], self.update(upd('a', 'late', source=CREATED), observed=T0 + 1))

    def test_a_newer_update_after_a_delete_brings_the_entity_back(self) -> None:
        self.update(upd('a'), observed=T0)
        self.update(gone('a'), observed=T0 + 1)
        self.assertEqual(['a'], ids(self.update(upd('a', 'back', source=CREATED + 50),
                                                observed=T0 + 50)))
        self.assertEqual('back', self.cache.lookup('scripted.thing', 'a')['status'])

    def test_a_second_delete_is_not_emitted(self) -> None:
        self.update(upd('a'), observed=T0)
        self.update(gone('a'), observed=T0 + 1)
        self.assertEqual([], self.update(gone('a', source=CREATED + 1), observed=T0 + 2))

    def test_a_delete_of_an_unknown_entity_is_emitted_once(self) -> None:
        self.assertEqual(['x'], ids(self.update(gone('x'), observed=T0)))
        self.assertEqual([], self.update(gone('x'), observed=T0 + 1))

    def test_a_delete_older_than_the_cache_is_dropped(self) -> None:
        self.update(upd('a', source=CREATED + 10), observed=T0)
        self.assertEqual([], self.update(gone('a', source=CREATED), observed=T0 - 5))
        self.assertIsNotNone(self.cache.lookup('scripted.thing', 'a'))

    def test_a_tombstone_expires_after_its_lifetime(self) -> None:
        self.update(upd('a'), observed=T0)
        self.update(gone('a'), observed=T0 + 2)
        self.clock.now += 61
        self.update(upd('b'), observed=T0 + 3)  # any change expires old tombstones
        self.assertFalse(self.cache.is_deleted('scripted.thing', 'a'))
        self.assertEqual(['a'], ids(self.update(upd('a', 'late'), observed=T0 + 1)))

    def test_a_tombstone_lives_until_its_lifetime_ends(self) -> None:
        self.update(upd('a'), observed=T0)
        self.update(gone('a'), observed=T0 + 2)
        self.clock.now += 59
        self.update(upd('b'), observed=T0 + 3)
        self.assertTrue(self.cache.is_deleted('scripted.thing', 'a'))

    def test_the_oldest_tombstones_go_beyond_the_limit(self) -> None:
        self.update(*(gone(f'x{i}') for i in range(105)), observed=T0)
        self.assertEqual(100, self.cache.tombstones)
        self.assertFalse(self.cache.is_deleted('scripted.thing', 'x4'))
        self.assertTrue(self.cache.is_deleted('scripted.thing', 'x5'))

    def test_a_snapshot_delete_also_leaves_a_tombstone(self) -> None:
        self.snapshot([thing('a')])
        self.snapshot([], started=T0 + 60)
        self.assertEqual([], self.update(upd('a', 'late'), observed=T0 + 30))


class TestNotificationOnlyFields(_Base):

    def setUp(self) -> None:
        super().setUp()
        self.cache = EntityCache('scripted', mode=self.mode, clock=self.clock,
                                 notification_only={'scripted.thing': ['description']})

    def test_a_poll_that_cannot_see_a_field_does_not_undo_a_notification(self) -> None:
        self.snapshot([thing('a', description=None)])
        self.update(upd('a', 'ok', source=CREATED + 1, description='told'), observed=T0 + 5)
        out = self.snapshot([thing('a', 'ok', source=CREATED + 1, description=None)],
                            started=T0 + 60)
        self.assertEqual([], out)
        self.assertEqual('told', self.cache.lookup('scripted.thing', 'a')['description'])

    def test_a_changed_entity_keeps_the_known_value(self) -> None:
        self.update(upd('a', 'ok', description='told'), observed=T0)
        [event] = self.snapshot([thing('a', 'broken', source=CREATED + 1, description=None)],
                                started=T0 + 60)
        self.assertEqual({'id': 'a', 'status': 'broken', 'description': 'told'},
                         dict(event.fields))

    def test_a_value_the_poll_does_see_wins(self) -> None:
        self.update(upd('a', 'ok', description='told'), observed=T0)
        [event] = self.snapshot([thing('a', 'ok', source=CREATED + 1, description='polled')],
                                started=T0 + 60)
        self.assertEqual('polled', event.fields['description'])

    def test_other_fields_are_the_polls(self) -> None:
        self.update(upd('a', 'ok', description='told', colour='red'), observed=T0)
        [event] = self.snapshot([thing('a', 'ok', source=CREATED + 1, description=None,
                                       colour=None)], started=T0 + 60)
        self.assertEqual({'id': 'a', 'status': 'ok', 'description': 'told', 'colour': None},
                         dict(event.fields))

    def test_a_notification_saying_none_is_taken_as_is(self) -> None:
        self.update(upd('a', 'ok', description='told'), observed=T0)
        self.update(upd('a', 'ok', source=CREATED + 1, description=None), observed=T0 + 1)
        self.assertIsNone(self.cache.lookup('scripted.thing', 'a')['description'])

    def test_full_mode_emits_the_kept_value(self) -> None:
        cache = EntityCache('scripted', mode='full',
                            notification_only={'scripted.thing': ['description']})
        cache.apply_updates([upd('a', 'ok', description='told')], T0, lambda e: None)
        out: list[Event] = []
        cache.apply_snapshot(cache.begin_poll(T0 + 60),
                             [thing('a', 'ok', source=CREATED + 1, description=None)],
                             Action.SNAPSHOT, out.extend)
        self.assertEqual(['told'], [e.fields['description'] for e in out])


class TestTimesFromTheFuture(_Base):
    """A source or envelope time beyond the clock plus ``max_clock_skew`` is not believed."""

    NOW = T0 + 100  # the collector's own clock
    FORGED = 253_370_764_799.0  # 9998-12-31T23:59:59Z

    def setUp(self) -> None:
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(
            name='vitrage_ds.collector.cache', level=logging.WARNING,
            format='%(levelname)s %(message)s'))
        self.now = self.NOW
        self.cache = EntityCache('scripted', mode='diff', clock=self.clock,
                                 max_clock_skew=300.0, wallclock=lambda: self.now)

    def state(self) -> str:
        cached = self.cache.lookup('scripted.thing', 'a')
        return cached['status'] if cached else '(none)'

    def test_a_later_genuine_update_follows_a_forged_one(self) -> None:
        self.snapshot([thing('a', 'ok')])
        self.update(upd('a', 'forged', source=self.FORGED), observed=T0 + 10)
        self.update(upd('a', 'alarm', source=CREATED + 20), observed=T0 + 20)
        self.assertEqual(['ok', 'forged', 'alarm'], [e.fields['status'] for e in self.out])

    def test_the_next_poll_corrects_a_forged_update(self) -> None:
        self.snapshot([thing('a', 'ok')])
        self.update(upd('a', 'forged', source=self.FORGED), observed=T0 + 10)
        self.now = T0 + 160
        self.snapshot([thing('a', 'ok')], started=T0 + 60)
        self.assertEqual('ok', self.state())

    def test_a_forged_envelope_time_is_replaced_by_the_clock(self) -> None:
        self.update(upd('a', source=0.0), observed=self.FORGED)
        self.assertEqual(Version(0.0, self.NOW, Phase.END),
                         self.cache.version('scripted.thing', 'a'))
        self.update(upd('a', 'later', source=0.0), observed=self.NOW + 1)
        self.assertEqual('later', self.state())

    def test_a_forged_delete_does_not_keep_the_entity_away_from_polls(self) -> None:
        self.snapshot([thing('a', 'ok')])
        self.update(gone('a', source=self.FORGED), observed=T0 + 10)
        self.now = T0 + 160
        self.snapshot([thing('a', 'ok')], started=T0 + 60)
        self.assertEqual('ok', self.state())

    def test_a_time_within_the_allowance_is_taken_as_it_is(self) -> None:
        self.update(upd('a', source=self.NOW + 299), observed=self.NOW)
        self.assertEqual(Version(self.NOW + 299, self.NOW, Phase.END),
                         self.cache.version('scripted.thing', 'a'))

    def test_a_poll_corrects_an_entity_dated_after_the_poll_began(self) -> None:
        # A fast clock within the allowance: the update claims a time the
        # poll, begun later, has not reached; the poll's truth wins.
        self.update(upd('a', 'fast', source=self.NOW + 200), observed=self.NOW)
        token = self.cache.begin_poll(self.NOW + 10)
        stats = self.cache.apply_snapshot(token, [thing('a', 'ok', source=self.NOW + 5)],
                                          Action.SNAPSHOT, self.out.extend)
        self.assertEqual(('ok', 1, 0), (self.state(), stats.corrected, stats.stale))
        self.assertEqual(Version(self.NOW + 5, self.NOW + 10, Phase.END),
                         self.cache.version('scripted.thing', 'a'))

    def test_a_poll_does_not_undo_an_update_made_while_it_ran(self) -> None:
        token = self.cache.begin_poll(self.NOW)
        self.update(upd('a', 'during', source=self.NOW + 200), observed=self.NOW + 1)
        self.cache.apply_snapshot(token, [thing('a', 'ok', source=self.NOW - 5)],
                                  Action.SNAPSHOT, self.out.extend)
        self.assertEqual('during', self.state())

    def test_a_poll_does_not_undo_an_older_genuine_notification(self) -> None:
        self.update(upd('a', 'told', source=self.NOW - 1), observed=self.NOW)
        self.snapshot([thing('a', 'lagging', source=self.NOW - 30)], started=self.NOW + 10)
        self.assertEqual('told', self.state())

    def test_a_poll_dated_in_the_future_is_ordered_by_its_start(self) -> None:
        self.snapshot([thing('a', 'ok', source=self.FORGED)], started=self.NOW)
        self.assertEqual(Version(0.0, self.NOW, Phase.END),
                         self.cache.version('scripted.thing', 'a'))

    def test_future_dated_events_are_counted_and_warned_about_once_a_minute(self) -> None:
        stats = [self.cache.apply_updates([upd('a', source=self.FORGED + n)], T0 + n,
                                          lambda events: None) for n in range(3)]
        self.clock.now += 60
        self.cache.apply_updates([upd('a\nCRITICAL forged', source=self.FORGED)], T0 + 5,
                                 lambda events: None)
        self.assertEqual([1, 1, 1], [s.future for s in stats])
        lines = self.logs.output.splitlines()
        self.assertEqual(2, len(lines), lines)
        self.assertIn('1 event(s) dated more than 300 s ahead', lines[0])
        self.assertIn("3 event(s) dated more than 300 s ahead", lines[1])
        self.assertIn("'a\\nCRITICAL forged'", lines[1])


class _Unstorable:
    """A field value the cache cannot encode: it has no text form."""

    def __str__(self) -> str:
        raise ValueError('no text form')


class TestEventsThatCannotBeStored(_Base):
    """An event whose fields the cache cannot encode is dropped, alone."""

    def setUp(self) -> None:
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(
            name='vitrage_ds.collector.cache', level=logging.WARNING,
            format='%(levelname)s %(message)s'))

    def test_the_other_events_of_a_notification_are_applied(self) -> None:
        out = self.update(upd('a', extra=_Unstorable()), upd('b'))
        self.assertEqual((['b'], None), (ids(out), self.cache.lookup('scripted.thing', 'a')))

    def test_the_other_entities_of_a_snapshot_are_applied(self) -> None:
        out = self.snapshot([thing('a', extra=_Unstorable()), thing('b')])
        self.assertEqual(['b'], ids(out))

    def test_a_known_entity_keeps_its_state_and_is_not_deleted(self) -> None:
        self.snapshot([thing('a', 'ok')])
        out = self.snapshot([thing('a', 'changed', source=CREATED + 1, extra=_Unstorable())],
                            started=T0 + 60)
        self.assertEqual(([], 'ok'), (out, self.cache.lookup('scripted.thing', 'a')['status']))

    def test_they_are_counted(self) -> None:
        stats = self.cache.apply_updates([upd('a', extra=_Unstorable()), upd('b')], T0,
                                         lambda events: None)
        self.assertEqual((1, 1), (stats.invalid, stats.added))

    def test_they_are_warned_about_once_a_minute_with_a_count(self) -> None:
        for n in range(3):
            self.update(upd(f'a{n}', extra=_Unstorable()))
        self.clock.now += 60
        self.update(upd('b\nCRITICAL forged', extra=_Unstorable()))
        lines = self.logs.output.splitlines()
        self.assertEqual(2, len(lines), lines)
        self.assertIn('1 event(s) whose fields could not be stored', lines[0])
        self.assertIn('ValueError: no text form', lines[0])
        self.assertIn('3 event(s) whose fields could not be stored', lines[1])
        self.assertIn("'b\\nCRITICAL forged'", lines[1])


class TestEventsThatCannotBeStoredInFullMode(_Base):
    mode = 'full'

    def test_a_known_entity_is_emitted_as_cached(self) -> None:
        self.snapshot([thing('a', 'ok')])
        out = self.snapshot([thing('a', 'changed', source=CREATED + 1, extra=_Unstorable())],
                            started=T0 + 60)
        self.assertEqual([('a', 'ok')], [(e.entity_id, e.fields['status']) for e in out])

    def test_a_known_entity_is_not_deleted(self) -> None:
        self.snapshot([thing('a', 'ok')])
        self.snapshot([thing('a', 'changed', source=CREATED + 1, extra=_Unstorable())],
                      started=T0 + 60)
        self.assertFalse(self.cache.is_deleted('scripted.thing', 'a'))


class _RestoreGarbageCollector(fixtures.Fixture):
    def _setUp(self) -> None:
        self.addCleanup(gc.enable if gc.isenabled() else gc.disable)


class TestGarbageCollector(_Base):
    """The cyclic collector is paused while a snapshot is planned, never while delivered."""

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(_RestoreGarbageCollector())
        gc.enable()

    def states(self, cache: EntityCache) -> tuple[list[bool], list[bool]]:
        """Whether the collector was on as the snapshot was read, and as it was delivered."""
        planning: list[bool] = []
        delivering: list[bool] = []

        def read() -> Iterator[Event]:
            for event in [thing('a'), thing('b')]:
                planning.append(gc.isenabled())
                yield event

        cache.apply_snapshot(cache.begin_poll(T0), read(), Action.SNAPSHOT,
                             lambda events: delivering.append(gc.isenabled()))
        return planning, delivering

    def test_it_is_off_while_a_snapshot_is_planned(self) -> None:
        self.assertEqual([False, False], self.states(self.cache)[0])

    def test_it_is_on_while_a_snapshot_is_delivered(self) -> None:
        self.assertEqual([True], self.states(self.cache)[1])

    def test_it_is_on_again_after_the_snapshot(self) -> None:
        self.states(self.cache)
        self.assertTrue(gc.isenabled())

    def test_without_pause_gc_it_stays_on_while_planned_and_delivered(self) -> None:
        cache = EntityCache('scripted', mode='diff', pause_gc=False)
        self.assertEqual(([True, True], [True]), self.states(cache))


class TestLookup(_Base):

    def test_gives_the_last_delivered_fields(self) -> None:
        self.snapshot([thing('a', 'ok', tags=['x', 'y'], rule={'b': 1, 'a': None})])
        self.assertEqual({'id': 'a', 'status': 'ok', 'tags': ['x', 'y'],
                          'rule': {'a': None, 'b': 1}},
                         self.cache.lookup('scripted.thing', 'a'))

    def test_changing_the_result_changes_nothing_in_the_cache(self) -> None:
        self.snapshot([thing('a')])
        found = self.cache.lookup('scripted.thing', 'a')
        assert isinstance(found, dict)
        found['status'] = 'forged'
        self.assertEqual('ok', self.cache.lookup('scripted.thing', 'a')['status'])

    def test_unknown_and_deleted_entities_give_none(self) -> None:
        self.update(upd('a'), observed=T0)
        self.update(gone('a'), observed=T0 + 1)
        self.assertIsNone(self.cache.lookup('scripted.thing', 'a'))
        self.assertIsNone(self.cache.lookup('scripted.thing', 'never'))
        self.assertIsNone(self.cache.lookup('other.type', 'a'))

    def test_version_of_a_live_and_of_a_deleted_entity(self) -> None:
        self.update(upd('a'), observed=T0)
        self.assertEqual(Version(CREATED, T0, Phase.END), self.cache.version('scripted.thing', 'a'))
        self.update(gone('a'), observed=T0 + 1)
        self.assertEqual(Version(CREATED, T0 + 1, Phase.END),
                         self.cache.version('scripted.thing', 'a'))


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-2**53, 2**53)
    | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=10)


class TestEncoding(testtools.TestCase):

    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(st.dictionaries(st.text(min_size=1, max_size=8), _json, max_size=6))
    def test_lookup_gives_back_any_json_fields(self, fields: dict[str, Any]) -> None:
        cache = EntityCache('x', mode='diff')
        cache.apply_updates([Event('x', 't', 'i', fields, version=Version(1.0, 1.0))], 1.0,
                            lambda events: None)
        self.assertEqual(fields, cache.lookup('t', 'i'))

    @settings(max_examples=200, deadline=None, derandomize=True)
    @given(st.dictionaries(st.text(min_size=1, max_size=8), _json, max_size=6))
    def test_equal_fields_in_another_order_are_unchanged(self, fields: dict[str, Any]) -> None:
        cache = EntityCache('x', mode='diff')
        cache.apply_updates([Event('x', 't', 'i', fields, version=Version(1.0, 1.0))], 1.0,
                            lambda events: None)
        reordered = dict(reversed(list(fields.items())))
        out: list[Event] = []
        cache.apply_updates([Event('x', 't', 'i', reordered, version=Version(1.0, 2.0))], 2.0,
                            out.extend)
        self.assertEqual([], out)


def _raise(exc: Exception) -> Any:
    def deliver(events: Sequence[Event]) -> None:
        raise exc
    return deliver

"""The collector polling the emulated cloud with the real Heat and Aodh drivers.

Parallel drivers with one failing or hanging, backoff (driven by an
injected sleep: no timing assertion), diff mode emitting exactly the
changes, and failed polls deleting nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Any

import fixtures
import testtools

from vitrage_ds.collector import Collector
from vitrage_ds.errors import BackendError
from vitrage_ds.event import DELETE_ENTITY, Action, Event
from vitrage_ds_testing.cloud import EmulatedCloud
from vitrage_ds_testing.collector import RecordingSink

DEADLINE = 30.0


def kinds(events: Iterable[Event]) -> set[tuple[str, str, str]]:
    """``(entity_type, entity_id, 'deleted' | 'state')`` of each event."""
    return {(e.entity_type, e.entity_id, 'deleted' if e.event_type == DELETE_ENTITY else 'state')
            for e in events}


class _CloudCase(testtools.TestCase):
    mode = 'diff'

    def setUp(self) -> None:
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.cloud = self.useFixture(EmulatedCloud(seed=11, global_index_allowed=True))
        self.cloud.populate(stacks=20, resources_per_stack=3, alarms=30, projects=3)
        self.sink = RecordingSink()

    def collector(self, *, groups: dict[str, dict[str, Any]] | None = None,
                  **kw: Any) -> Collector:
        conf = self.cloud.make_conf('password', overrides={
            'http': {'retries': 0}, 'service_credentials': {'timeout': 2},
            'collector': {'mode': self.mode, 'listen': False, 'retry_backoff': 5.0,
                          'retry_backoff_max': 60.0},
            **(groups or {})})
        collector = Collector(conf, self.sink, **kw)
        self.addCleanup(collector.stop, 30)
        return collector

    def stack_kinds(self, stack_id: str, what: str) -> set[tuple[str, str, str]]:
        """The stack and each of its resources, as :func:`kinds` gives them."""
        stack = self.cloud.heat.get(stack_id)
        return {('heat.stack', stack_id, what)} | {
            ('heat.resource', f'{stack_id}/{r.name}', what)
            for r in self.cloud.heat.resources(stack)}


class TestParallelDrivers(_CloudCase):

    def test_a_failing_driver_does_not_keep_the_other_from_delivering(self) -> None:
        self.cloud.fail('aodh.alarms.list', 500)
        collector = self.collector(rand=lambda: 0.0)
        collector.start()
        self.sink.wait_for(lambda events: any(e.datasource == 'heat.stack' for e in events),
                           DEADLINE)
        self.assertEqual({'heat.stack'}, {e.datasource for e in self.sink.events})
        self.assertEqual(80, len(self.sink.events))  # 20 stacks, 60 resources
        self.assertGreater(collector.poll_states['aodh'].failures, 0)

    def test_a_hanging_driver_does_not_keep_the_other_from_delivering(self) -> None:
        self.cloud.hang('aodh.alarms.list', 3600.0)
        collector = self.collector(rand=lambda: 0.0)
        collector.start()
        events = self.sink.wait_for(
            lambda events: any(e.datasource == 'heat.stack' for e in events), DEADLINE)
        self.assertNotIn('aodh', {e.datasource for e in events})

    def test_failed_polls_back_off_then_resume_the_interval(self) -> None:
        down = self.cloud.fail('aodh.alarms.list', 503, times=4)
        delays: dict[str, list[float]] = {'heat.stack': [], 'aodh': []}
        enough = threading.Event()
        stop = threading.Event()

        def sleep(seconds: float) -> bool:
            name = threading.current_thread().name.removeprefix('vitrage_ds-poll-')
            delays[name].append(seconds)
            if len(delays['aodh']) >= 7 and len(delays['heat.stack']) >= 2:
                enough.set()
            if len(delays[name]) > 7:
                return stop.wait()
            return stop.is_set()

        collector = self.collector(sleep=sleep, rand=lambda: 0.0, clock=lambda: 0.0)
        collector.start()
        self.assertTrue(enough.wait(DEADLINE))
        stop.set()
        self.assertEqual(4, down.fired)
        self.assertEqual([0.0, 5.0, 10.0, 20.0, 40.0, 60.0, 60.0], delays['aodh'][:7])
        self.assertEqual([0.0, 600.0], delays['heat.stack'][:2])

    def test_backoff_is_logged_once_per_change_of_state(self) -> None:
        self.cloud.fail('aodh.alarms.list', 503, times=3)
        recovered = threading.Event()
        stop = threading.Event()

        def sleep(seconds: float) -> bool:
            if threading.current_thread().name != 'vitrage_ds-poll-aodh':
                return stop.wait()
            if collector.poll_states['aodh'].runs:
                recovered.set()
                return stop.wait()
            return False

        collector = self.collector(sleep=sleep, rand=lambda: 0.0)
        collector.start()
        self.assertTrue(recovered.wait(DEADLINE))
        stop.set()
        lines = [line for line in self.log.output.splitlines() if 'poll aodh' in line]
        self.assertEqual(2, len(lines), lines)
        self.assertIn('poll aodh failed: APIError', lines[0])
        self.assertIn('poll aodh recovered after 3 failed attempt(s)', lines[1])


class TestDiffMode(_CloudCase):

    def test_a_poll_emits_exactly_what_changed(self) -> None:
        collector = self.collector()
        collector.poll('heat.stack')
        stacks = self.cloud.heat.ordered()
        updated, failed, deleted = stacks[0].id, stacks[1].id, stacks[2].id
        self.cloud.heat.update_stack(updated, description='new description')
        self.cloud.heat.fail(failed, action='UPDATE')
        doomed = self.stack_kinds(deleted, 'deleted')
        self.cloud.heat.delete_stack(deleted)
        created = self.cloud.heat.create_stack('fresh', resources=2).id
        self.sink.batches.clear()

        collector.poll('heat.stack')

        got = kinds(self.sink.events)
        stacks_seen = {eid for etype, eid, _ in got if etype == 'heat.stack'}
        self.assertEqual({updated, failed, deleted, created}, stacks_seen)
        self.assertTrue(doomed <= got)
        self.assertTrue(self.stack_kinds(created, 'state') <= got)
        touched = {updated, failed, deleted, created}
        self.assertEqual(set(), {eid for etype, eid, _ in got
                                 if etype == 'heat.resource' and eid.split('/')[0] not in touched})
        by_id = {e.entity_id: e for e in self.sink.events}
        self.assertEqual(('UPDATE_COMPLETE', 'UPDATE_FAILED'),
                         (by_id[updated].fields['status'], by_id[failed].fields['status']))

    def test_a_poll_without_changes_emits_nothing(self) -> None:
        collector = self.collector()
        collector.poll('heat.stack')
        collector.poll('aodh')
        self.sink.batches.clear()
        collector.poll('heat.stack')
        collector.poll('aodh')
        self.assertEqual([], self.sink.events)

    def test_alarm_changes_are_emitted_exactly_once(self) -> None:
        collector = self.collector()
        collector.poll('aodh')
        alarms = self.cloud.aodh.ordered()
        fired, gone = alarms[0]['alarm_id'], alarms[1]['alarm_id']
        self.cloud.aodh.set_state(fired, 'alarm' if alarms[0]['state'] != 'alarm' else 'ok')
        self.cloud.aodh.delete_alarm(gone)
        new = self.cloud.aodh.create_alarm('fresh', 'event')['alarm_id']
        self.sink.batches.clear()
        collector.poll('aodh')
        collector.poll('aodh')
        self.assertEqual({('aodh', fired, 'state'), ('aodh', gone, 'deleted'),
                          ('aodh', new, 'state')}, kinds(self.sink.events))
        self.assertEqual(3, len(self.sink.events))


class TestFailedPolls(_CloudCase):

    def test_a_poll_failing_on_a_later_page_deletes_nothing(self) -> None:
        collector = self.collector(groups={'driver.heat.stack': {'page_size': 5}})
        collector.poll('heat.stack')
        self.sink.batches.clear()
        page = self.cloud.fail_on_page('heat.stacks.list', 3, 500)
        self.assertRaises(BackendError, collector.poll, 'heat.stack')
        self.assertEqual(1, page.fired)
        self.assertEqual([], self.sink.events)
        self.assertEqual(80, len(collector.cache('heat.stack')))

    def test_a_failed_resource_listing_deletes_nothing(self) -> None:
        collector = self.collector()
        collector.poll('heat.stack')
        self.sink.batches.clear()
        one = self.cloud.fail('heat.resources.list', 500, start=6, times=1)
        self.assertRaises(BackendError, collector.poll, 'heat.stack')
        self.assertEqual(1, one.fired)
        self.assertEqual([], self.sink.events)
        self.assertEqual(80, len(collector.cache('heat.stack')))

    def test_after_a_failed_poll_the_next_one_emits_the_real_changes(self) -> None:
        collector = self.collector()
        collector.poll('aodh')
        gone = self.cloud.aodh.ordered()[0]['alarm_id']
        self.cloud.aodh.delete_alarm(gone)
        self.sink.batches.clear()
        self.cloud.fail('aodh.alarms.list', 500, times=1)
        self.assertRaises(BackendError, collector.poll, 'aodh')
        self.assertEqual([], self.sink.events)
        collector.poll('aodh')
        self.assertEqual({('aodh', gone, 'deleted')}, kinds(self.sink.events))


class TestFullMode(_CloudCase):
    mode = 'full'

    def test_every_poll_emits_the_whole_state_and_the_deletes(self) -> None:
        collector = self.collector()
        collector.poll('aodh')
        gone = self.cloud.aodh.ordered()[0]['alarm_id']
        self.cloud.aodh.delete_alarm(gone)
        self.sink.batches.clear()
        collector.poll('aodh')
        self.assertEqual(30, len(self.sink.events))
        self.assertEqual({Action.SNAPSHOT}, {e.action for e in self.sink.events})
        self.assertEqual([gone], [e.entity_id for e in self.sink.events if e.deleted])

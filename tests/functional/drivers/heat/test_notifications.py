"""Heat's notifications from the emulated cloud's mutation API, over real RabbitMQ.

The emulator publishes on exchange ``heat`` of a vhost of the test's own, as
Heat does (errors at ERROR priority); a real :class:`~vitrage_ds.collector.Collector`
with the Heat driver listens, reconciles in ``diff`` mode and delivers to a
recording sink.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
import fixtures
import testtools

from vitrage_ds.bus import get_transport
from vitrage_ds.collector import Collector
from vitrage_ds.config import new_config
from vitrage_ds.drivers.heat import HeatStackDriver
from vitrage_ds.event import Action, Event
from vitrage_ds_testing import RecordingSink, load_plugin
from tests.kit import RabbitVhost
from vitrage_ds_testing.cloud import EmulatedCloud

#: Deadline for a notification to make its way; never a measured time.
DEADLINE = 30.0


class TestNotificationsOverRabbitMQ(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        vhost = self.useFixture(RabbitVhost())
        self.cloud = self.useFixture(EmulatedCloud(seed=12, global_index_allowed=True))
        self.cloud.heat.populate(3, 2)
        transport = get_transport(new_config(), url=vhost.transport_url)
        self.addCleanup(transport.cleanup)
        conf = self.cloud.make_conf('password', http={'retries': 0},
                                    collector={'mode': 'diff', 'listener_pool': 'heat-test'})
        self.driver: HeatStackDriver = load_plugin('driver', 'heat.stack', conf=conf,
                                                   options={'poll_interval': 3600.0})
        self.addCleanup(self.driver.close)
        self.sink = RecordingSink()
        self.collector = Collector(conf, self.sink, drivers={'heat.stack': self.driver},
                                   transport=transport)
        self.collector.poll('heat.stack')
        self.collector.start()
        self.addCleanup(self.collector.stop, 10.0)
        self._await_first_scheduled_poll()
        self.cloud.connect_bus(transport)
        self.store = self.cloud.heat

    def _await_first_scheduled_poll(self) -> None:
        # start() polls once within its jitter; a poll landing between a
        # create.start and its create.end would see the stack complete and
        # (rightly, in diff mode) make create.end a non-change. The tests
        # poll by hand, so let that first poll pass before they begin.
        deadline = time.monotonic() + DEADLINE
        while not self.collector.poll_states['heat.stack'].runs:
            self.assertLess(time.monotonic(), deadline, 'the first scheduled poll never ran')
            time.sleep(0.05)

    def event(self, match: Callable[[Event], bool], what: str) -> Event:
        events = self.sink.wait_for(lambda evs: any(match(e) for e in evs), DEADLINE)
        found = [e for e in events if match(e)]
        self.assertTrue(found, what)
        return found[-1]

    def stack_event(self, event_type: str, stack_id: str) -> Event:
        return self.event(lambda e: (e.event_type == event_type and e.entity_id == stack_id),
                          f'{event_type} for {stack_id}')

    def updates_of(self, stack_id: str) -> list[Event]:
        return [e for e in self.sink.events if e.action == Action.UPDATE
                and (e.entity_id == stack_id or e.entity_id.startswith(f'{stack_id}/'))]

    def resource_calls(self) -> int:
        return self.cloud.requests.count('heat.resources.list')

    def test_create_gives_the_stack_then_its_resources(self) -> None:
        stack = self.store.create_stack('born', resources=3)

        # create.start and create.end are published back to back: the pooled
        # listener may apply the end first, and the start is then rightly
        # stale (test_start_makes_no_call_and_end_one waits for a start).
        end = self.stack_event('orchestration.stack.create.end', stack.id)

        self.assertEqual('CREATE_COMPLETE', end.fields['status'])
        resources = self.event(
            lambda e: e.entity_id == f'{stack.id}/{self.store.resources(stack)[2].name}',
            'the third resource')
        self.assertEqual('orchestration.stack.create.end', resources.event_type)

    def test_start_makes_no_call_and_end_one(self) -> None:
        before = self.resource_calls()
        stack = self.store.create_stack('counted', resources=2, complete=False)
        self.stack_event('orchestration.stack.create.start', stack.id)
        self.assertEqual(before, self.resource_calls())

        self.store.complete(stack.id)
        self.stack_event('orchestration.stack.create.end', stack.id)

        self.assertEqual(before + 1, self.resource_calls())

    def test_a_failure_arrives_at_error_priority_with_the_failed_resource(self) -> None:
        stack = self.store.create_stack('broken', resources=2, complete=False)
        self.store.fail(stack.id, 'Resource CREATE failed: boom')

        error = self.stack_event('orchestration.stack.create.error', stack.id)

        self.assertEqual(('CREATE_FAILED', 'Resource CREATE failed: boom'),
                         (error.fields['status'], error.fields['status_reason']))
        first = self.store.resources(stack)[0].name
        failed = self.event(lambda e: e.entity_id == f'{stack.id}/{first}'
                            and e.fields.get('status') == 'CREATE_FAILED', 'failed resource')
        self.assertEqual('orchestration.stack.create.error', failed.event_type)

    def test_update_suspend_and_resume_follow_each_other(self) -> None:
        stack = self.store.create_stack('busy', resources=1)
        self.stack_event('orchestration.stack.create.end', stack.id)

        self.store.update_stack(stack.id, description='second version')
        self.stack_event('orchestration.stack.update.end', stack.id)
        self.store.begin(stack.id, 'SUSPEND')
        self.store.complete(stack.id)
        suspended = self.stack_event('orchestration.stack.suspend.end', stack.id)
        self.store.begin(stack.id, 'RESUME')
        self.store.complete(stack.id)
        resumed = self.stack_event('orchestration.stack.resume.end', stack.id)

        self.assertEqual(('SUSPEND_COMPLETE', 'RESUME_COMPLETE'),
                         (suspended.fields['status'], resumed.fields['status']))
        self.assertEqual('second version', resumed.fields['description'])
        self.assertLess(suspended.version, resumed.version)

    def test_delete_is_a_delete_without_a_call(self) -> None:
        stack = self.store.create_stack('doomed', resources=2)
        self.stack_event('orchestration.stack.create.end', stack.id)
        before = self.resource_calls()

        self.store.delete_stack(stack.id)
        gone = self.event(lambda e: e.entity_id == stack.id and e.deleted, 'the delete')

        self.assertTrue(gone.deleted)
        self.assertEqual(before, self.resource_calls())

    def test_a_nested_stack_names_its_parent_from_the_collector_s_cache(self) -> None:
        parent = self.store.create_stack('family', resources=1)
        self.stack_event('orchestration.stack.create.end', parent.id)
        self.collector.poll('heat.stack')

        child = self.store.create_stack('family-kid', parent=parent.id,
                                        parent_resource='kid', resources=1)
        self.collector.poll('heat.stack')
        self.store.update_stack(child.id)
        updated = self.stack_event('orchestration.stack.update.end', child.id)

        self.assertEqual(parent.id, updated.fields['parent'])

    def test_a_poll_after_the_notifications_changes_nothing(self) -> None:
        stack = self.store.create_stack('settled', resources=2, description='kept')
        self.stack_event('orchestration.stack.create.end', stack.id)
        self.event(lambda e: e.entity_type == 'heat.resource'
                   and e.fields.get('stack_id') == stack.id, 'its resources')
        delivered = len(self.sink.events)

        stats = self.collector.poll('heat.stack')

        self.assertEqual([], self.sink.events[delivered:], stats)


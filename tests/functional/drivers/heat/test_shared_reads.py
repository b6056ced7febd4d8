"""Heat ``*.end`` notifications about one stack arriving together share a resources read.

The emulated Heat answers the first resources read of the stack after a
delay; the notifications handled meanwhile must not read the stack again
each, yet each gets resources read after it arrived.
"""

from __future__ import annotations

import threading
from typing import Any

import testtools

from vitrage_ds.drivers.heat import HeatStackDriver
from vitrage_ds.event import Event
from vitrage_ds_testing import load_plugin, wait_until
from vitrage_ds_testing.cloud import EmulatedCloud

#: How long the first read takes: the window in which the others arrive.
FIRST_READ_DELAY = 3.0
LATER = 4
ROUTE = 'heat.resources.list'


class TestSharedResourcesReads(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.cloud = self.useFixture(EmulatedCloud(seed=5, global_index_allowed=True))
        self.cloud.heat.populate(2, 3)
        conf = self.cloud.make_conf('password', http={'retries': 0})
        self.driver: HeatStackDriver = load_plugin('driver', 'heat.stack', conf=conf)
        self.addCleanup(self.driver.close)
        self.stack_id = self.cloud.heat.ordered()[0].id
        self.cloud.heat.update_stack(self.stack_id, description='changed')
        [self.end] = [n for n in self.cloud.notifications.sent
                      if n.event_type == 'orchestration.stack.update.end']
        self.results: list[list[Event]] = []
        self.lock = threading.Lock()

    def handle(self) -> threading.Thread:
        def run() -> None:
            events = self.driver.notifications(
                self.end.event_type, self.end.payload,
                {'message_id': 'm', 'timestamp': '2026-01-01 00:00:00.000000'})
            with self.lock:
                self.results.append(events)
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 30)
        return thread

    def reads(self) -> list[Any]:
        return [r for r in self.cloud.requests.filter(ROUTE) if self.stack_id in r.path]

    def test_ends_arriving_during_a_read_share_one_read_made_after_them(self) -> None:
        self.cloud.requests.clear()
        self.cloud.delay(ROUTE, FIRST_READ_DELAY, times=1)
        first = self.handle()
        wait_until(lambda: len(self.reads()) == 1, 'the first read sent')
        later = [self.handle() for _ in range(LATER)]
        for thread in [first, *later]:
            thread.join(30)
        self.assertEqual(2, len(self.reads()))
        self.assertEqual(1 + LATER, len(self.results))
        for events in self.results:
            resources = [e for e in events if e.entity_type == 'heat.resource']
            self.assertEqual(3, len(resources))

    def test_ends_of_different_stacks_read_at_the_same_time(self) -> None:
        other = self.cloud.heat.ordered()[1].id
        self.cloud.heat.update_stack(other, description='changed too')
        [other_end] = [n for n in self.cloud.notifications.sent
                       if n.event_type == 'orchestration.stack.update.end'
                       and n.payload['stack_identity'].endswith(other)]
        self.cloud.delay(ROUTE, FIRST_READ_DELAY, times=1)
        self.handle()
        wait_until(lambda: len(self.reads()) >= 1, 'the slow read sent')
        events = self.driver.notifications(
            other_end.event_type, other_end.payload,
            {'message_id': 'o', 'timestamp': '2026-01-01 00:00:00.000000'})
        # Answered while the other stack's read is still delayed.
        self.assertEqual(3, len([e for e in events if e.entity_type == 'heat.resource']))
        self.assertEqual([], self.results)

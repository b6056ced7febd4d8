"""The Aodh notifier against the emulated Aodh, on a fake clock.

Two plugins stand for two notifier processes (nothing shared but Aodh):
an older message written without reading over a newer one is repaired by
the writer of the newer one, or, when that one was killed, by the writer of
the older one from the alarm's history. And what a warm activation costs,
counted.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Sequence
from typing import Any

import fixtures
import testtools

from tests.unit.notifiers.leaks import NoVerifierLeft
from vitrage_ds.deduced import ACTIVATE, DEACTIVATE, format_time
from vitrage_ds.notifier import Message, Outcome
from vitrage_ds.notifiers.aodh import AodhNotifier
from vitrage_ds.plugin import PluginContext
from vitrage_ds_testing import EmulatedCloud, FakeClock, construct_plugin

NOW = '2024-05-01T12:00:05Z'
T1 = '2024-05-01T12:00:01.000000Z'
T2 = '2024-05-01T12:00:02.000000Z'
T3 = '2024-05-01T12:00:03.000000Z'
INTERVAL = 1.0  # verify_interval's default
WINDOW = 10.0  # reorder_window's default


def message(event_type: str, at: str, vitrage_id: str = 'v-1', **extra: Any) -> Message:
    payload = {'vitrage_id': vitrage_id, 'name': 'cpu high',
               'affected_resource_id': f'host-{vitrage_id}', 'timestamp': at, **extra}
    if event_type == ACTIVATE:
        payload.setdefault('severity', 'critical')
    return Message(event_type, payload)


class _EmulatedAodhTest(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(NoVerifierLeft())
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.cloud = self.useFixture(EmulatedCloud())
        self.clock = FakeClock(NOW)

    def process(self, *, closed_at_cleanup: bool = True,
                sleep: Callable[[float], None] | None = None) -> Any:
        """A notifier plugin of its own, as another process would have.

        :param sleep: what its waits do; by default they move the clock on.
        """
        clock = self.clock
        waits = sleep or clock.sleep

        class ClockedAodhNotifier(AodhNotifier):
            def __init__(self, context: PluginContext) -> None:
                super().__init__(context, sleep=waits, clock=clock.time,
                                 verify_in_background=False)

        conf = self.cloud.make_conf('none', http={'retries': 0})
        plugin = construct_plugin(ClockedAodhNotifier, 'notifier', name='aodh', conf=conf,
                                  options={'verify_delay': 0.0})
        if closed_at_cleanup:
            self.addCleanup(plugin.close)
        return plugin

    def alarms(self) -> dict[str, list[dict[str, Any]]]:
        """The emulated Aodh's alarms by the vitrage_id of their rule."""
        return self.cloud.aodh.by_vitrage_id()

    def state(self, vitrage_id: str = 'v-1') -> tuple[str, str]:
        """The state of the one alarm of ``vitrage_id`` and the change it records."""
        [alarm] = self.alarms()[vitrage_id]
        return alarm['state'], alarm['description'].rsplit('last change: ', 1)[1]


class TwoProcessesTest(_EmulatedAodhTest):
    """Process a writes the newer message, process b the older one, without reading."""

    def setUp(self) -> None:
        super().setUp()
        self.a, self.b = self.process(), self.process()
        for plugin in (self.a, self.b):  # both know the alarm
            self.assertEqual(Outcome.DONE, plugin.notify(message(ACTIVATE, T1)))
        self.assertEqual(Outcome.DONE, self.a.notify(message(DEACTIVATE, T3)))

    def test_the_writer_of_the_newer_message_repairs_an_older_one_written_over_it(self) -> None:
        self.assertEqual(Outcome.DONE, self.b.notify(message(ACTIVATE, T2)))
        self.assertEqual('alarm', self.state()[0])  # b wrote without reading
        self.clock.advance(INTERVAL)

        self.b.verify()
        self.a.verify()

        self.assertEqual(('ok', f'deactivate at {T3}, sequence 0.'), self.state())
        self.assertIn('older than Order(', self.logs.output)

    def test_a_late_older_write_is_repaired_at_the_final_check(self) -> None:
        self.clock.advance(INTERVAL)
        self.a.verify()  # the first check: all in order
        self.clock.advance(5.0)  # 12:00:11, T2 is still within reorder_window
        self.b.notify(message(ACTIVATE, T2))
        self.a.verify()
        self.assertEqual('alarm', self.state()[0])

        self.clock.advance(3.0)  # 12:00:14 = T3 + reorder_window + verify_interval
        self.a.verify()

        self.assertEqual(('ok', f'deactivate at {T3}, sequence 0.'), self.state())

    def test_an_older_message_past_the_window_is_read_first_and_dropped(self) -> None:
        self.clock.advance(WINDOW - 2.0)  # 12:00:13: T2 is more than 10 s old
        before = len(self.cloud.requests)

        self.assertEqual(Outcome.DONE, self.b.notify(message(ACTIVATE, T2)))

        self.assertEqual([('GET', 'show')], [(r.method, r.route.rsplit('.', 1)[1])
                                             for r in self.cloud.requests][before:])
        self.assertEqual(('ok', f'deactivate at {T3}, sequence 0.'), self.state())

    def test_closing_repairs_what_was_written_over_before_it(self) -> None:
        self.b.notify(message(ACTIVATE, T2))

        self.a.close()

        self.assertEqual(('ok', f'deactivate at {T3}, sequence 0.'), self.state())

    def test_closing_waits_for_the_final_check(self) -> None:
        def stale_write_while_waiting(seconds: float) -> None:
            self.b.notify(message(ACTIVATE, T2))
            self.clock.advance(seconds)

        closing = self.process(sleep=stale_write_while_waiting)
        closing.notify(message(ACTIVATE, T1))
        closing.notify(message(DEACTIVATE, T3, sequence=1))

        closing.close()

        self.assertEqual(('ok', f'deactivate at {T3}, sequence 1.'), self.state())


class KilledProcessTest(_EmulatedAodhTest):
    """Acknowledged on write, verified later: the writer of the newer message
    may be killed before its final check."""

    def test_a_stale_write_over_a_killed_process_write_is_undone_from_the_history(
            self) -> None:
        killed, other = self.process(closed_at_cleanup=False), self.process()
        for plugin in (killed, other):
            plugin.notify(message(ACTIVATE, T1))
        killed.notify(message(DEACTIVATE, T3))
        self.clock.advance(INTERVAL)
        killed.verify()
        del killed  # killed: no final check

        other.notify(message(ACTIVATE, T2))
        self.assertEqual(('alarm', f'activate at {T2}, sequence 0.'), self.state())
        self.clock.advance(WINDOW)
        other.verify()  # its final check

        self.assertEqual(('ok', f'deactivate at {T3}, sequence 0.'), self.state())


class ConcurrentCallersTest(_EmulatedAodhTest):
    """The notifier service calls the plugin from many threads at once."""

    CALLERS = 64  # the notifier service's executor threads, by default

    def test_every_caller_keeps_its_connection_to_aodh(self) -> None:
        plugin = self.process()
        pool_logs = self.useFixture(fixtures.FakeLogger(name='urllib3.connectionpool',
                                                        level=logging.WARNING))
        messages = [message(ACTIVATE, T1, f'v-{n:03}') for n in range(2 * self.CALLERS)]

        with ThreadPoolExecutor(self.CALLERS) as callers:
            outcomes = list(callers.map(plugin.notify, messages))

        self.assertEqual({Outcome.DONE}, set(outcomes))
        self.assertEqual(2 * self.CALLERS, len(self.alarms()))
        # Beyond the pool's size, a connection is closed after its call.
        self.assertNotIn('Connection pool is full', pool_logs.output)


class RequestsPerActivationTest(_EmulatedAodhTest):
    """Once the alarms exist, a state change costs one request, verification included."""

    DEDUCED = 200
    PER_SECOND = 100  # messages per (fake) second

    def test_warm_state_changes_cost_at_most_1_05_requests_each(self) -> None:
        plugin = self.process()
        ids = [f'v-{n:03}' for n in range(self.DEDUCED)]
        self.run_messages(plugin, [(ACTIVATE, vid) for vid in ids])  # creates them
        before = len(self.cloud.requests)

        changes = [(kind, vid) for kind in (DEACTIVATE, ACTIVATE, DEACTIVATE) for vid in ids]
        duplicates = changes[::10]
        self.run_messages(plugin, changes, duplicates)
        plugin.close()

        requests = len(self.cloud.requests) - before
        self.assertLessEqual(requests / len(changes), 1.05,
                             f'{requests} requests for {len(changes)} state changes: '
                             f'{self.cloud.requests.counts()}')
        alarms = self.alarms()
        self.assertEqual(ids, sorted(alarms))
        self.assertEqual({'ok'}, {a['state'] for found in alarms.values() for a in found})
        self.assertEqual({1}, {len(found) for found in alarms.values()})

    def run_messages(self, plugin: Any, messages: list[tuple[str, str]],
                     duplicates: Sequence[tuple[str, str]] = ()) -> None:
        """Send each message, dated now, ``PER_SECOND`` a second; then the duplicates.

        A verification round runs every ``verify_interval``, as the thread would.
        """
        sent: list[Message] = []
        next_round = self.clock.time() + INTERVAL
        for kind, vitrage_id in messages:
            sent.append(message(kind, _now(self.clock), vitrage_id))
            self.assertEqual(Outcome.DONE, plugin.notify(sent[-1]))
            self.clock.advance(1.0 / self.PER_SECOND)
            if self.clock.time() >= next_round:
                plugin.verify()
                next_round += INTERVAL
        by_key = {(m.event_type, m.payload['vitrage_id']): m for m in sent}
        for key in duplicates:
            self.assertEqual(Outcome.DONE, plugin.notify(by_key[key]))


def _now(clock: FakeClock) -> str:
    return format_time(round(clock.time() * 1_000_000))

"""The API fault matrix: every driver and the Aodh notifier under every fault.

Faults (on the emulated cloud): 401 (an expired token: re-authenticate and
carry on), 403, 404, 409, 429, 500, 503, a request that hangs past the
client's timeout, connection refused (the cloud stopped), a truncated and a
malformed JSON body, a listing whose page repeats, a listing failing on
page 2.

Drivers run inside a real :class:`~vitrage_ds.collector.Collector` whose
scheduler thread is stepped one poll at a time: a healthy poll, a poll
under the fault, a poll after the fault cleared. Under every fault but 401
the poll fails, the scheduler logs one clear line naming the driver and
the failure, and nothing reaches the sink -- above all no deletion; once
the fault clears the next poll succeeds and still deletes nothing.

The notifier gets one deduced-alarm activation under the fault: it answers
RETRY for what may pass, REJECT for a 4xx that cannot, DONE after a
re-authentication, never raises, and logs why. Delivered again after the
fault, the message leaves exactly one Aodh alarm.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import fixtures
import testtools

from tests.reliability import figures
from vitrage_ds import registry
from vitrage_ds.collector import Collector
from vitrage_ds.deduced import ACTIVATE
from vitrage_ds.event import Event
from vitrage_ds.notifier import Message, Outcome
from vitrage_ds_testing import EmulatedCloud, RecordingSink

#: The faults, in the order the matrix prints them.
FAULTS = ('401', '403', '404', '409', '429', '500', '503', 'hang', 'refused',
          'truncated', 'malformed', 'repeating_page', 'fail_on_page_2')

figures.order_rows(FAULTS)

#: Bound on waiting for a stepped poll; never a measured time.
DEADLINE = 60.0

#: The listing route of each driver.
LISTINGS = {'heat.stack': 'heat.stacks.list', 'aodh': 'aodh.alarms.list'}

#: Client settings that make a failure quick: one retry (and a 1 s call timeout below).
HTTP = {'retries': 1, 'retry_backoff': 0.01, 'retry_backoff_max': 0.02}
#: Seconds one call may take (the hang fault waits past it).
CALL_TIMEOUT = 1


class _Stepper:
    """The collector's scheduler sleep: each :meth:`step` lets exactly one poll run."""

    def __init__(self) -> None:
        self._go = threading.Semaphore(0)
        self._parked = threading.Semaphore(0)
        self._stopping = False

    def __call__(self, delay: float) -> bool:
        self._parked.release()
        self._go.acquire()
        return self._stopping

    def park(self) -> None:
        """Wait until the scheduler thread waits for the next step."""
        if not self._parked.acquire(timeout=DEADLINE):
            raise AssertionError('the poll did not finish')

    def step(self) -> None:
        """Run one poll and wait until it finished."""
        self._go.release()
        self.park()

    def finish(self) -> None:
        self._stopping = True
        self._go.release()


class _Base(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.cloud = self.useFixture(EmulatedCloud(seed=12, global_index_allowed=True))
        self.cloud.populate(stacks=5, resources_per_stack=2, alarms=5)
        self.logs = self.useFixture(fixtures.FakeLogger(
            level=logging.DEBUG, format='%(levelname)s %(name)s %(message)s'))

    def conf(self, **groups: Any) -> Any:
        return self.cloud.make_conf('password', http=HTTP,
                                    service_credentials={'timeout': CALL_TIMEOUT}, **groups)

    def inject(self, fault: str, route: str, *,
               create_route: str | None = None) -> Callable[[], None]:
        """Install ``fault`` on ``route``; returns what clears it."""
        cloud = self.cloud
        if fault == '401':
            cloud.expire_tokens()
        elif fault.isdigit():
            cloud.fail(route, int(fault))
        elif fault == 'hang':
            cloud.hang(create_route or route, seconds=3.0)
        elif fault == 'refused':
            cloud.stop()
            return cloud.start
        elif fault == 'truncated':
            cloud.truncate(create_route or route)
        elif fault == 'malformed':
            cloud.malform(route)
        elif fault == 'repeating_page':
            cloud.repeat_page(route)
        elif fault == 'fail_on_page_2':
            cloud.fail_on_page(route, 2, 500)
        else:
            raise ValueError(fault)
        return cloud.clear_faults

    def tokens_issued(self) -> int:
        return self.cloud.requests.count('keystone.tokens.create')

    def log_lines(self, level: int = logging.WARNING) -> list[str]:
        names = {logging.getLevelName(n) for n in range(level, logging.CRITICAL + 1, 10)}
        return [line for line in self.logs.output.splitlines()
                if line.split(' ', 1)[0] in names]


class _DriverFaults(_Base):
    """One driver in a stepped collector; subclasses name it."""

    driver_name = ''

    def run_cell(self, fault: str) -> None:
        conf = self.conf(collector={'listen': False, 'mode': 'diff'},
                         **{f'driver.{self.driver_name}': {'page_size': 2}})
        driver = registry.load_drivers(conf, [self.driver_name]).plugins[self.driver_name]
        sink = RecordingSink()
        stepper = _Stepper()
        collector = Collector(conf, sink, drivers={self.driver_name: driver}, sleep=stepper)
        collector.start()
        self.addCleanup(collector.stop, 10.0)
        self.addCleanup(stepper.finish)
        stepper.park()

        stepper.step()
        healthy = list(sink.events)
        self.assertTrue(healthy, 'the healthy poll emitted nothing')
        self.assertEqual(0, collector.poll_states[self.driver_name].failures)
        tokens = self.tokens_issued()

        clear = self.inject(fault, LISTINGS[self.driver_name])
        stepper.step()
        during = sink.events[len(healthy):]
        state = collector.poll_states[self.driver_name]
        deletions = [e for e in during if e.deleted]
        figures.add(faults_tried=1, false_deletions=len(deletions))
        self.assertEqual([], deletions, 'a poll under the fault deleted entities')
        if fault == '401':
            self.assertEqual(0, state.failures, state.last_error)
            self.assertEqual(tokens + 1, self.tokens_issued(), 'no re-authentication')
            outcome = 'carried on'
        else:
            self.assertEqual(1, state.failures, 'the poll did not fail')
            self.assertEqual([], during, 'a failed poll emitted events')
            line = self.failure_line()
            self.assertIn(self.expected_reason(fault), line)
            outcome = 'failed'

        clear()
        stepper.step()
        after = sink.events[len(healthy) + len(during):]
        self.assertEqual(0, collector.poll_states[self.driver_name].failures)
        self.assertEqual([], [e for e in after if e.deleted], 'deleted after recovery')
        self.assertEqual(_live(healthy), _live(sink.events), 'the state changed')
        figures.cell(fault, self.driver_name, f'{outcome}, 0 deleted -> ok')

    def failure_line(self) -> str:
        found = [line for line in self.log_lines()
                 if f'poll {self.driver_name} failed' in line]
        self.assertEqual(1, len(found), self.logs.output[-3000:])
        return found[0]

    @staticmethod
    def expected_reason(fault: str) -> str:
        return {'hang': 'timed out', 'refused': 'Connection refused',
                'truncated': 'malformed body', 'malformed': 'malformed body',
                'repeating_page': 'repeated the page',
                'fail_on_page_2': 'answered 500'}.get(fault, f'answered {fault}')


def _live(events: list[Event]) -> dict[tuple[str, str], dict[str, Any]]:
    state: dict[tuple[str, str], dict[str, Any]] = {}
    for event in events:
        if event.deleted:
            state.pop(event.key, None)
        else:
            state[event.key] = dict(event.fields)
    return state


def _cell_test(fault: str) -> Callable[[Any], None]:
    def test(self: Any) -> None:
        self.run_cell(fault)
    test.__name__ = f'test_{fault}'
    test.__doc__ = f'Under fault {fault}: no crash, no deletion, a clear log line, recovery.'
    return test


class TestHeatDriverFaults(_DriverFaults):
    driver_name = 'heat.stack'
    locals().update({f'test_{f}': _cell_test(f) for f in FAULTS})

    def test_403_on_the_all_projects_listing_is_explained_and_the_project_polled(self) -> None:
        conf = self.conf(**{'driver.heat.stack': {'page_size': 2}})
        driver = registry.load_drivers(conf, ['heat.stack']).plugins['heat.stack']
        self.cloud.global_index_allowed = False
        events = driver.get_all()
        self.assertTrue(events)
        self.assertEqual({'project'}, {e.fields['scope'] for e in events
                                       if e.entity_type == 'heat.stack'})
        warning = [line for line in self.log_lines() if 'stacks:global_index' in line]
        self.assertEqual(1, len(warning), self.logs.output[-2000:])
        self.assertIn('answered 403', warning[0])


class TestAodhDriverFaults(_DriverFaults):
    driver_name = 'aodh'
    locals().update({f'test_{f}': _cell_test(f) for f in FAULTS})

    def test_403_names_the_role_it_takes(self) -> None:
        self.run_cell('403')
        self.assertIn('telemetry:get_alarms:all_projects', self.failure_line())


class TestAodhNotifierFaults(_Base):
    """The Aodh notifier under each fault, one activation at a time."""

    #: What the notifier answers under each fault.
    EXPECTED = {'401': Outcome.DONE, '403': Outcome.REJECT, '404': Outcome.REJECT,
                '409': Outcome.REJECT,
                # Lookups by name fit in one page (fewer than ``limit``
                # alarms share a name): there is no second page to repeat.
                'repeating_page': Outcome.DONE}

    def run_cell(self, fault: str) -> None:
        conf = self.conf(**{'notifier.aodh': {'verify_delay': 0.0}})
        plugin = registry.load_notifiers(conf, ['aodh']).plugins['aodh']
        self.addCleanup(plugin.close)
        self.assertEqual(Outcome.DONE, plugin.notify(_activate('v-before', 0)))
        tokens = self.tokens_issued()

        clear = self.inject(fault, 'aodh.*' if fault.isdigit() else 'aodh.alarms.list',
                            create_route='POST aodh.alarms.create')
        msg = _activate('v-fault', 1)
        outcome = plugin.notify(msg)
        figures.add(faults_tried=1)
        expected = self.EXPECTED.get(fault, Outcome.RETRY)
        self.assertEqual(expected, outcome)
        if fault == '401':
            self.assertEqual(tokens + 1, self.tokens_issued(), 'no re-authentication')
        elif expected is not Outcome.DONE:
            lines = [line for line in self.log_lines() if 'v-fault' in line]
            self.assertTrue(lines, f'no log line about the message:\n{self.logs.output[-3000:]}')
            self.assertTrue(any(('will retry' if expected is Outcome.RETRY
                                 else 'Aodh refused') in line for line in lines), lines)

        clear()
        # The bus delivers the message again (a RETRY is requeued; a REJECT
        # would not be, but a later message must still work).
        self.assertEqual(Outcome.DONE, plugin.notify(msg))
        mirrors = self.mirrors()
        duplicates = sum(len(alarms) - 1 for alarms in mirrors.values())
        figures.add(duplicate_alarms=duplicates)
        self.assertEqual({'v-before': 1, 'v-fault': 1},
                         {vid: len(alarms) for vid, alarms in mirrors.items()})
        self.assertEqual({'alarm'}, {a['state'] for alarms in mirrors.values() for a in alarms})
        figures.cell(fault, 'aodh notifier', f'{outcome.value} -> done, 1 alarm')

    def mirrors(self) -> dict[str, list[dict[str, Any]]]:
        """The emulated Aodh's alarms by the vitrage_id of their rule."""
        return self.cloud.aodh.by_vitrage_id()

    locals().update({f'test_{f}': _cell_test(f) for f in FAULTS})


def _activate(vitrage_id: str, second: int) -> Message:
    return Message(ACTIVATE, {'vitrage_id': vitrage_id, 'name': f'deduced {vitrage_id}',
                              'severity': 'critical', 'affected_resource_id': 'host-1',
                              'timestamp': f'2024-05-01T12:00:{second:02}Z'},
                   {'message_id': f'm-{vitrage_id}', 'timestamp': '2024-05-01 12:00:00'})

"""``vitrage-ds collect`` against a hostile bus and a hostile host.

Each test runs the real service command on a private RabbitMQ vhost, fed by
the emulated cloud's Heat and Aodh (their notifications go over the bus),
writing to a ``file:`` sink, and checks what a reader of that file sees:

* notifications dated in the future (forged, or from a fast clock) freeze
  nothing: later genuine changes and polls still come through;
* oversized and mistyped fields are bounded before they are written;
* SIGTERM with a handler stuck in a slow API call exits within
  ``stop_timeout``, and the unfinished notification comes back;
* the file sink follows logrotate, and a batch that cannot be written
  (a file size limit: a real failed write) lands whole once writing works.
"""

from __future__ import annotations

import copy
import json
import os
import re
import resource
import time
import uuid
from pathlib import Path
from typing import Any

import fixtures
import testtools

from tests.reliability import figures
from vitrage_ds.bus import Publisher, get_transport
from vitrage_ds.config import new_config
from vitrage_ds_testing import EmulatedCloud, wait_until
from tests.kit import RabbitVhost
from tests.kit.process import ServiceProcess

#: Bound on anything that should happen; never a measured time.
DEADLINE = 60.0
#: ``[collector] stop_timeout`` of the SIGTERM test, and the most seconds its
#: exit may take: the timeout, the command's grace, and a process start's margin.
STOP_TIMEOUT = 3.0
EXIT_BOUND = STOP_TIMEOUT + 2.0 + 2.0
#: A time no genuine notification carries, but one that parses.
FORGED_TIME = '9000-01-01T00:00:00.000000'
#: A time refused as it is parsed (formatting it overflowed).
YEAR_9999 = '9999-12-31T23:59:59.999999'


class _CollectorCase(testtools.TestCase):
    """The emulated cloud on a private vhost, and ``vitrage-ds collect`` processes."""

    def setUp(self) -> None:
        super().setUp()
        self.vhost = self.useFixture(RabbitVhost())
        self.url = self.vhost.transport_url
        self.tmp = Path(self.useFixture(fixtures.TempDir()).path)
        self.events_file = self.tmp / 'events.jsonl'
        self.cloud = self.useFixture(EmulatedCloud(seed=71, global_index_allowed=True))
        self.cloud.populate(stacks=2, resources_per_stack=1, alarms=2)
        self.transport = get_transport(new_config(), url=self.url)
        self.addCleanup(self.transport.cleanup)
        self.cloud.connect_bus(self.transport)
        self.pool = f'collect-{uuid.uuid4().hex[:8]}'
        self._started = 0

    def config(self, *, interval: float = 3600, **collector: Any) -> Path:
        """A configuration file: both drivers polled every ``interval`` seconds,
        ``collector`` adds ``[collector]`` options."""
        headers = ','.join(f'{k}:{v}' for k, v in self.cloud.noauth_headers().items())
        options = {'mode': 'diff', 'sinks': f'file:{self.events_file}',
                   'listener_pool': self.pool, **collector}
        path = self.tmp / f'collect-{self._started}.conf'
        path.write_text('\n'.join([
            '[DEFAULT]', 'drivers = heat.stack, aodh', f'transport_url = {self.url}',
            '[service_credentials]', 'auth_type = none', 'timeout = 60',
            '[http]', 'retries = 0', f'headers = {headers}',
            '[collector]', *(f'{k} = {v}' for k, v in options.items()),
            '[driver.heat.stack]', f'endpoint_override = {self.cloud.heat_endpoint()}',
            f'poll_interval = {interval}',
            '[driver.aodh]', f'endpoint_override = {self.cloud.aodh_endpoint}',
            f'poll_interval = {interval}', '']))
        return path

    def start(self, config: Path, *, polled: bool = True) -> ServiceProcess:
        """Start a collector and (``polled``) wait for its first polls in the sink."""
        self._started += 1
        log = self.tmp / f'collect-{self._started}.log'
        before = len(self.lines())
        process = ServiceProcess(config, ['collect'], log, ready='collector started',
                                 deadline=DEADLINE)
        self.addCleanup(lambda: self.addDetail(log.name, testtools.content.text_content(
            process.output()[-20_000:])))
        self.useFixture(process)
        if not polled:
            return process
        process.wait_for_log('aodh init_snapshot')
        process.wait_for_log('heat.stack init_snapshot')
        wait_until(lambda: len(self.lines()) > before, 'the init snapshots', DEADLINE, 0.05)
        return process

    def lines(self, path: Path | None = None) -> list[dict[str, Any]]:
        """Every line of the sink file; a line that is not JSON fails the test."""
        path = path or self.events_file
        if not path.exists():
            return []
        with open(path, encoding='utf-8') as f:
            return [json.loads(line) for line in f]

    def about(self, entity_id: str, path: Path | None = None) -> list[dict[str, Any]]:
        return [line for line in self.lines(path) if line['vitrage_ds_entity_id'] == entity_id]

    def publish(self, exchange: str, event_type: str, payload: dict[str, Any],
                priority: str = 'info') -> None:
        publisher = Publisher(self.transport, topic='notifications', exchange=exchange,
                              publisher_id=f'{exchange}.forger')
        publisher.publish(event_type, payload, priority)

    def captured(self, event_type: str) -> dict[str, Any]:
        """A deep copy of the payload of the last notification of ``event_type`` sent."""
        notes = [n for n in self.cloud.notifications.sent if n.event_type == event_type]
        return copy.deepcopy(notes[-1].payload)


class TestFutureDatedNotifications(_CollectorCase):
    """A forged or fast-clocked time in a notification freezes no entity."""

    def forge_alarm_state(self, alarm_id: str, state: str, when: str = FORGED_TIME) -> None:
        # As Aodh's API sends a state change (not its evaluator): the time
        # becomes the alarm's state_timestamp.
        forged = self.captured('alarm.state_transition')
        forged.update(alarm_id=alarm_id, timestamp=when,
                      detail={'state': state, 'state_reason': 'forged'})
        self.publish('aodh', 'alarm.state_transition', forged)
        figures.add(future_dated_notifications=1)
        wait_until(lambda: any(e.get('state') == state for e in self.about(alarm_id)),
                   'the forged state', DEADLINE)

    def test_a_genuine_alarm_change_after_a_forged_one_dated_9000_comes_through(self) -> None:
        alarm_id = self.cloud.aodh.ordered()[0]['alarm_id']
        self.cloud.aodh.set_state(alarm_id, 'alarm', 'genuine')
        collector = self.start(self.config())
        self.forge_alarm_state(alarm_id, 'insufficient data')
        self.cloud.aodh.set_state(alarm_id, 'ok', 'genuine again', source='api')
        wait_until(lambda: self.about(alarm_id)[-1].get('state') == 'ok',
                   'the genuine transition after the forged one', DEADLINE)
        self.assertEqual(0, collector.terminate(), collector.output()[-3000:])
        self.assertIn('dated more than 300 s ahead', collector.output())

    def test_times_in_year_9999_are_refused_without_a_traceback(self) -> None:
        alarm_id = self.cloud.aodh.ordered()[0]['alarm_id']
        self.cloud.aodh.set_state(alarm_id, 'alarm', 'genuine')
        stack = self.cloud.heat.ordered()[0]
        self.cloud.heat.update_stack(stack.id, description='genuine')
        collector = self.start(self.config())
        forged_stack = self.captured('orchestration.stack.update.end')
        forged_stack.update(updated_at=YEAR_9999, description='forged 9999')
        self.publish('heat', 'orchestration.stack.update.end', forged_stack)
        forged_alarm = self.captured('alarm.state_transition')
        forged_alarm.update(alarm_id=alarm_id, timestamp=YEAR_9999,
                            detail={'state': 'ok', 'state_reason': 'forged 9999'})
        self.publish('aodh', 'alarm.state_transition', forged_alarm)
        figures.add(future_dated_notifications=2)
        self.cloud.aodh.set_state(alarm_id, 'insufficient data', 'genuine again')
        wait_until(lambda: self.about(alarm_id)[-1].get('state') == 'insufficient data',
                   'the genuine transition after the forged one', DEADLINE)
        self.assertEqual(0, collector.terminate(), collector.output()[-3000:])
        self.assertIn('notifications: 3 handled', collector.output())
        self.assertNotIn('Traceback', collector.output())
        self.assertNotIn('forged 9999', json.dumps(self.lines()))

    def test_a_fast_clock_an_hour_ahead_hides_no_later_change(self) -> None:
        alarm_id = self.cloud.aodh.ordered()[1]['alarm_id']
        self.cloud.aodh.set_state(alarm_id, 'ok', 'genuine')
        collector = self.start(self.config())
        an_hour_ahead = time.strftime('%Y-%m-%dT%H:%M:%S.000000',
                                      time.gmtime(time.time() + 3600))
        self.forge_alarm_state(alarm_id, 'alarm', an_hour_ahead)
        # Through Aodh's API: the change carries its (genuine) time.
        self.cloud.aodh.set_state(alarm_id, 'insufficient data', 'genuine again',
                                  source='api')
        wait_until(lambda: self.about(alarm_id)[-1].get('state') == 'insufficient data',
                   'the genuine transition after the fast-clocked one', DEADLINE)
        self.assertEqual(0, collector.terminate(), collector.output()[-3000:])

    def test_the_next_poll_corrects_an_alarm_a_forged_change_dated_9999_set(self) -> None:
        alarm_id = self.cloud.aodh.ordered()[0]['alarm_id']
        self.cloud.aodh.set_state(alarm_id, 'alarm', 'genuine')
        collector = self.start(self.config(interval=2))
        self.forge_alarm_state(alarm_id, 'ok')
        wait_until(lambda: self.about(alarm_id)[-1].get('state') == 'alarm',
                   'a poll restoring the genuine state', DEADLINE)
        self.assertEqual(0, collector.terminate(), collector.output()[-3000:])

    def test_the_next_poll_corrects_a_stack_a_forged_update_dated_9999_changed(self) -> None:
        stack = self.cloud.heat.ordered()[0]
        self.cloud.heat.update_stack(stack.id, description='genuine')
        collector = self.start(self.config(interval=2))
        forged = self.captured('orchestration.stack.update.end')
        forged.update(updated_at=FORGED_TIME, state='UPDATE_FAILED', description='forged')
        self.publish('heat', 'orchestration.stack.update.end', forged)
        figures.add(future_dated_notifications=1)
        wait_until(lambda: any(e.get('status') == 'UPDATE_FAILED' for e in self.about(stack.id)),
                   'the forged update', DEADLINE)
        wait_until(lambda: self.about(stack.id)[-1].get('status') == 'UPDATE_COMPLETE',
                   'a poll restoring the genuine state', DEADLINE)
        self.assertEqual(0, collector.terminate(), collector.output()[-3000:])


class TestPayloadLimits(_CollectorCase):
    """Oversized and mistyped fields are bounded before the cache and the file."""

    def test_an_8_mb_stack_description_is_cut_before_it_is_written(self) -> None:
        stack = self.cloud.heat.ordered()[0]
        self.cloud.heat.update_stack(stack.id, description='genuine')
        collector = self.start(self.config(max_field_length=4096))
        huge = self.captured('orchestration.stack.update.end')
        huge['description'] = 'd' * 8_000_000
        self.publish('heat', 'orchestration.stack.update.end', huge)
        figures.add(bad_inputs_tried=1)
        wait_until(lambda: any(len(e.get('description') or '') >= 4096
                               for e in self.about(stack.id)), 'the bounded update', DEADLINE)
        self.assertEqual(0, collector.terminate(), collector.output()[-3000:])
        self.assertEqual(4096, max(len(e.get('description') or '')
                                   for e in self.about(stack.id)))
        self.assertLess(self.events_file.stat().st_size, 1_000_000)
        self.assertIn('over [collector] max_field_length (4096)', collector.output())

    def test_a_list_as_an_alarm_name_and_an_integer_severity_are_not_written(self) -> None:
        collector = self.start(self.config())
        alarm = self.cloud.aodh.ordered()[0]
        forged = {'alarm_id': alarm['alarm_id'], 'event_id': str(uuid.uuid4()),
                  'type': 'creation', 'project_id': alarm['project_id'],
                  'user_id': alarm['user_id'], 'on_behalf_of': alarm['project_id'],
                  'timestamp': time.strftime('%Y-%m-%dT%H:%M:%S.000000', time.gmtime()),
                  'severity': 3,
                  'detail': {**alarm, 'name': ['not', 'a', 'name'], 'severity': 3,
                             'description': 'mistyped'}}
        self.publish('aodh', 'alarm.rule_change', forged)
        figures.add(bad_inputs_tried=1)
        wait_until(lambda: any(e.get('description') == 'mistyped'
                               for e in self.about(alarm['alarm_id'])), 'the change', DEADLINE)
        self.assertEqual(0, collector.terminate(), collector.output()[-3000:])
        [changed] = [e for e in self.about(alarm['alarm_id'])
                     if e.get('description') == 'mistyped']
        self.assertEqual((None, None), (changed['name'], changed['severity']))


class TestFailingPolls(_CollectorCase):
    """A poll that keeps failing stays visible at WARNING, boundedly; recovery at INFO."""

    def test_a_poll_refused_for_a_while_warns_once_per_backoff_cap_then_recovers(self) -> None:
        self.cloud.fail('aodh.alarms.list', 401)
        cap = 1.0
        collector = self.start(self.config(interval=60, retry_backoff=0.1,
                                           retry_backoff_max=cap), polled=False)
        still = 'poll aodh still failing'
        wait_until(lambda: collector.output().count(still) >= 3, 'repeated warnings', DEADLINE)
        self.cloud.clear_faults()
        collector.wait_for_log('poll aodh recovered after')
        self.assertEqual(0, collector.terminate(), collector.output()[-3000:])
        output = collector.output()
        figures.add(faults_tried=1)
        match = re.search(r'INFO vitrage_ds\.collector\.scheduler \[-\] poll aodh recovered '
                          r'after (\d+) failed attempt\(s\) in (\d+) s', output)
        assert match is not None, output[-3000:]
        attempts, seconds = int(match.group(1)), int(match.group(2))
        warnings = output.count('WARNING vitrage_ds.collector.scheduler [-] poll aodh')
        # Never quiet, and at most one warning per cap (plus the first).
        self.assertGreaterEqual(warnings, 4)
        self.assertLessEqual(warnings, min(attempts, 2 + seconds / cap), output[-3000:])


class TestStopTimeout(_CollectorCase):
    """SIGTERM bounds the exit by ``stop_timeout``; unfinished work comes back."""

    def test_a_handler_stuck_in_a_slow_call_neither_delays_the_exit_nor_is_lost(self) -> None:
        collector = self.start(self.config(stop_timeout=STOP_TIMEOUT))
        # create.end makes the Heat driver list the stack's resources.
        slow = self.cloud.delay('heat.resources.list', 45.0)
        stack = self.cloud.heat.create_stack('slow', resources=1)
        wait_until(lambda: slow.calls > 0, 'the slow resources call', DEADLINE, 0.05)
        began = time.monotonic()
        self.assertEqual(0, collector.terminate(), collector.output()[-3000:])
        took = time.monotonic() - began
        self.assertLess(took, EXIT_BOUND, collector.output()[-3000:])
        self.assertIn('exiting now', collector.output())
        queue = f'{self.pool}.heat.notifications'
        self.assertEqual('1', self.vhost.queues()[queue]['messages'],
                         'the unfinished create.end is not back in the queue')
        figures.add(faults_tried=1)
        self.cloud.clear_faults()
        # The successor's own stop is not under test: the default stop_timeout
        # lets it finish however slowly oslo.messaging winds down on a loaded
        # machine, so its summary line is always written.
        again = self.start(self.config())
        wait_until(lambda: self.vhost.queues()[queue]['messages'] == '0',
                   'the redelivered create.end handled', DEADLINE)
        self.assertEqual(0, again.terminate(), again.output()[-3000:])
        self.assertIn('notifications: 1 handled', again.output())
        self.assertEqual('CREATE_COMPLETE', self.about(stack.id)[-1]['status'])


class TestFileSink(_CollectorCase):
    """What logrotate and a full disk do to the ``file:`` sink of a running collector."""

    def test_after_logrotate_moves_the_file_new_events_go_to_the_path(self) -> None:
        collector = self.start(self.config())
        snapshot = len(self.lines())
        rotated = self.tmp / 'events.jsonl.1'
        os.rename(self.events_file, rotated)
        alarm_id = self.cloud.aodh.ordered()[0]['alarm_id']
        self.cloud.aodh.set_state(alarm_id, 'alarm', 'after the rotation')
        wait_until(lambda: self.about(alarm_id), 'the event in a new file', DEADLINE)
        figures.add(sink_writes_rotated=1)
        self.assertEqual(0, collector.terminate(), collector.output()[-3000:])
        self.assertEqual((snapshot, ['alarm']),
                         (len(self.lines(rotated)), [e['state'] for e in self.about(alarm_id)]))

    def test_a_batch_that_failed_to_fit_lands_whole_and_once_when_it_fits(self) -> None:
        collector = self.start(self.config(max_retries=20))
        log = self.tmp / f'collect-{self._started}.log'
        # A real failed write: the process may not grow a file beyond the
        # sizes of now plus 20 KB (Python ignores SIGXFSZ: EFBIG, as a full
        # disk gives ENOSPC); the next event is a 50 KB line.
        original = resource.prlimit(collector.pid, resource.RLIMIT_FSIZE)
        limit = max(self.events_file.stat().st_size, log.stat().st_size) + 20_000
        resource.prlimit(collector.pid, resource.RLIMIT_FSIZE, (limit, original[1]))
        self.addCleanup(self.lift, collector, original)
        stack = self.cloud.heat.ordered()[0]
        big = 'b' * 50_000
        self.cloud.heat.update_stack(stack.id, description=big)
        collector.wait_for_log('File too large')
        size = self.events_file.stat().st_size
        self.lift(collector, original)
        figures.add(sink_writes_failed=1)
        wait_until(lambda: any(e.get('status') == 'UPDATE_COMPLETE' for e in self.about(stack.id)),
                   'the retried batch', DEADLINE)
        self.assertEqual(0, collector.terminate(), collector.output()[-3000:])
        self.assertLessEqual(size, limit)
        lines = self.lines()  # each line parses: no half line was left
        updates = [(e['vitrage_event_type'], e['status']) for e in lines
                   if e['vitrage_ds_entity_id'] == stack.id
                   and e['vitrage_datasource_action'] == 'update']
        self.assertEqual(len(set(updates)), len(updates), f'a duplicate: {updates}')
        self.assertIn(('orchestration.stack.update.end', 'UPDATE_COMPLETE'), updates)
        self.assertTrue(all(e.get('description') == big for e in lines
                            if e['vitrage_ds_entity_id'] == stack.id
                            and e['vitrage_datasource_action'] == 'update'))

    @staticmethod
    def lift(process: ServiceProcess, limits: tuple[int, int]) -> None:
        """Give the process its file size limit back (if it still runs)."""
        if process.proc is not None and process.proc.poll() is None:
            resource.prlimit(process.pid, resource.RLIMIT_FSIZE, limits)

"""Several ``vitrage-ds notifier`` processes, real RabbitMQ, the emulated Aodh.

1,000 deduced-alarm messages -- duplicates, reordering, Aodh failures that
make messages come back, a process stopped half-way -- must leave exactly
one Aodh alarm per deduced alarm, in the state of its newest message; a
second plugin that raises on every message must not get in the way. Once
with messages dated now (mostly written without reading first, verified
afterwards) and once with messages dated long ago (read first); then three
processes, one of them killed (SIGKILL) while busy: what it held unacknowledged
comes back to the others, including requests Aodh received before the kill.
"""

from __future__ import annotations

import random
import re
import subprocess
import time
from typing import Any

from tests.functional.notifier.base import (DEADLINE, VITRAGE_DS, NotifierProcessTestCase,
                                           counters)
from vitrage_ds.bus import get_transport
from vitrage_ds.config import new_config
from vitrage_ds.deduced import (DeducedAlarm, DeducedAlarmActivate, DeducedAlarmDeactivate,
                                format_time)
from vitrage_ds.event import parse_time
from vitrage_ds.notifier_service import DeducedAlarmPublisher
from vitrage_ds.notifiers.aodh.record import create_body
from vitrage_ds_testing import wait_until

TOTAL = 1000
DEDUCED = 120
NAMES = ['cpu high', 'disk "full"', "it's down", 'a&q.field=name&q.value=x', 'x = y; z',
         'memory', 'link_down', 'deduced %20 alarm']
SEVERITIES = ['CRITICAL', 'severe', 'Warning', 'low', 'apocalyptic']


#: A time long before any test run: every message is late.
LONG_AGO = round((parse_time('2024-05-01T12:00:00Z') or 0) * 1_000_000)


def scenario(seed: int, base: int = LONG_AGO
             ) -> tuple[list[DeducedAlarm], dict[str, DeducedAlarm]]:
    """Messages to publish (shuffled, with duplicates) and the newest per deduced alarm.

    Their times are spread over about 12.5 s from ``base`` (microseconds).
    """
    rng = random.Random(seed)
    unique: list[DeducedAlarm] = []
    newest: dict[str, DeducedAlarm] = {}
    for d in range(DEDUCED):
        vitrage_id = f'v-{d:03}'
        # Every 10th pair of deduced alarms shares name and resource: one
        # Aodh name, two alarms told apart by vitrage_id only.
        name = NAMES[d % len(NAMES)] if d % 10 else NAMES[0]
        resource = f'host-{d % 37}' if d % 10 else 'host-shared'
        micros = base + rng.randrange(10_000_000)
        for step in range(rng.randint(1, 10)):
            micros += rng.choice([0, 1, 1000, 250_000])  # 0: same time, sequence decides
            common: dict[str, Any] = {'vitrage_id': vitrage_id, 'name': name,
                                      'affected_resource_id': resource,
                                      'timestamp': format_time(micros), 'sequence': step}
            msg: DeducedAlarm = (
                DeducedAlarmActivate(severity=rng.choice(SEVERITIES), **common)
                if step % 2 == 0 else DeducedAlarmDeactivate(**common))
            unique.append(msg)
            newest[vitrage_id] = msg
    messages = unique + [rng.choice(unique) for _ in range(TOTAL - len(unique))]
    rng.shuffle(messages)
    return messages, newest


class ConvergenceTestCase(NotifierProcessTestCase):
    """Publishing a scenario and waiting for Aodh to hold its newest states."""

    def inject_aodh_failures(self) -> None:
        """Aodh failing now and then: those messages are requeued and come
        back, possibly to another process."""
        for route, every in (('aodh.alarms.update', 37), ('aodh.alarms.create', 23),
                             ('aodh.alarms.list', 101)):
            for start in range(every, 4000, every):
                self.cloud.fail(route, 503, times=1, start=start)
        self.cloud.add_fault('aodh.alarms.create', 'close', times=3, start=50)

    def publisher(self) -> DeducedAlarmPublisher:
        transport = get_transport(new_config(), self.rabbit.transport_url)
        self.addCleanup(transport.cleanup)
        return DeducedAlarmPublisher(transport, topic=self.topic, exchange=self.exchange)

    def assert_converges(self, newest: dict[str, DeducedAlarm]) -> None:
        """Every message handled, one Aodh alarm per deduced alarm, in its newest state."""
        expected = {vid: ('alarm' if isinstance(msg, DeducedAlarmActivate) else 'ok',
                          f'{msg.name}_{msg.affected_resource_id}')
                    for vid, msg in newest.items()}

        def converged() -> bool:
            # The states first: asking RabbitMQ starts a rabbitmqctl process.
            # A duplicate made by two processes at once lives until verified.
            return (self._states() == expected
                    and all(len(a) == 1 for a in self.mirrors().values())
                    and self.queue_depth() == 0)

        try:
            wait_until(converged, 'every message handled and Aodh converged',
                       timeout=3 * DEADLINE, interval=0.2)
        except AssertionError:
            actual = self._states()
            wrong = {v: (actual.get(v), want) for v, want in expected.items()
                     if actual.get(v) != want}
            self.fail(f'queue depth {self.queue_depth()}; {len(wrong)} deduced alarms wrong '
                      f'(actual, expected): {dict(list(wrong.items())[:10])}')
        for vitrage_id, alarms in self.mirrors().items():
            self.assertEqual(1, len(alarms), f'{vitrage_id} has {len(alarms)} alarms')

    def _states(self) -> dict[str, tuple[str, str]]:
        return {vid: (alarms[0]['state'], alarms[0]['name'])
                for vid, alarms in self.mirrors().items()}


class TwoNotifierProcessesTest(ConvergenceTestCase):

    extra_notifiers = ('raising',)

    def test_a_thousand_fresh_messages_leave_one_alarm_each_in_the_newest_state(self) -> None:
        # Dated up to now (never ahead of the processes' clock): those still
        # within reorder_window are written without reading first.
        self.run_scenario(*scenario(seed=11, base=round((time.time() - 13) * 1_000_000)))

    def test_a_thousand_late_messages_leave_one_alarm_each_in_the_newest_state(self) -> None:
        self.run_scenario(*scenario(seed=10))

    def run_scenario(self, messages: list[DeducedAlarm],
                     newest: dict[str, DeducedAlarm]) -> None:
        self.assertEqual(TOTAL, len(messages))
        self.inject_aodh_failures()
        first, second = self.start_notifier(), self.start_notifier()
        publisher = self.publisher()
        half = TOTAL // 2
        for msg in messages[:half]:
            publisher.publish(msg)
        # Stop one process while it is busy; a third takes its place.
        wait_until(lambda: len(self.cloud.aodh.ordered()) >= 20, 'some alarms created',
                   timeout=DEADLINE)
        self.assertEqual(0, first.terminate())
        third = self.start_notifier()
        for msg in messages[half:]:
            publisher.publish(msg)
        self.assert_converges(newest)

        for process in (second, third):
            process.request_stop()  # both drain at once
        for process in (second, third):
            self.assertEqual(0, process.terminate())
        handled_requeued_rejected = [counters(p) for p in (first, second, third)]
        for handled, _requeued, rejected in handled_requeued_rejected:
            self.assertGreater(handled + rejected, 0, 'a process received nothing')
        self.assertGreater(sum(c[1] for c in handled_requeued_rejected), 0,
                           'no message was requeued')
        self.assertIn('notifier plugin raising raised', second.output())


class ThreeNotifierProcessesOneKilledTest(ConvergenceTestCase):
    """Three processes on one queue; one is killed (SIGKILL) while it is busy.

    Every message is handled (what the killed process held comes back), and
    each deduced alarm ends with one alarm, in the state of its newest
    message: a newer write the killed process acknowledged and another
    process then wrote an older state over is written back by that other
    process's final check, from the alarm's history
    (doc/source/failure-semantics.rst, "A killed notifier process loses no
    newer state"; :class:`KilledAfterItsWriteTest` makes that happen for
    sure).
    """

    def test_fresh_messages_leave_one_alarm_each_in_the_newest_state(self) -> None:
        self.run_with_a_crash(*scenario(seed=12, base=round((time.time() - 13) * 1_000_000)))

    def test_late_messages_leave_one_alarm_each_in_the_newest_state(self) -> None:
        self.run_with_a_crash(*scenario(seed=13))

    def run_with_a_crash(self, messages: list[DeducedAlarm],
                         newest: dict[str, DeducedAlarm]) -> None:
        self.inject_aodh_failures()
        processes = [self.start_notifier() for _ in range(3)]
        publisher = self.publisher()
        for msg in messages:
            publisher.publish(msg)
        # Killed while the three share the queue (each holds up to a prefetch
        # of messages): it dies holding unacknowledged messages, some maybe
        # already applied in Aodh, which the broker gives to the others.
        wait_until(lambda: len(self.cloud.aodh.ordered()) >= 20, 'some alarms created',
                   timeout=DEADLINE, interval=0.01)
        processes[0].kill()
        self.assert_converges(newest)
        for process in processes[1:]:
            process.request_stop()  # both drain at once
        for process in processes[1:]:
            self.assertEqual(0, process.terminate())  # after their final checks
        self.assertGreater(sum(counters(p)[0] for p in processes[1:]), 0)
        self.assertEqual({vid: ('alarm' if isinstance(msg, DeducedAlarmActivate) else 'ok',
                                f'{msg.name}_{msg.affected_resource_id}')
                          for vid, msg in newest.items()}, self._states())
        for vitrage_id, alarms in self.mirrors().items():
            self.assertEqual(1, len(alarms), f'{vitrage_id} has {len(alarms)} alarms')


class KilledAfterItsWriteTest(ConvergenceTestCase):
    """The writer of the newer message is killed once it acknowledged it, and
    another process then writes an older message over it, without reading.

    The hole of acknowledging before the final check: the killed process
    cannot repair its write, and the writer of the older message finds its
    own write in place. Its final check reads the alarm's history and writes
    the newer state back.
    """

    # reorder_window: the older message, dated just before step 2, is surely
    # still fresh at step 3; close() waits up to it plus two intervals.
    WINDOW = 10.0
    INTERVAL = 1.0  # verify_interval's default
    NAME = 'cpu high'
    RESOURCE = 'host-k'

    def start_tagged(self, tag: str) -> Any:
        """A notifier process whose every Aodh request carries ``tag``."""
        text = self.config_text(reorder_window=self.WINDOW)
        text = re.sub(r'(?m)^(headers = .*)$', rf'\1,X-Test-Process:{tag}', text)
        self.config = self.tmp / f'vitrage_ds-{tag}.conf'
        self.config.write_text(text)
        return self.start_notifier()

    def message(self, kind: type[DeducedAlarm], micros: int, **extra: Any) -> DeducedAlarm:
        return kind(vitrage_id='v-kill', name=self.NAME, affected_resource_id=self.RESOURCE,
                    timestamp=format_time(micros), sequence=0, **extra)

    def requests_by(self, route: str, method: str) -> list[tuple[str, Any]]:
        """``(process tag, request)`` of the requests to ``route`` about our alarm."""
        aodh_name = f'{self.NAME}_{self.RESOURCE}'
        found = []
        for request in self.cloud.requests.filter(route, method):
            body = request.json if isinstance(request.json, dict) else {}
            if aodh_name in (request.param('q.value'), body.get('name')):
                found.append((request.headers.get('x-test-process', ''), request))
        return found

    def drained(self) -> None:
        wait_until(lambda: self.queue_depth() == 0, 'every message acknowledged',
                   timeout=DEADLINE, interval=0.05)

    def test_a_newer_state_survives_its_killed_writer_and_an_older_write_over_it(
            self) -> None:
        processes = {tag: self.start_tagged(tag) for tag in ('p1', 'p2', 'p3')}
        publisher = self.publisher()
        now = round(time.time() * 1_000_000)
        # 1. The alarm exists (as this notifier writes one), and every process
        # knows it: each reads it for an older activate, and writes nothing,
        # so none watches it and none can learn a newer state from a check.
        first = self.message(DeducedAlarmActivate, now - 60_000_000, severity='WARNING')
        body = create_body(first, first.order(None), state='alarm', severity='low',
                           created=now - 60_000_000, event_type='*')
        self.cloud.aodh.create_alarm(body['name'], 'event', body['event_rule'],
                                     description=body['description'], state='alarm',
                                     severity='low', notify=False)
        earlier = self.message(DeducedAlarmActivate, now - 120_000_000, severity='WARNING')
        while {tag for tag, _ in self.requests_by('aodh.alarms.list', 'GET')} != set(processes):
            for _ in processes:
                publisher.publish(earlier)  # each process reads the alarm on its first
            self.drained()
        self.assertEqual([], self.requests_by('aodh.alarms.*', 'P*'))

        # 2. The newer deactivate: written (without reading), acknowledged,
        # and its writer killed before it checks anything. Both messages are
        # dated now, however long step 1 took.
        now = round(time.time() * 1_000_000)
        older, newer = now + 100, now + 200
        newer_text = f'deactivate at {format_time(newer)}'
        publisher.publish(self.message(DeducedAlarmDeactivate, newer))
        self.drained()
        [(writer, _)] = [(tag, r) for tag, r in self.requests_by('aodh.alarms.update', 'PUT')
                         if newer_text in r.json.get('description', '')]
        processes.pop(writer).kill()

        # 3. The older activate, to one of the two others: it knows the
        # alarm and the message is fresh, so it writes without reading.
        publisher.publish(self.message(DeducedAlarmActivate, older, severity='CRITICAL'))
        self.drained()
        older_text = f'activate at {format_time(older)}'
        [(stale_writer, _)] = [(tag, r) for tag, r
                               in self.requests_by('aodh.alarms.update', 'PUT')
                               if older_text in r.json.get('description', '')]
        self.assertIn(stale_writer, processes)

        # 4. Stopping waits for the final checks (both drain at once).
        for process in processes.values():
            process.request_stop()
        for process in processes.values():
            self.assertEqual(0, process.terminate())
        [alarm] = self.mirrors()['v-kill']
        self.assertEqual(('ok', newer_text),
                         (alarm['state'], alarm['description'].rsplit('last change: ', 1)[1]
                          .split(',', 1)[0]))


class PublishCommandTest(NotifierProcessTestCase):

    def publish(self, *args: str) -> subprocess.CompletedProcess[str]:
        config = self.tmp / 'publish.conf'
        config.write_text(self.config_text())
        return subprocess.run(
            [VITRAGE_DS, '--config-file', str(config),
             'publish', *args], capture_output=True, text=True, timeout=DEADLINE,
            env=self.env, check=False)

    def test_publish_then_notifier_raises_then_clears_the_aodh_alarm(self) -> None:
        notifier = self.start_notifier()
        common = ['--vitrage-id', 'v-cli', '--name', 'cpu high', '--resource', 'host-1']

        done = self.publish('activate', *common, '--severity', 'CRITICAL')
        self.assertEqual(0, done.returncode, done.stderr)
        self.assertIn('"event_type": "vitrage.deduced_alarm.activate"', done.stdout)
        wait_until(lambda: [a['state'] for a in self.mirrors().get('v-cli', [])] == ['alarm'],
                   'the alarm raised', timeout=DEADLINE)
        [alarm] = self.mirrors()['v-cli']
        self.assertEqual(('cpu high_host-1', 'critical', 'event'),
                         (alarm['name'], alarm['severity'], alarm['type']))

        done = self.publish('deactivate', *common)
        self.assertEqual(0, done.returncode, done.stderr)
        wait_until(lambda: [a['state'] for a in self.mirrors()['v-cli']] == ['ok'],
                   'the alarm cleared', timeout=DEADLINE)
        self.assertEqual(0, notifier.terminate())

    def test_an_invalid_message_is_refused_naming_the_field(self) -> None:
        done = self.publish('activate', '--vitrage-id', 'v-1', '--name', 'n',
                            '--resource', 'r')

        self.assertEqual(1, done.returncode)
        self.assertIn("invalid 'severity'", done.stderr)


class QueueTest(NotifierProcessTestCase):
    """``vitrage-ds notifier`` consumes the queue Vitrage's own notifier consumed."""

    def test_with_the_defaults_no_queue_is_left_holding_messages(self) -> None:
        notifier = self.start_notifier()
        transport = get_transport(new_config(), self.rabbit.transport_url)
        self.addCleanup(transport.cleanup)
        # The publisher declares <topic>.info, as Vitrage's GraphNotifier does.
        publisher = DeducedAlarmPublisher(transport, topic=self.topic, exchange=self.exchange)
        for n in range(20):
            publisher.activate(vitrage_id=f'v-{n}', name='cpu high', severity='CRITICAL',
                               affected_resource_id=f'host-{n}')

        wait_until(lambda: len(self.mirrors()) == 20, 'an Aodh alarm per deduced alarm',
                   timeout=DEADLINE)
        self.assertEqual(0, notifier.terminate())
        queues = self.rabbit.queues()
        self.assertIn(f'{self.topic}.info', queues)
        self.assertEqual(dict.fromkeys(queues, '0'),
                         {name: q['messages'] for name, q in queues.items()})

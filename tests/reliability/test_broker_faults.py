"""Broker restarts and killed services on a private RabbitMQ node.

Each test starts its own RabbitMQ node (:class:`~tests.kit.RabbitNode`,
never the shared one), runs the real service commands as processes, and
while messages flow restarts the broker (publishers block and resend,
listeners reconnect) and SIGKILLs the service, starting a new one. Then
every message must have been processed at least once and the results must
be what a fault-free run gives: the same events for the collector, the
same Aodh alarms -- one per deduced alarm -- for the notifier.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fixtures
import testtools

from tests.reliability import figures
from vitrage_ds import registry
from vitrage_ds.bus import Publisher, get_transport, register_opts
from vitrage_ds.collector import Collector
from vitrage_ds.config import new_config
from vitrage_ds.deduced import (DeducedAlarm, DeducedAlarmActivate, DeducedAlarmDeactivate,
                                format_time)
from vitrage_ds.event import METADATA_KEYS, parse_time
from vitrage_ds.notifier import Message
from vitrage_ds.notifier_service import DeducedAlarmPublisher
from vitrage_ds_testing import EmulatedCloud, RecordingSink
from tests.kit import RabbitNode
from tests.kit.process import ServiceProcess

#: Bound on anything that should happen; never a measured time.
DEADLINE = 240.0


def wait_until(predicate: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    end = time.monotonic() + deadline
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f'timed out waiting for {what}')
        time.sleep(0.1)


def rabbit_options(*, quorum: bool) -> list[str]:
    """``[oslo_messaging_rabbit]`` lines: durable or quorum queues, quick reconnects."""
    return ['[oslo_messaging_rabbit]',
            'amqp_durable_queues = true',
            f'rabbit_quorum_queue = {str(quorum).lower()}',
            'rabbit_retry_interval = 1',
            'rabbit_retry_backoff = 1',
            'rabbit_interval_max = 2',
            'rabbit_qos_prefetch_count = 64']


def transport_for(url: str, *, quorum: bool) -> Any:
    """A publishing transport whose queue settings match the services'."""
    conf = new_config()
    register_opts(conf)
    group = 'oslo_messaging_rabbit'
    conf.set_override('amqp_durable_queues', True, group)
    conf.set_override('rabbit_quorum_queue', quorum, group)
    conf.set_override('rabbit_retry_interval', 1, group)
    conf.set_override('rabbit_retry_backoff', 1, group)
    conf.set_override('rabbit_interval_max', 2, group)
    return get_transport(conf, url)


class _BrokerTest(testtools.TestCase):

    quorum = False

    def setUp(self) -> None:
        super().setUp()
        self.node = self.useFixture(RabbitNode())
        self.tmp = Path(self.useFixture(fixtures.TempDir()).path)
        self.transport = transport_for(self.node.transport_url, quorum=self.quorum)
        self.addCleanup(self.transport.cleanup)
        self.run_id = uuid.uuid4().hex[:8]
        self._started = 0
        #: Messages the background publisher has sent so far.
        self.sent = 0

    def start(self, command: str, config: Path, ready: str) -> ServiceProcess:
        self._started += 1
        log = self.tmp / f'{command}-{self._started}.log'
        process = ServiceProcess(config, [command], log, ready=ready, deadline=60.0)
        self.addCleanup(lambda: self.addDetail(log.name, testtools.content.text_content(
            process.output()[-20_000:])))
        return self.useFixture(process)

    def publish_in_background(self, send: Callable[[], None]) -> threading.Thread:
        errors: list[BaseException] = []

        def run() -> None:
            try:
                send()
            except BaseException as exc:  # reported by the test
                errors.append(exc)

        thread = threading.Thread(target=run, name='publisher', daemon=True)
        thread.start()
        self.addCleanup(lambda: self.assertEqual([], errors, 'the publisher failed'))
        return thread

    def restart_broker(self, total: int) -> None:
        """Restart the broker while the publisher is still sending."""
        sent = self.sent
        self.node.restart()
        figures.add(broker_restarts=1)
        self.assertTrue(0 < sent < total, f'the restart did not hit the publisher '
                                          f'({sent} of {total} sent)')

    def queue_depth(self, name: str) -> int:
        queue = self.node.queues().get(name)
        return int(queue['messages']) if queue else -1

    def assert_no_message_given_up(self, *processes: ServiceProcess) -> None:
        for process in processes:
            self.assertNotIn('giving up on', process.output())


class TestCollectorThroughBrokerRestartAndKill(_BrokerTest):
    """10,000 Aodh notifications to ``vitrage-ds collect`` (quorum queues).

    Aodh's listing answers 503 for the whole run, so only the bus tells the
    collector about the alarms: a lost message is a missing alarm, and a
    failed poll must delete nothing.
    """

    quorum = True
    MESSAGES = 10_000

    def setUp(self) -> None:
        super().setUp()
        self.cloud = self.useFixture(EmulatedCloud(seed=31))
        projects = self.cloud.ensure_projects(3)
        types = ('event', 'gnocchi_resources_threshold', 'composite', 'prometheus')
        for n in range(self.MESSAGES):
            self.cloud.aodh.create_alarm(f'alarm {n} "quoted" & more', types[n % len(types)],
                                         project_id=projects[n % len(projects)],
                                         severity=('low', 'moderate', 'critical')[n % 3])
        self.notes = self.cloud.notifications.of('alarming', 'alarm.creation')
        self.assertEqual(self.MESSAGES, len(self.notes))
        self.cloud.fail('GET aodh.alarms.list', 503)
        self.events_file = self.tmp / 'events.jsonl'
        self.pool = f'collect-{self.run_id}'
        headers = ','.join(f'{k}:{v}' for k, v in self.cloud.noauth_headers().items())
        self.config = self.tmp / 'collect.conf'
        self.config.write_text('\n'.join([
            '[DEFAULT]', 'drivers = aodh', f'transport_url = {self.node.transport_url}',
            *rabbit_options(quorum=True),
            '[service_credentials]', 'auth_type = none', 'timeout = 5',
            '[http]', 'retries = 0', f'headers = {headers}',
            '[collector]', 'mode = diff', f'sinks = file:{self.events_file}',
            f'listener_pool = {self.pool}', 'retry_backoff = 60', 'stop_timeout = 30',
            '[driver.aodh]', f'endpoint_override = {self.cloud.aodh_endpoint}',
            'poll_interval = 3600', '']))

    def lines(self) -> list[dict[str, Any]]:
        if not self.events_file.exists():
            return []
        with open(self.events_file, encoding='utf-8') as f:
            return [json.loads(line) for line in f if line.endswith('\n')]

    def seen(self) -> int:
        if not self.events_file.exists():
            return 0
        with open(self.events_file, 'rb') as f:
            return sum(chunk.count(b'\n') for chunk in iter(lambda: f.read(1 << 20), b''))

    def baseline(self) -> dict[str, dict[str, Any]]:
        """What a fault-free collector makes of the same notifications, in order."""
        conf = self.cloud.make_conf('none', collector={'listen': False, 'mode': 'diff'})
        driver = registry.load_drivers(conf, ['aodh']).plugins['aodh']
        sink = RecordingSink()
        collector = Collector(conf, sink, drivers={'aodh': driver})
        for n, note in enumerate(self.notes):
            self.assertEqual('done', collector.handle(
                note.event_type, note.payload,
                {'message_id': f'm-{n}', 'timestamp': '2024-05-01 12:00:00'}).value)
        collector.stop(10)
        return {e.entity_id: _fields(e.to_dict()) for e in sink.events}

    def test_every_notification_survives_a_broker_restart_and_a_killed_collector(self) -> None:
        queue = f'{self.pool}.aodh.notifications'
        first = self.start('collect', self.config, 'collector started')
        publisher = Publisher(self.transport, topic='notifications', exchange='aodh',
                              publisher_id='aodh.api')

        def send() -> None:
            for note in self.notes:
                publisher.publish(note.event_type, note.payload, priority=note.priority)
                self.sent += 1
        sender = self.publish_in_background(send)

        wait_until(lambda: self.seen() >= 2_000, 'the first 2,000 events')
        self.restart_broker(self.MESSAGES)
        wait_until(lambda: self.seen() >= 5_000, '5,000 events')
        handled_before_kill = self.seen()
        first.kill()
        self.assertLess(handled_before_kill, self.MESSAGES, 'the kill came after the stream')
        figures.add(processes_killed=1)
        second = self.start('collect', self.config, 'collector started')
        sender.join(DEADLINE)
        self.assertFalse(sender.is_alive(), 'the publisher is stuck')
        figures.add(messages_sent=self.MESSAGES)

        expected = self.baseline()
        wait_until(lambda: self.seen() >= self.MESSAGES
                   and expected.keys() <= {line['alarm_id'] for line in self.lines()},
                   'every alarm')
        wait_until(lambda: self.queue_depth(queue) == 0, 'an empty queue', 30.0)
        self.assertEqual(0, second.terminate(), second.output()[-3000:])

        lines = self.lines()
        final = {line['alarm_id']: _fields(line) for line in lines
                 if line['vitrage_event_type'] != 'delete_entity'}
        deletions = [line for line in lines if line['vitrage_event_type'] == 'delete_entity']
        lost = expected.keys() - final.keys()
        figures.add(messages_processed=len(final), lost=len(lost),
                    false_deletions=len(deletions))
        self.assertEqual(set(), lost, 'notifications were lost')
        self.assertEqual([], deletions, 'a failed poll deleted alarms')
        self.assertEqual(expected, final, 'the events differ from a fault-free run')
        self.assertIn('poll aodh failed', first.output())
        self.assert_no_message_given_up(first, second)


class TestNotifierThroughBrokerRestartAndKill(_BrokerTest):
    """Deduced-alarm messages to ``vitrage-ds notifier`` (durable classic queues)."""

    DEDUCED = 400

    def setUp(self) -> None:
        super().setUp()
        self.cloud = self.useFixture(EmulatedCloud(seed=32))
        self.topic = f'vitrage.graph.{self.run_id}'
        headers = ','.join(f'{k}:{v}' for k, v in self.cloud.noauth_headers().items())
        self.config = self.tmp / 'notifier.conf'
        self.config.write_text('\n'.join([
            '[DEFAULT]', 'notifiers = aodh', f'transport_url = {self.node.transport_url}',
            'executor_thread_pool_size = 16',
            *rabbit_options(quorum=False),
            '[service_credentials]', 'auth_type = none', 'timeout = 10',
            '[http]', 'retries = 2', f'headers = {headers}',
            '[notifier]', f'topic = {self.topic}', 'exchange = vitrage',
            'stop_timeout = 30',
            '[notifier.aodh]', f'endpoint_override = {self.cloud.aodh_endpoint}',
            'verify_delay = 0.0', '']))
        self.messages = messages(self.DEDUCED)

    def baseline(self) -> dict[str, list[tuple[Any, ...]]]:
        """The Aodh alarms a fault-free notifier makes of the same messages, in order."""
        cloud = self.useFixture(EmulatedCloud(seed=32))
        conf = cloud.make_conf('none', **{'notifier.aodh': {'verify_delay': 0.0}})
        plugin = registry.load_notifiers(conf, ['aodh']).plugins['aodh']
        for n, msg in enumerate(self.messages):
            self.assertEqual('done', plugin.notify(Message(
                msg.event_type, msg.to_payload(),
                {'message_id': f'm-{n}', 'timestamp': msg.timestamp})).value)
        return alarms(cloud)

    def test_every_activation_survives_a_broker_restart_and_a_killed_notifier(self) -> None:
        queue = f'{self.topic}.info'
        first = self.start('notifier', self.config, 'notifier service listening on')
        publisher = DeducedAlarmPublisher(self.transport, topic=self.topic, exchange='vitrage')

        def send() -> None:
            for msg in self.messages:
                publisher.publish(msg)
                self.sent += 1
                time.sleep(0.01)  # a steady flow, so the restart hits the publisher
        sender = self.publish_in_background(send)

        wait_until(lambda: len(self.cloud.aodh) >= self.DEDUCED // 4, 'the first alarms')
        self.restart_broker(len(self.messages))
        wait_until(lambda: len(self.cloud.aodh) >= self.DEDUCED // 2, 'half the alarms')
        sent_before_kill = self.sent
        first.kill()
        self.assertLess(sent_before_kill, len(self.messages), 'the kill came after the stream')
        figures.add(processes_killed=1)
        second = self.start('notifier', self.config, 'notifier service listening on')
        sender.join(DEADLINE)
        self.assertFalse(sender.is_alive(), 'the publisher is stuck')
        figures.add(messages_sent=len(self.messages))

        expected = self.baseline()
        wait_until(lambda: alarms(self.cloud) == expected, 'the Aodh alarms of every message')
        wait_until(lambda: self.queue_depth(queue) == 0, 'an empty queue', 30.0)
        self.assertEqual(0, second.terminate(), second.output()[-3000:])

        found = alarms(self.cloud)
        duplicates = sum(len(v) - 1 for v in found.values())
        lost = sum(1 for vid, states in expected.items() if found.get(vid) != states)
        figures.add(messages_processed=len(self.messages), lost=lost,
                    duplicate_alarms=duplicates)
        self.assertEqual(0, duplicates, 'duplicate Aodh alarms')
        self.assertEqual(expected, found)
        self.assert_no_message_given_up(first, second)


def messages(deduced: int) -> list[DeducedAlarm]:
    """An activation per deduced alarm and, for every other one, a later
    deactivation; names with quotes and query syntax, in publishing order."""
    base = round((parse_time('2024-05-01T12:00:00Z') or 0) * 1_000_000)
    names = ['cpu "high"', "it's down", 'a&q.field=name&q.value=x', 'disk full']
    out: list[DeducedAlarm] = []
    for d in range(deduced):
        common: dict[str, Any] = {'vitrage_id': f'v-{d:04}', 'name': names[d % len(names)],
                                  'affected_resource_id': f'host-{d}'}
        out.append(DeducedAlarmActivate(severity=('critical', 'warning')[d % 2],
                                        timestamp=format_time(base + d), **common))
        if d % 2:
            out.append(DeducedAlarmDeactivate(timestamp=format_time(base + d + 500_000),
                                              sequence=1, **common))
    return out


def alarms(cloud: EmulatedCloud) -> dict[str, list[tuple[Any, ...]]]:
    """Per vitrage_id, each of its Aodh alarms as (name, state, severity, query)."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for alarm in list(cloud.aodh.alarms.values()):
        query = alarm.get('event_rule', {}).get('query', [])
        vitrage_ids = [item['value'] for item in query if item.get('field') == 'vitrage_id']
        for vitrage_id in vitrage_ids:
            found.setdefault(vitrage_id, []).append(
                (alarm['name'], alarm['state'], alarm['severity'],
                 json.dumps(query, sort_keys=True)))
    return {k: sorted(v) for k, v in found.items()}


def _fields(flat: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in flat.items() if k not in METADATA_KEYS}


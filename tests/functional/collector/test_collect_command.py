"""``vitrage-ds collect`` as a process: SIGTERM with messages in flight loses none.

The third-party example driver (tests/thirdparty) polls a loopback widget
service; its ``widget.*`` notifications come over a per-test RabbitMQ vhost;
events go to a JSON lines file.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import fixtures
import testtools
from vitrage_ds_example.server import WidgetServer

from vitrage_ds.bus import Publisher, get_transport
from vitrage_ds.config import new_config
from vitrage_ds_testing import wait_until
from tests.kit import RabbitVhost
from tests.kit.process import ServiceProcess

DEADLINE = 60.0
MESSAGES = 3000


class TestCollectCommand(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        vhost = self.useFixture(RabbitVhost())
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.events_file = os.path.join(self.dir, 'events.jsonl')
        widgets = [{'id': f'seed-{i}', 'name': f'seed {i}', 'status': 'OK',
                    'updated_at': '2024-05-01T12:00:00Z'} for i in range(3)]
        server = WidgetServer(widgets)
        self.addCleanup(server.stop)
        self.config_file = os.path.join(self.dir, 'vitrage_ds.conf')
        with open(self.config_file, 'w') as f:
            f.write(f'''[DEFAULT]
drivers = example
transport_url = {vhost.transport_url}

[service_credentials]
auth_type = none

[collector]
mode = diff
sinks = file:{self.events_file}
exchanges = widgets
listener_pool = collect-{uuid.uuid4().hex[:8]}
stop_timeout = 30

[driver.example]
endpoint_override = {server.url}
poll_interval = 3600
''')
        self.transport = get_transport(new_config(), url=vhost.transport_url)
        self.addCleanup(self.transport.cleanup)

    def start(self, name: str) -> ServiceProcess:
        return self.useFixture(ServiceProcess(
            self.config_file, ['collect'], os.path.join(self.dir, f'{name}.log'),
            ready='collector started', deadline=DEADLINE))

    def lines(self) -> list[dict[str, Any]]:
        if not os.path.exists(self.events_file):
            return []
        with open(self.events_file, encoding='utf-8') as f:
            return [json.loads(line) for line in f if line.endswith('\n')]

    def updates(self) -> list[str]:
        return [line['vitrage_ds_entity_id'] for line in self.lines()
                if line['vitrage_datasource_action'] == 'update']

    def publish(self, count: int) -> list[str]:
        publisher = Publisher(self.transport, topic='notifications', exchange='widgets',
                              publisher_id='widget.host')
        # Its own transport to the 'widgets' exchange, before the vhost goes.
        self.addCleanup(publisher.close)
        ids = [f'w-{i:05d}' for i in range(count)]
        for widget_id in ids:
            publisher.publish('widget.update', {'id': widget_id, 'name': widget_id,
                                                'status': 'OK', 'updated_at': None})
        return ids

    def test_sigterm_with_messages_in_flight_loses_none(self) -> None:
        # A first run declares the pool's queues; they outlive the process.
        first = self.start('declare')
        self.assertEqual(0, first.terminate(), first.output())
        sent = self.publish(MESSAGES)

        busy = self.start('busy')  # takes the backlog: many messages in flight
        wait_until(lambda: len(self.updates()) >= 100, 'the first deliveries', DEADLINE, 0.05)
        self.assertEqual(0, busy.terminate(), busy.output())
        after_sigterm = len(self.updates())
        self.assertLess(after_sigterm, MESSAGES, 'nothing was left in flight: the test '
                                                 'proves nothing')
        self.assertIn('collector stopped', busy.output())

        rest = self.start('rest')
        wait_until(lambda: set(self.updates()) >= set(sent), 'every message', DEADLINE, 0.05)
        self.assertEqual(0, rest.terminate(), rest.output())

        delivered = self.updates()
        self.assertEqual(set(sent), set(delivered))
        self.assertEqual(len(sent), len(delivered), 'a message was delivered twice')

    def test_sigterm_exits_zero_and_closes_the_sink(self) -> None:
        process = self.start('quiet')
        wait_until(lambda: len(self.lines()) >= 3, 'the init snapshot', DEADLINE, 0.05)
        self.assertEqual(0, process.terminate(), process.output())
        self.assertEqual(['init_snapshot'] * 3,
                         [line['vitrage_datasource_action'] for line in self.lines()])
        self.assertIn('collector stopped', process.output())

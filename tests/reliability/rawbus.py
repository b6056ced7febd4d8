"""Services on a RabbitMQ vhost, for the tests that feed them raw messages.

:class:`ServicesOnRabbit` runs ``vitrage-ds collect`` and ``vitrage-ds
notifier`` against the emulated cloud on a private vhost; the raw messages
come from :func:`tests.kit.publish_raw`.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import fixtures
import testtools
from testtools import content

from vitrage_ds.bus import get_transport
from vitrage_ds.config import new_config
from vitrage_ds_testing import EmulatedCloud
from tests.kit import RabbitVhost
from tests.kit.process import ServiceProcess

#: Bound on anything that should happen; never a measured time.
DEADLINE = 60.0


class ServicesOnRabbit(testtools.TestCase):
    """An emulated cloud, a vhost, and configurations for both services."""

    def setUp(self) -> None:
        super().setUp()
        self.rabbit = self.useFixture(RabbitVhost())
        self.cloud = self.useFixture(EmulatedCloud(seed=47))
        self.tmp = Path(self.useFixture(fixtures.TempDir()).path)
        self.topic = f'vitrage.graph.{uuid.uuid4().hex[:8]}'
        self.events_file = self.tmp / 'events.jsonl'
        headers = ','.join(f'{k}:{v}' for k, v in self.cloud.noauth_headers().items())
        self.config = self.tmp / 'vitrage_ds.conf'
        self.config.write_text('\n'.join([
            '[DEFAULT]', 'drivers = heat.stack, aodh', 'notifiers = aodh',
            f'transport_url = {self.rabbit.transport_url}',
            '[service_credentials]', 'auth_type = none', 'timeout = 5',
            '[http]', 'retries = 0', f'headers = {headers}',
            '[collector]', 'mode = diff', f'sinks = file:{self.events_file}',
            'stop_timeout = 30',
            '[driver.heat.stack]', f'endpoint_override = {self.cloud.heat_endpoint()}',
            'poll_interval = 3600',
            '[driver.aodh]', f'endpoint_override = {self.cloud.aodh_endpoint}',
            'poll_interval = 3600',
            '[notifier]', f'topic = {self.topic}', 'exchange = vitrage',
            'retry_backoff = 0.5', 'retry_backoff_max = 2',
            '[notifier.aodh]', f'endpoint_override = {self.cloud.aodh_endpoint}',
            'verify_delay = 0.0', *self.extra_config(), '']))
        self.transport = get_transport(new_config(), self.rabbit.transport_url)
        self.addCleanup(self.transport.cleanup)
        self._count = 0

    def extra_config(self) -> list[str]:
        """Lines appended to the configuration (a group may come again:
        its options there win)."""
        return []

    def start(self, command: str, *options: str) -> ServiceProcess:
        """``vitrage-ds [OPTIONS] COMMAND`` once it listens; its log becomes a detail."""
        self._count += 1
        log = self.tmp / f'{command}-{self._count}.log'
        ready = 'collector started' if command == 'collect' else 'notifier service listening'
        process = ServiceProcess(self.config, [*options, command], log, ready=ready,
                                 deadline=DEADLINE)
        self.addCleanup(lambda: self.addDetail(log.name, content.text_content(
            process.output()[-20_000:])))
        return self.useFixture(process)

    def events(self) -> list[dict[str, Any]]:
        if not self.events_file.exists():
            return []
        with open(self.events_file, encoding='utf-8') as f:
            return [json.loads(line) for line in f if line.endswith('\n')]

    def depths(self) -> dict[str, int]:
        """Messages in every queue of the vhost (ready + unacknowledged)."""
        return {name: int(q['messages']) for name, q in self.rabbit.queues().items()}

    def all_queues_empty(self) -> bool:
        depths = self.depths()
        return bool(depths) and not any(depths.values())

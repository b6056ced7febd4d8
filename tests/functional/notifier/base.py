"""Running ``vitrage-ds notifier`` as real processes against the emulated cloud."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import fixtures
import testtools
from testtools import content

from vitrage_ds_testing import EmulatedCloud, TemporaryDistribution
from tests.kit import RabbitVhost
from tests.kit.process import ServiceProcess, vitrage_ds_command

#: The console script, next to the interpreter running the tests.
VITRAGE_DS = vitrage_ds_command()

#: Deadline for anything that should happen "soon"; never a measured time.
DEADLINE = 60.0

RAISING_MODULE = '''
from vitrage_ds.notifier import NotifierPlugin


class RaisingNotifier(NotifierPlugin):
    """A notifier with a bug: it raises on every message."""

    name = 'raising'

    def notify(self, msg):
        raise RuntimeError('the raising notifier always fails')
'''


def counters(process: ServiceProcess) -> tuple[int, int, int]:
    """``(handled, requeued, rejected)`` from a notifier process's stop log line."""
    found = re.search(r'notifier service stopped \((\d+) handled, (\d+) requeued, '
                      r'(\d+) rejected\)', process.output())
    if not found:
        raise AssertionError(f'no stop line in the log:\n{process.output()[-3000:]}')
    handled, requeued, rejected = (int(g) for g in found.groups())
    return handled, requeued, rejected


class NotifierProcessTestCase(testtools.TestCase):
    """An emulated cloud, a RabbitMQ vhost and a config for notifier processes."""

    #: Extra notifier plugins (besides aodh) the processes enable.
    extra_notifiers: Sequence[str] = ()

    def setUp(self) -> None:
        super().setUp()
        self.rabbit = self.useFixture(RabbitVhost())
        self.cloud = self.useFixture(EmulatedCloud())
        self.tmp = Path(self.useFixture(fixtures.TempDir()).path)
        run = uuid.uuid4().hex[:10]
        self.topic = f'vitrage.graph.{run}'
        self.exchange = f'vitrage-{run}'
        self.env = dict(os.environ)
        if 'raising' in self.extra_notifiers:
            dist = self.useFixture(TemporaryDistribution(
                {'vitrage_ds.notifiers': {'raising': 'vds_raising_notifier:RaisingNotifier'}},
                modules={'vds_raising_notifier': RAISING_MODULE}, name='vds_raising'))
            self.env['PYTHONPATH'] = os.pathsep.join(
                p for p in (dist.pythonpath, self.env.get('PYTHONPATH')) if p)
        self.config = self.tmp / 'vitrage_ds.conf'
        self.config.write_text(self.config_text())
        self._count = 0

    def config_text(self, **aodh: Any) -> str:
        headers = ','.join(f'{k}:{v}' for k, v in self.cloud.noauth_headers().items())
        aodh_options = {'endpoint_override': self.cloud.aodh_endpoint, 'verify_delay': 0.1,
                        **aodh}
        return '\n'.join([
            '[DEFAULT]',
            f'transport_url = {self.rabbit.transport_url}',
            f'notifiers = {",".join(["aodh", *self.extra_notifiers])}',
            'executor_thread_pool_size = 16',
            '[oslo_messaging_rabbit]',
            # A few messages in flight per process, so a pool's messages
            # spread over its processes and stop() leaves the rest queued.
            'rabbit_qos_prefetch_count = 8',
            '[service_credentials]',
            'auth_type = none',
            'timeout = 10',
            '[http]',
            'retries = 0',
            f'headers = {headers}',
            '[notifier]',
            f'topic = {self.topic}',
            f'exchange = {self.exchange}',
            'max_retries = 20',
            'stop_timeout = 30',
            '[notifier.aodh]',
            *(f'{k} = {v}' for k, v in aodh_options.items()),
            '',
        ])

    def start_notifier(self) -> ServiceProcess:
        """A ``vitrage-ds notifier`` process, once it listens; its log is a detail."""
        self._count += 1
        log = self.tmp / f'notifier-{self._count}.log'
        process = ServiceProcess(self.config, ['notifier'], log, env=self.env,
                                 ready='notifier service listening on', deadline=DEADLINE)
        self.addCleanup(lambda: self.addDetail(log.name, content.text_content(
            process.output()[-20_000:])))
        return self.useFixture(process)

    def queue_depth(self) -> int:
        """Messages in ``<topic>.info``, the queue the processes share
        (ready + unacknowledged)."""
        name = f'{self.topic}.info'
        queue = self.rabbit.queues().get(name)
        return int(queue['messages']) if queue else -1

    def mirrors(self) -> dict[str, list[dict[str, Any]]]:
        """The emulated Aodh's alarms by the vitrage_id of their rule."""
        return self.cloud.aodh.by_vitrage_id()

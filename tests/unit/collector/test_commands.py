"""``vitrage-ds collect --once``, run in-process against a loopback widget service."""

from __future__ import annotations

import json
import os

import fixtures
import testtools
from vitrage_ds_example.server import WidgetServer

from vitrage_ds.cli.app import main

WIDGETS = [{'id': f'w{i}', 'name': f'widget {i}', 'status': 'OK',
            'updated_at': '2024-05-01T12:00:00Z'} for i in range(3)]


class TestCollectOnce(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(fixtures.FakeLogger())
        self.server = WidgetServer(WIDGETS)
        self.addCleanup(self.server.stop)
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.events = os.path.join(self.dir, 'events.jsonl')
        self.config = os.path.join(self.dir, 'vitrage_ds.conf')
        with open(self.config, 'w') as f:
            f.write(f'[DEFAULT]\ndrivers = example\n'
                    f'[service_credentials]\nauth_type = none\n'
                    f'[http]\nretries = 0\n'
                    f'[driver.example]\nendpoint_override = {self.server.url}\n')

    def collect(self, *args: str) -> int:
        return main(['--config-file', self.config, 'collect', '--once', *args])

    def lines(self) -> list[dict[str, object]]:
        with open(self.events, encoding='utf-8') as f:
            return [json.loads(line) for line in f]

    def test_polls_each_driver_once_into_the_sink(self) -> None:
        self.assertEqual(0, self.collect('--sink', f'file:{self.events}'))
        self.assertEqual([('w0', 'init_snapshot'), ('w1', 'init_snapshot'),
                          ('w2', 'init_snapshot')],
                         [(line['vitrage_ds_entity_id'], line['vitrage_datasource_action'])
                          for line in self.lines()])

    def test_a_failed_poll_exits_non_zero_and_delivers_nothing(self) -> None:
        self.server.break_('error')
        self.assertEqual(1, self.collect('--sink', f'file:{self.events}'))
        self.assertEqual([], self.lines())

    def test_a_wrong_sink_is_an_error(self) -> None:
        self.assertEqual(1, self.collect('--sink', 'kafka:topic'))

    def test_the_sink_defaults_to_standard_output(self) -> None:
        out = self.useFixture(fixtures.StringStream('stdout')).stream
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', out))
        self.assertEqual(0, self.collect())
        out.seek(0)
        self.assertEqual(3, len(out.read().splitlines()))

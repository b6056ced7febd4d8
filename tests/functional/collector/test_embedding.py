"""Embedding the collector as the documentation shows: a config file and a queue."""

from __future__ import annotations

import os
import queue

import fixtures
import testtools
from vitrage_ds_example.server import WidgetServer

from vitrage_ds import Collector, Event
from vitrage_ds.config import load_config
from vitrage_ds.event import Action

WIDGETS = [{'id': f'w{i}', 'name': f'widget {i}', 'status': 'OK',
            'updated_at': '2024-05-01T12:00:00Z'} for i in range(3)]


class TestEmbedding(testtools.TestCase):

    def test_a_config_file_and_a_queue_are_enough(self) -> None:
        self.useFixture(fixtures.FakeLogger())
        server = WidgetServer(WIDGETS)
        self.addCleanup(server.stop)
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'vitrage_ds.conf')
        with open(path, 'w') as f:
            f.write(f'[DEFAULT]\ndrivers = example\n'
                    f'[service_credentials]\nauth_type = none\n'
                    f'[collector]\nlisten = false\n'
                    f'[driver.example]\nendpoint_override = {server.url}\n')

        events: queue.Queue[Event] = queue.Queue()
        with Collector(load_config(['--config-file', path]), events):
            got = [events.get(timeout=30) for _ in WIDGETS]

        self.assertEqual(['w0', 'w1', 'w2'], sorted(e.entity_id for e in got))
        self.assertEqual({Action.INIT_SNAPSHOT}, {e.action for e in got})

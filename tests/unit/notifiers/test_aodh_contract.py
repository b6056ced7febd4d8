"""The Aodh notifier passes the notifier contract suite against the emulated cloud."""

from __future__ import annotations

import logging
from typing import Any

import fixtures
import testtools

from tests.unit.notifiers.leaks import NoVerifierLeft
from vitrage_ds.deduced import ACTIVATE, DEACTIVATE
from vitrage_ds.notifier import Message
from vitrage_ds_testing import EmulatedCloud, NotifierContractTests, load_plugin

T = '2024-05-01T12:00:0{}.000000Z'


class AodhNotifierContractTest(NotifierContractTests, testtools.TestCase):

    sample_messages = [
        Message(ACTIVATE, {'vitrage_id': 'v-1', 'name': 'cpu high', 'severity': 'CRITICAL',
                           'affected_resource_id': 'host-1', 'timestamp': T.format(1),
                           'sequence': 1}),
        Message(DEACTIVATE, {'vitrage_id': 'v-1', 'name': 'cpu high',
                             'affected_resource_id': 'host-1', 'timestamp': T.format(2),
                             'sequence': 2}),
        Message(ACTIVATE, {'vitrage_id': 'v-2', 'name': 'disk "full"', 'severity': 'severe',
                           'affected_resource_id': 'vol&1', 'timestamp': T.format(3)}),
        Message(DEACTIVATE, {'vitrage_id': 'v-3', 'name': 'never raised',
                             'affected_resource_id': 'host-3', 'timestamp': T.format(4)}),
    ]

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(NoVerifierLeft())
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.cloud = self.useFixture(EmulatedCloud())

    def make_plugin(self) -> Any:
        conf = self.cloud.make_conf('none', http={'retries': 0})
        return load_plugin('notifier', 'aodh', conf=conf,
                           options={'verify_delay': 0.0, 'verify_interval': 0.01})

    def break_backend(self, mode: str) -> None:
        self.cloud.fail('aodh.*', 503)

    def test_samples_leave_one_alarm_each_in_the_newest_state(self) -> None:
        plugin = self.make_plugin()
        self.addCleanup(plugin.close)  # its verifier thread runs until closed
        for msg in self.sample_messages:
            plugin.notify(msg)
        alarms = {a['name']: a['state'] for a in self.cloud.aodh.ordered()}

        self.assertEqual({'cpu high_host-1': 'ok', 'disk "full"_vol&1': 'alarm',
                          'never raised_host-3': 'ok'}, alarms)

"""The Aodh driver passes the driver contract suite against the emulated cloud."""

from __future__ import annotations

import logging

import fixtures
import testtools

from tests.unit.drivers.aodh import samples
from vitrage_ds.driver import Driver
from vitrage_ds.testing import DriverContractTests, load_plugin
from vitrage_ds.testing.cloud import EmulatedCloud


class TestAodhDriverContractOnEmulatedCloud(DriverContractTests, testtools.TestCase):
    backend_failure_modes = ('down', 'fail_on_page', 'forbidden', 'malformed', 'hang')
    min_snapshot_size = 7

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.cloud = self.useFixture(EmulatedCloud(seed=11))
        self.alarms = self.cloud.aodh.populate(7, projects=2)
        ids = [a['alarm_id'] for a in self.alarms]
        self.sample_notifications = [
            ('alarm.creation', samples.creation(samples.alarm('prometheus', 90))),
            ('alarm.rule_change', samples.rule_change(ids[0], {'name': 'renamed'})),
            ('alarm.state_transition', samples.api_state_transition(ids[1])),
            ('alarm.state_transition', samples.evaluator_state_transition(ids[2])),
            ('alarm.deletion', samples.deletion(ids[3])),
        ]

    def make_plugin(self) -> Driver:
        conf = self.cloud.make_conf('password', http={'retries': 0, 'timeout': 2.0})
        driver = load_plugin('driver', 'aodh', conf=conf, options={'page_size': 3})
        assert isinstance(driver, Driver)
        return driver

    def break_backend(self, mode: str) -> None:
        self.cloud.clear_faults()
        if mode == 'down':
            self.cloud.fail('aodh.*', 503)
        elif mode == 'fail_on_page':
            self.cloud.fail_on_page('aodh.alarms.list', 2, 500)
        elif mode == 'forbidden':
            self.cloud.fail('aodh.alarms.list', 403)
        elif mode == 'malformed':
            self.cloud.malform('aodh.alarms.list', b'{"alarms": ')
        elif mode == 'hang':
            self.cloud.hang('aodh.alarms.list', 5.0, start=2)
        else:
            raise AssertionError(mode)

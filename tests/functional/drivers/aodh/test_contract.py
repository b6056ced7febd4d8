"""The Aodh driver passes the driver contract suite against the emulated cloud."""

from __future__ import annotations

import logging

import fixtures
import testtools

from tests.functional.drivers import base
from tests.unit.drivers.aodh import samples
from vitrage_ds_testing.cloud import EmulatedCloud


class TestAodhDriverContractOnEmulatedCloud(base.EmulatedDriverContract, testtools.TestCase):
    driver_name = 'aodh'
    faults = {
        'down': lambda cloud: cloud.fail('aodh.*', 503),
        'fail_on_page': lambda cloud: cloud.fail_on_page('aodh.alarms.list', 2, 500),
        'forbidden': lambda cloud: cloud.fail('aodh.alarms.list', 403),
        'malformed': lambda cloud: cloud.malform('aodh.alarms.list', b'{"alarms": '),
        'hang': lambda cloud: cloud.hang('aodh.alarms.list', 5.0, start=2),
    }
    backend_failure_modes = tuple(faults)
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

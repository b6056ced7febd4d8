"""The Heat driver passes the driver contract suite against the emulated cloud."""

from __future__ import annotations

import logging

import fixtures
import testtools

from tests.functional.drivers import base
from vitrage_ds_testing.cloud import EmulatedCloud, notification_payload


class TestHeatDriverContractOnEmulatedCloud(base.EmulatedDriverContract, testtools.TestCase):
    driver_name = 'heat.stack'
    faults = {
        'down': lambda cloud: cloud.fail('heat.*', 503),
        'fail_on_page': lambda cloud: cloud.fail_on_page('heat.stacks.list', 2, 500),
        'fail_on_resources': lambda cloud: cloud.fail('heat.resources.list', 500, start=4),
        'malformed': lambda cloud: cloud.malform('heat.resources.list', b'{"resources": ',
                                                 start=5),
        'forbidden_resources': lambda cloud: cloud.fail('heat.resources.list', 404,
                                                        start=2, times=1),
        'hang': lambda cloud: cloud.hang('heat.resources.list', 5.0, start=3),
    }
    backend_failure_modes = tuple(faults)
    min_snapshot_size = 7 * 3

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.cloud = self.useFixture(EmulatedCloud(seed=13, global_index_allowed=True))
        stacks = self.cloud.heat.populate(7, 2, projects=self.cloud.ensure_projects(2),
                                          nested=1)
        scaling = {**notification_payload(stacks[1]), 'adjustment': 1,
                   'adjustment_type': 'change_in_capacity', 'capacity': 3,
                   'groupname': 'group', 'message': 'resized'}
        self.sample_notifications = [
            ('orchestration.stack.create.start', notification_payload(stacks[0])),
            ('orchestration.stack.create.end', notification_payload(stacks[0])),
            ('orchestration.stack.update.error', notification_payload(stacks[2])),
            ('orchestration.stack.check.end', notification_payload(stacks[3])),
            ('orchestration.stack.delete.end', notification_payload(stacks[4])),
            ('orchestration.autoscaling.end', scaling),
        ]

"""The Heat driver passes the driver contract suite against the emulated cloud."""

from __future__ import annotations

import logging

import fixtures
import testtools

from vitrage_ds.driver import Driver
from vitrage_ds.testing import DriverContractTests, load_plugin
from vitrage_ds.testing.cloud import EmulatedCloud, notification_payload


class TestHeatDriverContractOnEmulatedCloud(DriverContractTests, testtools.TestCase):
    backend_failure_modes = ('down', 'fail_on_page', 'fail_on_resources', 'malformed',
                             'forbidden_resources', 'hang')
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

    def make_plugin(self) -> Driver:
        conf = self.cloud.make_conf('password', http={'retries': 0, 'timeout': 2.0})
        driver = load_plugin('driver', 'heat.stack', conf=conf, options={'page_size': 3})
        assert isinstance(driver, Driver)
        return driver

    def break_backend(self, mode: str) -> None:
        self.cloud.clear_faults()
        if mode == 'down':
            self.cloud.fail('heat.*', 503)
        elif mode == 'fail_on_page':
            self.cloud.fail_on_page('heat.stacks.list', 2, 500)
        elif mode == 'fail_on_resources':
            self.cloud.fail('heat.resources.list', 500, start=4)
        elif mode == 'forbidden_resources':
            self.cloud.fail('heat.resources.list', 404, start=2, times=1)
        elif mode == 'malformed':
            self.cloud.malform('heat.resources.list', b'{"resources": ', start=5)
        elif mode == 'hang':
            self.cloud.hang('heat.resources.list', 5.0, start=3)
        else:
            raise AssertionError(mode)

"""The Heat driver passes the driver contract suite (Heat mocked per call)."""

from __future__ import annotations

from typing import Any

from vitrage_ds.driver import Driver
from vitrage_ds_testing import DriverContractTests

from tests.unit.drivers.heat.heat_api import (STACKS_URL, HeatTestCase, payload,
                                              resource_item, stack_item)

IDS = [f'00000000-0000-4000-8000-00000000000{i}' for i in range(4)]
NAMES = [f'stack{i}' for i in range(4)]


def _scaling() -> dict[str, Any]:
    body = payload(IDS[0], NAMES[0], 'UPDATE_COMPLETE')
    body.update(adjustment=1, adjustment_type='change_in_capacity', capacity=2,
                groupname='group', message='resized')
    return body


class TestHeatDriverContract(DriverContractTests, HeatTestCase):
    backend_failure_modes = ('down', 'fail_on_page', 'fail_on_resources', 'malformed',
                             'forbidden_resources')
    min_snapshot_size = 8
    sample_notifications = [
        ('orchestration.stack.create.start', payload(IDS[0], NAMES[0], 'CREATE_IN_PROGRESS')),
        ('orchestration.stack.create.end', payload(IDS[0], NAMES[0], 'CREATE_COMPLETE')),
        ('orchestration.stack.update.error', payload(IDS[1], NAMES[1], 'UPDATE_FAILED')),
        ('orchestration.stack.suspend.end', payload(IDS[2], NAMES[2], 'SUSPEND_COMPLETE')),
        ('orchestration.stack.delete.end', payload(IDS[3], NAMES[3], 'DELETE_COMPLETE')),
        ('orchestration.autoscaling.end', _scaling()),
    ]

    def setUp(self) -> None:
        super().setUp()
        self.stacks = [stack_item(i, n) for i, n in zip(IDS, NAMES)]
        self.list_stacks([self.stacks[:2], self.stacks[2:]], limit=2)
        for stack in self.stacks:
            self.serve_resources(stack, [resource_item(stack['id'], stack['stack_name'], 'a'),
                                         resource_item(stack['id'], stack['stack_name'], 'b')])

    def make_plugin(self) -> Driver:
        driver: Driver = self.driver(page_size=2)
        return driver

    def break_backend(self, mode: str) -> None:
        if mode == 'down':
            self.http.get(STACKS_URL, status_code=503)
            for stack in self.stacks:
                self.serve_resources(stack, [], status_code=503)
        elif mode == 'fail_on_page':
            self.http.get(f'{STACKS_URL}?marker={IDS[1]}', status_code=500)
        elif mode == 'fail_on_resources':
            self.serve_resources(self.stacks[3], [], status_code=500)
        elif mode == 'forbidden_resources':
            self.serve_resources(self.stacks[2], [], status_code=404)
        elif mode == 'malformed':
            self.http.get(f'{STACKS_URL}?marker={IDS[1]}', text='{"stacks": [')
        else:
            raise AssertionError(mode)


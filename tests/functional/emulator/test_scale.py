"""The emulated cloud at the scale the benchmarks use (counts only, never timings)."""

from __future__ import annotations

import types

import testtools

from vitrage_ds_testing import EmulatedCloud

ALL_PROJECTS = [('q.field', 'all_projects'), ('q.op', 'eq'), ('q.value', 'true')]


class TestScale(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(EmulatedCloud(seed=9, global_index_allowed=True))
        self.cloud.populate(stacks=10_000, resources_per_stack=10, alarms=10_000,
                            projects=5, nested=100)
        factory = self.cloud.client_factory('none', http={'retries': 0})
        self.heat = factory('orchestration', types.SimpleNamespace(
            endpoint_override=self.cloud.heat_endpoint()))
        self.aodh = factory('alarming', types.SimpleNamespace(
            endpoint_override=self.cloud.aodh_endpoint))

    def test_serves_every_stack_resource_and_alarm(self):
        stacks = list(self.heat.paginate_links(
            'stacks', 'stacks', {'global_tenant': 'true', 'show_nested': 'true',
                                 'limit': 1000}))
        self.assertEqual(10_100, len(stacks))
        self.assertEqual(10_100, len({s['id'] for s in stacks}))
        self.assertEqual(5, len({s['project'] for s in stacks}))
        # Every tenth stack's resources (the benchmarks read them all): ten
        # each, nested stacks included.
        sample = stacks[::10]
        resources = self.heat.fan_out(
            lambda s: len(self.heat.get(f'{s["links"][0]["href"]}/resources')['resources']),
            sample)
        self.assertEqual([10] * len(sample), resources)
        alarms = list(self.aodh.paginate_marker('v2/alarms', 'alarm_id', ALL_PROJECTS,
                                                limit=1000))
        self.assertEqual(10_000, len({a['alarm_id'] for a in alarms}))
        self.assertEqual(8, len({a['type'] for a in alarms}))

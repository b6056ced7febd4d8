"""``vitrage-ds --os-cloud CLOUD poll aodh`` against the emulated cloud's Keystone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import fixtures
import testtools
import yaml  # type: ignore[import-untyped]

from vitrage_ds_testing.cloud import EmulatedCloud

VITRAGE_DS = str(Path(sys.executable).parent / 'vitrage-ds')


class TestPollCommand(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.cloud = self.useFixture(EmulatedCloud(seed=4))
        self.alarms = self.cloud.aodh.populate(30, projects=3)
        self.clouds = self.cloud.clouds_yaml(
            str(self.useFixture(fixtures.TempDir()).join('clouds.yaml')))

    def poll(self, cloud: str, *args: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, OS_CLIENT_CONFIG_FILE=self.clouds)
        return subprocess.run([VITRAGE_DS, '--os-cloud', cloud, 'poll', 'aodh', *args],
                              env=env, capture_output=True, text=True, timeout=120)

    def test_poll_prints_every_alarm_of_every_project(self) -> None:
        self.cloud.requests.clear()
        done = self.poll('emulated', '-f', 'json')
        self.assertEqual(0, done.returncode, done.stderr)
        rows = json.loads(done.stdout)
        self.assertEqual(sorted(a['alarm_id'] for a in self.alarms),
                         [row['alarm_id'] for row in rows])
        self.assertEqual({'aodh'}, {row['vitrage_entity_type'] for row in rows})
        # One page of alarms, then the empty page that ends the listing.
        self.assertEqual([('GET', '/v2/alarms')] * 2, self.cloud.requests.calls('alarming'))

    def test_poll_shows_the_fields_as_a_table(self) -> None:
        done = self.poll('emulated', '-c', 'alarm_id', '-c', 'resource_id', '-f', 'csv')
        self.assertEqual(0, done.returncode, done.stderr)
        self.assertEqual('"alarm_id","resource_id"', done.stdout.splitlines()[0])
        self.assertEqual(31, len(done.stdout.splitlines()))

    def test_member_credentials_fail_with_the_reason_and_no_password(self) -> None:
        clouds = yaml.safe_load(Path(self.clouds).read_text())
        demo = clouds['clouds']['emulated']
        demo['auth'].update(username=self.cloud.demo_username,
                            password=self.cloud.demo_password,
                            project_name=self.cloud.demo_project_name)
        clouds['clouds']['demo'] = demo
        Path(self.clouds).write_text(yaml.safe_dump(clouds))
        done = self.poll('demo')
        self.assertNotEqual(0, done.returncode)
        self.assertIn('403', done.stderr)
        self.assertIn('all_projects = false', done.stderr)
        self.assertNotIn(self.cloud.demo_password, done.stderr + done.stdout)

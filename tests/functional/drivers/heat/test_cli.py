"""``vitrage-ds --os-cloud CLOUD poll heat.stack`` against the emulated cloud."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import fixtures
import testtools

from vitrage_ds_testing.cloud import EmulatedCloud

VITRAGE_DS = str(Path(sys.executable).parent / 'vitrage-ds')


class TestPollCommand(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.cloud = self.useFixture(EmulatedCloud(seed=5))
        projects = [self.cloud.admin_project_id, *self.cloud.ensure_projects(2)]
        self.stacks = self.cloud.heat.populate(9, 2, projects=projects)
        self.clouds = self.cloud.clouds_yaml(
            str(self.useFixture(fixtures.TempDir()).join('clouds.yaml')))

    def poll(self, cloud: str, *args: str,
             config_file: str | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, OS_CLIENT_CONFIG_FILE=self.clouds)
        config = ['--config-file', config_file] if config_file else []
        return subprocess.run([VITRAGE_DS, *config, '--os-cloud', cloud, 'poll', 'heat.stack',
                               *args], env=env, capture_output=True, text=True, timeout=120)

    def rows(self, done: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
        self.assertEqual(0, done.returncode, done.stderr)
        rows: list[dict[str, object]] = json.loads(done.stdout)
        return rows

    def test_poll_prints_every_stack_and_resource_of_every_project(self) -> None:
        self.cloud.global_index_allowed = True

        rows = self.rows(self.poll('emulated', '-f', 'json'))

        stacks = [r for r in rows if r['vitrage_entity_type'] == 'heat.stack']
        resources = [r for r in rows if r['vitrage_entity_type'] == 'heat.resource']
        self.assertEqual({s.id for s in self.stacks}, {r['stack_id'] for r in stacks})
        self.assertEqual(9 * 2, len(resources))
        self.assertEqual({'all_projects'}, {r['scope'] for r in rows})
        self.assertEqual(1 + 9, self.cloud.requests.count(service='orchestration'))

    def test_with_the_default_policy_the_plain_listing_is_polled_and_the_policy_named(
            self) -> None:
        done = self.poll('emulated', '-f', 'json')

        rows = self.rows(done)
        # Admin credentials: Heat's plain listing shows every project.
        self.assertEqual({s.id for s in self.stacks},
                         {r['stack_id'] for r in rows if r['vitrage_entity_type'] == 'heat.stack'})
        self.assertEqual({'project'}, {r['scope'] for r in rows})
        self.assertIn('stacks:global_index', done.stderr)

    def test_poll_shows_chosen_columns_as_csv(self) -> None:
        self.cloud.global_index_allowed = True

        done = self.poll('emulated', '-c', 'vitrage_ds_entity_id', '-c', 'status', '-f', 'csv')

        self.assertEqual(0, done.returncode, done.stderr)
        self.assertEqual('"status","vitrage_ds_entity_id"', done.stdout.splitlines()[0])
        self.assertEqual(1 + 9 + 18, len(done.stdout.splitlines()))

    def test_poll_through_the_noauth_cloud_uses_the_endpoint_override(self) -> None:
        self.cloud.global_index_allowed = True
        headers = ','.join(f'{k}:{v}' for k, v in self.cloud.noauth_headers().items())
        config = self.useFixture(fixtures.TempDir()).join('vitrage_ds.conf')
        Path(config).write_text(f'[http]\nheaders = {headers}\n')

        rows = self.rows(self.poll('emulated-noauth', '-f', 'json', config_file=config))

        self.assertEqual(9 + 18, len(rows))

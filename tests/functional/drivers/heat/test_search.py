"""Searching the emulated Heat: nested trees, server-side filters in the request log, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import fixtures
import testtools

from vitrage_ds.drivers.heat.search import FoundStack, StackQuery, StackSearch
from vitrage_ds_testing.cloud import EmulatedCloud
from vitrage_ds_testing.cloud.heat_extra import extras_of, nested_tree

VITRAGE_DS = str(Path(sys.executable).parent / 'vitrage-ds')


class SearchOnEmulatedHeat(testtools.TestCase):
    """20 plain stacks of 3 resources, and two trees whose only OS::Heat::None
    is in their deepest stack: ``deep`` three levels down, ``shallow`` two."""

    def setUp(self) -> None:
        super().setUp()
        self.cloud = self.useFixture(EmulatedCloud(seed=10, global_index_allowed=True))
        self.project = self.cloud.ensure_projects(1)[0]
        self.cloud.heat.populate(20, 3)
        self.deep = nested_tree(self.cloud.heat, 'deep', depth=3, tags=('blue', 'prod'),
                                project_id=self.project)
        self.shallow = nested_tree(self.cloud.heat, 'shallow', depth=2, tags=('blue',))
        self.cloud.requests.clear()

    def search(self, with_template: bool = False, **query: Any) -> list[FoundStack]:
        conf = self.cloud.make_conf('password', http={'retries': 0})
        return StackSearch.from_config(conf).search(StackQuery(**query), with_template)

    def names(self, found: list[FoundStack]) -> list[str]:
        return [f.name for f in found]

    def logged(self, route: str) -> list[dict[str, list[str]]]:
        """The query of each logged call of ``route``, repeated names as lists."""
        queries = []
        for request in self.cloud.requests.filter(route):
            query: dict[str, list[str]] = {}
            for key, value in request.params:
                query.setdefault(key, []).append(value)
            queries.append(query)
        return queries


class TestNestedTrees(SearchOnEmulatedHeat):

    def test_a_resource_type_three_levels_down_finds_the_root(self) -> None:
        found = self.search(resource_type='OS::Heat::None', depth=3)
        self.assertEqual(['shallow', 'deep'], self.names(found))
        (match,) = found[1].as_dict()['matches']
        self.assertEqual(('marker_9', 'OS::Heat::None', self.deep[3].id, self.deep[3].name),
                         (match['resource_name'], match['resource_type'],
                          match['stack_id'], match['stack_name']))

    def test_the_depth_bounds_the_tree_as_heat_s_nested_depth(self) -> None:
        self.assertEqual(['shallow'], self.names(self.search(resource_type='OS::Heat::None',
                                                             depth=2)))

    def test_a_resource_name_glob_anywhere_in_the_tree(self) -> None:
        found = self.search(resource_name='level_?', name='deep')
        self.assertEqual(['deep'], self.names(found))
        self.assertEqual(['level_1', 'level_2', 'level_3'],
                         sorted(m['resource_name'] for m in found[0].matches))

    def test_nested_stacks_are_results_when_asked(self) -> None:
        found = self.search(resource_type='OS::Heat::None', nested=True, depth=1)
        self.assertEqual({self.deep[2].id, self.deep[3].id, self.shallow[1].id,
                          self.shallow[2].id}, {f.id for f in found})

    def test_with_template_gives_each_level_s_template(self) -> None:
        (found,) = self.search(name='deep', with_template=True)
        extras = extras_of(self.cloud.heat)
        self.assertEqual(extras.template(self.deep[0]), found.template)
        self.assertEqual([(s.id, p.id, f'level_{n}', extras.template(s))
                          for n, (p, s) in enumerate(zip(self.deep, self.deep[1:]), 1)],
                         [(t.stack_id, t.parent_id, t.resource_name, t.template)
                          for t in found.nested_templates])


class TestServerSideFilters(SearchOnEmulatedHeat):
    """What the request log shows Heat was asked."""

    def test_stack_filters_are_in_the_listing_s_query(self) -> None:
        found = self.search(name='deep', status=('CREATE_COMPLETE',), project=self.project,
                            tags=('blue', 'prod'))
        self.assertEqual(['deep'], self.names(found))
        self.assertEqual([{'name': ['deep'], 'status': ['CREATE_COMPLETE'],
                           'tenant': [self.project], 'tags_any': ['blue,prod'],
                           'global_tenant': ['true'], 'limit': ['1000']}],
                         self.logged('heat.stacks.list'))

    def test_a_tag_is_asked_of_heat(self) -> None:
        self.assertEqual(['shallow', 'deep'], self.names(self.search(tags=('blue',))))
        self.assertEqual([['blue']], [q['tags'] for q in self.logged('heat.stacks.list')])

    def test_resource_filters_are_in_each_tree_call(self) -> None:
        self.search(project=self.project, resource_type='OS::Heat::None',
                    resource_name='marker_9')
        self.assertEqual([{'nested_depth': ['5'], 'type': ['OS::Heat::None'],
                           'name': ['marker_9']}], self.logged('heat.resources.list'))

    def test_globs_are_not_sent(self) -> None:
        found = self.search(name='sh*', resource_type='OS::Heat::*')
        self.assertEqual(['shallow'], self.names(found))
        self.assertNotIn('name', self.logged('heat.stacks.list')[0])
        self.assertEqual({'nested_depth': ['5']}, self.logged('heat.resources.list')[0])

    def test_only_found_stacks_have_their_templates_read(self) -> None:
        self.search(project=self.project, with_template=True)
        self.assertEqual(1, len(self.cloud.requests.filter('heat.resources.list')))
        self.assertEqual(4, len(self.cloud.requests.filter('heat.stacks.template')))


class TestSearchCommand(SearchOnEmulatedHeat):
    """``vitrage-ds --os-cloud emulated search heat.stack ...``."""

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        clouds = self.cloud.clouds_yaml(
            str(self.useFixture(fixtures.TempDir()).join('clouds.yaml')))
        env = dict(os.environ, OS_CLIENT_CONFIG_FILE=clouds)
        env.pop('OS_CLOUD', None)
        return subprocess.run([VITRAGE_DS, '--os-cloud', 'emulated', 'search', 'heat.stack',
                               *args], env=env, capture_output=True, text=True, timeout=120)

    def test_finds_the_root_by_a_type_three_levels_down(self) -> None:
        done = self.command('--resource-type', 'OS::Heat::None', '--tag', 'prod',
                            '-f', 'json')
        self.assertEqual(0, done.returncode, done.stderr)
        (row,) = json.loads(done.stdout)
        self.assertEqual(('deep', self.project, ['blue', 'prod']),
                         (row['name'], row['project'], row['tags']))
        self.assertEqual([self.deep[3].name], [m['stack_name'] for m in row['matches']])
        self.assertEqual([{'tags': ['prod'], 'global_tenant': ['true'], 'limit': ['1000']}],
                         self.logged('heat.stacks.list'))

    def test_with_template_adds_the_template_columns(self) -> None:
        done = self.command('--name', 'shallow', '--with-template', '-f', 'json')
        self.assertEqual(0, done.returncode, done.stderr)
        (row,) = json.loads(done.stdout)
        self.assertEqual('2018-08-31', row['template']['heat_template_version'])
        self.assertEqual(2, len(row['nested_templates']))

    def test_a_table_shows_lists_as_json(self) -> None:
        done = self.command('--name', 'deep', '-c', 'name', '-c', 'tags', '-f', 'csv')
        self.assertEqual(0, done.returncode, done.stderr)
        self.assertEqual(['"name","tags"', '"deep","[""blue"", ""prod""]"'],
                         done.stdout.splitlines())

    def test_a_bad_status_is_one_line_and_no_call(self) -> None:
        done = self.command('--status', 'CREATE')
        self.assertEqual(1, done.returncode)
        self.assertIn("status 'CREATE' must be COMPLETE, FAILED, IN_PROGRESS", done.stderr)
        self.assertEqual([], self.cloud.requests.filter(service='orchestration'))

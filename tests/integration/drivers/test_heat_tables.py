"""Heat tables and search on real Heat 27.

One scenario per test class and process, in a project of its own: a stack
``tree`` whose only ``OS::Heat::Value`` is three levels down (template
resources), with outputs and a random string; a stack ``plain`` with a
snapshot and a value whose properties hold a password; a software config
and a deployment that signalled its outputs.
Heat's noauth mode makes every caller an admin, who sees every project's
stacks: the tables and the search are scoped to the scenario's project
(Heat's ``tenant`` filter), so other tests' stacks, and their deletion
while a fetch runs, are never in the way.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import fixtures
import requests

from tests.integration import base
from vitrage_ds.drivers.heat.search import StackQuery, StackSearch
from vitrage_ds.drivers.heat.tables import HeatTables, TableData
from vitrage_ds.errors import APIError
from vitrage_ds.http.client import Client

VITRAGE_DS = str(Path(sys.executable).parent / 'vitrage-ds')

L3 = base.template({'deep': {'type': 'OS::Heat::Value', 'properties': {'value': 'x'},
                             'metadata': {'k': 'v', 'nested': {'n': 1}}}},
                   outputs={'deep_value': {'value': {'get_attr': ['deep', 'value']}}})
L2 = base.template({'lvl3': {'type': 'l3.yaml'}})
L1 = base.template({'lvl2': {'type': 'l2.yaml'}})
TREE = base.template(
    {'lvl1': {'type': 'l1.yaml'},
     'rnd': {'type': 'OS::Heat::RandomString', 'properties': {'length': 8}},
     'none': {'type': 'OS::Heat::None'}},
    description='a tree three levels deep',
    outputs={'pw': {'value': {'get_attr': ['rnd', 'value']}, 'description': 'the string'},
             'none_id': {'value': {'get_resource': 'none'}}})
FILES = {'l1.yaml': json.dumps(L1), 'l2.yaml': json.dumps(L2), 'l3.yaml': json.dumps(L3)}
PLAIN = base.template({'test': {'type': 'OS::Heat::TestResource',
                                'properties': {'value': 'v1'}},
                       'settings': {'type': 'OS::Heat::SoftwareConfig', 'properties': {
                           'group': 'script', 'config': 'echo hi',
                           'options': {'db_password': 's3cr3t', 'port': 5432}}}})


class Scenario:
    """What one class's tests read; made once, deleted after the class."""

    def __init__(self, case: base.RealServicesTestCase) -> None:
        self.project = case.new_project()
        self.admin = case.heat(self.project)
        self.tree = self._create(case, 'tree', TREE, tags='blue,prod', files=FILES)
        self.plain = self._create(case, 'plain', PLAIN)
        self.admin.post(f'stacks/plain/{self.plain}/snapshots', json={'name': 'before'})
        base.wait_until(lambda: self._settled('plain', self.plain, 'SNAPSHOT_COMPLETE'),
                        'the snapshot')
        self.config = self.admin.post('software_configs', json={
            'name': 'cfg', 'group': 'script', 'config': 'echo hi',
            'inputs': [{'name': 'role'}], 'outputs': [{'name': 'result'}],
            'options': {}})['software_config']
        deployment = self.admin.post('software_deployments', json={
            'config_id': self.config['id'], 'server_id': f'srv-{self.project}',
            'action': 'CREATE', 'status': 'IN_PROGRESS', 'status_reason': 'Deploy data',
            'input_values': {'role': 'web'}})['software_deployment']
        self.deployment = self.admin.put(f'software_deployments/{deployment["id"]}', json={
            'output_values': {'result': 'ok', 'deploy_status_code': 0},
            'status': 'COMPLETE', 'status_reason': 'Outputs received'})['software_deployment']
        self.nested = self._nested_chain()

    def _create(self, case: base.RealServicesTestCase, name: str, template: dict[str, Any],
                **fields: Any) -> str:
        body = self.admin.post('stacks', json={'stack_name': name, 'template': template,
                                               **fields})
        stack_id = str(body['stack']['id'])
        base.wait_until(lambda: self._settled(name, stack_id, 'CREATE_COMPLETE'),
                        f'stack {name}')
        return stack_id

    def _settled(self, name: str, stack_id: str, status: str) -> bool:
        stack = self.admin.get(f'stacks/{name}/{stack_id}')['stack']
        if stack['stack_status'].endswith('_IN_PROGRESS'):
            return False
        if stack['stack_status'] != status:
            raise AssertionError(f'{name}: {stack["stack_status"]}: '
                                 f'{stack["stack_status_reason"]}')
        return True

    def _nested_chain(self) -> list[dict[str, Any]]:
        """The tree's nested stacks, level 1 to 3, as Heat lists them."""
        listed = self.admin.get('stacks', params={'show_nested': 'true',
                                                  'tenant': self.project})['stacks']
        chain, parent = [], self.tree
        for _ in range(3):
            (child,) = [s for s in listed if s['parent'] == parent]
            chain.append(child)
            parent = child['id']
        return chain

    def delete(self) -> None:
        for path in (f'stacks/tree/{self.tree}', f'stacks/plain/{self.plain}',
                     f'software_deployments/{self.deployment["id"]}',
                     f'software_configs/{self.config["id"]}'):
            try:
                self.admin.delete(path)
            except APIError as exc:
                if exc.status != 404:
                    raise


class HeatTablesTestCase(base.RealServicesTestCase):

    scenario: ClassVar[Scenario | None] = None

    @classmethod
    def tearDownClass(cls) -> None:
        if cls.scenario is not None:
            cls.scenario.delete()
            cls.scenario = None
        super().tearDownClass()

    def setUp(self) -> None:
        super().setUp()
        if type(self).scenario is None:
            type(self).scenario = Scenario(self)
        self.s: Scenario = type(self).scenario  # type: ignore[assignment]
        self.sent: list[tuple[str, Any]] = []

    def reader(self) -> Client:
        """A client of the scenario's project that records every request and answer."""
        client = self.heat(self.s.project)

        def record(response: requests.Response, *args: Any, **kwargs: Any) -> None:
            try:
                body = response.json()
            except ValueError:
                body = None
            self.sent.append((response.request.url, body))
        client.session.session.hooks['response'].append(record)
        return client

    def fetch(self, *tables: str, reveal_secrets: bool = False) -> dict[str, TableData]:
        self.useFixture(fixtures.FakeLogger(name='vitrage_ds'))  # the 403 fallback warns
        return HeatTables(self.reader(), project=self.s.project,
                          reveal_secrets=reveal_secrets).fetch(tables)

    def rows(self, table: str) -> list[dict[str, Any]]:
        return self.fetch(table)[table].as_dicts()

    def ids(self) -> set[str]:
        return {self.s.tree, self.s.plain, *(n['id'] for n in self.s.nested)}


def of(rows: Iterable[dict[str, Any]], stack_id: str) -> list[dict[str, Any]]:
    return [r for r in rows if r['stack_id'] == stack_id]


class TestStackTables(HeatTablesTestCase):

    def test_stacks_are_the_project_s_nested_ones_included(self) -> None:
        rows = {r['id']: r for r in self.rows('stacks')}
        self.assertEqual(self.ids(), set(rows))
        tree, leaf = rows[self.s.tree], rows[self.s.nested[2]['id']]
        self.assertEqual(('tree', 'CREATE_COMPLETE', self.s.project, None, 'vds-user'),
                         (tree['name'], tree['status'], tree['project'], tree['parent'],
                          tree['owner']))
        self.assertEqual(self.s.nested[1]['id'], leaf['parent'])

    def test_stack_tags(self) -> None:
        self.assertEqual([{'stack_id': self.s.tree, 'tag': 'blue'},
                          {'stack_id': self.s.tree, 'tag': 'prod'}], self.rows('stack_tags'))

    def test_stack_links(self) -> None:
        rows = of(self.rows('stack_links'), self.s.tree)
        self.assertEqual(['self'], [r['rel'] for r in rows])
        self.assertTrue(rows[0]['href'].endswith(f'/{self.s.project}/stacks/tree/{self.s.tree}'),
                        rows[0]['href'])


class TestResourceTables(HeatTablesTestCase):

    def test_resources_of_every_level(self) -> None:
        rows = self.rows('resources')
        self.assertEqual({('lvl1', 'l1.yaml'), ('rnd', 'OS::Heat::RandomString'),
                          ('none', 'OS::Heat::None')},
                         {(r['resource_name'], r['resource_type'])
                          for r in of(rows, self.s.tree)})
        (deep,) = of(rows, self.s.nested[2]['id'])
        self.assertEqual(('deep', 'OS::Heat::Value', 'CREATE_COMPLETE'),
                         (deep['resource_name'], deep['resource_type'], deep['status']))
        (lvl1,) = [r for r in of(rows, self.s.tree) if r['resource_name'] == 'lvl1']
        self.assertEqual(self.s.nested[0]['id'], lvl1['nested_stack_id'])

    def test_resource_links(self) -> None:
        rows = [r for r in of(self.rows('resource_links'), self.s.tree)
                if r['resource_name'] == 'lvl1']
        self.assertEqual(['self', 'stack', 'nested'], [r['rel'] for r in rows])
        self.assertTrue(rows[2]['href'].endswith(self.s.nested[0]['id']))

    def random_string(self, reveal_secrets: bool) -> tuple[Any, Any]:
        """The tree's random string as resource data, and as its output ``pw``."""
        fetched = self.fetch('resource_data', 'outputs', reveal_secrets=reveal_secrets)
        (value,) = [r['value'] for r in of(fetched['resource_data'].as_dicts(), self.s.tree)
                    if (r['resource_name'], r['key']) == ('rnd', 'value')]
        (pw,) = [r['output_value'] for r in of(fetched['outputs'].as_dicts(), self.s.tree)
                 if r['output_key'] == 'pw']
        return value, pw

    def test_resource_data_masks_the_random_string(self) -> None:
        value, pw = self.random_string(reveal_secrets=False)
        self.assertEqual('******', value)
        self.assertEqual(8, len(pw))  # an output is published as named: 'pw' is not masked

    def test_resource_data_holds_the_random_string_when_revealed(self) -> None:
        value, pw = self.random_string(reveal_secrets=True)
        self.assertEqual((8, pw), (len(value), value))

    def test_resource_metadata_from_the_template(self) -> None:
        rows = of(self.rows('resource_metadata'), self.s.nested[2]['id'])
        self.assertEqual([{'stack_id': self.s.nested[2]['id'], 'resource_name': 'deep',
                           'key': 'k', 'value': 'v'},
                          {'stack_id': self.s.nested[2]['id'], 'resource_name': 'deep',
                           'key': 'nested', 'value': '{"n":1}'}], rows)

    def test_resource_types(self) -> None:
        types = {r['resource_type'] for r in self.rows('resource_types')}
        self.assertLessEqual({'OS::Heat::None', 'OS::Heat::RandomString', 'OS::Heat::Value',
                              'OS::Heat::TestResource', 'OS::Heat::SoftwareConfig'}, types)


class TestStackContentTables(HeatTablesTestCase):

    def test_events_of_each_stack(self) -> None:
        rows = self.rows('events')
        self.assertEqual(self.ids(), {r['stack_id'] for r in rows})
        tree = of(rows, self.s.tree)
        self.assertEqual(('tree', 'CREATE_COMPLETE', self.s.tree),
                         (tree[0]['resource_name'], tree[0]['status'],
                          tree[0]['physical_resource_id']))
        self.assertIn(('rnd', 'CREATE_COMPLETE'),
                      {(r['resource_name'], r['status']) for r in tree})
        self.assertIn(('plain', 'SNAPSHOT_COMPLETE'),
                      {(r['resource_name'], r['status']) for r in of(rows, self.s.plain)})

    def test_event_details_with_the_properties_each_resource_had(self) -> None:
        fetched = self.fetch('events', 'event_details')
        details = {r['id']: r for r in fetched['event_details'].as_dicts()}
        self.assertEqual([r['id'] for r in fetched['events'].as_dicts()], list(details))
        by_resource: dict[str, set[tuple[str, str]]] = {}
        for event in of(fetched['events'].as_dicts(), self.s.plain):
            detail = details[event['id']]
            self.assertEqual((self.s.plain, event['resource_name']),
                             (detail['stack_id'], detail['resource_name']))
            by_resource.setdefault(event['resource_name'], set()).add(
                (detail['resource_type'], detail['resource_properties']))
        self.assertEqual({'plain': {('OS::Heat::Stack', '{}')},
                          'test': {('OS::Heat::TestResource', '{"value":"v1"}')},
                          'settings': {('OS::Heat::SoftwareConfig',
                                        '{"config":"echo hi","group":"script","options":'
                                        '{"db_password":"******","port":5432}}')}},
                         by_resource)

    def test_event_details_reveal_the_properties_on_request(self) -> None:
        rows = self.fetch('event_details', reveal_secrets=True)['event_details'].as_dicts()
        self.assertIn({'db_password': 's3cr3t', 'port': 5432},
                      [json.loads(r['resource_properties']).get('options')
                       for r in of(rows, self.s.plain) if r['resource_name'] == 'settings'])

    def test_outputs_resolved(self) -> None:
        fetched = self.fetch('outputs', 'resources')
        outputs = {r['output_key']: r for r in of(fetched['outputs'].as_dicts(), self.s.tree)}
        (none,) = [r for r in of(fetched['resources'].as_dicts(), self.s.tree)
                   if r['resource_name'] == 'none']
        self.assertEqual((none['physical_resource_id'], 'the string'),
                         (outputs['none_id']['output_value'], outputs['pw']['description']))
        (deep,) = of(fetched['outputs'].as_dicts(), self.s.nested[2]['id'])
        self.assertEqual(('deep_value', 'x'), (deep['output_key'], deep['output_value']))

    def test_templates_as_posted_nested_ones_included(self) -> None:
        rows = {r['stack_id']: r for r in self.rows('templates')}
        self.assertEqual(TREE, json.loads(rows[self.s.tree]['template']))
        self.assertEqual(('2018-08-31', 'a tree three levels deep'),
                         (rows[self.s.tree]['version'], rows[self.s.tree]['description']))
        self.assertEqual([L1, L2, L3], [json.loads(rows[n['id']]['template'])
                                        for n in self.s.nested])

    def test_snapshots(self) -> None:
        (row,) = self.rows('snapshots')
        self.assertEqual((self.s.plain, 'before', 'COMPLETE',
                          'Stack SNAPSHOT completed successfully'),
                         (row['stack_id'], row['name'], row['status'], row['status_reason']))


class TestSoftwareTables(HeatTablesTestCase):

    def test_software_configs(self) -> None:
        (row,) = [r for r in self.rows('software_configs') if r['id'] == self.s.config['id']]
        self.assertEqual(('cfg', 'script', 'echo hi',
                          '[{"error_output":false,"name":"result","type":"String"}]'),
                         (row['name'], row['group'], row['config'], row['outputs']))

    def test_software_deployments_with_their_output_values(self) -> None:
        fetched = self.fetch('software_deployments', 'software_deployment_outputs',
                             'software_deployment_inputs')
        mine = self.s.deployment['id']
        (row,) = [r for r in fetched['software_deployments'].as_dicts() if r['id'] == mine]
        self.assertEqual((self.s.config['id'], f'srv-{self.s.project}', 'COMPLETE'),
                         (row['config_id'], row['server_id'], row['status']))
        self.assertEqual({('result', 'ok'), ('deploy_status_code', 0)},
                         {(r['key'], r['value'])
                          for r in fetched['software_deployment_outputs'].as_dicts()
                          if r['deployment_id'] == mine})
        self.assertEqual([('role', 'web')],
                         [(r['key'], r['value'])
                          for r in fetched['software_deployment_inputs'].as_dicts()
                          if r['deployment_id'] == mine])


class TestSearch(HeatTablesTestCase):

    def search(self, with_template: bool = False, **query: Any) -> list[Any]:
        self.useFixture(fixtures.FakeLogger(name='vitrage_ds'))
        query.setdefault('project', self.s.project)
        if query['project'] is None:
            del query['project']
        return StackSearch(self.reader()).search(StackQuery(**query), with_template)

    def test_a_type_three_levels_down_finds_the_root(self) -> None:
        (found,) = self.search(resource_type='OS::Heat::Value')
        self.assertEqual(self.s.tree, found.id)
        (match,) = found.as_dict()['matches']
        self.assertEqual(('deep', self.s.nested[2]['id']),
                         (match['resource_name'], match['stack_id']))

    def test_heat_s_nested_depth_bounds_the_tree(self) -> None:
        self.assertEqual([], self.search(resource_type='OS::Heat::Value', depth=2))

    def logged(self, path: str) -> list[tuple[dict[str, list[str]], Any]]:
        """The query and answer of each logged call to ``.../{path}``, in order."""
        return [(urllib.parse.parse_qs(url.query), body)
                for url, body in ((urllib.parse.urlsplit(u), b) for u, b in self.sent)
                if url.path.endswith(f'/{path}')]

    def test_stack_filters_are_sent_and_heat_applies_them(self) -> None:
        found = self.search(name='tree', status=('COMPLETE',), project=self.s.project,
                            tags=('prod',))
        self.assertEqual([self.s.tree], [f.id for f in found])
        query = {'name': ['tree'], 'status': ['COMPLETE'], 'tenant': [self.s.project],
                 'tags_any': ['prod'], 'limit': ['1000']}
        # every project's first; Heat's default policy refuses, the project's follows
        (everyone, refused), (mine, body) = self.logged('stacks')
        self.assertEqual(({'global_tenant': ['true'], **query}, 403),
                         (everyone, refused['code']))
        self.assertEqual(query, mine)
        self.assertEqual(['tree'], [s['stack_name'] for s in body['stacks']])

    def test_tags_alone_are_sent_as_tags(self) -> None:
        found = self.search(tags=('blue', 'prod'), project=None)
        self.assertIn(self.s.tree, [f.id for f in found])
        self.assertEqual({'tags': ['blue,prod'], 'limit': ['1000']},
                         self.logged('stacks')[-1][0])

    def test_resource_filters_are_sent_and_heat_applies_them(self) -> None:
        self.search(resource_type='OS::Heat::Value', resource_name='deep')
        trees = self.logged('resources')
        self.assertEqual([{'nested_depth': ['5'], 'type': ['OS::Heat::Value'],
                           'name': ['deep']}] * 2, [query for query, _ in trees])  # tree, plain
        self.assertEqual([['deep'], []], sorted(
            ([r['resource_name'] for r in body['resources']] for _, body in trees),
            reverse=True))

    def test_globs_are_matched_here_not_sent(self) -> None:
        found = self.search(name='tr*', resource_type='OS::Heat::Val*')
        self.assertEqual([self.s.tree], [f.id for f in found])
        self.assertEqual({'tenant': [self.s.project], 'limit': ['1000']},
                         self.logged('stacks')[-1][0])
        self.assertEqual([{'nested_depth': ['5']}], [q for q, _ in self.logged('resources')])

    def test_with_template_the_tree_s_templates(self) -> None:
        (found,) = self.search(name='tree', with_template=True)
        self.assertEqual(TREE, found.template)
        self.assertEqual([(n['id'], parent, resource, template) for n, parent, resource, template
                          in zip(self.s.nested, [self.s.tree, *(n['id'] for n in self.s.nested)],
                                 ['lvl1', 'lvl2', 'lvl3'], [L1, L2, L3])],
                         [(t.stack_id, t.parent_id, t.resource_name, t.template)
                          for t in found.nested_templates])

    def test_the_search_command(self) -> None:
        conf = self.useFixture(fixtures.TempDir()).join('vitrage_ds.conf')
        Path(conf).write_text(
            '[service_credentials]\nauth_type = none\n'
            f'[http]\nheaders = X-Auth-Project:{self.s.project},X-Auth-User:vds-user\n'
            f'[driver.heat.stack]\nendpoint_override = '
            f'{self.coords.heat_endpoint(self.s.project)}\n')
        env = {k: v for k, v in os.environ.items() if k != 'OS_CLOUD'}
        done = subprocess.run([VITRAGE_DS, '--config-file', conf, 'search', 'heat.stack',
                               '--resource-type', 'OS::Heat::Val*',
                               '--project', self.s.project, '-f', 'json'],
                              capture_output=True, text=True, env=env, timeout=120,
                              check=False)
        self.assertEqual(0, done.returncode, done.stderr)
        self.assertEqual(['tree'], [row['name'] for row in json.loads(done.stdout)])

"""Every Heat table from the emulated cloud: rows, the calls each table makes, scale, CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import fixtures
import testtools

from vitrage_ds.drivers.heat.tables import TABLES, HeatTables, TableData
from vitrage_ds.errors import BackendError
from vitrage_ds_testing.cloud import EmulatedCloud
from vitrage_ds_testing.cloud.heat import StackRecord
from vitrage_ds_testing.cloud.heat_extra import RESOURCE_TYPES, extras_of, nested_tree
from vitrage_ds_testing.cloud.server import Request, Response, Route

VITRAGE_DS = str(Path(sys.executable).parent / 'vitrage-ds')
#: Deadlock guard only; nothing waits this long when the bound holds.
GUARD = 10.0
#: How long the calls in flight are held together.
HOLD = 0.1


class TablesOnEmulatedHeat(testtools.TestCase):
    """30 stacks of 10 resources in two projects, 3 with a nested stack, one
    3-level tree, one stack being deleted, one snapshot and one deployment
    made through the API (besides the seeded ones)."""

    def setUp(self) -> None:
        super().setUp()
        self.cloud = self.useFixture(EmulatedCloud(seed=8, global_index_allowed=True))
        self.cloud.heat.populate(30, 10, projects=2, nested=3)
        self.tree = nested_tree(self.cloud.heat, 'tree', depth=3)
        self.gone = self.cloud.heat.create_stack('gone', notify=False)
        self.cloud.heat.delete_stack(self.gone.id, complete=False, notify=False)
        self.extras = extras_of(self.cloud.heat)
        self.extras.create_snapshot(self.tree[0].id, 'taken', notify=False)
        config = self.extras.create_config(self.cloud.admin_project_id, name='made',
                                           group='script', outputs=[{'name': 'result'}])
        deployment = self.extras.create_deployment(self.cloud.admin_project_id, config.id,
                                                   'srv-made', action='CREATE',
                                                   status='IN_PROGRESS')
        self.extras.update_deployment(deployment.id, status='COMPLETE',
                                      output_values={'result': 'ok', 'deploy_status_code': 0})
        self.cloud.requests.clear()

    def fetch(self, *tables: str, **http: Any) -> dict[str, TableData]:
        conf = self.cloud.make_conf('password', http={'retries': 0, **http})
        return HeatTables.from_config(conf).fetch(tables or None)

    def rows(self, table: str) -> list[dict[str, Any]]:
        return self.fetch(table)[table].as_dicts()

    def routes(self) -> Counter[str]:
        return Counter(r.route for r in self.cloud.requests.filter(service='orchestration'))

    def live(self) -> list[StackRecord]:
        return [s for s in self.cloud.heat.stacks.values() if not s.is_deleted
                and s.stack_status != 'DELETE_IN_PROGRESS']

    def listed(self) -> list[StackRecord]:
        return [s for s in self.cloud.heat.stacks.values() if not s.is_deleted]


class TestStackTables(TablesOnEmulatedHeat):

    def test_stacks_every_project_nested_ones_and_the_one_being_deleted(self) -> None:
        rows = {r['id']: r for r in self.rows('stacks')}
        self.assertEqual({s.id for s in self.listed()}, set(rows))
        leaf = rows[self.tree[3].id]
        self.assertEqual((self.tree[2].id, self.tree[3].name, 'CREATE_COMPLETE',
                          self.cloud.admin_project_id),
                         (leaf['parent'], leaf['name'], leaf['status'], leaf['project']))
        self.assertEqual('DELETE_IN_PROGRESS', rows[self.gone.id]['status'])
        self.assertEqual(2, len({r['project'] for r in rows.values()}) - 1)
        self.assertEqual({'heat.stacks.list': 1}, self.routes())

    def test_stack_tags(self) -> None:
        expected = sorted((s.id, t) for s in self.listed() for t in s.tags)
        self.assertEqual(expected, sorted(tuple(r.values()) for r in self.rows('stack_tags')))

    def test_stack_links(self) -> None:
        rows = self.rows('stack_links')
        self.assertEqual({s.id for s in self.listed()}, {r['stack_id'] for r in rows})
        root = next(r for r in rows if r['stack_id'] == self.tree[0].id)
        self.assertEqual(('self', f'{self.cloud.heat_endpoint()}/stacks/tree/{self.tree[0].id}'),
                         (root['rel'], root['href']))


class TestResourceTables(TablesOnEmulatedHeat):

    def test_resources_of_every_live_stack(self) -> None:
        rows = self.rows('resources')
        expected = {(s.id, r.name, r.type, r.physical_id)
                    for s in self.live() for r in self.cloud.heat.resources(s)}
        self.assertEqual(expected, {(r['stack_id'], r['resource_name'], r['resource_type'],
                                     r['physical_resource_id']) for r in rows})
        level = next(r for r in rows if r['resource_name'] == 'level_3')
        self.assertEqual(self.tree[3].id, level['nested_stack_id'])
        self.assertEqual({'heat.stacks.list': 1, 'heat.resources.list': len(self.live())},
                         self.routes())

    def test_resource_links(self) -> None:
        rows = self.rows('resource_links')
        resources = sum(len(self.cloud.heat.resources(s)) for s in self.live())
        # populate's 3 nested stacks and the tree's 3 levels
        self.assertEqual({'self': resources, 'stack': resources, 'nested': 6},
                         dict(Counter(r['rel'] for r in rows)))
        nested = {r['href'].rsplit('/', 1)[1] for r in rows if r['rel'] == 'nested'}
        self.assertLessEqual({s.id for s in self.tree[1:]}, nested)

    def test_resource_data_the_attributes_heat_resolves(self) -> None:
        rows = self.rows('resource_data')
        root = self.tree[0]
        expected = {(root.id, r.name, key, value)
                    for r in self.cloud.heat.resources(root)
                    for key, value in self.extras.attributes(root, r).items()}
        self.assertEqual(expected, {tuple(r.values()) for r in rows
                                    if r['stack_id'] == root.id})
        self.assertEqual({'heat.stacks.list': 1, 'heat.resources.list': len(self.live())},
                         self.routes())
        detailed = self.cloud.requests.filter('heat.resources.list')
        self.assertEqual({(('with_detail', 'true'),)}, {r.params for r in detailed})

    def test_resource_data_masks_each_random_string_s_value(self) -> None:
        rows = self.rows('resource_data')
        secrets = {(s.id, r.name): self.extras.attributes(s, r)['value']
                   for s in self.live() for r in self.cloud.heat.resources(s)
                   if r.type == 'OS::Heat::RandomString'}
        self.assertNotEqual({}, secrets)
        shown = {(r['stack_id'], r['resource_name']): r['value'] for r in rows
                 if r['key'] == 'value'}
        self.assertEqual(dict.fromkeys(secrets, '******'), shown)
        self.assertEqual([], [r for r in rows if r['value'] in secrets.values()])

    def test_reveal_secrets_gives_the_random_strings(self) -> None:
        conf = self.cloud.make_conf('password', http={'retries': 0})
        rows = HeatTables.from_config(conf, reveal_secrets=True).fetch(
            ['resource_data'])['resource_data'].as_dicts()
        root = self.tree[3]
        (rnd,) = [r for r in self.cloud.heat.resources(root)
                  if r.type == 'OS::Heat::RandomString']
        self.assertIn((root.id, rnd.name, self.extras.attributes(root, rnd)['value']),
                      {(r['stack_id'], r['resource_name'], r['value']) for r in rows})

    def test_resource_metadata_one_call_per_resource(self) -> None:
        rows = self.rows('resource_metadata')
        resources = sum(len(self.cloud.heat.resources(s)) for s in self.live())
        servers = {(s.id, r.name) for s in self.live() for r in self.cloud.heat.resources(s)
                   if r.type == 'OS::Nova::Server'}
        self.assertEqual(servers, {(r['stack_id'], r['resource_name']) for r in rows})
        self.assertEqual({'role'}, {r['key'] for r in rows})
        self.assertEqual({'heat.stacks.list': 1, 'heat.resources.list': len(self.live()),
                          'heat.resources.metadata': resources}, self.routes())

    def test_resource_types(self) -> None:
        self.assertEqual(list(RESOURCE_TYPES),
                         [r['resource_type'] for r in self.rows('resource_types')])
        self.assertEqual({'heat.resource_types.list': 1}, self.routes())


class TestStackContentTables(TablesOnEmulatedHeat):

    def test_event_details_of_every_event_with_its_resource_s_properties(self) -> None:
        stack, server = next((s, r) for s in self.live() for r in self.cloud.heat.resources(s)
                             if r.type == 'OS::Nova::Server')
        self.extras.set_properties(stack.id, server.name,
                                   {'flavor': 'm1.tiny', 'admin_pass': 'hunter2'})
        rows = {r['id']: r for r in self.rows('event_details')}
        events = {e.id: (s, e) for s in self.live() for e in self.extras.events(s)}
        self.assertEqual(set(events), set(rows))
        for event_id, (owner, event) in events.items():
            self.assertEqual((owner.id, event.resource_name, event.resource_type),
                             (rows[event_id]['stack_id'], rows[event_id]['resource_name'],
                              rows[event_id]['resource_type']))
        stack_event = next(e for e in self.extras.events(stack) if e.resource_name == stack.name)
        self.assertEqual(('OS::Heat::Stack', '{}'),
                         (rows[stack_event.id]['resource_type'],
                          rows[stack_event.id]['resource_properties']))
        server_events = [rows[e.id] for e in self.extras.events(stack)
                         if e.resource_name == server.name]
        self.assertEqual([{'admin_pass': '******', 'flavor': 'm1.tiny'}] * len(server_events),
                         [json.loads(r['resource_properties']) for r in server_events])
        self.assertEqual({'heat.stacks.list': 1, 'heat.events.list': 2 * len(self.live()),
                          'heat.events.show': len(events)}, self.routes())

    def test_events_of_every_live_stack_paged_to_an_empty_page(self) -> None:
        rows = self.rows('events')
        per_stack = Counter(r['stack_id'] for r in rows)
        self.assertEqual({s.id: len(self.extras.events(s)) for s in self.live()},
                         dict(per_stack))
        self.assertEqual({'heat.stacks.list': 1, 'heat.events.list': 2 * len(self.live())},
                         self.routes())

    def test_outputs_resolved_from_each_stack_s_show(self) -> None:
        rows = self.rows('outputs')
        # password_<n>_value: a key naming a secret
        expected = {(s.id, o['output_key'], '******' if 'password' in o['output_key']
                     else o['output_value'])
                    for s in self.live() for o in self.extras.outputs(s)}
        self.assertEqual(expected, {(r['stack_id'], r['output_key'], r['output_value'])
                                    for r in rows})
        self.assertEqual({'heat.stacks.list': 1, 'heat.stacks.show': len(self.live())},
                         self.routes())

    def test_snapshots_seeded_and_taken(self) -> None:
        rows = self.rows('snapshots')
        expected = {(s.id, snap.id, snap.name) for s in self.live()
                    for snap in self.extras.snapshots(s)}
        self.assertEqual(expected, {(r['stack_id'], r['id'], r['name']) for r in rows})
        self.assertIn((self.tree[0].id, 'taken'), {(r['stack_id'], r['name']) for r in rows})
        self.assertEqual({'heat.stacks.list': 1, 'heat.snapshots.list': len(self.live())},
                         self.routes())

    def test_templates_of_every_live_stack_nested_ones_included(self) -> None:
        rows = {r['stack_id']: r for r in self.rows('templates')}
        self.assertEqual({s.id for s in self.live()}, set(rows))
        for stack in self.tree:
            self.assertEqual(self.extras.template(stack),
                             json.loads(rows[stack.id]['template']))
        self.assertEqual('2018-08-31', rows[self.tree[0].id]['version'])


class TestSoftwareTables(TablesOnEmulatedHeat):

    def test_software_configs_listed_then_shown(self) -> None:
        rows = self.rows('software_configs')
        configs = self.extras.configs()
        self.assertEqual([c.id for c in configs], [r['id'] for r in rows])
        made = next(r for r in rows if r['name'] == 'made')
        self.assertEqual(('script', '[{"error_output":false,"name":"result","type":"String"}]',
                          self.cloud.admin_project_id),
                         (made['group'], made['outputs'], made['project']))
        self.assertEqual({'heat.software_configs.list': 2,
                          'heat.software_configs.show': len(configs)}, self.routes())

    def test_software_deployments(self) -> None:
        rows = self.rows('software_deployments')
        self.assertEqual([(d.id, d.config_id, d.server_id, d.status)
                          for d in self.extras.deployments()],
                         [(r['id'], r['config_id'], r['server_id'], r['status'])
                          for r in rows])
        self.assertEqual({'heat.software_deployments.list': 1}, self.routes())

    def test_software_deployment_outputs_with_their_values(self) -> None:
        rows = self.rows('software_deployment_outputs')
        made = next(d for d in self.extras.deployments() if d.server_id == 'srv-made')
        self.assertEqual([{'deployment_id': made.id, 'key': 'result', 'value': 'ok'},
                          {'deployment_id': made.id, 'key': 'deploy_status_code', 'value': 0}],
                         [r for r in rows if r['deployment_id'] == made.id])
        seeded = [d for d in self.extras.deployments() if d.stack_id is not None]
        self.assertEqual(4 * len(seeded) + 2, len(rows))

    def test_software_deployment_inputs(self) -> None:
        rows = self.rows('software_deployment_inputs')
        self.assertEqual({(d.id, 'role', d.input_values['role'])
                          for d in self.extras.deployments() if d.stack_id is not None},
                         {tuple(r.values()) for r in rows})


class TestEveryTable(TablesOnEmulatedHeat):

    def test_every_table_at_once_makes_each_call_once(self) -> None:
        fetched = self.fetch()
        self.assertEqual(list(TABLES), list(fetched))
        live = len(self.live())
        resources = sum(len(self.cloud.heat.resources(s)) for s in self.live())
        self.assertEqual({'heat.stacks.list': 1, 'heat.resources.list': live,
                          'heat.resources.metadata': resources,
                          'heat.events.list': 2 * live, 'heat.stacks.show': live,
                          'heat.events.show': sum(len(self.extras.events(s))
                                                  for s in self.live()),
                          'heat.snapshots.list': live, 'heat.stacks.template': live,
                          'heat.resource_types.list': 1, 'heat.software_configs.list': 2,
                          'heat.software_configs.show': len(self.extras.configs()),
                          'heat.software_deployments.list': 1}, self.routes())

    def test_a_failed_call_fails_the_fetch_with_nothing_returned(self) -> None:
        self.cloud.fail('heat.snapshots.list', 500, start=5, times=1)
        error = self.assertRaises(BackendError, self.fetch, 'stacks', 'snapshots')
        self.assertIn('snapshots of stack', str(error))

    def test_paging_the_listing_reads_the_same_stacks(self) -> None:
        conf = self.cloud.make_conf('password', http={'retries': 0},
                                    overrides={'driver.heat.stack': {'page_size': 7}})
        rows = HeatTables.from_config(conf).fetch(['stacks'])['stacks'].rows
        self.assertEqual({s.id for s in self.listed()}, {row[0] for row in rows})
        self.assertEqual(len(self.listed()) // 7 + 1, self.routes()['heat.stacks.list'])

    def test_default_policy_falls_back_to_the_project_listing(self) -> None:
        self.cloud.global_index_allowed = False
        logs = self.useFixture(fixtures.FakeLogger(name='vitrage_ds'))
        rows = self.rows('stacks')
        self.assertEqual({s.id for s in self.listed()}, {r['id'] for r in rows})
        self.assertIn('stacks:global_index', logs.output)


class TestOnlyWhatIsAsked(TablesOnEmulatedHeat):

    def test_each_table_alone_makes_only_the_calls_it_needs(self) -> None:
        live = len(self.live())
        resources = sum(len(self.cloud.heat.resources(s)) for s in self.live())
        events = sum(len(self.extras.events(s)) for s in self.live())
        listing = {'heat.stacks.list': 1}
        per_stack = {'heat.resources.list': live}
        software = {'heat.software_deployments.list': 1}
        expected = {
            'stacks': listing, 'stack_tags': listing, 'stack_links': listing,
            'resources': {**listing, **per_stack}, 'resource_links': {**listing, **per_stack},
            'resource_data': {**listing, **per_stack},
            'resource_metadata': {**listing, **per_stack,
                                  'heat.resources.metadata': resources},
            'resource_types': {'heat.resource_types.list': 1},
            'events': {**listing, 'heat.events.list': 2 * live},  # an empty page ends each
            'event_details': {**listing, 'heat.events.list': 2 * live,
                              'heat.events.show': events},
            'outputs': {**listing, 'heat.stacks.show': live},
            'snapshots': {**listing, 'heat.snapshots.list': live},
            'templates': {**listing, 'heat.stacks.template': live},
            'software_configs': {'heat.software_configs.list': 2,
                                 'heat.software_configs.show': len(self.extras.configs())},
            'software_deployments': software, 'software_deployment_outputs': software,
            'software_deployment_inputs': software,
        }
        self.assertEqual(list(TABLES), list(expected))
        made = {}
        for table in TABLES:
            self.cloud.requests.clear()
            self.fetch(table)
            made[table] = dict(self.routes())
        self.assertEqual(expected, made)


class _InFlight:
    """Wraps one emulated route: each request waits until ``parties`` are in
    flight together, then a moment more (a call beyond the bound, sent
    with them, arrives meanwhile); the most ever in flight is counted."""

    def __init__(self, cloud: EmulatedCloud, route_name: str, parties: int) -> None:
        (route,) = [r for r in cloud.heat_service.routes if r.name == route_name]
        self._route = route
        self._barrier = threading.Barrier(parties, timeout=GUARD)
        self._lock = threading.Lock()
        self.now = self.most = 0
        cloud.heat_service.routes.insert(0, Route(route.name, route.method, route.pattern,
                                                  self._handle))

    def _handle(self, request: Request) -> Response:
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            self._barrier.wait()
            time.sleep(HOLD)
            return self._route.handler(request)
        finally:
            with self._lock:
                self.now -= 1


class TestBounds(testtools.TestCase):
    """The calls are bounded like the driver's: its max_concurrency and page_size."""

    def setUp(self) -> None:
        super().setUp()
        self.cloud = self.useFixture(EmulatedCloud(seed=12, global_index_allowed=True))
        self.cloud.heat.populate(12, 2)

    def engine(self, **options: Any) -> HeatTables:
        conf = self.cloud.make_conf('password', http={'retries': 0, 'max_parallel_calls': 10},
                                    overrides={'driver.heat.stack': options})
        return HeatTables.from_config(conf)

    def test_per_stack_calls_reach_the_driver_s_max_concurrency_never_more(self) -> None:
        in_flight = _InFlight(self.cloud, 'heat.resources.list', 3)
        rows = self.engine(max_parallel_calls=3).fetch(['resources'])['resources'].rows
        self.assertEqual((24, 3), (len(rows), in_flight.most))
        self.assertEqual({'heat.stacks.list': 1, 'heat.resources.list': 12}, dict(Counter(
            r.route for r in self.cloud.requests.filter(service='orchestration'))))

    def test_the_listing_pages_by_the_driver_s_page_size(self) -> None:
        self.engine(page_size=5).fetch(['stacks'])
        self.assertEqual([('global_tenant', 'true'), ('show_nested', 'true'), ('limit', '5')],
                         list(self.cloud.requests.filter('heat.stacks.list')[0].params))
        self.assertEqual(3, self.cloud.requests.count('heat.stacks.list'))


class TestScale(testtools.TestCase):

    def test_a_thousand_stacks_resources_in_pages_plus_one_call_each(self) -> None:
        # A full page of 1000 links a next page, which comes back empty.
        cloud = self.useFixture(EmulatedCloud(seed=9, global_index_allowed=True))
        cloud.heat.populate(1000, 10, projects=3)
        conf = cloud.make_conf('password', http={'retries': 0})
        fetched = HeatTables.from_config(conf).fetch(['stacks', 'resources'])
        self.assertEqual((1000, 10_000), (len(fetched['stacks'].rows),
                                          len(fetched['resources'].rows)))
        self.assertEqual({'heat.stacks.list': 2, 'heat.resources.list': 1000},
                         dict(Counter(r.route for r in cloud.requests.filter(
                             service='orchestration'))))


class TestTablesCommand(testtools.TestCase):
    """``vitrage-ds --os-cloud emulated tables heat.stack [TABLE...]``."""

    def setUp(self) -> None:
        super().setUp()
        self.cloud = self.useFixture(EmulatedCloud(seed=5, global_index_allowed=True))
        self.cloud.heat.populate(4, 3)
        self.clouds = self.cloud.clouds_yaml(
            str(self.useFixture(fixtures.TempDir()).join('clouds.yaml')))

    def tables(self, *args: str) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ, OS_CLIENT_CONFIG_FILE=self.clouds)
        env.pop('OS_CLOUD', None)
        return subprocess.run([VITRAGE_DS, '--os-cloud', 'emulated', 'tables', 'heat.stack',
                               *args], env=env, capture_output=True, text=True, timeout=120)

    def test_one_table_as_json_rows_with_its_columns(self) -> None:
        done = self.tables('resources', '-f', 'json')
        self.assertEqual(0, done.returncode, done.stderr)
        rows = json.loads(done.stdout)
        self.assertEqual(12, len(rows))
        self.assertEqual(list(TABLES['resources'].column_names), list(rows[0]))

    def test_one_table_as_a_text_table_by_default(self) -> None:
        done = self.tables('stack_tags')
        self.assertEqual(0, done.returncode, done.stderr)
        lines = done.stdout.splitlines()
        self.assertEqual(['stack_id', 'tag'],
                         [cell.strip() for cell in lines[1].split('|')[1:-1]])
        self.assertEqual(4 + 2, len([line for line in lines[3:] if line.startswith('| ')]))

    def test_one_table_as_csv(self) -> None:
        done = self.tables('stack_tags', '-f', 'csv')
        self.assertEqual(0, done.returncode, done.stderr)
        lines = done.stdout.splitlines()
        self.assertEqual('"stack_id","tag"', lines[0])
        self.assertEqual(1 + 4 + 2, len(lines))  # every stack 'emulated', half 'odd'

    def test_several_tables_as_table_name_and_row_object(self) -> None:
        done = self.tables('stacks', 'resource_types', '-f', 'json')
        self.assertEqual(0, done.returncode, done.stderr)
        rows = json.loads(done.stdout)
        self.assertEqual(Counter({'stacks': 4, 'resource_types': len(RESOURCE_TYPES)}),
                         Counter(r['table'] for r in rows))
        self.assertEqual('OS::Heat::None', next(
            r['row']['resource_type'] for r in rows if r['table'] == 'resource_types'
            and r['row']['resource_type'] == 'OS::Heat::None'))

    def test_every_table_by_default(self) -> None:
        done = self.tables('-f', 'csv')
        self.assertEqual(0, done.returncode, done.stderr)
        self.assertEqual('"table","row"', done.stdout.splitlines()[0])
        tables = {line.split(',', 1)[0].strip('"') for line in done.stdout.splitlines()[1:]}
        self.assertLessEqual({'stacks', 'resources', 'events', 'templates', 'outputs',
                              'resource_types', 'software_configs'}, tables)

    def test_schema_makes_no_call(self) -> None:
        self.cloud.requests.clear()
        done = self.tables('--schema', '-f', 'json')
        self.assertEqual(0, done.returncode, done.stderr)
        schema = {r['table']: r for r in json.loads(done.stdout)}
        self.assertEqual(set(TABLES), set(schema))
        self.assertEqual('GET stacks/{stack_name}/{stack_id}/resources/{resource_name}/metadata',
                         schema['resource_metadata']['call'])
        self.assertEqual({'stack_id': 'stack_id (from the listing above)',
                          'resource_name': 'resource_name (from the listing above)',
                          'key': 'each entry\'s key', 'value': 'each element (secrets masked)'},
                         schema['resource_data']['sources'])
        self.assertEqual('project (listed to admins), else the project in the self link',
                         schema['stacks']['sources']['project'])
        self.assertEqual([], list(self.cloud.requests))

    def test_schema_as_a_table_gives_a_column_s_source_per_line(self) -> None:
        done = self.tables('stack_tags', '--schema', '-f', 'value', '-c', 'sources')
        self.assertEqual(0, done.returncode, done.stderr)
        self.assertEqual(['stack_id: id', 'tag: each element'], done.stdout.splitlines())

    def test_secrets_are_masked_unless_revealed(self) -> None:
        stack = self.cloud.heat.create_stack('secret', resources=9, notify=False)
        (rnd,) = [r for r in self.cloud.heat.resources(stack)
                  if r.type == 'OS::Heat::RandomString']
        secret = extras_of(self.cloud.heat).attributes(stack, rnd)['value']

        def values(*args: str) -> set[str]:
            done = self.tables('resource_data', '-f', 'json', *args)
            self.assertEqual(0, done.returncode, done.stderr)
            return {r['value'] for r in json.loads(done.stdout)
                    if (r['stack_id'], r['resource_name']) == (stack.id, rnd.name)}
        self.assertEqual({'******'}, values())
        self.assertEqual({secret}, values('--reveal-secrets'))

    def test_an_unknown_table_fails_with_the_known_ones(self) -> None:
        done = self.tables('nope')
        self.assertEqual(1, done.returncode)
        self.assertIn('no such Heat table: nope', done.stderr)
        self.assertIn('resource_types', done.stderr)

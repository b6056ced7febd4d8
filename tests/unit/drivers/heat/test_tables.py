"""HeatTables: the calls each table needs, exactly, and how Heat's bodies become rows."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import fixtures
import testtools
from keystoneauth1 import session as ks_session
from requests_mock.contrib import fixture as rm_fixture

from tests.unit.drivers.heat.heat_api import (ENDPOINT, HOST, OTHER_PROJECT, PROJECT,
                                              resource_item, stack_item, stack_url)
from vitrage_ds.drivers.heat.tables import (CALLS, TABLES, HeatTables, UnknownTable,
                                            select)
from vitrage_ds.errors import APIError, BackendError, MalformedResponse
from vitrage_ds.http.client import Client, RetryPolicy

WEB = '11111111-1111-4111-8111-111111111111'
DB = '22222222-2222-4222-8222-222222222222'
GONE = '33333333-3333-4333-8333-333333333333'
CHILD = '44444444-4444-4444-8444-444444444444'
P = f'/v1/{PROJECT}'
LISTING = {'global_tenant': ['true'], 'show_nested': ['true'], 'limit': ['1000']}
PAGE = {'limit': ['1000']}
FORBIDDEN = {'code': 403, 'title': 'Forbidden',
             'error': {'message': 'You are not authorized to use stacks:global_index.',
                       'type': 'Forbidden'}}


def event(event_id: str, resource: str, status: str = 'CREATE_COMPLETE') -> dict[str, Any]:
    """A summary item of ``GET .../events`` as Heat 27 answers it."""
    return {'id': event_id, 'links': [], 'event_time': '2024-05-01T10:00:01Z',
            'logical_resource_id': resource, 'resource_name': resource,
            'physical_resource_id': f'phys-{resource}', 'resource_status': status,
            'resource_status_reason': 'state changed'}


def event_detail(event_id: str, resource: str, resource_type: str,
                 properties: dict[str, Any]) -> dict[str, Any]:
    """The body of ``GET .../resources/{resource}/events/{id}`` under ``event``
    (Heat 27: the summary's keys, ``resource_type`` and ``resource_properties``)."""
    return {**event(event_id, resource), 'resource_type': resource_type,
            'resource_properties': properties}


class TablesTestCase(testtools.TestCase):
    """HeatTables on a requests-mock Heat, one call at a time (exact order)."""

    def setUp(self) -> None:
        super().setUp()
        self.http = self.useFixture(rm_fixture.Fixture(case_sensitive=True))
        self.log = self.useFixture(fixtures.FakeLogger(
            name='vitrage_ds', level=logging.INFO, format='%(levelname)s %(message)s'))
        self.client = Client(ks_session.Session(), ENDPOINT, retry=RetryPolicy(retries=0),
                             max_concurrency=1)
        self.web = stack_item(WEB, 'web', tags=['blue', 'prod'])
        self.db = stack_item(DB, 'db', project=OTHER_PROJECT)

    def engine(self, **options: Any) -> HeatTables:
        return HeatTables(self.client, **options)

    def serve(self, path: str, body: Any = None, status: int = 200,
              answer: Callable[[Any, Any], Any] | None = None) -> None:
        if answer is not None:
            self.http.get(f'{HOST}{path}', json=answer)
        else:
            self.http.get(f'{HOST}{path}', json=body, status_code=status)

    def serve_stacks(self, *stacks: dict[str, Any]) -> None:
        self.serve(f'{P}/stacks', {'stacks': list(stacks)})

    def stack_path(self, stack: dict[str, Any], rest: str = '') -> str:
        return f'{P}/stacks/{stack["stack_name"]}/{stack["id"]}{rest}'

    def serve_pages(self, path: str, key: str, items: Sequence[dict[str, Any]]) -> None:
        """A limit/marker listing: the items after ``marker``, at most ``limit``."""

        def answer(request: Any, context: Any) -> Any:
            marker = request.qs.get('marker', [None])[0]
            start = 0 if marker is None else [i['id'] for i in items].index(marker) + 1
            return {key: list(items[start:start + int(request.qs['limit'][0])])}
        self.serve(path, answer=answer)

    def calls(self) -> list[tuple[str, str, dict[str, list[str]]]]:
        return [(r.method, r.path, r.qs) for r in self.http.request_history]

    def rows(self, table: str, **options: Any) -> list[dict[str, Any]]:
        return self.engine(**options).fetch([table])[table].as_dicts()


class TestDeclarations(testtools.TestCase):

    def test_every_table_is_fed_by_a_declared_call(self) -> None:
        self.assertEqual(set(), {t.call for t in TABLES.values()} - set(CALLS))

    def test_keys_and_parent_keys_are_columns_matching_the_parent_key(self) -> None:
        for table in TABLES.values():
            self.assertLessEqual(set(table.key) | set(table.parent_key),
                                 set(table.column_names), table.name)
            if table.parent is not None:
                self.assertEqual(len(TABLES[table.parent].key), len(table.parent_key),
                                 table.name)

    def test_the_issue_s_tables_are_all_there(self) -> None:
        self.assertLessEqual(
            {'stacks', 'stack_links', 'resources', 'resource_links', 'resource_data',
             'resource_metadata', 'resource_types', 'events', 'outputs', 'snapshots',
             'software_configs', 'software_deployments', 'software_deployment_outputs',
             'templates'}, set(TABLES))

    def test_select_keeps_the_order_given_once_each(self) -> None:
        self.assertEqual(['events', 'stacks'],
                         [t.name for t in select(['events', 'stacks', 'events'])])

    def test_an_unknown_table_is_refused_naming_the_known_ones(self) -> None:
        error = self.assertRaises(UnknownTable, select, ['stacks', 'nope'])
        self.assertEqual(['nope'], error.names)
        self.assertIn('resource_types', str(error))


class TestPlan(testtools.TestCase):

    def plan(self, *tables: str) -> list[list[str]]:
        levels, _answered_by = HeatTables(None).plan(tables)
        return [[call.name for call in level] for level in levels]

    def test_a_table_needs_its_call_and_the_calls_above_it(self) -> None:
        self.assertEqual([['stacks'], ['resources'], ['resource_metadata']],
                         self.plan('resource_metadata'))

    def test_stack_tables_need_the_listing_only(self) -> None:
        self.assertEqual([['stacks']], self.plan('stacks', 'stack_tags', 'stack_links'))

    def test_project_level_tables_need_no_stack_listing(self) -> None:
        self.assertEqual([['resource_types', 'software_deployments']],
                         self.plan('resource_types', 'software_deployment_outputs'))

    def test_resource_details_answer_for_resources_when_both_are_needed(self) -> None:
        levels, answered_by = HeatTables(None).plan(
            ['resource_links', 'resource_data', 'resource_metadata'])
        self.assertEqual([['stacks'], ['resource_details'], ['resource_metadata']],
                         [[c.name for c in level] for level in levels])
        self.assertEqual('resource_details', answered_by['resources'])

    def test_resources_alone_are_read_without_details(self) -> None:
        self.assertEqual([['stacks'], ['resources']], self.plan('resources'))

    def test_every_table_at_once_is_three_levels(self) -> None:
        self.assertEqual(
            [['resource_types', 'software_config_list', 'software_deployments', 'stacks'],
             ['events', 'resource_details', 'snapshots', 'software_config', 'stack',
              'template'],
             ['event', 'resource_metadata']], self.plan(*TABLES))

    def test_event_details_need_the_events_of_each_stack(self) -> None:
        self.assertEqual([['stacks'], ['events'], ['event']], self.plan('event_details'))


class TestCalls(TablesTestCase):
    """The exact calls of a fetch."""

    def test_stack_tables_make_the_listing_call_only(self) -> None:
        self.serve_stacks(self.web)
        self.engine().fetch(['stacks', 'stack_tags', 'stack_links'])
        self.assertEqual([('GET', f'{P}/stacks', LISTING)], self.calls())

    def test_one_call_per_live_stack_and_none_for_stacks_being_deleted(self) -> None:
        gone = stack_item(GONE, 'gone', status='DELETE_IN_PROGRESS')
        self.serve_stacks(self.web, gone, self.db)
        for stack in (self.web, self.db):
            self.serve(self.stack_path(stack, '/snapshots'), {'snapshots': []})
        self.engine().fetch(['snapshots'])
        self.assertEqual([('GET', f'{P}/stacks', LISTING),
                          ('GET', self.stack_path(self.web, '/snapshots'), {}),
                          ('GET', self.stack_path(self.db, '/snapshots'), {})], self.calls())

    def test_events_page_by_marker_until_an_empty_page(self) -> None:
        self.serve_stacks(self.web)
        self.serve_pages(self.stack_path(self.web, '/events'), 'events',
                         [event('e3', 'web'), event('e2', 'server'), event('e1', 'server')])
        rows = self.engine(page_size=2).fetch(['events'])['events'].rows
        events = self.stack_path(self.web, '/events')
        self.assertEqual([('GET', f'{P}/stacks', {**LISTING, 'limit': ['2']}),
                          ('GET', events, {'limit': ['2']}),
                          ('GET', events, {'limit': ['2'], 'marker': ['e2']}),
                          ('GET', events, {'limit': ['2'], 'marker': ['e1']})], self.calls())
        self.assertEqual(['e3', 'e2', 'e1'], [row[0] for row in rows])

    def test_event_details_are_one_call_per_event_by_its_resource_and_id(self) -> None:
        self.serve_stacks(self.web)
        self.serve_pages(self.stack_path(self.web, '/events'), 'events',
                         [event('e2', 'web'), event('e1', 'my server')])
        self.serve(self.stack_path(self.web, '/resources/web/events/e2'),
                   {'event': event_detail('e2', 'web', 'OS::Heat::Stack', {})})
        self.serve(self.stack_path(self.web, '/resources/my%20server/events/e1'),
                   {'event': event_detail('e1', 'my server', 'OS::Heat::None', {})})
        self.engine().fetch(['event_details'])
        events = self.stack_path(self.web, '/events')
        self.assertEqual([('GET', f'{P}/stacks', LISTING),
                          ('GET', events, PAGE),
                          ('GET', events, {**PAGE, 'marker': ['e1']}),
                          ('GET', self.stack_path(self.web, '/resources/web/events/e2'), {}),
                          ('GET', self.stack_path(self.web, '/resources/my%20server/events/e1'),
                           {})], self.calls())

    def test_metadata_is_one_call_per_resource_of_each_stack(self) -> None:
        self.serve_stacks(self.web)
        self.serve(self.stack_path(self.web, '/resources'), {'resources': [
            resource_item(WEB, 'web', 'server'), resource_item(WEB, 'web', 'port')]})
        for name in ('server', 'port'):
            self.serve(self.stack_path(self.web, f'/resources/{name}/metadata'),
                       {'metadata': {}})
        self.engine().fetch(['resource_metadata'])
        self.assertEqual([('GET', f'{P}/stacks', LISTING),
                          ('GET', self.stack_path(self.web, '/resources'), {}),
                          ('GET', self.stack_path(self.web, '/resources/server/metadata'), {}),
                          ('GET', self.stack_path(self.web, '/resources/port/metadata'), {})],
                         self.calls())

    def test_resources_with_their_data_are_one_detailed_call(self) -> None:
        self.serve_stacks(self.web)
        self.serve(self.stack_path(self.web, '/resources'), {'resources': []})
        self.engine().fetch(['resources', 'resource_data'])
        self.assertEqual([('GET', f'{P}/stacks', LISTING),
                          ('GET', self.stack_path(self.web, '/resources'),
                           {'with_detail': ['true']})], self.calls())

    def test_outputs_are_read_from_the_stack_s_show(self) -> None:
        self.serve_stacks(self.web)
        self.serve(self.stack_path(self.web), {'stack': {'outputs': []}})
        self.engine().fetch(['outputs'])
        self.assertEqual([('GET', f'{P}/stacks', LISTING),
                          ('GET', self.stack_path(self.web), {})], self.calls())

    def test_software_configs_are_listed_by_marker_then_shown_one_by_one(self) -> None:
        configs = [{'id': f'c{i}', 'name': f'config {i}', 'group': 'script',
                    'creation_time': '2024-05-01T10:00:00Z'} for i in (2, 1)]
        self.serve_pages(f'{P}/software_configs', 'software_configs', configs)
        for config in configs:
            self.serve(f'{P}/software_configs/{config["id"]}', {'software_config': config})
        self.engine().fetch(['software_configs'])
        self.assertEqual([('GET', f'{P}/software_configs', PAGE),
                          ('GET', f'{P}/software_configs', {**PAGE, 'marker': ['c1']}),
                          ('GET', f'{P}/software_configs/c2', {}),
                          ('GET', f'{P}/software_configs/c1', {})], self.calls())

    def test_project_level_tables_make_their_one_call(self) -> None:
        self.serve(f'{P}/resource_types', {'resource_types': []})
        self.serve(f'{P}/software_deployments', {'software_deployments': []})
        self.engine().fetch(['resource_types', 'software_deployment_outputs'])
        self.assertEqual([('GET', f'{P}/resource_types', {}),
                          ('GET', f'{P}/software_deployments', {})], self.calls())

    def test_options_set_the_listing_s_query(self) -> None:
        self.serve_stacks(self.web)
        self.engine(all_projects=False, nested=False, page_size=0).fetch(['stacks'])
        self.assertEqual([('GET', f'{P}/stacks', {})], self.calls())

    def test_a_project_scope_is_heat_s_tenant_filter(self) -> None:
        self.serve_stacks(self.web)
        self.engine(project=PROJECT).fetch(['stacks'])
        self.assertEqual([('GET', f'{P}/stacks', {**LISTING, 'tenant': [PROJECT]})],
                         self.calls())

    def test_a_project_scope_drops_other_projects_configs_before_their_calls(self) -> None:
        self.serve_pages(f'{P}/software_configs', 'software_configs', [
            {'id': 'mine', 'project': PROJECT}, {'id': 'theirs', 'project': OTHER_PROJECT}])
        self.serve(f'{P}/software_configs/mine', {'software_config': {'id': 'mine'}})
        rows = self.engine(project=PROJECT).fetch(['software_configs'])['software_configs']
        self.assertEqual(['mine'], [row[0] for row in rows.rows])
        self.assertEqual(f'{P}/software_configs/mine', self.calls()[-1][1])
        self.assertEqual(3, len(self.calls()))

    def test_names_and_ids_are_quoted_in_paths(self) -> None:
        odd = stack_item(WEB, 'a b/c')
        self.serve_stacks(odd)
        self.serve(f'{P}/stacks/a%20b%2Fc/{WEB}/template', {'heat_template_version': 'x'})
        self.engine().fetch(['templates'])
        self.assertEqual(f'{P}/stacks/a%20b%2Fc/{WEB}/template',
                         self.http.request_history[-1].path)

    def test_each_level_is_one_bounded_fan_out(self) -> None:
        sizes: list[int] = []
        fan_out = self.client.fan_out

        def spy(fn: Any, items: Any) -> Any:
            items = list(items)
            sizes.append(len(items))
            return fan_out(fn, items)
        self.useFixture(fixtures.MockPatchObject(self.client, 'fan_out', spy))
        self.serve_stacks(self.web, self.db)
        for stack in (self.web, self.db):
            self.serve(self.stack_path(stack, '/resources'), {'resources': [
                resource_item(stack['id'], stack['stack_name'], 'a'),
                resource_item(stack['id'], stack['stack_name'], 'b')]})
            for name in 'ab':
                self.serve(self.stack_path(stack, f'/resources/{name}/metadata'),
                           {'metadata': {}})
        self.engine().fetch(['resource_metadata'])
        self.assertEqual([1, 2, 4], sizes)


class TestAllProjects(TablesTestCase):

    def setUp(self) -> None:
        super().setUp()

        def answer(request: Any, context: Any) -> Any:
            if request.qs.get('global_tenant') == ['true']:
                context.status_code = 403
                return FORBIDDEN
            return {'stacks': [self.web]}
        self.serve(f'{P}/stacks', answer=answer)

    def test_a_403_falls_back_to_the_project_s_listing(self) -> None:
        rows = self.rows('stacks')
        self.assertEqual([WEB], [row['id'] for row in rows])
        self.assertEqual([('GET', f'{P}/stacks', LISTING),
                          ('GET', f'{P}/stacks', {'show_nested': ['true'], 'limit': ['1000']})],
                         self.calls())

    def test_the_fallback_names_the_policy_once_per_engine(self) -> None:
        engine = self.engine()
        engine.fetch(['stacks'])
        engine.fetch(['stacks'])
        self.assertEqual(1, self.log.output.count('Heat refused to list every project'))

    def test_the_fallback_warns_as_the_driver_does_naming_the_option_too(self) -> None:
        self.rows('stacks')
        self.assertIn('or set [driver.heat.stack] all_projects = false', self.log.output)

    def test_an_allowed_listing_after_a_refusal_is_logged(self) -> None:
        engine = self.engine()
        engine.fetch(['stacks'])
        self.serve_stacks(self.web)
        engine.fetch(['stacks'])
        self.assertIn('Heat now allows the all-projects stack listing', self.log.output)

    def test_without_all_projects_the_listing_is_the_project_s(self) -> None:
        self.rows('stacks', all_projects=False)
        self.assertEqual([('GET', f'{P}/stacks', {'show_nested': ['true'], 'limit': ['1000']})],
                         self.calls())
        self.assertEqual('', self.log.output)


class TestRows(TablesTestCase):
    """Each table's rows from Heat 27-shaped answers."""

    def setUp(self) -> None:
        super().setUp()
        self.serve_stacks(self.web, self.db)

    def test_stacks(self) -> None:
        no_project = stack_item(CHILD, 'child', parent=WEB, with_project=False)
        self.serve_stacks(self.web, no_project)
        self.assertEqual([
            {'id': WEB, 'name': 'web', 'project': PROJECT, 'status': 'CREATE_COMPLETE',
             'status_reason': 'Stack CREATE completed successfully',
             'creation_time': '2024-05-01T10:00:00Z', 'updated_time': None,
             'deletion_time': None, 'owner': 'alice', 'parent': None,
             'stack_user_project_id': 'heat-stack-domain-project'},
            {'id': CHILD, 'name': 'child', 'project': PROJECT, 'status': 'CREATE_COMPLETE',
             'status_reason': 'Stack CREATE completed successfully',
             'creation_time': '2024-05-01T10:00:00Z', 'updated_time': None,
             'deletion_time': None, 'owner': 'alice', 'parent': WEB,
             'stack_user_project_id': 'heat-stack-domain-project'}], self.rows('stacks'))

    def test_stack_tags_one_row_per_tag_none_without(self) -> None:
        self.assertEqual([{'stack_id': WEB, 'tag': 'blue'}, {'stack_id': WEB, 'tag': 'prod'}],
                         self.rows('stack_tags'))

    def test_stack_links(self) -> None:
        self.assertEqual([
            {'stack_id': WEB, 'rel': 'self', 'href': stack_url('web', WEB)},
            {'stack_id': DB, 'rel': 'self', 'href': stack_url('db', DB, OTHER_PROJECT)}],
            self.rows('stack_links'))

    def serve_resources(self) -> None:
        self.serve(self.stack_path(self.web, '/resources'), {'resources': [
            resource_item(WEB, 'web', 'server', resource_type='OS::Nova::Server'),
            resource_item(WEB, 'web', 'child', resource_type='child.yaml', physical=CHILD,
                          nested=('web-child-x', CHILD))]})
        self.serve(self.stack_path(self.db, '/resources'), {'resources': []})

    def test_resources(self) -> None:
        self.serve_resources()
        self.assertEqual([
            {'stack_id': WEB, 'resource_name': 'server', 'physical_resource_id': 'phys-server',
             'resource_type': 'OS::Nova::Server', 'status': 'CREATE_COMPLETE',
             'status_reason': 'state changed', 'creation_time': '2024-05-01T10:00:00Z',
             'updated_time': '2024-05-01T10:00:05Z', 'nested_stack_id': None},
            {'stack_id': WEB, 'resource_name': 'child', 'physical_resource_id': CHILD,
             'resource_type': 'child.yaml', 'status': 'CREATE_COMPLETE',
             'status_reason': 'state changed', 'creation_time': '2024-05-01T10:00:00Z',
             'updated_time': '2024-05-01T10:00:05Z', 'nested_stack_id': CHILD}],
            self.rows('resources'))

    def test_resource_links(self) -> None:
        self.serve_resources()
        rows = self.rows('resource_links')
        self.assertEqual([('server', 'self'), ('server', 'stack'), ('child', 'self'),
                          ('child', 'stack'), ('child', 'nested')],
                         [(r['resource_name'], r['rel']) for r in rows])
        self.assertEqual(stack_url('web-child-x', CHILD), rows[-1]['href'])

    def test_resource_data_one_row_per_attribute_objects_as_json(self) -> None:
        server = resource_item(WEB, 'web', 'server')
        server['attributes'] = {'name': 'web-server', 'networks': {'private': ['10.0.0.4']}}
        self.serve(self.stack_path(self.web, '/resources'), {'resources': [server]})
        self.serve(self.stack_path(self.db, '/resources'), {'resources': []})
        self.assertEqual([
            {'stack_id': WEB, 'resource_name': 'server', 'key': 'name', 'value': 'web-server'},
            {'stack_id': WEB, 'resource_name': 'server', 'key': 'networks',
             'value': '{"private":["10.0.0.4"]}'}], self.rows('resource_data'))

    def test_resource_metadata(self) -> None:
        self.serve(self.stack_path(self.web, '/resources'), {'resources': [
            resource_item(WEB, 'web', 'server')]})
        self.serve(self.stack_path(self.db, '/resources'), {'resources': []})
        self.serve(self.stack_path(self.web, '/resources/server/metadata'),
                   {'metadata': {'role': 'web', 'weight': 3}})
        self.assertEqual([
            {'stack_id': WEB, 'resource_name': 'server', 'key': 'role', 'value': 'web'},
            {'stack_id': WEB, 'resource_name': 'server', 'key': 'weight', 'value': 3}],
            self.rows('resource_metadata'))

    def test_resource_types(self) -> None:
        self.serve(f'{P}/resource_types',
                   {'resource_types': ['OS::Heat::None', 'OS::Heat::Stack']})
        self.assertEqual([{'resource_type': 'OS::Heat::None'},
                          {'resource_type': 'OS::Heat::Stack'}], self.rows('resource_types'))

    def test_events(self) -> None:
        self.serve_pages(self.stack_path(self.web, '/events'), 'events',
                         [event('e2', 'web'), event('e1', 'server', 'CREATE_IN_PROGRESS')])
        self.serve_pages(self.stack_path(self.db, '/events'), 'events', [])
        self.assertEqual([
            {'id': 'e2', 'stack_id': WEB, 'resource_name': 'web',
             'physical_resource_id': 'phys-web', 'status': 'CREATE_COMPLETE',
             'status_reason': 'state changed', 'event_time': '2024-05-01T10:00:01Z'},
            {'id': 'e1', 'stack_id': WEB, 'resource_name': 'server',
             'physical_resource_id': 'phys-server', 'status': 'CREATE_IN_PROGRESS',
             'status_reason': 'state changed', 'event_time': '2024-05-01T10:00:01Z'}],
            self.rows('events'))

    def serve_event_details(self) -> None:
        self.serve_stacks(self.web)
        self.serve_pages(self.stack_path(self.web, '/events'), 'events',
                         [event('e2', 'vault'), event('e1', 'server')])
        self.serve(self.stack_path(self.web, '/resources/vault/events/e2'),
                   {'event': event_detail('e2', 'vault', 'OS::Barbican::Secret',
                                          {'name': 'db', 'payload': 's3cr3t'})})
        self.serve(self.stack_path(self.web, '/resources/server/events/e1'),
                   {'event': event_detail('e1', 'server', 'OS::Nova::Server',
                                          {'flavor': 'm1.tiny', 'admin_pass': 'hunter2',
                                           'metadata': {'db_password': 'x', 'role': 'web'}})})

    def test_event_details_with_their_properties_secrets_masked(self) -> None:
        self.serve_event_details()
        self.assertEqual([
            {'id': 'e2', 'stack_id': WEB, 'resource_name': 'vault',
             'resource_type': 'OS::Barbican::Secret',
             'resource_properties': '{"name":"db","payload":"******"}'},
            {'id': 'e1', 'stack_id': WEB, 'resource_name': 'server',
             'resource_type': 'OS::Nova::Server',
             'resource_properties': '{"admin_pass":"******","flavor":"m1.tiny",'
                                    '"metadata":{"db_password":"******","role":"web"}}'}],
            self.rows('event_details'))

    def test_event_properties_revealed_on_request(self) -> None:
        self.serve_event_details()
        rows = self.rows('event_details', reveal_secrets=True)
        self.assertEqual({'name': 'db', 'payload': 's3cr3t'},
                         json.loads(rows[0]['resource_properties']))

    def test_outputs_resolved_with_their_errors(self) -> None:
        self.serve(self.stack_path(self.web), {'stack': {'outputs': [
            {'output_key': 'ip', 'description': 'The address', 'output_value': '10.0.0.4'},
            {'output_key': 'ports', 'description': 'No description given',
             'output_value': None, 'output_error': 'The Referenced Attribute is incorrect.'}]}})
        self.serve(self.stack_path(self.db), {'stack': {}})
        self.assertEqual([
            {'stack_id': WEB, 'output_key': 'ip', 'output_value': '10.0.0.4',
             'description': 'The address', 'output_error': None},
            {'stack_id': WEB, 'output_key': 'ports', 'output_value': None,
             'description': 'No description given',
             'output_error': 'The Referenced Attribute is incorrect.'}], self.rows('outputs'))

    def test_snapshots_without_their_data(self) -> None:
        self.serve(self.stack_path(self.web, '/snapshots'), {'snapshots': [
            {'id': 's1', 'name': 'before-upgrade', 'action': 'CREATE', 'status': 'COMPLETE',
             'status_reason': 'Stack SNAPSHOT completed successfully', 'data': {'big': 1},
             'creation_time': '2024-05-01T11:00:00Z'}]})
        self.serve(self.stack_path(self.db, '/snapshots'), {'snapshots': []})
        self.assertEqual([{'id': 's1', 'stack_id': WEB, 'name': 'before-upgrade',
                           'action': 'CREATE', 'status': 'COMPLETE',
                           'status_reason': 'Stack SNAPSHOT completed successfully',
                           'creation_time': '2024-05-01T11:00:00Z'}], self.rows('snapshots'))

    def test_templates_hot_and_cfn(self) -> None:
        hot = {'heat_template_version': '2018-08-31', 'description': 'web tier',
               'resources': {'server': {'type': 'OS::Nova::Server'}}}
        cfn = {'AWSTemplateFormatVersion': '2010-09-09', 'Description': 'db tier'}
        self.serve(self.stack_path(self.web, '/template'), hot)
        self.serve(self.stack_path(self.db, '/template'), cfn)
        rows = self.rows('templates')
        self.assertEqual([(WEB, '2018-08-31', 'web tier'), (DB, '2010-09-09', 'db tier')],
                         [(r['stack_id'], r['version'], r['description']) for r in rows])
        self.assertEqual(hot, json.loads(rows[0]['template']))

    def test_software_configs_with_the_listing_s_project(self) -> None:
        self.serve_pages(f'{P}/software_configs', 'software_configs', [
            {'id': 'c1', 'name': 'cfg', 'group': 'script',
             'creation_time': '2024-05-01T10:00:00Z', 'project': PROJECT}])
        self.serve(f'{P}/software_configs/c1', {'software_config': {
            'id': 'c1', 'name': 'cfg', 'group': 'script', 'creation_time':
            '2024-05-01T10:00:00Z', 'config': 'echo hi', 'inputs': [{'name': 'foo',
                                                                     'type': 'String'}],
            'outputs': [], 'options': {}}})
        self.assertEqual([{'id': 'c1', 'name': 'cfg', 'group': 'script',
                           'creation_time': '2024-05-01T10:00:00Z', 'project': PROJECT,
                           'config': 'echo hi', 'inputs': '[{"name":"foo","type":"String"}]',
                           'outputs': '[]', 'options': '{}'}], self.rows('software_configs'))

    def serve_deployments(self) -> None:
        self.serve(f'{P}/software_deployments', {'software_deployments': [
            {'id': 'd1', 'server_id': 'srv-1', 'input_values': {'foo': 'bar'},
             'output_values': {'deploy_stdout': 'hi', 'deploy_status_code': 0},
             'action': 'CREATE', 'status': 'COMPLETE', 'status_reason': 'Outputs received',
             'config_id': 'c1', 'creation_time': '2024-05-01T10:00:00Z',
             'updated_time': '2024-05-01T10:01:00Z'},
            {'id': 'd2', 'server_id': 'srv-2', 'input_values': {}, 'output_values': None,
             'action': 'CREATE', 'status': 'IN_PROGRESS', 'status_reason': 'Deploy data',
             'config_id': 'c1', 'creation_time': '2024-05-01T10:02:00Z'}]})

    def test_software_deployments(self) -> None:
        self.serve_deployments()
        self.assertEqual([
            {'id': 'd1', 'config_id': 'c1', 'server_id': 'srv-1', 'action': 'CREATE',
             'status': 'COMPLETE', 'status_reason': 'Outputs received',
             'creation_time': '2024-05-01T10:00:00Z', 'updated_time': '2024-05-01T10:01:00Z'},
            {'id': 'd2', 'config_id': 'c1', 'server_id': 'srv-2', 'action': 'CREATE',
             'status': 'IN_PROGRESS', 'status_reason': 'Deploy data',
             'creation_time': '2024-05-01T10:02:00Z', 'updated_time': None}],
            self.rows('software_deployments'))

    def test_software_deployment_output_values_one_row_each(self) -> None:
        self.serve_deployments()
        self.assertEqual([{'deployment_id': 'd1', 'key': 'deploy_stdout', 'value': 'hi'},
                          {'deployment_id': 'd1', 'key': 'deploy_status_code', 'value': 0}],
                         self.rows('software_deployment_outputs'))

    def test_software_deployment_input_values_one_row_each(self) -> None:
        self.serve_deployments()
        self.assertEqual([{'deployment_id': 'd1', 'key': 'foo', 'value': 'bar'}],
                         self.rows('software_deployment_inputs'))

    def test_fetch_answers_the_tables_in_the_order_asked(self) -> None:
        self.serve(f'{P}/resource_types', {'resource_types': []})
        fetched = self.engine().fetch(['stack_tags', 'resource_types', 'stacks'])
        self.assertEqual(['stack_tags', 'resource_types', 'stacks'], list(fetched))
        self.assertEqual(('stack_id', 'tag'), fetched['stack_tags'].columns)


class TestSecrets(TablesTestCase):
    """Secret values are masked unless the engine reveals them."""

    def setUp(self) -> None:
        super().setUp()
        self.serve_stacks(self.web)

    def serve_resources(self, *items: dict[str, Any]) -> None:
        self.serve(self.stack_path(self.web, '/resources'), {'resources': list(items)})

    def test_secret_attributes_of_known_types_are_masked(self) -> None:
        rnd = resource_item(WEB, 'web', 'rnd', resource_type='OS::Heat::RandomString')
        rnd['attributes'] = {'value': 'Zq8pW1', 'show': None}
        handle = resource_item(WEB, 'web', 'wait',
                               resource_type='OS::Heat::WaitConditionHandle')
        handle['attributes'] = {'token': 't0k', 'endpoint': 'http://h/signal'}
        self.serve_resources(rnd, handle)
        self.assertEqual([('rnd', 'value', '******'), ('rnd', 'show', None),
                          ('wait', 'token', '******'), ('wait', 'endpoint', 'http://h/signal')],
                         [(r['resource_name'], r['key'], r['value'])
                          for r in self.rows('resource_data')])

    def test_attributes_named_as_secrets_are_masked_in_any_type(self) -> None:
        server = resource_item(WEB, 'web', 'server', resource_type='OS::Nova::Server')
        server['attributes'] = {'admin_pass': 'x', 'name': 'web-server',
                                'show': {'name': 'web-server', 'adminPass': None,
                                         'metadata': {'db_password': 'p4ss'}}}
        self.serve_resources(server)
        self.assertEqual(['******', 'web-server',
                          '{"adminPass":null,"metadata":{"db_password":"******"},'
                          '"name":"web-server"}'],
                         [r['value'] for r in self.rows('resource_data')])

    def test_reveal_secrets_gives_the_values_as_heat_answered(self) -> None:
        rnd = resource_item(WEB, 'web', 'rnd', resource_type='OS::Heat::RandomString')
        rnd['attributes'] = {'value': 'Zq8pW1'}
        self.serve_resources(rnd)
        self.assertEqual(['Zq8pW1'], [r['value'] for r in
                                      self.rows('resource_data', reveal_secrets=True)])

    def test_metadata_credentials_are_masked_at_any_depth(self) -> None:
        self.serve_resources(resource_item(WEB, 'web', 'server'))
        self.serve(self.stack_path(self.web, '/resources/server/metadata'), {'metadata': {
            'os-collect-config': {'heat': {'password': 'p', 'user_id': 'u'}},
            'deployments': [{'inputs': [{'name': 'deploy_password', 'value': 'p'},
                                        {'name': 'deploy_server_id', 'value': 's'}]}]}})
        self.assertEqual([
            '{"heat":{"password":"******","user_id":"u"}}',
            '[{"inputs":[{"name":"deploy_password","value":"******"},'
            '{"name":"deploy_server_id","value":"s"}]}]'],
            [r['value'] for r in self.rows('resource_metadata')])

    def test_outputs_named_as_secrets_are_masked(self) -> None:
        self.serve(self.stack_path(self.web), {'stack': {'outputs': [
            {'output_key': 'admin_password', 'output_value': 'p'},
            {'output_key': 'ip', 'output_value': '10.0.0.4'}]}})
        self.assertEqual([('admin_password', '******'), ('ip', '10.0.0.4')],
                         [(r['output_key'], r['output_value']) for r in self.rows('outputs')])

    def test_a_derived_config_s_secret_input_values_are_masked(self) -> None:
        self.serve_pages(f'{P}/software_configs', 'software_configs', [{'id': 'c1'}])
        self.serve(f'{P}/software_configs/c1', {'software_config': {'id': 'c1', 'inputs': [
            {'name': 'deploy_signal_id', 'type': 'String', 'value': 'http://h/?Signature=s'},
            {'name': 'deploy_action', 'type': 'String', 'value': 'CREATE'}]}})
        (row,) = self.rows('software_configs')
        self.assertEqual([{'name': 'deploy_signal_id', 'type': 'String', 'value': '******'},
                          {'name': 'deploy_action', 'type': 'String', 'value': 'CREATE'}],
                         json.loads(row['inputs']))

    def test_deployment_values_named_as_secrets_are_masked(self) -> None:
        self.serve(f'{P}/software_deployments', {'software_deployments': [
            {'id': 'd1', 'input_values': {'db_password': 'p', 'role': 'web'},
             'output_values': {'api_token': 't', 'deploy_status_code': 0}}]})
        fetched = self.engine().fetch(['software_deployment_inputs',
                                       'software_deployment_outputs'])
        self.assertEqual([('db_password', '******'), ('role', 'web'), ('api_token', '******'),
                          ('deploy_status_code', 0)],
                         [(r['key'], r['value']) for t in fetched.values()
                          for r in t.as_dicts()])


class TestFailures(TablesTestCase):
    """A failed or malformed answer fails the whole fetch."""

    def setUp(self) -> None:
        super().setUp()
        self.serve_stacks(self.web, self.db)

    def test_a_failed_per_stack_call_names_the_stack(self) -> None:
        self.serve(self.stack_path(self.web, '/snapshots'), {'snapshots': []})
        self.serve(self.stack_path(self.db, '/snapshots'), {'error': {'message': 'gone'}},
                   status=404)
        error = self.assertRaises(BackendError, self.engine().fetch, ['snapshots'])
        self.assertIn(f'snapshots of stack db ({DB}) could not be read', str(error))
        self.assertIsInstance(error.__cause__, APIError)

    def test_a_failed_event_detail_names_the_event_its_resource_and_stack(self) -> None:
        self.serve_pages(self.stack_path(self.web, '/events'), 'events', [event('e1', 'server')])
        self.serve_pages(self.stack_path(self.db, '/events'), 'events', [])
        self.serve(self.stack_path(self.web, '/resources/server/events/e1'),
                   {'error': {'message': 'gone'}}, status=404)
        error = self.assertRaises(BackendError, self.engine().fetch, ['event_details'])
        self.assertIn(f'event of event e1 of resource server of stack web ({WEB}) could not '
                      f'be read', str(error))

    def test_an_event_without_a_resource_name_is_listed_but_has_no_details(self) -> None:
        nameless = event('e1', 'server')
        del nameless['resource_name']
        self.serve_pages(self.stack_path(self.web, '/events'), 'events', [nameless])
        self.serve_pages(self.stack_path(self.db, '/events'), 'events', [])
        self.assertEqual(['e1'], [row[0] for row in
                                  self.engine().fetch(['events'])['events'].rows])
        error = self.assertRaises(BackendError, self.engine().fetch, ['event_details'])
        self.assertIn('no resource_name to call it with', str(error))

    def test_a_failed_listing_raises_as_it_is(self) -> None:
        self.serve(f'{P}/stacks', {'error': {'message': 'down'}}, status=503)
        error = self.assertRaises(APIError, self.engine().fetch, ['stacks'])
        self.assertEqual(503, error.status)

    def test_an_answer_without_its_list_is_malformed(self) -> None:
        self.serve(f'{P}/resource_types', {'types': []})
        error = self.assertRaises(MalformedResponse, self.engine().fetch, ['resource_types'])
        self.assertIn("expected a list under 'resource_types'", str(error))

    def test_a_show_without_its_object_is_malformed(self) -> None:
        self.serve(self.stack_path(self.web), {'stack': None})
        self.serve(self.stack_path(self.db), {'stack': {}})
        error = self.assertRaises(BackendError, self.engine().fetch, ['outputs'])
        self.assertIn("expected an object under 'stack'", str(error))

    def test_a_stack_without_an_id_is_malformed(self) -> None:
        nameless = dict(self.web)
        del nameless['id']
        self.serve_stacks(nameless)
        error = self.assertRaises(MalformedResponse, self.engine().fetch, ['stacks'])
        self.assertIn('an item has no stack_id', str(error))

    def test_an_unknown_table_fails_before_any_call(self) -> None:
        self.assertRaises(UnknownTable, self.engine().fetch, ['stacks', 'nope'])
        self.assertEqual([], self.calls())

"""The emulated Heat v1 API: listing, paging, filters, show, redirects, resources."""

from __future__ import annotations

import json
import urllib.parse

import requests
import testtools

from tests.unit.testing.base import CloudTestCase
from vitrage_ds_testing import EmulatedCloud

LIST_KEYS = ['id', 'links', 'project', 'stack_name', 'description', 'stack_status',
             'stack_status_reason', 'creation_time', 'updated_time', 'deletion_time',
             'stack_owner', 'parent', 'stack_user_project_id', 'tags']


class HeatTestCase(CloudTestCase):

    def setUp(self):
        super().setUp()
        self.stacks = self.cloud.heat.populate(20, 4, nested=2)

    def add_demo_stack(self):
        return self.cloud.heat.create_stack(
            'demo-stack', project_id=self.cloud.demo_project_id,
            user_id=self.cloud.demo_user_id, tags=['blue'], notify=False)

    def names(self, resp):
        self.assertEqual(200, resp.status_code, resp.text)
        return [s['stack_name'] for s in resp.json()['stacks']]


class TestStackList(HeatTestCase):

    def test_lists_newest_first_without_nested(self):
        names = self.names(self.heat('/stacks'))
        self.assertEqual([f'stack-{n:05d}' for n in range(20, 0, -1)], names)

    def test_admin_listing_covers_every_project_as_heat_27_does(self):
        self.add_demo_stack()
        body = self.heat('/stacks').json()
        self.assertEqual('demo-stack', body['stacks'][0]['stack_name'])
        self.assertEqual(self.cloud.demo_project_id, body['stacks'][0]['project'])
        self.assertEqual(21, len(body['stacks']))

    def test_non_admin_listing_covers_its_own_project_only(self):
        self.add_demo_stack()
        session = self.as_user('demo')
        body = session.get(
            f'{self.cloud.heat_endpoint(self.cloud.demo_project_id)}/stacks').json()
        self.assertEqual(['demo-stack'], [s['stack_name'] for s in body['stacks']])

    def test_list_item_has_heats_keys_and_canonical_link(self):
        item = self.heat('/stacks', params={'name': 'stack-00003'}).json()['stacks'][0]
        self.assertEqual(LIST_KEYS, list(item))
        self.assertEqual(f'{self.cloud.heat_endpoint()}/stacks/stack-00003/{item["id"]}',
                         item['links'][0]['href'])
        self.assertEqual('self', item['links'][0]['rel'])
        self.assertEqual('', item['description'])
        self.assertEqual('admin', item['stack_owner'])
        self.assertEqual('CREATE_COMPLETE', item['stack_status'])
        self.assertEqual('2024-01-01T00:00:03Z', item['creation_time'])

    def test_non_admin_listing_has_no_project_key(self):
        self.add_demo_stack()
        session = self.as_user('demo')
        resp = session.get(f'{self.cloud.heat_endpoint(self.cloud.demo_project_id)}/stacks')
        item = resp.json()['stacks'][0]
        self.assertEqual('demo-stack', item['stack_name'])
        self.assertEqual('demo', item['stack_owner'])
        self.assertNotIn('project', item)

    def test_other_projects_url_is_403_for_non_admin(self):
        session = self.as_user('demo')
        resp = session.get(f'{self.cloud.heat_endpoint()}/stacks')
        self.assertEqual(403, resp.status_code)
        self.assertEqual('HTTPForbidden', resp.json()['error']['type'])

    def test_global_tenant_is_forbidden_by_default_policy(self):
        resp = self.heat('/stacks', params={'global_tenant': 'true'})
        self.assertEqual(403, resp.status_code)
        self.assertEqual({'code': 403, 'title': 'Forbidden',
                          'explanation': 'Access was denied to this resource.',
                          'error': {'message': 'You are not authorized to use '
                                               'stacks:global_index.',
                                    'type': 'Forbidden', 'traceback': None}},
                         resp.json())

    def test_global_tenant_lists_every_project_when_allowed(self):
        self.add_demo_stack()
        self.cloud.global_index_allowed = True
        body = self.heat('/stacks', params={'global_tenant': 'true'}).json()
        self.assertEqual(21, len(body['stacks']))
        demo = next(s for s in body['stacks'] if s['stack_name'] == 'demo-stack')
        self.assertEqual(self.cloud.demo_project_id, demo['project'])

    def test_limit_gives_a_next_link_with_the_last_id_as_marker(self):
        body = self.heat('/stacks', params={'limit': 5, 'show_nested': 'false'}).json()
        href = body['links'][0]['href']
        self.assertEqual('next', body['links'][0]['rel'])
        url = urllib.parse.urlsplit(href)
        self.assertEqual(urllib.parse.urlsplit(self.cloud.heat_endpoint()).path + '/stacks',
                         url.path)
        self.assertEqual([('limit', '5'), ('show_nested', 'false'),
                          ('marker', body['stacks'][-1]['id'])],
                         urllib.parse.parse_qsl(url.query))

    def test_following_next_links_visits_every_stack_once(self):
        seen, url = [], f'{self.cloud.heat_endpoint()}/stacks?limit=6'
        while url:
            body = self.http.get(url).json()
            seen += [s['stack_name'] for s in body['stacks']]
            url = next((link['href'] for link in body.get('links', [])), None)
        self.assertEqual([f'stack-{n:05d}' for n in range(20, 0, -1)], seen)

    def test_last_short_page_has_no_links(self):
        body = self.heat('/stacks', params={'limit': 50}).json()
        self.assertNotIn('links', body)

    def test_unknown_marker_restarts_from_the_beginning(self):
        names = self.names(self.heat('/stacks', params={'marker': 'nope', 'limit': 2}))
        self.assertEqual(['stack-00020', 'stack-00019'], names)

    def test_bad_limit_is_400(self):
        resp = self.heat('/stacks', params={'limit': 'x'})
        self.assertEqual(400, resp.status_code)
        self.assertEqual('HTTPBadRequest', resp.json()['error']['type'])

    def test_show_nested_includes_child_stacks_with_parent(self):
        body = self.heat('/stacks', params={'show_nested': 'true'}).json()
        children = [s for s in body['stacks'] if s['parent']]
        self.assertEqual(sorted([self.stacks[0].id, self.stacks[1].id]),
                         sorted(s['parent'] for s in children))
        self.assertTrue(children[0]['stack_name'].startswith('stack-0000'))

    def test_stacks_with_a_hidden_tag_are_listed_only_with_show_hidden(self):
        self.cloud.heat.hidden_tags = frozenset({'blue'})
        self.add_demo_stack()  # tagged blue
        self.assertNotIn('demo-stack', self.names(self.heat('/stacks')))
        self.assertIn('demo-stack',
                      self.names(self.heat('/stacks', params={'show_hidden': 'true'})))

    def test_deleted_stacks_are_hidden_unless_show_deleted(self):
        self.cloud.heat.delete_stack(self.stacks[5].id, notify=False)
        self.assertNotIn('stack-00006', self.names(self.heat('/stacks')))
        body = self.heat('/stacks', params={'show_deleted': 'true'}).json()
        gone = next(s for s in body['stacks'] if s['stack_name'] == 'stack-00006')
        self.assertEqual('DELETE_COMPLETE', gone['stack_status'])
        self.assertIsNotNone(gone['deletion_time'])

    def test_filter_by_name_and_status(self):
        self.cloud.heat.fail(self.stacks[2].id, 'boom', notify=False)
        self.assertEqual(['stack-00003'], self.names(self.heat(
            '/stacks', params={'status': 'CREATE_FAILED'})))
        self.assertEqual(['stack-00003'], self.names(self.heat(
            '/stacks', params={'status': 'FAILED'})))
        self.assertEqual(['stack-00004', 'stack-00002'], self.names(self.heat(
            '/stacks', params=[('name', 'stack-00002'), ('name', 'stack-00004')])))

    def test_filter_by_tenant_username_and_owner_id(self):
        self.add_demo_stack()
        self.cloud.global_index_allowed = True
        self.assertEqual(['demo-stack'], self.names(self.heat('/stacks', params={
            'global_tenant': 'true', 'tenant': self.cloud.demo_project_id})))
        self.assertEqual(['demo-stack'], self.names(self.heat('/stacks', params={
            'global_tenant': 'true', 'username': 'demo'})))
        child = self.names(self.heat('/stacks', params={
            'show_nested': 'true', 'owner_id': self.stacks[0].id}))
        self.assertEqual(1, len(child))

    def test_tag_filters(self):
        def names(**params):
            return self.names(self.heat('/stacks', params=params))
        self.assertEqual(10, len(names(tags='emulated,odd')))
        self.assertEqual(20, len(names(tags_any='odd,emulated')))
        self.assertEqual(10, len(names(not_tags='emulated,odd')))
        self.assertEqual(0, len(names(not_tags_any='emulated')))

    def test_sort_keys_and_direction(self):
        names = self.names(self.heat('/stacks', params={'sort_keys': 'stack_name',
                                                        'sort_dir': 'asc', 'limit': 3}))
        self.assertEqual(['stack-00001', 'stack-00002', 'stack-00003'], names)

    def test_bad_sort_dir_is_400(self):
        self.assertEqual(400, self.heat('/stacks', params={'sort_dir': 'up'}).status_code)

    def test_with_count(self):
        body = self.heat('/stacks', params={'with_count': 'true', 'limit': 1}).json()
        self.assertEqual(20, body['count'])


class TestStackShow(HeatTestCase):

    def test_show_by_name_and_id(self):
        stack = self.stacks[0]
        resp = self.heat(f'/stacks/{stack.name}/{stack.id}')
        self.assertEqual(200, resp.status_code)
        body = resp.json()['stack']
        self.assertEqual('Emulated stack 1', body['description'])
        self.assertNotIn('project', body)
        self.assertEqual({'OS::project_id': self.cloud.admin_project_id,
                          'OS::stack_id': stack.id, 'OS::stack_name': stack.name},
                         body['parameters'])
        self.assertEqual(['emulated', 'odd'], body['tags'])
        self.assertEqual(['server_0_id', 'port_1_id'],  # generated by heat_extra
                         [o['output_key'] for o in body['outputs']])

    def test_show_defaults_like_heat(self):
        stack = self.cloud.heat.create_stack('plain', notify=False)
        body = self.heat(f'/stacks/plain/{stack.id}').json()['stack']
        self.assertEqual(('No description', 'No description', []),
                         (body['description'], body['template_description'], body['tags']))

    def test_show_with_wrong_name_is_404(self):
        resp = self.heat(f'/stacks/other/{self.stacks[0].id}')
        self.assertEqual(404, resp.status_code)
        self.assertEqual('EntityNotFound', resp.json()['error']['type'])

    def test_show_by_id_redirects_to_name_and_id(self):
        stack = self.stacks[0]
        resp = self.heat(f'/stacks/{stack.id}', params={'resolve_outputs': 'false'})
        self.assertEqual(302, resp.status_code)
        self.assertEqual(f'{self.cloud.heat_endpoint()}/stacks/{stack.name}/{stack.id}'
                         '?resolve_outputs=false', resp.headers['Location'])

    def test_show_by_name_redirects_too(self):
        stack = self.stacks[3]
        resp = self.heat(f'/stacks/{stack.name}')
        self.assertEqual(302, resp.status_code)
        self.assertTrue(resp.headers['Location'].endswith(f'/{stack.name}/{stack.id}'))

    def test_redirect_is_followed_by_requests(self):
        resp = self.heat(f'/stacks/{self.stacks[0].id}', allow_redirects=True)
        self.assertEqual(self.stacks[0].id, resp.json()['stack']['id'])

    def test_lookup_of_unknown_stack_is_404(self):
        self.assertEqual(404, self.heat('/stacks/nope').status_code)

    def test_other_projects_stack_is_hidden_from_non_admin(self):
        session = self.as_user('demo')
        stack = self.stacks[0]
        resp = session.get(f'{self.cloud.heat_endpoint(self.cloud.demo_project_id)}'
                           f'/stacks/{stack.name}/{stack.id}')
        self.assertEqual(404, resp.status_code)

    def test_heat_root_lists_v1(self):
        resp = self.http.get(f'{self.cloud.heat_root}/')
        self.assertEqual(300, resp.status_code)
        self.assertEqual('v1.0', resp.json()['versions'][0]['id'])

    def test_versioned_project_root_is_404(self):
        self.assertEqual(404, self.http.get(self.cloud.heat_endpoint()).status_code)


class TestResources(HeatTestCase):

    def path(self, stack):
        return f'/stacks/{stack.name}/{stack.id}/resources'

    def test_resources_have_heats_keys(self):
        stack = self.stacks[5]
        body = self.heat(self.path(stack)).json()
        first = body['resources'][0]
        self.assertEqual(['resource_name', 'logical_resource_id', 'physical_resource_id',
                          'resource_type', 'resource_status', 'resource_status_reason',
                          'creation_time', 'updated_time', 'required_by', 'links'],
                         list(first))
        self.assertEqual(['server_0', 'port_1', 'net_2', 'subnet_3'],
                         [r['resource_name'] for r in body['resources']])
        self.assertEqual(['server_0'], body['resources'][1]['required_by'])
        self.assertEqual(['self', 'stack'], [link['rel'] for link in first['links']])

    def test_resources_are_deterministic_per_seed(self):
        stack = self.stacks[5]
        first = self.heat(self.path(stack)).json()
        second = self.heat(self.path(stack)).json()
        self.assertEqual(first, second)

    def test_nested_resource_links_to_its_stack(self):
        parent = self.stacks[0]
        nested = self.heat(self.path(parent)).json()['resources'][-1]
        self.assertEqual(f'{nested["resource_name"]}.yaml', nested['resource_type'])
        self.assertEqual('nested', nested['links'][2]['rel'])
        child = self.cloud.heat.get(nested['physical_resource_id'])
        self.assertEqual(parent.id, child.parent)

    def test_nested_depth_includes_child_resources_with_parent_resource(self):
        parent = self.stacks[0]
        flat = self.heat(self.path(parent)).json()['resources']
        deep = self.heat(self.path(parent), params={'nested_depth': 1}).json()['resources']
        self.assertEqual(4, len(flat))
        self.assertEqual(8, len(deep))
        self.assertEqual({'nested_3'}, {r['parent_resource'] for r in deep
                                        if 'parent_resource' in r})

    def test_with_detail_adds_description_and_attributes(self):
        body = self.heat(self.path(self.stacks[1]), params={'with_detail': 'true'}).json()
        self.assertIn('attributes', body['resources'][0])
        self.assertIn('description', body['resources'][0])

    def test_filters_by_type(self):
        body = self.heat(self.path(self.stacks[1]),
                         params={'type': 'OS::Neutron::Port'}).json()
        self.assertEqual(['port_1'], [r['resource_name'] for r in body['resources']])

    def test_unknown_parameter_is_400(self):
        resp = self.heat(self.path(self.stacks[1]), params={'colour': 'red'})
        self.assertEqual(400, resp.status_code)
        self.assertIn("Invalid filter parameters ['colour']", resp.json()['error']['message'])

    def test_resources_by_id_redirect(self):
        stack = self.stacks[1]
        resp = self.heat(f'/stacks/{stack.id}/resources', params={'nested_depth': 2})
        self.assertEqual(302, resp.status_code)
        self.assertEqual(f'{self.cloud.heat_endpoint()}{self.path(stack)}?nested_depth=2',
                         resp.headers['Location'])

    def test_events_path_redirects(self):
        stack = self.stacks[1]
        resp = self.heat(f'/stacks/{stack.id}/events')
        self.assertEqual(302, resp.status_code)
        self.assertTrue(resp.headers['Location'].endswith(f'{stack.id}/events'))

    def test_failed_stack_has_a_failed_first_resource(self):
        stack = self.cloud.heat.fail(self.stacks[2].id, 'Resource CREATE failed: quota',
                                     notify=False)
        resources = self.heat(self.path(stack)).json()['resources']
        self.assertEqual('CREATE_FAILED', resources[0]['resource_status'])
        self.assertEqual('Resource CREATE failed: quota',
                         resources[0]['resource_status_reason'])
        self.assertEqual('CREATE_COMPLETE', resources[1]['resource_status'])

    def test_show_one_resource(self):
        stack = self.stacks[1]
        resp = self.heat(f'{self.path(stack)}/port_1')
        self.assertEqual('OS::Neutron::Port', resp.json()['resource']['resource_type'])

    def test_show_unknown_resource_is_404(self):
        resp = self.heat(f'{self.path(self.stacks[1])}/nope')
        self.assertEqual(404, resp.status_code)
        self.assertEqual('ResourceNotFound', resp.json()['error']['type'])


class TestDeterminism(testtools.TestCase):

    def listing(self, seed):
        with EmulatedCloud(seed=seed) as cloud:
            cloud.populate(stacks=15, resources_per_stack=3, alarms=10, projects=2, nested=2)
            token = cloud.issue_token()
            stacks = requests.get(f'{cloud.heat_endpoint()}/stacks',
                                  params={'show_nested': 'true'},
                                  headers={'X-Auth-Token': token}).json()['stacks']
            stack = stacks[0]
            resources = requests.get(f'{stack["links"][0]["href"]}/resources',
                                     headers={'X-Auth-Token': token}).json()
            alarms = requests.get(f'{cloud.aodh_endpoint}/v2/alarms', params=[
                ('q.field', 'all_projects'), ('q.op', 'eq'), ('q.value', 'true')],
                headers={'X-Auth-Token': token}).json()
            strip = cloud.base_url
        return json.loads(json.dumps([stacks, resources, alarms]).replace(strip, ''))

    def test_same_seed_same_content(self):
        self.assertEqual(self.listing(11), self.listing(11))

    def test_other_seed_other_ids(self):
        first, second = self.listing(11)[0], self.listing(12)[0]
        self.assertNotEqual([s['id'] for s in first], [s['id'] for s in second])
        self.assertEqual([s['stack_name'] for s in first if not s['parent']],
                         [s['stack_name'] for s in second if not s['parent']])


class TestStackChanges(HeatTestCase):

    def test_create_in_progress_then_complete(self):
        stack = self.cloud.heat.create_stack('web', complete=False, notify=False)
        listed = self.heat('/stacks', params={'name': 'web'}).json()['stacks'][0]
        self.assertEqual('CREATE_IN_PROGRESS', listed['stack_status'])
        self.cloud.heat.complete(stack.id, notify=False)
        listed = self.heat('/stacks', params={'name': 'web'}).json()['stacks'][0]
        self.assertEqual('CREATE_COMPLETE', listed['stack_status'])

    def test_update_sets_updated_time(self):
        self.cloud.heat.update_stack(self.stacks[0].id, description='new', notify=False)
        item = self.heat('/stacks', params={'name': 'stack-00001'}).json()['stacks'][0]
        self.assertEqual('UPDATE_COMPLETE', item['stack_status'])
        self.assertIsNotNone(item['updated_time'])

    def test_nested_child_created_at_runtime(self):
        parent = self.stacks[4]
        child = self.cloud.heat.create_stack('', parent=parent.id, parent_resource='db',
                                             notify=False)
        self.assertTrue(child.name.startswith(f'{parent.name}-db-'))
        resources = self.heat(f'/stacks/{parent.name}/{parent.id}/resources').json()
        db = next(r for r in resources['resources'] if r['resource_name'] == 'db')
        self.assertEqual(child.id, db['physical_resource_id'])

    def test_delete_removes_children_first(self):
        parent = self.stacks[0]
        child = self.cloud.heat.children(parent.id)[0]
        self.cloud.heat.delete_stack(parent.id, notify=False)
        self.assertTrue(child.is_deleted)

"""The emulated Heat's extra routes: templates, outputs, events, snapshots,
metadata and attributes, resource types, software configs and deployments."""

from __future__ import annotations

from tests.unit.testing.base import CloudTestCase
from vitrage_ds_testing import EmulatedCloud
from vitrage_ds_testing.cloud import ROUTES
from vitrage_ds_testing.cloud.heat_extra import extras_of, nested_tree
from vitrage_ds_testing.cloud.heat_extra_api import EXTRA_ROUTES

EVENT_KEYS = ['id', 'links', 'event_time', 'logical_resource_id', 'resource_name',
              'physical_resource_id', 'resource_status', 'resource_status_reason']


class ExtraTestCase(CloudTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.stacks = self.cloud.heat.populate(12, 10)
        self.extras = extras_of(self.cloud.heat)
        self.stack = self.stacks[0]

    def path(self, stack=None, rest: str = '') -> str:
        stack = stack or self.stack
        return f'/stacks/{stack.name}/{stack.id}{rest}'

    def get(self, path: str, **kwargs):
        resp = self.heat(path, **kwargs)
        self.assertEqual(200, resp.status_code, resp.text)
        return resp.json()

    def send(self, method: str, path: str, body=None):
        return self.http.request(method, f'{self.cloud.heat_endpoint()}{path}', json=body)


class TestSeededContent(ExtraTestCase):

    def test_the_same_seed_gives_the_same_answers(self) -> None:
        def answers(cloud: EmulatedCloud) -> list[object]:
            stack = cloud.heat.populate(12, 10)[0]
            extras = extras_of(cloud.heat)
            return [extras.template(stack), extras.outputs(stack),
                    [e.id for e in extras.events(stack)],
                    [s.id for s in extras.snapshots(cloud.heat.get(stack.id))],
                    [(c.id, c.name) for c in extras.configs()],
                    [(d.id, d.output_values) for d in extras.deployments()]]
        with EmulatedCloud(seed=11) as one, EmulatedCloud(seed=11) as two, \
                EmulatedCloud(seed=12) as other:
            self.assertEqual(answers(one), answers(two))
            self.assertNotEqual(answers(one), answers(other))

    def test_some_stacks_have_a_snapshot_and_a_deployment(self) -> None:
        snapshots = [s for stack in self.stacks for s in self.extras.snapshots(stack)]
        self.assertTrue(0 < len(snapshots) < len(self.stacks), len(snapshots))
        deployments = self.extras.deployments()
        self.assertTrue(0 < len(deployments) < len(self.stacks), len(deployments))

    def test_a_seeded_deployment_targets_its_stack_s_server(self) -> None:
        deployment = self.extras.deployments()[0]
        stack = self.cloud.heat.get(deployment.stack_id)
        server = self.cloud.heat.resources(stack)[0]
        self.assertEqual(('OS::Nova::Server', server.physical_id),
                         (server.type, deployment.server_id))

    def test_a_deleted_stack_s_software_is_gone(self) -> None:
        deployment = self.extras.deployments()[0]
        self.cloud.heat.delete_stack(deployment.stack_id, notify=False)
        self.assertNotIn(deployment.id, [d.id for d in self.extras.deployments()])


class TestResourceTypes(ExtraTestCase):

    def test_lists_heat_s_types_sorted(self) -> None:
        types = self.get('/resource_types')['resource_types']
        self.assertEqual(sorted(types), types)
        self.assertLessEqual({'OS::Heat::None', 'OS::Heat::Stack', 'OS::Nova::Server',
                              'OS::Heat::SoftwareDeployment'}, set(types))

    def test_name_is_a_regular_expression_from_the_start(self) -> None:
        types = self.get('/resource_types', params={'name': 'OS::Heat::Random'})
        self.assertEqual(['OS::Heat::RandomString'], types['resource_types'])

    def test_with_description_lists_objects(self) -> None:
        types = self.get('/resource_types', params={'name': 'OS::Heat::None$',
                                                    'with_description': 'true'})
        self.assertEqual(['OS::Heat::None'],
                         [t['resource_type'] for t in types['resource_types']])

    def test_an_unknown_support_status_is_400(self) -> None:
        self.assertEqual(400, self.heat('/resource_types',
                                        params={'support_status': 'NOPE'}).status_code)


class TestTemplatesAndOutputs(ExtraTestCase):

    def test_template_lists_each_resource_and_the_outputs(self) -> None:
        template = self.get(self.path(rest='/template'))
        self.assertEqual('2018-08-31', template['heat_template_version'])
        self.assertEqual('Emulated stack 1', template['description'])
        self.assertEqual([r.name for r in self.cloud.heat.resources(self.stack)],
                         list(template['resources']))
        self.assertEqual({'type': 'OS::Heat::RandomString', 'properties': {'length': 16}},
                         template['resources']['password_8'])
        self.assertEqual({'get_resource': 'server_0'},
                         template['outputs']['server_0_id']['value'])

    def test_a_nested_stack_is_a_template_resource_of_its_parent(self) -> None:
        # As real Heat 27: OS::Heat::Stack would be a remote stack, with no parent.
        root, child = nested_tree(self.cloud.heat, 'tree', depth=1)
        parent = self.get(self.path(root, '/template'))
        self.assertEqual({'type': 'level_1.yaml'}, parent['resources']['level_1'])
        (owner,) = [r for r in self.get(self.path(root, '/resources'))['resources']
                    if r['resource_name'] == 'level_1']
        self.assertEqual(('level_1.yaml', child.id, 'nested'),
                         (owner['resource_type'], owner['physical_resource_id'],
                          owner['links'][2]['rel']))
        self.assertEqual((root.id, 'level_1'), (child.parent, child.parent_resource))
        self.assertEqual(self.extras.template(child), self.get(self.path(child, '/template')))

    def test_a_set_template_is_answered(self) -> None:
        self.extras.set_template(self.stack.id, {'heat_template_version': '2021-04-16'})
        self.assertEqual({'heat_template_version': '2021-04-16'},
                         self.get(self.path(rest='/template')))

    def test_outputs_list_has_no_values_and_show_resolves_one(self) -> None:
        listed = self.get(self.path(rest='/outputs'))['outputs']
        self.assertEqual([{'output_key': 'server_0_id', 'description': 'The id of server_0'},
                          {'output_key': 'port_1_id', 'description': 'The id of port_1'},
                          {'output_key': 'password_8_value',
                           'description': 'The value of password_8'}], listed)
        shown = self.get(self.path(rest='/outputs/server_0_id'))['output']
        self.assertEqual(self.cloud.heat.resources(self.stack)[0].physical_id,
                         shown['output_value'])

    def test_the_stack_s_show_resolves_every_output(self) -> None:
        outputs = self.get(self.path())['stack']['outputs']
        password = self.get(self.path(rest='/resources/password_8'))['resource']
        self.assertEqual(password['attributes']['value'],
                         {o['output_key']: o['output_value'] for o in outputs}[
                             'password_8_value'])

    def test_set_outputs_are_answered(self) -> None:
        self.extras.set_outputs(self.stack.id, {'ip': '10.0.0.4'}, {'ip': 'The address'})
        self.assertEqual({'output': {'output_key': 'ip', 'description': 'The address',
                                     'output_value': '10.0.0.4'}},
                         self.get(self.path(rest='/outputs/ip')))

    def test_an_unknown_output_is_404(self) -> None:
        resp = self.heat(self.path(rest='/outputs/nope'))
        self.assertEqual((404, 'NotFound'), (resp.status_code, resp.json()['error']['type']))

    def test_a_deleted_stack_has_no_outputs(self) -> None:
        self.cloud.heat.delete_stack(self.stack.id, notify=False)
        self.assertEqual(404, self.heat(self.path(rest='/outputs')).status_code)
        self.assertEqual(200, self.heat(self.path(rest='/template')).status_code)

    def test_the_short_path_redirects_to_the_full_one(self) -> None:
        resp = self.heat(f'/stacks/{self.stack.name}/template')
        self.assertEqual(302, resp.status_code)
        self.assertTrue(resp.headers['Location'].endswith(self.path(rest='/template')))


class TestResourceMetadataAndAttributes(ExtraTestCase):

    def test_a_server_has_a_role_in_its_metadata(self) -> None:
        metadata = self.get(self.path(rest='/resources/server_0/metadata'))['metadata']
        self.assertIn(metadata['role'], ('web', 'db', 'cache'))

    def test_other_resources_have_none(self) -> None:
        self.assertEqual({'metadata': {}}, self.get(self.path(rest='/resources/net_2/metadata')))

    def test_set_metadata_is_answered(self) -> None:
        self.extras.set_metadata(self.stack.id, 'net_2', {'k': ['v']})
        self.assertEqual({'metadata': {'k': ['v']}},
                         self.get(self.path(rest='/resources/net_2/metadata')))

    def test_an_unknown_resource_s_metadata_is_404(self) -> None:
        resp = self.heat(self.path(rest='/resources/nope/metadata'))
        self.assertEqual((404, 'ResourceNotFound'),
                         (resp.status_code, resp.json()['error']['type']))

    def test_detailed_listing_carries_each_resource_s_attributes(self) -> None:
        resources = self.get(self.path(rest='/resources'),
                             params={'with_detail': 'true'})['resources']
        by_name = {r['resource_name']: r['attributes'] for r in resources}
        self.assertEqual(16, len(by_name['password_8']['value']))
        self.assertEqual(f'{self.stack.name}-server_0', by_name['server_0']['name'])
        self.assertEqual({}, by_name['net_2'])

    def test_the_plain_listing_has_no_attributes(self) -> None:
        resources = self.get(self.path(rest='/resources'))['resources']
        self.assertNotIn('attributes', resources[0])

    def test_set_attributes_are_answered_by_the_resource_s_show(self) -> None:
        self.extras.set_attributes(self.stack.id, 'net_2', {'mtu': 1450})
        self.assertEqual({'mtu': 1450}, self.get(self.path(rest='/resources/net_2'))[
            'resource']['attributes'])


class TestEvents(ExtraTestCase):

    def test_a_created_stack_s_events_newest_first(self) -> None:
        events = self.get(self.path(rest='/events'))['events']
        self.assertEqual(2 + 2 * 10, len(events))
        self.assertEqual(EVENT_KEYS, list(events[0]))
        self.assertEqual((self.stack.name, 'CREATE_COMPLETE', self.stack.id),
                         (events[0]['resource_name'], events[0]['resource_status'],
                          events[0]['physical_resource_id']))
        self.assertEqual((self.stack.name, 'CREATE_IN_PROGRESS', 'Stack CREATE started'),
                         (events[-1]['resource_name'], events[-1]['resource_status'],
                          events[-1]['resource_status_reason']))

    def test_the_latest_action_follows_the_create(self) -> None:
        self.cloud.heat.update_stack(self.stack.id, notify=False)
        events = self.get(self.path(rest='/events'))['events']
        self.assertEqual(['UPDATE_COMPLETE', 'UPDATE_IN_PROGRESS', 'CREATE_COMPLETE',
                          'CREATE_IN_PROGRESS'],
                         [e['resource_status'] for e in events
                          if e['resource_name'] == self.stack.name])
        self.assertEqual('UPDATE_COMPLETE', events[0]['resource_status'])

    def test_pages_by_limit_and_marker(self) -> None:
        every = [e['id'] for e in self.get(self.path(rest='/events'))['events']]
        first = self.get(self.path(rest='/events'), params={'limit': 5})['events']
        rest = self.get(self.path(rest='/events'),
                        params={'marker': first[-1]['id']})['events']
        self.assertEqual(every, [e['id'] for e in first + rest])

    def test_filters_by_resource_status(self) -> None:
        events = self.get(self.path(rest='/events'),
                          params={'resource_status': 'IN_PROGRESS'})['events']
        self.assertEqual({'CREATE_IN_PROGRESS'}, {e['resource_status'] for e in events})
        self.assertEqual(11, len(events))

    def test_a_resource_s_events_and_one_event_in_detail(self) -> None:
        events = self.get(self.path(rest='/resources/server_0/events'))['events']
        self.assertEqual({'server_0'}, {e['resource_name'] for e in events})
        shown = self.get(self.path(rest=f'/resources/server_0/events/{events[0]["id"]}'))
        self.assertEqual('OS::Nova::Server', shown['event']['resource_type'])
        self.assertEqual(events[0]['links'][0]['href'], shown['event']['links'][0]['href'])

    def test_a_resource_without_events_is_404(self) -> None:
        self.assertEqual(404, self.heat(self.path(rest='/resources/nope/events')).status_code)

    def test_nested_depth_adds_the_nested_stacks_events_with_a_root_link(self) -> None:
        root, child = nested_tree(self.cloud.heat, 'tree', depth=1, resources=1,
                                  leaf_resources=1)
        events = self.get(self.path(root, '/events'), params={'nested_depth': 1})['events']
        self.assertIn(child.name, {e['resource_name'] for e in events})
        self.assertEqual({'root_stack'}, {e['links'][-1]['rel'] for e in events})


class TestSnapshots(ExtraTestCase):

    def test_create_answers_in_progress_and_the_stack_becomes_snapshot_complete(self) -> None:
        resp = self.send('POST', self.path(rest='/snapshots'), {'name': 'before'})
        self.assertEqual(200, resp.status_code, resp.text)
        body = resp.json()
        self.assertEqual(('before', 'CREATE', 'IN_PROGRESS'),
                         (body['name'], body['action'], body['status']))
        self.assertEqual('SNAPSHOT_COMPLETE', self.cloud.heat.get(self.stack.id).stack_status)
        listed = self.get(self.path(rest='/snapshots'))['snapshots']
        self.assertEqual(('COMPLETE', 'Stack SNAPSHOT completed successfully'),
                         (listed[-1]['status'], listed[-1]['status_reason']))
        self.assertEqual(['orchestration.stack.snapshot.start',
                          'orchestration.stack.snapshot.end'],
                         [n.event_type for n in self.cloud.notifications.sent])

    def test_data_holds_the_template_and_the_resources(self) -> None:
        snapshot = self.send('POST', self.path(rest='/snapshots'), {}).json()
        shown = self.get(self.path(rest=f'/snapshots/{snapshot["id"]}'))['snapshot']
        self.assertEqual(self.get(self.path(rest='/template')), shown['data']['template'])
        self.assertEqual(10, len(shown['data']['resources']))

    def test_delete(self) -> None:
        snapshot = self.send('POST', self.path(rest='/snapshots'), {}).json()
        self.assertEqual(204, self.send(
            'DELETE', self.path(rest=f'/snapshots/{snapshot["id"]}')).status_code)
        self.assertEqual(404, self.heat(self.path(rest=f'/snapshots/{snapshot["id"]}'))
                         .status_code)

    def test_a_stack_in_progress_cannot_be_snapshot(self) -> None:
        self.cloud.heat.begin(self.stack.id, 'UPDATE', notify=False)
        resp = self.send('POST', self.path(rest='/snapshots'), {})
        self.assertEqual((409, 'ActionInProgress'),
                         (resp.status_code, resp.json()['error']['type']))


class TestSoftware(ExtraTestCase):

    def test_configs_are_listed_newest_first_without_their_body(self) -> None:
        configs = self.get('/software_configs')['software_configs']
        self.assertEqual(['id', 'name', 'group', 'creation_time', 'project'], list(configs[0]))
        times = [c['creation_time'] for c in configs]
        self.assertEqual(sorted(times, reverse=True), times)

    def test_configs_page_by_limit_and_marker(self) -> None:
        every = [c['id'] for c in self.get('/software_configs')['software_configs']]
        first = self.get('/software_configs', params={'limit': 1})['software_configs']
        rest = self.get('/software_configs',
                        params={'marker': first[0]['id']})['software_configs']
        self.assertEqual(every, [c['id'] for c in first + rest])

    def test_create_and_show_a_config_with_heat_s_io_defaults(self) -> None:
        resp = self.send('POST', '/software_configs', {
            'name': 'cfg', 'group': 'script', 'config': 'echo hi', 'inputs': [{'name': 'foo'}],
            'outputs': [{'name': 'result'}], 'options': {'a': 1}})
        created = resp.json()['software_config']
        shown = self.get(f'/software_configs/{created["id"]}')['software_config']
        self.assertEqual(created, shown)
        self.assertEqual(([{'name': 'foo', 'type': 'String'}],
                          [{'name': 'result', 'type': 'String', 'error_output': False}]),
                         (shown['inputs'], shown['outputs']))

    def test_a_config_io_without_a_name_is_400(self) -> None:
        self.assertEqual(400, self.send('POST', '/software_configs',
                                        {'inputs': [{'type': 'String'}]}).status_code)

    def test_a_deployment_s_life_create_then_signal_outputs(self) -> None:
        config = self.send('POST', '/software_configs', {'name': 'cfg'}).json()
        created = self.send('POST', '/software_deployments', {
            'config_id': config['software_config']['id'], 'server_id': 'srv-1',
            'action': 'CREATE', 'status': 'IN_PROGRESS',
            'input_values': {'foo': 'bar'}}).json()['software_deployment']
        self.assertNotIn('updated_time', created)
        updated = self.send('PUT', f'/software_deployments/{created["id"]}', {
            'output_values': {'result': 'ok'}, 'status': 'COMPLETE',
            'status_reason': 'Outputs received'}).json()['software_deployment']
        self.assertEqual(({'result': 'ok'}, 'COMPLETE', {'foo': 'bar'}),
                         (updated['output_values'], updated['status'],
                          updated['input_values']))
        listed = self.get('/software_deployments', params={'server_id': 'srv-1'})
        self.assertEqual([updated], listed['software_deployments'])

    def test_a_deployment_of_an_unknown_config_is_404(self) -> None:
        resp = self.send('POST', '/software_deployments', {'config_id': 'nope',
                                                           'server_id': 's'})
        self.assertEqual(404, resp.status_code)

    def test_a_member_sees_only_its_project_s_software(self) -> None:
        demo = self.as_user('demo')
        url = f'{self.cloud.heat_endpoint(self.cloud.demo_project_id)}/software_configs'
        self.assertEqual(200, demo.post(url, json={'name': 'mine'}).status_code)
        configs = demo.get(url).json()['software_configs']
        self.assertEqual([['id', 'name', 'group', 'creation_time']], [list(c) for c in configs])
        theirs = self.extras.configs()[-1]
        self.assertEqual(404, demo.get(f'{url}/{theirs.id}').status_code)


class TestRouteNames(ExtraTestCase):

    def test_every_extra_route_is_served_and_logged_by_name(self) -> None:
        served = {route.name for service in self.cloud.server.services
                  for route in service.routes}
        self.assertLessEqual(set(EXTRA_ROUTES), served)
        self.cloud.requests.clear()
        self.heat(self.path(rest='/events'))
        self.assertEqual(['heat.events.list'], [r.route for r in self.cloud.requests])

    def test_routes_lists_every_served_route_by_service(self) -> None:
        served = {service.name: sorted({route.name for route in service.routes})
                  for service in self.cloud.server.services}
        self.assertEqual({name: sorted(routes) for name, routes in ROUTES.items()}, served)
        self.assertLessEqual(set(EXTRA_ROUTES), set(ROUTES['orchestration']))

    def test_faults_apply_to_extra_routes(self) -> None:
        self.cloud.fail('heat.snapshots.list', 503, times=1)
        self.assertEqual(503, self.heat(self.path(rest='/snapshots')).status_code)
        self.assertEqual(200, self.heat(self.path(rest='/snapshots')).status_code)

"""Real Heat 27: stack life cycle through vitrage_ds's client, and its notifications."""

from __future__ import annotations

import json

from tests.integration import base
from vitrage_ds.errors import APIError

#: One resource: Heat 27's engine takes about a second per extra resource.
ONE = base.template({'test': {'type': 'OS::Heat::TestResource', 'properties': {'value': 'v1'}}})
CHILD = base.template({'leaf': {'type': 'OS::Heat::None'}},
                      outputs={'name': {'value': {'get_param': 'OS::stack_name'}}})


class StackLifeCycleTest(base.RealServicesTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.project = self.new_project()
        self.client = self.heat(self.project)
        self.log = self.bus(self.coords.heat_exchange)

    def test_create_completes_with_its_three_resources(self) -> None:
        stack_id = self.create_stack(self.client, 'three', base.THREE)
        stack = self.wait_stack(self.client, 'three', stack_id, 'CREATE_COMPLETE')
        resources = self.client.get(f'stacks/three/{stack_id}/resources')['resources']
        self.assertEqual(
            {('none', 'OS::Heat::None'), ('random', 'OS::Heat::RandomString'),
             ('test', 'OS::Heat::TestResource')},
            {(r['resource_name'], r['resource_type']) for r in resources})
        self.assertEqual({'CREATE_COMPLETE'}, {r['resource_status'] for r in resources})
        self.assertEqual('vds-user', stack['stack_owner'])

    def test_create_sends_start_then_end_with_the_stack_s_project(self) -> None:
        stack_id = self.create_stack(self.client, 'noted', ONE)
        start = self.stack_note(self.log, stack_id, 'orchestration.stack.create.start')
        end = self.stack_note(self.log, stack_id, 'orchestration.stack.create.end')
        self.assertEqual(('info', 'info'), (start.priority, end.priority))
        self.assertEqual(('CREATE_IN_PROGRESS', 'CREATE_COMPLETE'),
                         (start.payload['state'], end.payload['state']))
        self.assertEqual(self.project, end.payload['tenant_id'])
        self.assertEqual('noted', end.payload['stack_name'])
        self.assertTrue(end.publisher_id.startswith('orchestration.'), end.publisher_id)

    def test_failing_resource_fails_the_stack_with_an_error_notification(self) -> None:
        stack_id = self.create_stack(self.client, 'failing', base.FAILING)
        stack = self.wait_stack(self.client, 'failing', stack_id, 'CREATE_FAILED')
        self.assertIn('boom', stack['stack_status_reason'])
        error = self.stack_note(self.log, stack_id, 'orchestration.stack.create.error')
        self.assertEqual('error', error.priority)
        self.assertEqual('CREATE_FAILED', error.payload['state'])

    def test_template_resource_creates_a_nested_stack_with_the_parent_s_id(self) -> None:
        parent = base.template({'child': {'type': 'child.yaml'}})
        stack_id = self.create_stack(self.client, 'parent', parent,
                                     files={'child.yaml': json.dumps(CHILD)})
        self.wait_stack(self.client, 'parent', stack_id, 'CREATE_COMPLETE')
        stacks = self.client.get('stacks', params={'show_nested': 'true'})['stacks']
        nested = [s for s in stacks if s['parent'] == stack_id]
        self.assertEqual(1, len(nested), stacks)
        self.assertTrue(nested[0]['stack_name'].startswith('parent-child-'),
                        nested[0]['stack_name'])
        deep = self.client.get(f'stacks/parent/{stack_id}/resources',
                               params={'nested_depth': 1})['resources']
        self.assertEqual({'child', 'leaf'}, {r['resource_name'] for r in deep})
        self.stack_note(self.log, nested[0]['id'], 'orchestration.stack.create.end')

    def test_update_changes_the_template_and_sets_updated_time(self) -> None:
        stack_id = self.create_stack(self.client, 'updated', ONE)
        self.wait_stack(self.client, 'updated', stack_id, 'CREATE_COMPLETE')
        resp = self.client.request('PUT', f'stacks/updated/{stack_id}',
                                   json={'template': base.UPDATED})  # in place
        self.assertEqual(202, resp.status_code)
        stack = self.wait_stack(self.client, 'updated', stack_id, 'UPDATE_COMPLETE')
        self.assertIsNotNone(stack['updated_time'])
        resource = self.client.get(f'stacks/updated/{stack_id}/resources/test')['resource']
        self.assertEqual('UPDATE_COMPLETE', resource['resource_status'])
        end = self.stack_note(self.log, stack_id, 'orchestration.stack.update.end')
        self.assertEqual('UPDATE_COMPLETE', end.payload['state'])

    def test_suspend_then_resume(self) -> None:
        stack_id = self.create_stack(self.client, 'paused', ONE)
        self.wait_stack(self.client, 'paused', stack_id, 'CREATE_COMPLETE')
        self.client.post(f'stacks/paused/{stack_id}/actions', json={'suspend': None})
        self.wait_stack(self.client, 'paused', stack_id, 'SUSPEND_COMPLETE')
        self.stack_note(self.log, stack_id, 'orchestration.stack.suspend.end')
        self.client.post(f'stacks/paused/{stack_id}/actions', json={'resume': None})
        self.wait_stack(self.client, 'paused', stack_id, 'RESUME_COMPLETE')
        self.stack_note(self.log, stack_id, 'orchestration.stack.resume.end')

    def test_check_completes(self) -> None:
        stack_id = self.create_stack(self.client, 'checked', ONE)
        self.wait_stack(self.client, 'checked', stack_id, 'CREATE_COMPLETE')
        self.client.post(f'stacks/checked/{stack_id}/actions', json={'check': None})
        self.wait_stack(self.client, 'checked', stack_id, 'CHECK_COMPLETE')
        end = self.stack_note(self.log, stack_id, 'orchestration.stack.check.end')
        self.assertEqual('CHECK_COMPLETE', end.payload['state'])

    def test_delete_hides_the_stack_unless_show_deleted(self) -> None:
        stack_id = self.create_stack(self.client, 'gone', ONE)
        self.wait_stack(self.client, 'gone', stack_id, 'CREATE_COMPLETE')
        self.client.delete(f'stacks/gone/{stack_id}')
        self.stack_note(self.log, stack_id, 'orchestration.stack.delete.end')
        # delete.end is sent just before the stack is marked deleted.
        base.wait_until(lambda: stack_id not in [s['id'] for s in
                                                 self.client.get('stacks')['stacks']],
                        'the deleted stack to leave the listing')
        deleted = self.client.get('stacks', params={'show_deleted': 'true'})['stacks']
        self.assertEqual([(stack_id, 'DELETE_COMPLETE')],
                         [(s['id'], s['stack_status']) for s in deleted if s['id'] == stack_id])

    def test_resources_by_id_alone_redirect_to_the_name_and_id_path(self) -> None:
        stack_id = self.create_stack(self.client, 'moved', ONE)
        resp = self.client.request('GET', f'stacks/{stack_id}/resources')
        self.assertEqual(302, resp.status_code)
        self.assertEqual(self.client.url(f'stacks/moved/{stack_id}/resources'),
                         resp.headers['Location'])

    def test_unknown_stack_answers_404(self) -> None:
        error = self.assertRaises(APIError, self.client.get, 'stacks/nothing/nope')
        self.assertEqual(404, error.status)


class GlobalListingTest(base.RealServicesTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.projects = [self.new_project(), self.new_project()]
        self.ids = {}
        for project in self.projects:
            client = self.heat(project)
            self.ids[project] = self.create_stack(client, 'mine', ONE)

    def test_default_policy_refuses_global_index_even_to_admin(self) -> None:
        client = self.heat(self.projects[0])
        error = self.assertRaises(APIError, client.get, 'stacks',
                                  params={'global_tenant': 'true'})
        self.assertEqual(403, error.status)
        self.assertIn('stacks:global_index', error.detail)

    def test_allowed_global_index_lists_every_project_with_its_owner(self) -> None:
        client = self.heat(self.projects[0], global_policy=True)
        stacks = client.get('stacks', params={'global_tenant': 'true'})['stacks']
        ours = {s['id']: s['project'] for s in stacks if s['project'] in self.projects}
        self.assertEqual({v: k for k, v in self.ids.items()}, ours)

    def test_an_admin_s_plain_listing_already_spans_every_project(self) -> None:
        # Heat filters by project only when the caller is not admin (Heat's
        # noauth identity always is, as a cloud's service user usually is),
        # and names each stack's project only for admins.
        client = self.heat(self.projects[1])
        stacks = client.get('stacks')['stacks']
        ours = {s['id']: s['project'] for s in stacks if s['project'] in self.projects}
        self.assertEqual({v: k for k, v in self.ids.items()}, ours)

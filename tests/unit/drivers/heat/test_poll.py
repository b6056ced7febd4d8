"""HeatStackDriver.get_all: the exact calls of a poll and the events it gives."""

from __future__ import annotations

from typing import Any

from vitrage_ds import Action, APIError, BackendError, MalformedResponse, PluginLoadError
from vitrage_ds.drivers.heat.driver import NOTIFICATION_LEAD
from vitrage_ds.event import DELETE_ENTITY, Phase
from vitrage_ds.event import parse_time as seconds

from tests.unit.drivers.heat.heat_api import (CREATED, OTHER_PROJECT, PROJECT,
                                              HeatTestCase, resource_item,
                                              stack_item)

WEB = '11111111-1111-4111-8111-111111111111'
DB = '22222222-2222-4222-8222-222222222222'
GONE = '33333333-3333-4333-8333-333333333333'
CHILD = '44444444-4444-4444-8444-444444444444'

P = f'/v1/{PROJECT}'


def listing(**extra: str) -> dict[str, list[str]]:
    query = {'global_tenant': ['true'], 'show_hidden': ['true'], 'show_nested': ['true'],
             'limit': ['2']}
    query.update({k: [v] for k, v in extra.items()})
    return query


def depth(value: int = 0) -> dict[str, list[str]]:
    return {'nested_depth': [str(value)]}


class TestPollCalls(HeatTestCase):
    """The HTTP calls of one poll, exactly."""

    def setUp(self) -> None:
        super().setUp()
        self.web = stack_item(WEB, 'web')
        self.db = stack_item(DB, 'db', project=OTHER_PROJECT)
        self.gone = stack_item(GONE, 'gone', status='DELETE_IN_PROGRESS')
        self.list_stacks([[self.web, self.db], [self.gone]], limit=2)
        self.serve_resources(self.web, [
            resource_item(WEB, 'web', 'server', resource_type='OS::Nova::Server',
                          required_by=['port']),
            resource_item(WEB, 'web', 'port', resource_type='OS::Neutron::Port')])
        self.serve_resources(self.db, [
            resource_item(DB, 'db', 'vol', project=OTHER_PROJECT,
                          resource_type='OS::Cinder::Volume')])

    def test_lists_every_page_and_makes_one_resources_call_per_live_stack(self) -> None:
        self.driver(page_size=2).get_all()

        # The resources calls of a page's stacks overlap the next page's call.
        calls = self.calls()
        self.assertEqual([('GET', f'{P}/stacks', listing()),
                          ('GET', f'{P}/stacks', listing(marker=DB))],
                         [call for call in calls if call[1] == f'{P}/stacks'])
        self.assertCountEqual([('GET', f'{P}/stacks/web/{WEB}/resources', depth()),
                               ('GET', f'{P}/stacks/db/{DB}/resources', depth())],
                              [call for call in calls if call[1] != f'{P}/stacks'])

    def test_makes_live_stacks_plus_pages_requests(self) -> None:
        self.driver(page_size=2).get_all()

        self.assertEqual(2 + 2, len(self.http.request_history))

    def test_without_page_size_asks_for_one_page(self) -> None:
        self.driver(page_size=0).get_all()

        self.assertEqual(('GET', f'{P}/stacks',
                          {'global_tenant': ['true'], 'show_hidden': ['true'],
                           'show_nested': ['true']}),
                         self.calls()[0])

    def test_all_projects_false_lists_the_own_project_only(self) -> None:
        events = self.driver(page_size=2, all_projects=False).get_all()

        self.assertEqual(('GET', f'{P}/stacks', {'show_hidden': ['true'], 'show_nested': ['true'],
                                                 'limit': ['2']}),
                         self.calls()[0])
        self.assertNotIn('global_tenant', str(self.calls()))
        self.assertEqual({'project'}, {e.fields['scope'] for e in events})

    def test_show_nested_false_passes_nested_depth_to_each_resources_call(self) -> None:
        self.driver(page_size=2, show_nested=False, nested_depth=3).get_all()

        calls = self.calls()
        self.assertEqual(('GET', f'{P}/stacks', {'global_tenant': ['true'],
                                                 'show_hidden': ['true'], 'limit': ['2']}),
                         calls[0])
        self.assertEqual([depth(3)] * 2, [query for _m, path, query in calls
                                          if path != f'{P}/stacks'])


class TestPollEvents(HeatTestCase):
    """What one poll says about stacks and resources."""

    def poll(self, *stacks: dict[str, Any], **options: Any) -> dict[tuple[str, str], Any]:
        self.list_stacks([list(stacks)])
        return self.by_key(self.driver(**options).get_all())

    def test_a_stack_has_the_blueprint_fields_and_its_own(self) -> None:
        web = stack_item(WEB, 'web', tags=['prod', 'web'], updated='2024-05-01T11:00:00Z')
        self.serve_resources(web, [])

        event = self.poll(web)[('heat.stack', WEB)]

        self.assertEqual({
            'stack_id': WEB,
            'name': 'web',
            'description': None,
            'user_project_id': PROJECT,
            'owner': None,
            'owner_name': 'alice',
            'status': 'CREATE_COMPLETE',
            'status_reason': 'Stack CREATE completed successfully',
            'parent': None,
            'creation_time': CREATED,
            'updated_time': '2024-05-01T11:00:00Z',
            'tags': ['prod', 'web'],
            'scope': 'all_projects',
        }, dict(event.fields))
        self.assertEqual(('heat.stack', Action.SNAPSHOT, None),
                         (event.datasource, event.action, event.event_type))

    def test_a_resource_has_its_stack_type_status_and_physical_id(self) -> None:
        web = stack_item(WEB, 'web')
        self.serve_resources(web, [resource_item(
            WEB, 'web', 'server', resource_type='OS::Nova::Server', physical='vm-1',
            required_by=['port'])])

        event = self.poll(web)[('heat.resource', f'{WEB}/server')]

        self.assertEqual({
            'resource_name': 'server',
            'physical_resource_id': 'vm-1',
            'resource_type': 'OS::Nova::Server',
            'status': 'CREATE_COMPLETE',
            'status_reason': 'state changed',
            'parent_resource': None,
            'required_by': ['port'],
            'creation_time': CREATED,
            'updated_time': '2024-05-01T10:00:05Z',
            'stack_id': WEB,
            'stack_name': 'web',
            'nested_stack_id': None,
            'parent_resource_id': None,
            'user_project_id': PROJECT,
            'scope': 'all_projects',
        }, dict(event.fields))

    def test_a_resource_not_yet_created_has_no_physical_id(self) -> None:
        web = stack_item(WEB, 'web')
        self.serve_resources(web, [resource_item(WEB, 'web', 'server', physical='',
                                                 status='INIT_COMPLETE')])

        event = self.poll(web)[('heat.resource', f'{WEB}/server')]

        self.assertIsNone(event.fields['physical_resource_id'])

    def test_a_nested_stack_is_a_stack_whose_resources_name_their_parent_resource(self) -> None:
        web = stack_item(WEB, 'web')
        child = stack_item(CHILD, 'web-tier-abc', parent=WEB)
        self.serve_resources(web, [resource_item(WEB, 'web', 'tier',
                                                 resource_type='OS::Heat::Stack',
                                                 physical=CHILD,
                                                 nested=('web-tier-abc', CHILD))])
        self.serve_resources(child, [resource_item(CHILD, 'web-tier-abc', 'leaf',
                                                   parent_resource='tier')])

        events = self.poll(web, child)

        self.assertEqual(WEB, events[('heat.stack', CHILD)].fields['parent'])
        self.assertEqual(CHILD, events[('heat.resource', f'{WEB}/tier')].fields['nested_stack_id'])
        leaf = events[('heat.resource', f'{CHILD}/leaf')].fields
        self.assertEqual(('tier', f'{WEB}/tier', CHILD),
                         (leaf['parent_resource'], leaf['parent_resource_id'], leaf['stack_id']))

    def test_with_nested_depth_nested_resources_belong_to_their_own_stack(self) -> None:
        web = stack_item(WEB, 'web')
        self.serve_resources(web, [
            resource_item(WEB, 'web', 'tier', resource_type='OS::Heat::Stack',
                          nested=('web-tier-abc', CHILD)),
            resource_item(CHILD, 'web-tier-abc', 'leaf', parent_resource='tier')])

        events = self.poll(web, show_nested=False, nested_depth=1)

        leaf = events[('heat.resource', f'{CHILD}/leaf')].fields
        self.assertEqual((CHILD, 'web-tier-abc', f'{WEB}/tier'),
                         (leaf['stack_id'], leaf['stack_name'], leaf['parent_resource_id']))

    def test_stacks_being_deleted_are_deletes_without_a_resources_call(self) -> None:
        gone = stack_item(GONE, 'gone', status='DELETE_IN_PROGRESS')
        done = stack_item(DB, 'done', status='DELETE_COMPLETE')

        events = self.poll(gone, done)

        self.assertEqual({('heat.stack', GONE), ('heat.stack', DB)}, set(events))
        self.assertTrue(all(e.event_type == DELETE_ENTITY for e in events.values()))
        self.assertEqual(1, len(self.http.request_history))

    def test_the_project_comes_from_the_link_when_heat_does_not_list_it(self) -> None:
        web = stack_item(WEB, 'web', project=OTHER_PROJECT, with_project=False)
        self.serve_resources(web, [])

        event = self.poll(web)[('heat.stack', WEB)]

        self.assertEqual(OTHER_PROJECT, event.fields['user_project_id'])

    def test_versions_order_by_heat_time_then_poll_start(self) -> None:
        fresh = stack_item(WEB, 'web', updated='2024-05-01T11:00:00Z')
        new = stack_item(DB, 'db')
        self.serve_resources(fresh, [])
        self.serve_resources(new, [])

        events = self.poll(fresh, new)

        updated, created = events[('heat.stack', WEB)], events[('heat.stack', DB)]
        self.assertEqual(seconds('2024-05-01T11:00:00Z'), updated.version.source)
        self.assertEqual(seconds(CREATED), created.version.source)
        self.assertEqual(updated.version.observed, created.version.observed)
        self.assertEqual(Phase.END, updated.version.phase)
        self.assertAlmostEqual(seconds(updated.sample_date), updated.version.observed,
                               places=5)

    def test_an_in_progress_stack_counts_as_read_the_notification_lead_earlier(
            self) -> None:
        # Heat 27 sends *.end before it stores the state a listing shows.
        busy = stack_item(WEB, 'web', status='UPDATE_IN_PROGRESS')
        done = stack_item(DB, 'db')
        self.serve_resources(busy, [])
        self.serve_resources(done, [])

        events = self.poll(busy, done)

        self.assertAlmostEqual(NOTIFICATION_LEAD,
                               events[('heat.stack', DB)].version.observed
                               - events[('heat.stack', WEB)].version.observed, places=5)

    def test_a_stack_name_is_quoted_in_the_resources_path(self) -> None:
        odd = stack_item(WEB, 'a b')
        self.http.get(f'http://heat.test:8004/v1/{PROJECT}/stacks/a%20b/{WEB}/resources',
                      json={'resources': []})

        self.poll(odd)

        self.assertEqual(f'{P}/stacks/a%20b/{WEB}/resources', self.http.request_history[1].path)


class TestPollFailures(HeatTestCase):
    """A poll that cannot see everything raises; it never returns less."""

    def test_a_failed_resources_call_fails_the_poll_naming_the_stack(self) -> None:
        web, db = stack_item(WEB, 'web'), stack_item(DB, 'db')
        self.list_stacks([[web, db]])
        self.serve_resources(web, [resource_item(WEB, 'web', 'server')])
        self.serve_resources(db, [], status_code=500)

        error = self.assertRaises(BackendError, self.driver().get_all)

        self.assertIn(f'resources of stack db ({DB}', str(error))
        self.assertIn('500', str(error))

    def test_a_missing_stack_fails_the_poll_with_a_hint(self) -> None:
        web = stack_item(WEB, 'web')
        self.list_stacks([[web]])
        self.serve_resources(web, [], status_code=404)

        error = self.assertRaises(BackendError, self.driver().get_all)

        self.assertIn("admin role", str(error))

    def test_a_failed_second_page_fails_the_poll(self) -> None:
        web, db = stack_item(WEB, 'web'), stack_item(DB, 'db')

        def answer(request: Any, context: Any) -> Any:
            if 'marker' in request.qs:
                context.status_code = 503
                return {'error': {'message': 'down'}}
            return {'stacks': [web], 'links': [
                {'rel': 'next', 'href': f'http://heat.test:8004/v1/{PROJECT}/stacks'
                                        f'?global_tenant=true&limit=1&marker={WEB}'}]}

        self.http.get(f'http://heat.test:8004/v1/{PROJECT}/stacks', json=answer)
        self.serve_resources(web, [])
        self.serve_resources(db, [])

        self.assertRaises(BackendError, self.driver(page_size=1).get_all)

    def test_a_403_on_a_later_page_is_not_taken_for_the_policy(self) -> None:
        web = stack_item(WEB, 'web')

        def answer(request: Any, context: Any) -> Any:
            if 'marker' in request.qs:
                context.status_code = 403
                return {'error': {'message': 'no'}}
            return {'stacks': [web], 'links': [
                {'rel': 'next', 'href': f'http://heat.test:8004/v1/{PROJECT}/stacks'
                                        f'?global_tenant=true&limit=1&marker={WEB}'}]}

        self.http.get(f'http://heat.test:8004/v1/{PROJECT}/stacks', json=answer)
        self.serve_resources(web, [])

        error = self.assertRaises(APIError, self.driver(page_size=1).get_all)

        self.assertEqual(403, error.status)
        listings = [query for _m, path, query in self.calls() if path == f'{P}/stacks']
        self.assertEqual([['true'], ['true']], [q.get('global_tenant') for q in listings])

    def test_a_listing_without_a_stacks_list_is_malformed(self) -> None:
        self.http.get(f'http://heat.test:8004/v1/{PROJECT}/stacks', json={'stack': []})

        self.assertRaises(MalformedResponse, self.driver().get_all)

    def test_a_stack_without_an_id_is_malformed(self) -> None:
        web = stack_item(WEB, 'web')
        del web['id']
        self.list_stacks([[web]])

        self.assertRaises(MalformedResponse, self.driver().get_all)

    def test_a_resources_body_without_a_list_is_malformed(self) -> None:
        web = stack_item(WEB, 'web')
        self.list_stacks([[web]])
        self.http.get(f'http://heat.test:8004/v1/{PROJECT}/stacks/web/{WEB}/resources',
                      json={'resources': None})

        self.assertRaises(MalformedResponse, self.driver().get_all)

    def test_a_resource_without_a_name_is_malformed(self) -> None:
        web = stack_item(WEB, 'web')
        self.list_stacks([[web]])
        nameless = resource_item(WEB, 'web', 'x')
        del nameless['resource_name'], nameless['logical_resource_id']
        self.serve_resources(web, [nameless])

        self.assertRaises(MalformedResponse, self.driver().get_all)

    def test_a_wrong_optional_value_is_logged_and_read_as_none(self) -> None:
        web = stack_item(WEB, 'web')
        web['stack_status'] = 7
        self.list_stacks([[web]])
        self.serve_resources(web, [])

        events = self.by_key(self.driver().get_all())

        self.assertIsNone(events[('heat.stack', WEB)].fields['status'])
        self.assertIn('stack_status: expected a string, got int', self.log.output)


class TestPolicyFallback(HeatTestCase):
    """Heat's default policy refuses the all-projects listing."""

    def setUp(self) -> None:
        super().setUp()
        self.web = stack_item(WEB, 'web', with_project=False)
        self.forbid_global_listing([[self.web]])
        self.serve_resources(self.web, [resource_item(WEB, 'web', 'server')])

    def test_polls_the_own_project_after_a_403(self) -> None:
        self.driver().get_all()

        self.assertEqual([
            ('GET', f'{P}/stacks', {'global_tenant': ['true'], 'show_hidden': ['true'],
                                    'show_nested': ['true'], 'limit': ['1000']}),
            ('GET', f'{P}/stacks', {'show_hidden': ['true'], 'show_nested': ['true'],
                                    'limit': ['1000']}),
            ('GET', f'{P}/stacks/web/{WEB}/resources', depth()),
        ], self.calls())

    def test_events_say_they_cover_one_project(self) -> None:
        events = self.driver().get_all()

        self.assertEqual({'project'}, {e.fields['scope'] for e in events})
        self.assertEqual({PROJECT}, {e.fields['user_project_id'] for e in events})

    def test_the_policy_to_change_is_logged_once(self) -> None:
        driver = self.driver()
        driver.get_all()
        driver.get_all()

        warnings = [line for line in self.log.output.splitlines()
                    if line.startswith('WARNING') and 'stacks:global_index' in line]
        self.assertEqual(1, len(warnings), self.log.output)
        self.assertIn('all_projects = false', warnings[0])

    def test_every_poll_tries_every_project_again(self) -> None:
        driver = self.driver()
        driver.get_all()
        driver.get_all()

        globals_tried = [q for _m, _p, q in self.calls() if q.get('global_tenant')]
        self.assertEqual(2, len(globals_tried))


class TestOptions(HeatTestCase):

    def test_nested_depth_with_show_nested_is_refused(self) -> None:
        error = self.assertRaises(PluginLoadError, self.driver, nested_depth=2)

        self.assertIn('show_nested = false', str(error))

    def test_max_concurrency_overrides_the_http_default(self) -> None:
        driver = self.driver(http={'max_parallel_calls': 10}, max_parallel_calls=3)

        self.assertEqual(3, driver.api.client.max_parallel_calls)

    def test_max_concurrency_defaults_to_the_http_option(self) -> None:
        driver = self.driver(http={'max_parallel_calls': 7})

        self.assertEqual(7, driver.api.client.max_parallel_calls)

    def test_the_default_poll_interval_is_ten_minutes(self) -> None:
        self.assertEqual(600.0, self.driver().conf.poll_interval)

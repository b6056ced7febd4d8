"""The Heat driver against real Heat 27: polls and the notifications on RabbitMQ.

Each test works in projects of its own; polls through the global-policy API
see other tests' stacks too, so assertions look at the test's own stacks.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any

import fixtures

from tests.integration import base
from tests.kit.real_launcher import HIDDEN_STACK_TAG
from vitrage_ds.bus import Notification
from vitrage_ds.drivers.heat import HeatStackDriver
from vitrage_ds.event import DELETE_ENTITY, Event
from vitrage_ds_testing import load_plugin

CHILD = base.template({'leaf': {'type': 'OS::Heat::None'}})
PARENT = base.template({'child': {'type': 'child.yaml'}})

#: Fields Heat's API cannot give a poll; notifications carry them.
NOTIFICATION_ONLY = {'description', 'owner', 'owner_name'}


def keyed(events: Iterable[Event]) -> dict[tuple[str, str], Event]:
    return {e.key: e for e in events}


class HeatDriverTestCase(base.RealServicesTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.project = self.new_project()
        self.client = self.heat(self.project)
        self.log = self.bus(self.coords.heat_exchange)
        self.logged = self.useFixture(fixtures.FakeLogger(
            name='vitrage_ds', level=logging.INFO, format='%(levelname)s %(message)s'))

    def driver(self, project: str | None = None, global_policy: bool = False,
               **options: Any) -> HeatStackDriver:
        conf = self.real.config(project or self.project, global_policy=global_policy)
        driver: HeatStackDriver = load_plugin('driver', 'heat.stack', conf=conf,
                                              options=options)
        self.addCleanup(driver.close)
        return driver

    def created(self, name: str, tmpl: dict[str, Any], status: str = 'CREATE_COMPLETE',
                **fields: Any) -> str:
        stack_id = self.create_stack(self.client, name, tmpl, **fields)
        self.wait_stack(self.client, name, stack_id, status)
        return stack_id

    def update(self, stack_id: str, name: str) -> None:
        """PUT the one-resource template (Heat answers 202 with a non-JSON body)."""
        resp = self.client.request('PUT', f'stacks/{name}/{stack_id}',
                                   json={'template': base.UPDATED})
        self.assertEqual(202, resp.status_code)

    def created_in(self, project: str, name: str) -> str:
        client = self.heat(project)
        stack_id = self.create_stack(client, name, base.THREE)
        self.wait_stack(client, name, stack_id, 'CREATE_COMPLETE')
        return stack_id

    def handle(self, driver: HeatStackDriver, note: Notification,
               lookup: Any = None) -> list[Event]:
        if lookup is None:
            return driver.notifications(note.event_type, note.payload, note.metadata)
        return driver.notifications(note.event_type, note.payload, note.metadata,
                                          lookup)

    def note(self, stack_id: str, event_type: str) -> Notification:
        return self.stack_note(self.log, stack_id, event_type)


class PollTest(HeatDriverTestCase):
    """get_all on real Heat, with the default policy and with global_index allowed."""

    def test_default_policy_falls_back_to_the_plain_listing_and_names_the_policy(self) -> None:
        other = self.new_project()
        theirs = self.created_in(other, 'theirs')
        mine = self.created('mine', base.THREE)

        events = keyed(self.driver().get_all())

        self.assertTrue({('heat.stack', mine), ('heat.resource', f'{mine}/none'),
                         ('heat.resource', f'{mine}/random'),
                         ('heat.resource', f'{mine}/test')} <= set(events))
        self.assertEqual({'project'}, {e.fields['scope'] for e in events.values()})
        self.assertIn('stacks:global_index', self.logged.output)
        # Heat 27 shows callers with its admin role every project's stacks
        # in the plain listing, and these noauth credentials are admin.
        self.assertEqual(other, events[('heat.stack', theirs)].fields['user_project_id'])

    def test_allowed_global_index_polls_every_project(self) -> None:
        other = self.new_project()
        theirs = self.created_in(other, 'theirs')
        mine = self.created('mine', base.THREE)

        events = keyed(self.driver(global_policy=True).get_all())

        self.assertEqual((self.project, other),
                         (events[('heat.stack', mine)].fields['user_project_id'],
                          events[('heat.stack', theirs)].fields['user_project_id']))
        self.assertEqual('all_projects', events[('heat.stack', theirs)].fields['scope'])
        self.assertEqual(other, events[('heat.resource', f'{theirs}/test')]
                         .fields['user_project_id'])
        self.assertNotIn('stacks:global_index', self.logged.output)

    def test_a_stack_with_a_hidden_tag_is_polled(self) -> None:
        hidden = self.created('hidden', base.THREE, tags=HIDDEN_STACK_TAG)
        listed = {s['id'] for s in self.client.get('stacks')['stacks']}
        self.assertNotIn(hidden, listed)  # Heat leaves it out of a plain listing

        events = keyed(self.driver().get_all())

        self.assertTrue({('heat.stack', hidden), ('heat.resource', f'{hidden}/test')}
                        <= set(events))

    def test_a_stack_event_has_heat_s_values(self) -> None:
        mine = self.created('valued', base.THREE, tags='a,b')

        stack = keyed(self.driver().get_all())[('heat.stack', mine)].fields

        self.assertEqual(('valued', 'CREATE_COMPLETE', ['a', 'b'], 'vds-user', self.project),
                         (stack['name'], stack['status'], stack['tags'], stack['owner_name'],
                          stack['user_project_id']))
        self.assertIsNotNone(stack['creation_time'])
        self.assertIsNone(stack['updated_time'])

    def test_a_resource_event_has_heat_s_values(self) -> None:
        mine = self.created('res', base.THREE)

        random = keyed(self.driver().get_all())[('heat.resource', f'{mine}/random')].fields

        self.assertEqual(('random', 'OS::Heat::RandomString', 'CREATE_COMPLETE', mine, 'res'),
                         (random['resource_name'], random['resource_type'], random['status'],
                          random['stack_id'], random['stack_name']))
        self.assertTrue(random['physical_resource_id'])

    def test_a_nested_stack_is_polled_as_a_stack_with_its_parent(self) -> None:
        parent = self.created('parent', PARENT, files={'child.yaml': json.dumps(CHILD)})

        events = keyed(self.driver().get_all())

        child_id = events[('heat.resource', f'{parent}/child')].fields['nested_stack_id']
        self.assertIsNotNone(child_id)
        self.assertEqual(parent, events[('heat.stack', child_id)].fields['parent'])
        leaf = events[('heat.resource', f'{child_id}/leaf')].fields
        self.assertEqual(('child', f'{parent}/child'),
                         (leaf['parent_resource'], leaf['parent_resource_id']))

    def test_nested_depth_reads_the_nested_tree_through_its_root(self) -> None:
        parent = self.created('deep', PARENT, files={'child.yaml': json.dumps(CHILD)})

        events = keyed(self.driver(show_nested=False, nested_depth=2).get_all())

        child_id = events[('heat.resource', f'{parent}/child')].fields['nested_stack_id']
        self.assertNotIn(('heat.stack', child_id), events)
        leaf = events[('heat.resource', f'{child_id}/leaf')].fields
        self.assertEqual(f'{parent}/child', leaf['parent_resource_id'])

    def test_a_failed_stack_is_polled_with_its_failed_resource(self) -> None:
        failed = self.created('failed', base.FAILING, status='CREATE_FAILED')

        events = keyed(self.driver().get_all())

        self.assertEqual('CREATE_FAILED', events[('heat.stack', failed)].fields['status'])
        self.assertEqual('CREATE_FAILED',
                         events[('heat.resource', f'{failed}/boom')].fields['status'])


class NotificationTest(HeatDriverTestCase):
    """Real notifications from RabbitMQ through notifications."""

    def test_create_start_then_end_give_the_stack_then_its_resources(self) -> None:
        driver = self.driver()
        stack_id = self.created('born', base.THREE)

        start = self.handle(driver, self.note(stack_id, 'orchestration.stack.create.start'))
        end = self.handle(driver, self.note(stack_id, 'orchestration.stack.create.end'))

        self.assertEqual([('heat.stack', stack_id)], [e.key for e in start])
        self.assertEqual('CREATE_IN_PROGRESS', start[0].fields['status'])
        self.assertEqual({('heat.stack', stack_id), ('heat.resource', f'{stack_id}/none'),
                          ('heat.resource', f'{stack_id}/random'),
                          ('heat.resource', f'{stack_id}/test')}, {e.key for e in end})
        self.assertLess(start[0].version, end[0].version)

    def test_notified_and_polled_states_agree(self) -> None:
        driver = self.driver()
        driver.get_all()  # as the collector does first: the scope is known
        stack_id = self.created('agreed', base.THREE)
        notified = keyed(self.handle(driver, self.note(stack_id,
                                                       'orchestration.stack.create.end')))

        polled = keyed(driver.get_all())

        for key, event in notified.items():
            for name, value in event.fields.items():
                if name not in NOTIFICATION_ONLY:
                    self.assertEqual(polled[key].fields[name], value, f'{key} {name}')
        self.assertEqual(notified[('heat.stack', stack_id)].fields['owner_name'], 'vds-user')

    def test_update_end_gives_the_new_resources(self) -> None:
        driver = self.driver()
        stack_id = self.created('changed', base.THREE)
        self.update(stack_id, 'changed')
        self.wait_stack(self.client, 'changed', stack_id, 'UPDATE_COMPLETE')

        events = self.handle(driver, self.note(stack_id, 'orchestration.stack.update.end'))

        self.assertEqual([('heat.stack', stack_id), ('heat.resource', f'{stack_id}/test')],
                         [e.key for e in events])
        self.assertEqual('UPDATE_COMPLETE', events[0].fields['status'])
        self.assertIsNotNone(events[0].fields['updated_time'])

    def test_an_admin_of_another_project_updating_the_stack_keeps_its_project(self) -> None:
        driver = self.driver()
        stack_id = self.created('theirs', base.THREE)
        [polled] = [e for e in driver.get_all() if e.key == ('heat.stack', stack_id)]
        admin = self.heat(self.new_project())
        resp = admin.request('PUT', f'stacks/theirs/{stack_id}', json={'template': base.UPDATED})
        self.assertEqual(202, resp.status_code)
        self.wait_stack(self.client, 'theirs', stack_id, 'UPDATE_COMPLETE')
        note = self.note(stack_id, 'orchestration.stack.update.end')
        self.assertNotEqual(self.project, note.payload['tenant_id'])  # the admin's

        events = self.handle(driver, note, lambda kind, entity: (
            polled.fields if (kind, entity) == polled.key else None))

        self.assertEqual({self.project}, {e.fields['user_project_id'] for e in events})

    def test_suspend_and_resume_are_stack_states(self) -> None:
        driver = self.driver()
        stack_id = self.created('paused', base.THREE)
        self.client.post(f'stacks/paused/{stack_id}/actions', json={'suspend': None})
        self.wait_stack(self.client, 'paused', stack_id, 'SUSPEND_COMPLETE')
        suspended = self.handle(driver, self.note(stack_id, 'orchestration.stack.suspend.end'))
        self.client.post(f'stacks/paused/{stack_id}/actions', json={'resume': None})
        self.wait_stack(self.client, 'paused', stack_id, 'RESUME_COMPLETE')
        resumed = self.handle(driver, self.note(stack_id, 'orchestration.stack.resume.end'))

        self.assertEqual(('SUSPEND_COMPLETE', 'RESUME_COMPLETE'),
                         (suspended[0].fields['status'], resumed[0].fields['status']))
        self.assertEqual({'SUSPEND_COMPLETE'}, {e.fields['status'] for e in suspended[1:]})
        self.assertLess(suspended[0].version, resumed[0].version)

    def test_a_failed_create_is_an_error_with_the_failed_resource(self) -> None:
        driver = self.driver()
        stack_id = self.created('broken', base.FAILING, status='CREATE_FAILED')
        note = self.note(stack_id, 'orchestration.stack.create.error')

        events = keyed(self.handle(driver, note))

        self.assertEqual('error', note.priority)
        self.assertEqual('CREATE_FAILED', events[('heat.stack', stack_id)].fields['status'])
        self.assertEqual('CREATE_FAILED',
                         events[('heat.resource', f'{stack_id}/boom')].fields['status'])

    def test_delete_start_and_end_are_deletes(self) -> None:
        driver = self.driver()
        stack_id = self.created('doomed', base.THREE)
        self.client.delete(f'stacks/doomed/{stack_id}')

        start = self.handle(driver, self.note(stack_id, 'orchestration.stack.delete.start'))
        end = self.handle(driver, self.note(stack_id, 'orchestration.stack.delete.end'))

        self.assertEqual([DELETE_ENTITY, DELETE_ENTITY], [start[0].event_type,
                                                          end[0].event_type])
        self.assertEqual((1, 1), (len(start), len(end)))
        # Heat may still list the stack, DELETE_COMPLETE, right after delete.end.
        polled = keyed(driver.get_all()).get(('heat.stack', stack_id))
        self.assertTrue(polled is None or polled.deleted, polled)

    def test_a_nested_stack_notifies_on_its_own_and_the_lookup_gives_its_parent(self) -> None:
        driver = self.driver()
        parent = self.created('family', PARENT, files={'child.yaml': json.dumps(CHILD)})
        polled = keyed(driver.get_all())
        child_id = polled[('heat.resource', f'{parent}/child')].fields['nested_stack_id']

        events = self.handle(driver, self.note(child_id, 'orchestration.stack.create.end'),
                             lambda kind, key: (polled[(kind, key)].fields
                                                if (kind, key) in polled else None))

        self.assertEqual(parent, events[0].fields['parent'])
        leaf = keyed(events)[('heat.resource', f'{child_id}/leaf')].fields
        self.assertEqual(f'{parent}/child', leaf['parent_resource_id'])

    def test_admin_credentials_keep_other_projects_after_the_fallback(self) -> None:
        driver = self.driver()
        driver.get_all()
        other = self.new_project()
        theirs = self.create_stack(self.heat(other), 'theirs', base.THREE)

        events = self.handle(driver, self.note(theirs, 'orchestration.stack.create.end'))

        self.assertEqual((other, 'project', 4),
                         (events[0].fields['user_project_id'], events[0].fields['scope'],
                          len(events)))

    def test_other_projects_are_kept_when_global_index_is_allowed(self) -> None:
        driver = self.driver(global_policy=True)
        driver.get_all()
        other = self.new_project()
        theirs = self.create_stack(self.heat(other), 'theirs', base.THREE)

        events = self.handle(driver, self.note(theirs, 'orchestration.stack.create.end'))

        self.assertEqual((other, 'all_projects', 4),
                         (events[0].fields['user_project_id'], events[0].fields['scope'],
                          len(events)))


class NotificationLogTest(HeatDriverTestCase):
    """Every orchestration notification of a life cycle maps, whatever its priority."""

    def test_every_notification_of_a_life_cycle_maps_without_a_drop(self) -> None:
        driver = self.driver()
        stack_id = self.created('cycle', base.THREE)
        self.update(stack_id, 'cycle')
        self.wait_stack(self.client, 'cycle', stack_id, 'UPDATE_COMPLETE')
        self.client.delete(f'stacks/cycle/{stack_id}')
        self.note(stack_id, 'orchestration.stack.delete.end')

        ours = [n for n in self.log.notifications
                if isinstance(n.payload, dict) and n.payload.get('stack_identity') == stack_id]
        mapped = [self.handle(driver, n) for n in ours]

        self.assertEqual(['orchestration.stack.create.start', 'orchestration.stack.create.end',
                          'orchestration.stack.update.start', 'orchestration.stack.update.end',
                          'orchestration.stack.delete.start', 'orchestration.stack.delete.end'],
                         [n.event_type for n in ours])
        self.assertTrue(all(events for events in mapped))
        self.assertTrue(all(driver.handles(n.event_type) for n in ours))



class CommandLineTest(HeatDriverTestCase):
    """``vitrage-ds poll heat.stack`` with a clouds.yaml cloud (``auth_type: none``)."""

    def test_poll_prints_the_stacks_and_resources_of_every_project(self) -> None:
        other = self.new_project()
        theirs = self.created_in(other, 'cli-theirs')
        mine = self.created('cli-mine', base.THREE)
        endpoint = self.coords.heat_endpoint(self.project, global_policy=True)
        rows = {(row['vitrage_entity_type'], row['vitrage_ds_entity_id']): row
                for row in self.poll_command('heat.stack', self.project,
                                             orchestration_endpoint_override=endpoint)}
        self.assertEqual((self.project, other, 'all_projects'),
                         (rows['heat.stack', mine]['user_project_id'],
                          rows['heat.stack', theirs]['user_project_id'],
                          rows['heat.stack', theirs]['scope']))
        self.assertEqual('OS::Heat::RandomString',
                         rows['heat.resource', f'{theirs}/random']['resource_type'])

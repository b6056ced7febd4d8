"""HeatStackDriver.notifications: every Heat event type, good and bad payloads."""

from __future__ import annotations

from typing import Any

from vitrage_ds import Action
from vitrage_ds.drivers.heat.notifications import ACTIONS, PHASES
from vitrage_ds.event import DELETE_ENTITY, Phase, parse_time

from tests.unit.drivers.heat.heat_api import (CREATED, METADATA, OTHER_PROJECT,
                                              PROJECT, HeatTestCase, payload,
                                              resource_item, stack_item)

WEB = '11111111-1111-4111-8111-111111111111'
PARENT = '55555555-5555-4555-8555-555555555555'
RESOURCES = f'/v1/{PROJECT}/stacks/web/{WEB}/resources'

_STATUS = {'start': 'IN_PROGRESS', 'end': 'COMPLETE', 'error': 'FAILED'}


def state(action: str, phase: str) -> str:
    return f'{action.upper()}_{_STATUS[phase]}'


class NotificationTestCase(HeatTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.web = stack_item(WEB, 'web')
        self.serve_resources(self.web, [
            resource_item(WEB, 'web', 'server', resource_type='OS::Nova::Server'),
            resource_item(WEB, 'web', 'port')])

    def notify(self, event_type: str, body: Any, metadata: Any = METADATA,
               lookup: Any = None, driver: Any = None, **options: Any) -> list[Any]:
        driver = driver or self.driver(**options)
        if lookup is None:
            return driver.notifications(event_type, body, metadata)
        return driver.notifications(event_type, body, metadata, lookup)


class TestEveryActionAndPhase(NotificationTestCase):
    """orchestration.stack.<action>.<phase> for all of Heat's actions and phases."""

    def test_start_gives_the_stack_only_and_makes_no_call(self) -> None:
        for action in ACTIONS:
            if action == 'delete':
                continue
            event_type = f'orchestration.stack.{action}.start'
            events = self.notify(event_type, payload(WEB, 'web', state(action, 'start')))

            self.assertEqual([('heat.stack', WEB)], [e.key for e in events], event_type)
            self.assertEqual((event_type, Phase.START, state(action, 'start')),
                             (events[0].event_type, events[0].version.phase,
                              events[0].fields['status']))
        self.assertEqual([], self.calls())

    def test_end_and_error_give_the_stack_and_its_resources_from_one_call(self) -> None:
        for action in ACTIONS:
            for phase in ('end', 'error'):
                if (action, phase) == ('delete', 'end'):
                    continue
                event_type = f'orchestration.stack.{action}.{phase}'
                before = len(self.calls())

                events = self.notify(event_type, payload(WEB, 'web', state(action, phase)))

                self.assertEqual([('heat.stack', WEB), ('heat.resource', f'{WEB}/server'),
                                  ('heat.resource', f'{WEB}/port')],
                                 [e.key for e in events], event_type)
                self.assertEqual([('GET', RESOURCES, {'nested_depth': ['0']})],
                                 self.calls()[before:], event_type)
                self.assertEqual({event_type}, {e.event_type for e in events})
                self.assertEqual({Phase.END}, {e.version.phase for e in events})
                self.assertEqual({Action.UPDATE}, {e.action for e in events})

    def test_delete_start_and_end_are_deletes_without_a_call(self) -> None:
        for phase in ('start', 'end'):
            events = self.notify(f'orchestration.stack.delete.{phase}',
                                 payload(WEB, 'web', state('delete', phase)))

            self.assertEqual([('heat.stack', WEB)], [e.key for e in events])
            self.assertEqual(DELETE_ENTITY, events[0].event_type)
        self.assertEqual([], self.calls())

    def test_a_failed_delete_is_an_update(self) -> None:
        events = self.notify('orchestration.stack.delete.error',
                             payload(WEB, 'web', 'DELETE_FAILED'))

        self.assertEqual('orchestration.stack.delete.error', events[0].event_type)
        self.assertEqual('DELETE_FAILED', events[0].fields['status'])
        self.assertEqual(3, len(events))

    def test_an_unknown_action_maps_like_the_others(self) -> None:
        events = self.notify('orchestration.stack.migrate.end',
                             payload(WEB, 'web', 'MIGRATE_COMPLETE'))

        self.assertEqual('MIGRATE_COMPLETE', events[0].fields['status'])

    def test_every_event_type_matches_the_declared_patterns(self) -> None:
        driver = self.driver()
        for action in ACTIONS:
            for phase in PHASES:
                self.assertTrue(driver.handles(f'orchestration.stack.{action}.{phase}'))
        for phase in PHASES:
            self.assertTrue(driver.handles(f'orchestration.autoscaling.{phase}'))
        self.assertEqual(('heat',), tuple(driver.exchanges))


class TestAutoscaling(NotificationTestCase):
    """orchestration.autoscaling.* carry the stack holding the scaling group."""

    def scaling(self, phase: str) -> dict[str, Any]:
        body = payload(WEB, 'web', 'CREATE_COMPLETE')
        body.update(adjustment=1, adjustment_type='change_in_capacity', capacity=3,
                    groupname='web-group-xyz', message='Start resizing the group')
        return body

    def test_start_gives_the_stack_without_a_call(self) -> None:
        events = self.notify('orchestration.autoscaling.start', self.scaling('start'))

        self.assertEqual([('heat.stack', WEB)], [e.key for e in events])
        self.assertEqual(Phase.START, events[0].version.phase)
        self.assertEqual([], self.calls())

    def test_end_and_error_read_the_stack_resources_once(self) -> None:
        for phase in ('end', 'error'):
            before = len(self.calls())
            events = self.notify(f'orchestration.autoscaling.{phase}', self.scaling(phase))

            self.assertEqual(3, len(events))
            self.assertEqual(before + 1, len(self.calls()))

    def test_scaling_details_do_not_become_stack_fields(self) -> None:
        events = self.notify('orchestration.autoscaling.end', self.scaling('end'))

        self.assertNotIn('capacity', events[0].fields)


class TestPayloadMapping(NotificationTestCase):
    """The payload maps to the same fields a poll gives."""

    def test_a_payload_maps_to_every_stack_field(self) -> None:
        body = payload(WEB, 'web', 'UPDATE_COMPLETE', tags=['prod'],
                       updated='2024-05-01T11:00:00Z')

        event = self.notify('orchestration.stack.update.end', body)[0]

        self.assertEqual({
            'stack_id': WEB,
            'name': 'web',
            'description': 'a test stack',
            'user_project_id': PROJECT,
            'owner': 'u-alice',
            'owner_name': 'alice',
            'status': 'UPDATE_COMPLETE',
            'status_reason': 'Stack UPDATE started',
            'parent': None,
            'creation_time': CREATED,
            'updated_time': '2024-05-01T11:00:00Z',
            'tags': ['prod'],
            'scope': 'all_projects',
        }, dict(event.fields))

    def test_the_fields_a_poll_also_knows_are_equal(self) -> None:
        self.http.get(f'http://heat.test:8004/v1/{PROJECT}/stacks',
                      json={'stacks': [self.web]})
        polled = self.driver().get_all()[0].fields

        notified = self.notify('orchestration.stack.create.end',
                               payload(WEB, 'web', 'CREATE_COMPLETE'))[0].fields

        for name in ('stack_id', 'name', 'user_project_id', 'owner_name', 'status',
                     'parent', 'creation_time', 'updated_time', 'tags', 'scope'):
            self.assertEqual(polled[name], notified[name], name)

    def test_the_resources_are_those_a_poll_gives(self) -> None:
        self.http.get(f'http://heat.test:8004/v1/{PROJECT}/stacks',
                      json={'stacks': [self.web]})
        polled = {e.key: dict(e.fields) for e in self.driver().get_all()}

        notified = self.notify('orchestration.stack.create.end',
                               payload(WEB, 'web', 'CREATE_COMPLETE'))

        for event in notified[1:]:
            self.assertEqual(polled[event.key], dict(event.fields))

    def test_old_heat_user_id_gives_the_owner_name(self) -> None:
        body = payload(WEB, 'web', 'CREATE_COMPLETE')
        del body['username'], body['user_identity']

        event = self.notify('orchestration.stack.create.start', body)[0]

        self.assertEqual(('alice', None), (event.fields['owner_name'], event.fields['owner']))

    def test_the_parent_and_a_missing_name_come_from_the_lookup(self) -> None:
        body = payload(WEB, 'web', 'CREATE_COMPLETE')
        del body['stack_name']
        known = {('heat.stack', WEB): {'parent': PARENT, 'name': 'web'}}

        events = self.notify('orchestration.stack.create.end', body,
                             lookup=lambda kind, entity: known.get((kind, entity)))

        self.assertEqual((PARENT, 'web'), (events[0].fields['parent'], events[0].fields['name']))
        self.assertEqual(3, len(events))

    def test_a_nested_stack_resource_names_its_parent_resource(self) -> None:
        child = stack_item(WEB, 'web', parent=PARENT)
        self.serve_resources(child, [resource_item(WEB, 'web', 'leaf', parent_resource='tier')])
        known = {'parent': PARENT}

        events = self.notify('orchestration.stack.create.end',
                             payload(WEB, 'web', 'CREATE_COMPLETE'),
                             lookup=lambda kind, entity: known)

        self.assertEqual(f'{PARENT}/tier', events[1].fields['parent_resource_id'])

    def test_the_version_is_heat_time_then_envelope_time_then_phase(self) -> None:
        body = payload(WEB, 'web', 'UPDATE_IN_PROGRESS', updated='2024-05-01T11:00:00Z')

        event = self.notify('orchestration.stack.update.start', body)[0]

        self.assertEqual((parse_time('2024-05-01T11:00:00Z'),
                          parse_time('2024-05-01T12:00:00Z'), Phase.START),
                         tuple(event.version))
        self.assertEqual('2024-05-01T12:00:00Z', event.sample_date)

    def test_start_orders_before_end_with_the_same_times(self) -> None:
        start = self.notify('orchestration.stack.create.start',
                            payload(WEB, 'web', 'CREATE_IN_PROGRESS'))[0]
        end = self.notify('orchestration.stack.create.end',
                          payload(WEB, 'web', 'CREATE_COMPLETE'))[0]

        self.assertLess(start.version, end.version)

    def test_without_an_envelope_time_the_version_uses_now(self) -> None:
        event = self.notify('orchestration.stack.create.start',
                            payload(WEB, 'web', 'CREATE_IN_PROGRESS'), metadata={})[0]

        self.assertGreater(event.version.observed, parse_time('2024-05-01T12:00:00Z'))


class TestResourceCallFailures(NotificationTestCase):
    """A failed resources call still gives the stack's event, and is logged."""

    def test_a_stack_gone_meanwhile_gives_the_stack_event_only(self) -> None:
        gone = stack_item(PARENT, 'gone')
        self.serve_resources(gone, [], status_code=404)

        events = self.notify('orchestration.stack.create.end',
                             payload(PARENT, 'gone', 'CREATE_COMPLETE'))

        self.assertEqual([('heat.stack', PARENT)], [e.key for e in events])
        self.assertIn('no longer exists', self.log.output)

    def test_a_failed_call_is_made_once_and_logged(self) -> None:
        broken = stack_item(PARENT, 'broken')
        self.serve_resources(broken, [], status_code=503)

        events = self.notify('orchestration.stack.update.end',
                             payload(PARENT, 'broken', 'UPDATE_COMPLETE'),
                             http={'retries': 3})

        self.assertEqual(1, len(events))
        self.assertEqual(1, len(self.http.request_history))
        self.assertIn('503', self.log.output)

    def test_a_malformed_resources_body_gives_the_stack_event_only(self) -> None:
        self.http.get(f'http://heat.test:8004{RESOURCES}', json={'resources': [7]})

        events = self.notify('orchestration.stack.create.end',
                             payload(WEB, 'web', 'CREATE_COMPLETE'))

        self.assertEqual(1, len(events))
        self.assertIn('not read', self.log.output)


class TestMalformedNotifications(NotificationTestCase):
    """Bad input is logged and dropped (or mapped best-effort); nothing raises."""

    def test_a_stack_id_cannot_forge_a_log_line(self) -> None:
        forged = 'x\nCRITICAL forged line'
        body = {**payload(forged, 'web', 'CREATE_COMPLETE'), 'stack_name': None}

        self.notify('orchestration.stack.create.end', body)

        self.assertIn('no stack_name', self.log.output)
        self.assertNotIn('\nCRITICAL forged', self.log.output)

    def test_a_payload_that_is_not_an_object_is_dropped(self) -> None:
        for body in (None, [], 'x', 42):
            self.assertEqual([], self.notify('orchestration.stack.create.end', body))
        self.assertIn('not an object', self.log.output)

    def test_a_payload_without_a_stack_id_is_dropped(self) -> None:
        body = payload(WEB, 'web', 'CREATE_COMPLETE')
        del body['stack_identity']

        self.assertEqual([], self.notify('orchestration.stack.create.end', body))
        self.assertIn('stack_identity: missing', self.log.output)
        self.assertEqual([], self.calls())

    def test_a_mistyped_stack_id_is_dropped(self) -> None:
        for wrong in (7, '', 'x' * 1000, ['x'], {'stack_id': WEB}):
            body = {**payload(WEB, 'web', 'CREATE_COMPLETE'), 'stack_identity': wrong}
            self.assertEqual([], self.notify('orchestration.stack.create.end', body))

    def test_a_mistyped_field_is_read_as_none_and_logged(self) -> None:
        body = {**payload(WEB, 'web', 'CREATE_COMPLETE'), 'create_at': 'yesterday',
                'tags': 7}

        event = self.notify('orchestration.stack.create.start', body)[0]

        self.assertEqual((None, []), (event.fields['creation_time'], event.fields['tags']))
        self.assertIn('create_at: expected an ISO 8601 time', self.log.output)
        self.assertIn('tags: expected a list of strings', self.log.output)

    def test_a_value_is_never_logged(self) -> None:
        body = {**payload(WEB, 'web', 'CREATE_COMPLETE'), 'state': {'secret': 's3cr3t'}}

        self.notify('orchestration.stack.create.start', body)

        self.assertIn('state: expected a string, got dict', self.log.output)
        self.assertNotIn('s3cr3t', self.log.output)

    def test_a_stack_without_name_is_mapped_without_its_resources(self) -> None:
        body = payload(WEB, 'web', 'CREATE_COMPLETE')
        del body['stack_name']

        events = self.notify('orchestration.stack.create.end', body)

        self.assertEqual([('heat.stack', WEB)], [e.key for e in events])
        self.assertEqual([], self.calls())

    def test_other_event_types_are_dropped(self) -> None:
        for event_type in ('compute.instance.create.end', 'orchestration.stack.create',
                           'orchestration.stack.create.done', 'orchestration.stack.CREATE.end',
                           '', None, 7):
            self.assertEqual([], self.notify(event_type, payload(WEB, 'web', 'X')))

    def test_a_lookup_that_raises_does_not_raise(self) -> None:
        def lookup(kind: str, entity: str) -> Any:
            raise RuntimeError('cache broken')

        events = self.notify('orchestration.stack.create.end',
                             payload(WEB, 'web', 'CREATE_COMPLETE'), lookup=lookup)

        self.assertEqual([], events)
        self.assertIn('unexpected error', self.log.output)

    def test_malformed_metadata_falls_back_to_now(self) -> None:
        for metadata in (None, 'x', {'timestamp': 'soon'}, {'timestamp': 12}):
            events = self.notify('orchestration.stack.create.start',
                                 payload(WEB, 'web', 'CREATE_IN_PROGRESS'), metadata=metadata)
            self.assertEqual(1, len(events))


class TestProjectScope(NotificationTestCase):
    """Notifications about projects a poll cannot see are dropped."""

    def polled_driver(self, *stacks: dict[str, Any], **options: Any) -> Any:
        self.http.get(f'http://heat.test:8004/v1/{PROJECT}/stacks',
                      json={'stacks': list(stacks)})
        for stack in stacks:
            self.serve_resources(stack, [])
        driver = self.driver(**options)
        driver.get_all()
        return driver

    def test_other_projects_are_dropped_after_a_poll_of_one_project(self) -> None:
        driver = self.polled_driver(stack_item(WEB, 'web', with_project=False),
                                    all_projects=False)
        before = len(self.calls())

        events = self.notify('orchestration.stack.create.end',
                             payload(PARENT, 'x', 'CREATE_COMPLETE', project=OTHER_PROJECT),
                             driver=driver)

        self.assertEqual([], events)
        self.assertEqual(before, len(self.calls()))

    def test_an_own_stack_an_admin_of_another_project_changed_is_kept(self) -> None:
        driver = self.polled_driver(stack_item(WEB, 'web', with_project=False),
                                    all_projects=False)
        known = {'user_project_id': PROJECT}

        events = self.notify('orchestration.stack.update.start',
                             payload(WEB, 'web', 'UPDATE_IN_PROGRESS', project=OTHER_PROJECT),
                             driver=driver, lookup=lambda kind, entity: known)

        self.assertEqual([PROJECT], [e.fields['user_project_id'] for e in events])

    def test_the_own_project_is_kept_with_scope_project(self) -> None:
        driver = self.polled_driver(stack_item(WEB, 'web', with_project=False),
                                    all_projects=False)

        events = self.notify('orchestration.stack.create.start',
                             payload(WEB, 'web', 'CREATE_IN_PROGRESS'), driver=driver)

        self.assertEqual('project', events[0].fields['scope'])

    def test_after_a_403_fallback_other_projects_are_dropped(self) -> None:
        self.forbid_global_listing([[stack_item(WEB, 'web', with_project=False)]])
        driver = self.driver()
        driver.get_all()

        events = self.notify('orchestration.stack.create.start',
                             payload(PARENT, 'x', 'CREATE_IN_PROGRESS', project=OTHER_PROJECT),
                             driver=driver)

        self.assertEqual([], events)

    def test_admin_listings_show_every_project_so_none_is_dropped(self) -> None:
        driver = self.polled_driver(stack_item(WEB, 'web'), all_projects=False)

        events = self.notify('orchestration.stack.create.start',
                             payload(PARENT, 'x', 'CREATE_IN_PROGRESS', project=OTHER_PROJECT),
                             driver=driver)

        self.assertEqual(('project', OTHER_PROJECT),
                         (events[0].fields['scope'], events[0].fields['user_project_id']))

    def test_before_any_poll_nothing_is_dropped(self) -> None:
        events = self.notify('orchestration.stack.create.start',
                             payload(WEB, 'web', 'CREATE_IN_PROGRESS', project=OTHER_PROJECT),
                             all_projects=False)

        self.assertEqual(1, len(events))

    def test_every_project_is_kept_when_polling_every_project(self) -> None:
        events = self.notify('orchestration.stack.create.start',
                             payload(WEB, 'web', 'CREATE_IN_PROGRESS', project=OTHER_PROJECT))

        self.assertEqual(('all_projects', OTHER_PROJECT),
                         (events[0].fields['scope'], events[0].fields['user_project_id']))


class TestLookupOwner(NotificationTestCase):
    """The owner is the stack's creator; a payload names whoever made the change."""

    def test_a_known_owner_is_kept(self) -> None:
        known = {'owner': 'u-creator', 'owner_name': 'creator'}

        event = self.notify('orchestration.stack.update.end',
                            payload(WEB, 'web', 'UPDATE_COMPLETE'),
                            lookup=lambda kind, entity: known)[0]

        self.assertEqual(('u-creator', 'creator'),
                         (event.fields['owner'], event.fields['owner_name']))

    def test_an_unknown_owner_comes_from_the_payload(self) -> None:
        known = {'owner': None, 'owner_name': 'alice'}

        event = self.notify('orchestration.stack.update.end',
                            payload(WEB, 'web', 'UPDATE_COMPLETE'),
                            lookup=lambda kind, entity: known)[0]

        self.assertEqual(('u-alice', 'alice'),
                         (event.fields['owner'], event.fields['owner_name']))

    def test_a_known_project_is_kept(self) -> None:
        # Heat's tenant_id is the project of the request: here an admin's.
        known = {'user_project_id': OTHER_PROJECT}
        self.serve_resources(stack_item(WEB, 'web'), [resource_item(WEB, 'web', 'server')])

        events = self.notify('orchestration.stack.update.end',
                             payload(WEB, 'web', 'UPDATE_COMPLETE', project=PROJECT),
                             lookup=lambda kind, entity: known if kind == 'heat.stack' else None)

        self.assertEqual([OTHER_PROJECT, OTHER_PROJECT],
                         [e.fields['user_project_id'] for e in events])

    def test_description_and_owner_are_declared_notification_only(self) -> None:
        self.assertEqual({'heat.stack': ('description', 'owner')},
                         dict(self.driver().notification_only_fields))

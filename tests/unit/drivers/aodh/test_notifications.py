"""notifications: every kind of alarm change, partial payloads, bad input."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tests.unit.drivers.aodh import samples
from tests.unit.drivers.aodh.test_get_all import ALARMS, _AodhTest, make_driver
from vitrage_ds.drivers.aodh import alarm_fields
from vitrage_ds.event import DELETE_ENTITY, Action, Event, parse_time

ID = samples.alarm_id(1)
OBSERVED = parse_time(samples.METADATA['timestamp'])


def knowing(*alarms: dict[str, Any]) -> Any:
    """A collector lookup that knows the fields last emitted for ``alarms``."""
    known = {a['alarm_id']: alarm_fields(a) for a in alarms}
    asked: list[tuple[str, str]] = []

    def lookup(entity_type: str, entity_id: str) -> Mapping[str, Any] | None:
        asked.append((entity_type, entity_id))
        return known.get(entity_id)
    lookup.asked = asked  # type: ignore[attr-defined]
    return lookup


class _NotificationTest(_AodhTest):

    def handle(self, event_type: str, payload: Any, lookup: Any = None,
               metadata: Any = None) -> list[Event]:
        return make_driver().notifications(
            event_type, payload, samples.METADATA if metadata is None else metadata,
            lookup or knowing())

    def one(self, event_type: str, payload: Any, lookup: Any = None) -> Event:
        events = self.handle(event_type, payload, lookup)
        self.assertEqual(1, len(events), self.logs.output)
        return events[0]


class TestDeclarations(_NotificationTest):

    def test_handles_the_four_alarm_event_types_on_exchange_aodh(self) -> None:
        driver = make_driver()
        for event_type in ('alarm.creation', 'alarm.rule_change',
                           'alarm.state_transition', 'alarm.deletion'):
            self.assertTrue(driver.handles(event_type), event_type)
        self.assertFalse(driver.handles('alarm.state'))
        self.assertEqual(('aodh',), tuple(driver.exchanges))

    def test_poll_interval_defaults_to_sixty_seconds(self) -> None:
        self.assertEqual(60.0, make_driver().conf.poll_interval)


class TestCreation(_NotificationTest):

    def test_creation_needs_no_lookup_and_no_call(self) -> None:
        body = samples.alarm('prometheus')
        lookup = knowing()
        event = self.one('alarm.creation', samples.creation(body), lookup)
        self.assertEqual([], self.calls())
        self.assertEqual([], lookup.asked)
        self.assertEqual(alarm_fields(body), dict(event.fields))

    def test_creation_is_an_update_with_the_bus_event_type(self) -> None:
        event = self.one('alarm.creation', samples.creation(samples.alarm('event')))
        self.assertEqual((Action.UPDATE, 'alarm.creation', 'aodh', ID),
                         (event.action, event.event_type, event.entity_type,
                          event.entity_id))

    def test_creation_of_every_type_maps_like_the_poll(self) -> None:
        for alarm_type in samples.TYPES:
            body = samples.alarm(alarm_type)
            event = self.one('alarm.creation', samples.creation(body))
            self.assertEqual(alarm_fields(body), dict(event.fields), alarm_type)

    def test_creation_of_a_deduced_alarm_is_recognised(self) -> None:
        event = self.one('alarm.creation', samples.creation(samples.deduced_alarm()))
        self.assertEqual(samples.VITRAGE_ID, event.fields['vitrage_id'])
        self.assertIs(True, event.fields['vitrage_deduced'])

    def test_version_is_the_creation_time_then_the_envelope_time(self) -> None:
        event = self.one('alarm.creation', samples.creation(samples.alarm('event')))
        self.assertEqual((parse_time(samples.CREATED), OBSERVED, 1), tuple(event.version))


class TestRuleChange(_NotificationTest):

    def test_changes_apply_to_the_known_alarm_without_a_call(self) -> None:
        body = samples.alarm('event')
        payload = samples.rule_change(ID, {'name': 'renamed', 'severity': 'critical'})
        event = self.one('alarm.rule_change', payload, knowing(body))
        self.assertEqual([], self.calls())
        self.assertEqual(('renamed', 'critical'),
                         (event.fields['name'], event.fields['severity']))
        self.assertEqual(samples.RULES['event'], event.fields['event_rule'])

    def test_new_rule_moves_the_resource(self) -> None:
        body = samples.alarm('event')
        rule = {'event_type': 'compute.instance.*', 'query': [
            {'field': 'traits.resource_id', 'op': 'eq', 'type': 'string', 'value': 'r2'}]}
        payload = samples.rule_change(ID, {'rule': rule})
        event = self.one('alarm.rule_change', payload, knowing(body))
        self.assertEqual(('r2', 'compute.instance.*', rule),
                         (event.fields['resource_id'], event.fields['event_type'],
                          event.fields['event_rule']))

    def test_rule_change_moves_timestamp_and_the_version(self) -> None:
        payload = samples.rule_change(ID, {'description': 'new'},
                                      timestamp='2024-05-01T12:10:00.000000')
        event = self.one('alarm.rule_change', payload, knowing(samples.alarm('event')))
        self.assertEqual('2024-05-01T12:10:00.000000', event.fields['timestamp'])
        self.assertEqual(parse_time('2024-05-01T12:10:00'), event.version.source)

    def test_state_in_a_rule_change_moves_state_timestamp(self) -> None:
        payload = samples.rule_change(ID, {'state': 'alarm',
                                           'state_reason': 'Manually set via API'})
        event = self.one('alarm.rule_change', payload, knowing(samples.alarm('event')))
        self.assertEqual(('alarm', payload['timestamp']),
                         (event.fields['state'], event.fields['state_timestamp']))

    def test_type_change_takes_the_new_rule_key(self) -> None:
        rule = samples.RULES['prometheus']
        payload = samples.rule_change(ID, {'type': 'prometheus', 'rule': rule})
        event = self.one('alarm.rule_change', payload, knowing(samples.alarm('event')))
        self.assertEqual(rule, event.fields['prometheus_rule'])
        self.assertNotIn('event_rule', event.fields)
        self.assertEqual(samples.SERVER, event.fields['resource_id'])

    def test_unknown_alarm_is_fetched_once(self) -> None:
        current = samples.alarm('composite', name='renamed')
        self.http.get(f'{ALARMS}/{ID}', json=current)
        lookup = knowing()
        event = self.one('alarm.rule_change',
                         samples.rule_change(ID, {'name': 'renamed'}), lookup)
        self.assertEqual([('GET', f'/v2/alarms/{ID}', [])], self.calls())
        self.assertEqual([('aodh', ID)], lookup.asked)
        self.assertEqual(alarm_fields(current), dict(event.fields))
        self.assertEqual('alarm.rule_change', event.event_type)

    def test_alarm_gone_before_the_fetch_gives_no_event(self) -> None:
        self.http.get(f'{ALARMS}/{ID}', status_code=404,
                      json={'error_message': {'faultstring': f'Alarm {ID} not found'}})
        self.assertEqual([], self.handle('alarm.rule_change',
                                         samples.rule_change(ID, {'name': 'x'})))
        self.assertIn('the alarm is gone', self.logs.output)

    def test_failed_fetch_gives_no_event_and_does_not_raise(self) -> None:
        self.http.get(f'{ALARMS}/{ID}', status_code=503)
        self.assertEqual([], self.handle('alarm.rule_change',
                                         samples.rule_change(ID, {'name': 'x'})))
        self.assertIn('503', self.logs.output)

    def test_fetch_answering_another_alarm_gives_no_event(self) -> None:
        self.http.get(f'{ALARMS}/{ID}', json=samples.alarm('event', 2))
        self.assertEqual([], self.handle('alarm.rule_change',
                                         samples.rule_change(ID, {'name': 'x'})))


class TestStateTransition(_NotificationTest):

    def test_api_transition_sets_state_reason_and_state_timestamp(self) -> None:
        payload = samples.api_state_transition(ID, 'alarm')
        event = self.one('alarm.state_transition', payload, knowing(samples.alarm('event')))
        self.assertEqual(('alarm', 'Manually set via API', samples.STATE_CHANGED),
                         (event.fields['state'], event.fields['state_reason'],
                          event.fields['state_timestamp']))
        self.assertEqual(parse_time(samples.STATE_CHANGED), event.version.source)
        self.assertEqual([], self.calls())

    def test_api_transition_keeps_the_known_severity(self) -> None:
        body = samples.alarm('event', severity='critical')
        payload = samples.api_state_transition(ID)  # severity null, as Aodh sends it
        event = self.one('alarm.state_transition', payload, knowing(body))
        self.assertEqual('critical', event.fields['severity'])

    def test_evaluator_transition_with_a_string_detail(self) -> None:
        payload = samples.evaluator_state_transition(ID, 'alarm', reason='hit')
        self.assertIsInstance(payload['detail'], str)
        event = self.one('alarm.state_transition', payload, knowing(samples.alarm('event')))
        self.assertEqual(('alarm', 'hit'),
                         (event.fields['state'], event.fields['state_reason']))

    def test_evaluator_transition_keeps_state_timestamp_as_aodh_does(self) -> None:
        body = samples.alarm('event')
        payload = samples.evaluator_state_transition(ID, 'alarm')
        event = self.one('alarm.state_transition', payload, knowing(body))
        # Aodh's evaluators do not move state_timestamp in the database, so a
        # later poll shows the same source time and wins on observation time.
        self.assertEqual(samples.CREATED, event.fields['state_timestamp'])
        self.assertEqual((parse_time(samples.CREATED), OBSERVED),
                         tuple(event.version)[:2])

    def test_evaluator_transition_takes_the_alarm_severity(self) -> None:
        payload = samples.evaluator_state_transition(ID, 'ok', severity='moderate')
        event = self.one('alarm.state_transition', payload, knowing(samples.alarm('event')))
        self.assertEqual(('ok', 'moderate'),
                         (event.fields['state'], event.fields['severity']))

    def test_unknown_alarm_is_fetched_once(self) -> None:
        current = samples.alarm('loadbalancer_member_health', state='alarm')
        self.http.get(f'{ALARMS}/{ID}', json=current)
        event = self.one('alarm.state_transition',
                         samples.evaluator_state_transition(ID, 'alarm'))
        self.assertEqual([('GET', f'/v2/alarms/{ID}', [])], self.calls())
        self.assertEqual('alarm', event.fields['state'])
        self.assertEqual(samples.GROUP, event.fields['resource_id'])

    def test_payload_type_is_not_the_alarm_type(self) -> None:
        payload = samples.api_state_transition(ID)
        self.assertEqual('state transition', payload['type'])
        event = self.one('alarm.state_transition', payload,
                         knowing(samples.alarm('prometheus')))
        self.assertEqual('prometheus', event.fields['type'])
        self.assertEqual(samples.RULES['prometheus'], event.fields['prometheus_rule'])


class TestDeletion(_NotificationTest):

    def test_deletion_of_a_known_alarm_carries_its_fields(self) -> None:
        body = samples.deduced_alarm()
        event = self.one('alarm.deletion', samples.deletion(ID, 'alarm', 'critical'),
                         knowing(body))
        self.assertEqual((DELETE_ENTITY, Action.UPDATE, True),
                         (event.event_type, event.action, event.deleted))
        self.assertEqual(body['name'], event.fields['name'])
        self.assertEqual(samples.VITRAGE_ID, event.fields['vitrage_id'])
        self.assertEqual([], self.calls())

    def test_deletion_of_an_unknown_alarm_makes_no_call(self) -> None:
        event = self.one('alarm.deletion', samples.deletion(ID, 'ok', 'moderate'))
        self.assertEqual([], self.calls())
        self.assertNotIn('unknown', self.logs.output)  # no type is not an unknown type
        # The payload names the deleting caller's project, not the alarm's.
        self.assertEqual((ID, None, 'ok', 'moderate'),
                         (event.fields['alarm_id'], event.fields['project_id'],
                          event.fields['state'], event.fields['severity']))

    def test_deletion_version_is_the_deletion_time(self) -> None:
        payload = samples.deletion(ID, timestamp='2024-05-01T12:20:00.000000')
        event = self.one('alarm.deletion', payload, knowing(samples.alarm('event')))
        self.assertEqual((parse_time('2024-05-01T12:20:00'), OBSERVED, 1),
                         tuple(event.version))

    def test_deletion_without_a_time_is_versioned_by_the_envelope(self) -> None:
        payload = dict(samples.deletion(ID), timestamp=None)
        event = self.one('alarm.deletion', payload, knowing(samples.alarm('event')))
        self.assertEqual((OBSERVED, OBSERVED), tuple(event.version)[:2])


class TestBadInput(_NotificationTest):

    def test_an_alarm_id_cannot_forge_a_log_line(self) -> None:
        forged = 'x\nCRITICAL forged line'
        self.assertEqual([], self.handle('alarm.state_transition',
                                         samples.api_state_transition(forged)))
        self.assertIn('dropped', self.logs.output)
        self.assertNotIn('\nCRITICAL forged', self.logs.output)

    def assert_dropped(self, event_type: Any, payload: Any, why: str) -> None:
        self.assertEqual([], self.handle(event_type, payload, knowing(samples.alarm('event'))))
        self.assertIn(why, self.logs.output)
        self.assertEqual([], self.calls())

    def test_missing_alarm_id(self) -> None:
        payload = samples.api_state_transition(ID)
        del payload['alarm_id']
        self.assert_dropped('alarm.state_transition', payload, 'no alarm_id')

    def test_unparsable_string_detail(self) -> None:
        payload = samples.evaluator_state_transition(ID)
        payload['detail'] = '{"state": "alarm"'
        self.assert_dropped('alarm.state_transition', payload, 'detail is not valid JSON')

    def test_string_detail_nested_past_the_recursion_limit(self) -> None:
        payload = samples.evaluator_state_transition(ID)
        payload['detail'] = '[' * 100_000 + ']' * 100_000
        self.assert_dropped('alarm.state_transition', payload, 'detail nests too deep')

    def test_detail_of_the_wrong_type(self) -> None:
        payload = dict(samples.api_state_transition(ID), detail=['alarm'])
        self.assert_dropped('alarm.state_transition', payload, 'detail is a list')

    def test_string_detail_that_is_not_an_object(self) -> None:
        payload = dict(samples.api_state_transition(ID), detail='"alarm"')
        self.assert_dropped('alarm.state_transition', payload, 'detail is a str')

    def test_unknown_state(self) -> None:
        payload = samples.api_state_transition(ID, state='on fire')
        self.assert_dropped('alarm.state_transition', payload, "unknown alarm state 'on fire'")

    def test_unknown_state_in_a_rule_change(self) -> None:
        payload = samples.rule_change(ID, {'state': 'ALARM'})
        self.assert_dropped('alarm.rule_change', payload, "unknown alarm state 'ALARM'")

    def test_state_transition_without_a_state(self) -> None:
        payload = dict(samples.api_state_transition(ID), detail={'state_reason': 'x'})
        self.assert_dropped('alarm.state_transition', payload, 'names no state')

    def test_payload_that_is_not_an_object(self) -> None:
        self.assert_dropped('alarm.creation', ['x'], 'not an object')

    def test_event_type_that_is_not_an_alarm_change(self) -> None:
        self.assert_dropped('alarm.something', samples.api_state_transition(ID),
                           'not an Aodh alarm change')

    def test_alarm_id_that_cannot_be_an_id(self) -> None:
        payload = dict(samples.api_state_transition(ID), alarm_id='x' * 100_000)
        self.assert_dropped('alarm.state_transition', payload, 'not an Aodh alarm id')
        self.assertLess(len(self.logs.output), 2000)

    def test_lookup_that_raises_does_not_escape(self) -> None:
        def broken(entity_type: str, entity_id: str) -> None:
            raise RuntimeError('cache is broken')
        events = make_driver().notifications(
            'alarm.state_transition', samples.api_state_transition(ID),
            samples.METADATA, broken)
        self.assertEqual([], events)
        self.assertIn('cache is broken', self.logs.output)

    def test_metadata_without_a_timestamp_uses_the_current_time(self) -> None:
        events = self.handle('alarm.creation', samples.creation(samples.alarm('event')),
                             metadata={})
        self.assertGreater(events[0].version.observed, OBSERVED or 0)

    def test_lookup_fields_are_not_changed(self) -> None:
        known = alarm_fields(samples.alarm('event'))
        before = json.dumps(known, sort_keys=True)
        make_driver().notifications(
            'alarm.rule_change', samples.rule_change(ID, {'name': 'x'}),
            samples.METADATA, lambda t, i: known)
        self.assertEqual(before, json.dumps(known, sort_keys=True))


class TestNotifiedRulesMatchPolledRules(_NotificationTest):

    def test_prometheus_scope_to_project_is_dropped_as_the_api_never_shows_it(self) -> None:
        body = samples.alarm('prometheus')
        payload = samples.creation(body)
        payload['detail']['rule']['scope_to_project'] = samples.PROJECT_A
        event = self.one('alarm.creation', payload)
        self.assertEqual(alarm_fields(body), dict(event.fields))
        self.assertNotIn('scope_to_project', event.fields['prometheus_rule'])


class TestOwnProjectScope(_NotificationTest):
    """With ``all_projects = false`` polls see one project: so do notifications."""

    def polled_driver(self, all_projects: bool = False) -> Any:
        """A driver that has polled once (an alarm of PROJECT_A): it knows its project."""
        driver = make_driver(all_projects=all_projects)
        self.serve_pages([samples.alarm('event', 2)], page_size=1000)
        driver.get_all()
        return driver

    def creation_in(self, project_id: str) -> dict[str, Any]:
        return samples.creation(samples.alarm('event', 1, project_id=project_id))

    def test_another_projects_alarm_is_ignored(self) -> None:
        driver = self.polled_driver()  # learns the own project: PROJECT_A

        events = driver.notifications(
            'alarm.creation', self.creation_in(samples.PROJECT_B), samples.METADATA, knowing())

        self.assertEqual([], events)

    def test_the_own_projects_alarm_is_kept(self) -> None:
        driver = self.polled_driver()

        events = driver.notifications(
            'alarm.creation', self.creation_in(samples.PROJECT_A), samples.METADATA, knowing())

        self.assertEqual([samples.alarm_id(1)], [e.entity_id for e in events])

    def test_an_alarm_an_admin_created_in_the_own_project_is_kept(self) -> None:
        driver = self.polled_driver()
        payload = self.creation_in(samples.PROJECT_A)
        self.assertEqual(samples.ADMIN_PROJECT, payload['on_behalf_of'])  # as Aodh sends it

        events = driver.notifications('alarm.creation', payload, samples.METADATA,
                                            knowing())

        self.assertEqual([samples.alarm_id(1)], [e.entity_id for e in events])

    def test_an_alarm_the_own_project_created_for_another_is_ignored(self) -> None:
        driver = self.polled_driver()
        payload = self.creation_in(samples.PROJECT_B)
        payload['project_id'] = payload['on_behalf_of'] = samples.PROJECT_A

        events = driver.notifications('alarm.creation', payload, samples.METADATA,
                                            knowing())

        self.assertEqual([], events)

    def test_an_own_alarm_an_admin_of_another_project_deleted_is_deleted(self) -> None:
        driver = self.polled_driver()
        known = samples.alarm('event', 1)  # of PROJECT_A
        payload = samples.deletion(known['alarm_id'])
        self.assertEqual(samples.ADMIN_PROJECT, payload['on_behalf_of'])  # as Aodh sends it

        events = driver.notifications('alarm.deletion', payload, samples.METADATA,
                                      knowing(known))

        self.assertEqual([(known['alarm_id'], True, samples.PROJECT_A)],
                         [(e.entity_id, e.deleted, e.fields['project_id']) for e in events])

    def test_another_projects_alarm_deleted_by_an_admin_is_ignored(self) -> None:
        driver = self.polled_driver()
        known = samples.alarm('event', 1, project_id=samples.PROJECT_B)

        events = driver.notifications('alarm.deletion', samples.deletion(known['alarm_id']),
                                      samples.METADATA, knowing(known))

        self.assertEqual([], events)

    def test_every_project_is_kept_when_polls_list_every_project(self) -> None:
        driver = self.polled_driver(all_projects=True)

        events = driver.notifications(
            'alarm.creation', self.creation_in(samples.PROJECT_B), samples.METADATA, knowing())

        self.assertEqual(1, len(events))

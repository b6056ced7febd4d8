"""Real Aodh 23: alarms of every type it creates without Gnocchi or Keystone,
in two projects, through vitrage_ds's client, and its alarm.* notifications."""

from __future__ import annotations

from typing import Any

from tests.integration import base
from vitrage_ds.errors import APIError
from vitrage_ds.http import paging


def prometheus_alarm(name: str) -> dict[str, Any]:
    return {'name': name, 'type': 'prometheus',
            'prometheus_rule': {'query': 'up', 'threshold': 1.0,
                                'comparison_operator': 'lt'}}


def composite_alarm(name: str) -> dict[str, Any]:
    sub = {'type': 'prometheus', 'query': 'up', 'threshold': 1.0, 'comparison_operator': 'lt'}
    return {'name': name, 'type': 'composite', 'composite_rule': {'or': [sub, dict(sub)]}}


def member_health_alarm(name: str) -> dict[str, Any]:
    return {'name': name, 'type': 'loadbalancer_member_health',
            'loadbalancer_member_health_rule': {'pool_id': 'pool-1', 'stack_id': 'stack-1',
                                                'autoscaling_group_id': 'asg-1'}}


KINDS = {'event': base.event_alarm, 'prometheus': prometheus_alarm,
         'composite': composite_alarm, 'loadbalancer_member_health': member_health_alarm}
ALL_PROJECTS = [('q.field', 'all_projects'), ('q.op', 'eq'), ('q.value', 'true')]


class AlarmTypesInTwoProjectsTest(base.RealServicesTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.projects = [self.new_project(), self.new_project()]
        self.alarms: dict[str, dict[str, str]] = {}
        for project in self.projects:
            self.alarms[project] = {
                self.create_alarm(self.aodh(project, composite=kind == 'composite'),
                                  make(f'{kind}-alarm'))['alarm_id']: kind
                for kind, make in KINDS.items()}

    def test_each_project_lists_exactly_its_own_alarms_of_every_type(self) -> None:
        for project in self.projects:
            listed = self.aodh(project).get('v2/alarms')
            self.assertEqual(self.alarms[project],
                             {a['alarm_id']: a['type'] for a in listed})
            self.assertEqual({project}, {a['project_id'] for a in listed})

    def test_all_projects_query_lists_both_projects(self) -> None:
        listed = self.aodh(self.projects[0]).get('v2/alarms', params=ALL_PROJECTS)
        ours = {a['alarm_id']: a['project_id'] for a in listed
                if a['project_id'] in self.projects}
        self.assertEqual({i: p for p, ids in self.alarms.items() for i in ids}, ours)

    def test_marker_paging_walks_the_whole_listing(self) -> None:
        project = self.projects[1]
        walked = list(self.aodh(project).paginate_marker('v2/alarms', 'alarm_id', limit=3))
        self.assertEqual(sorted(self.alarms[project]), sorted(a['alarm_id'] for a in walked))

    def test_new_alarms_have_insufficient_data_and_a_rule_of_their_type(self) -> None:
        project = self.projects[0]
        for alarm_id, kind in self.alarms[project].items():
            alarm = self.aodh(project).get(f'v2/alarms/{alarm_id}')
            self.assertEqual('insufficient data', alarm['state'])
            self.assertIn(f'{kind}_rule', alarm)


class AlarmDeletedWhileListedTest(base.RealServicesTestCase):
    """An alarm deleted between two pages, the second asked for after it."""

    def setUp(self) -> None:
        super().setUp()
        self.client = self.aodh(self.new_project())
        self.ids = [self.create_alarm(self.client, base.event_alarm(f'listed-{i}'))['alarm_id']
                    for i in range(5)]

    def test_aodh_answers_that_the_marker_is_not_found(self) -> None:
        self.client.delete(f'v2/alarms/{self.ids[0]}')
        error = self.assertRaises(APIError, self.client.get, 'v2/alarms',
                                  params=[('limit', 2), ('marker', self.ids[0])], retry=False)
        self.assertTrue(paging.vanished_marker(error), str(error))

    def test_the_listing_yields_every_alarm_once(self) -> None:
        listing = self.client.paginate_marker('v2/alarms', 'alarm_id', limit=2)
        first_page = [next(listing)['alarm_id'], next(listing)['alarm_id']]
        self.client.delete(f'v2/alarms/{first_page[-1]}')  # the next page's marker

        listed = first_page + [a['alarm_id'] for a in listing]

        self.assertEqual(sorted(self.ids), sorted(listed))


class AlarmLifeCycleTest(base.RealServicesTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.project = self.new_project()
        self.client = self.aodh(self.project)
        self.log = self.bus(self.coords.aodh_exchange)
        self.alarm = self.create_alarm(self.client, base.event_alarm('life'))
        self.alarm_id = self.alarm['alarm_id']

    def test_create_sends_alarm_creation_with_the_whole_alarm_in_detail(self) -> None:
        note = self.alarm_note(self.log, self.alarm_id, 'alarm.creation')
        self.assertEqual(('info', 'aodh.api'), (note.priority, note.publisher_id))
        self.assertEqual('creation', note.payload['type'])
        self.assertEqual(self.project, note.payload['on_behalf_of'])
        detail = note.payload['detail']
        self.assertEqual(('event', 'life', 'insufficient data'),
                         (detail['type'], detail['name'], detail['state']))
        self.assertEqual(self.alarm['event_rule'], detail['rule'])

    def test_state_put_sets_the_state_and_sends_a_state_transition(self) -> None:
        self.assertEqual('alarm', self.client.put(f'v2/alarms/{self.alarm_id}/state',
                                                  json='alarm'))
        self.assertEqual('alarm', self.client.get(f'v2/alarms/{self.alarm_id}/state'))
        note = self.alarm_note(self.log, self.alarm_id, 'alarm.state_transition')
        self.assertEqual('state transition', note.payload['type'])
        self.assertEqual('alarm', note.payload['detail']['state'])
        self.assertIsInstance(note.payload['detail'], dict)

    def test_rule_change_sends_the_changed_fields(self) -> None:
        changed = base.event_alarm('life', resource='r-2')
        updated = self.client.put(f'v2/alarms/{self.alarm_id}', json=changed)
        self.assertEqual('r-2', updated['event_rule']['query'][0]['value'])
        note = self.alarm_note(self.log, self.alarm_id, 'alarm.rule_change')
        self.assertEqual('rule change', note.payload['type'])
        self.assertEqual('r-2', note.payload['detail']['rule']['query'][0]['value'])

    def test_delete_sends_a_deletion_and_the_alarm_is_gone(self) -> None:
        self.client.delete(f'v2/alarms/{self.alarm_id}')
        note = self.alarm_note(self.log, self.alarm_id, 'alarm.deletion')
        self.assertEqual('deletion', note.payload['type'])
        error = self.assertRaises(APIError, self.client.get, f'v2/alarms/{self.alarm_id}')
        self.assertEqual(404, error.status)

    def test_history_lists_every_change_newest_first(self) -> None:
        self.client.put(f'v2/alarms/{self.alarm_id}/state', json='alarm')
        history = self.client.get(f'v2/alarms/{self.alarm_id}/history')
        self.assertEqual(['state transition', 'creation'], [h['type'] for h in history])

    def test_event_query_item_without_type_is_refused(self) -> None:
        body = base.event_alarm('untyped')
        del body['event_rule']['query'][0]['type']
        error = self.assertRaises(APIError, self.client.post, 'v2/alarms', json=body)
        self.assertEqual(400, error.status)

    def test_a_member_of_another_project_cannot_see_the_alarm(self) -> None:
        other = self.aodh(self.new_project(), roles='member')
        error = self.assertRaises(APIError, other.get, f'v2/alarms/{self.alarm_id}')
        self.assertEqual(404, error.status)

    def test_an_admin_of_another_project_gets_the_alarm_by_id(self) -> None:
        other = self.aodh(self.new_project(), roles='admin')
        self.assertEqual(self.project, other.get(f'v2/alarms/{self.alarm_id}')['project_id'])


class CompositeOfPrometheusTest(base.RealServicesTestCase):
    """Aodh 23's API refuses composite alarms of prometheus sub-rules once it
    has validated any prometheus alarm (``PrometheusRule.scope_to_project``
    is kept on the class). When this starts failing, Aodh has fixed it and
    the second Aodh API of the launcher can go."""

    def test_composite_is_refused_after_a_prometheus_alarm(self) -> None:
        client = self.aodh(self.new_project())
        self.create_alarm(client, prometheus_alarm('first'))
        error = self.assertRaises(APIError, client.post, 'v2/alarms',
                                  json=composite_alarm('second'))
        self.assertEqual(400, error.status)
        self.assertIn('scope_to_project', error.detail)

"""The emulated Aodh v2 API: list scoping, query, paging, CRUD, state, history."""

from __future__ import annotations

import json
import uuid

import fixtures

from tests.unit.testing.base import CloudTestCase
from vitrage_ds_testing.cloud import ALARM_TYPES, CREATABLE_TYPES, sample_rule

ALL_PROJECTS = [('q.field', 'all_projects'), ('q.op', 'eq'), ('q.value', 'true')]


class AodhTestCase(CloudTestCase):

    def setUp(self):
        super().setUp()
        self.alarms = self.cloud.aodh.populate(16)
        self.demo_alarm = self.cloud.aodh.populate(
            1, projects=[self.cloud.demo_project_id])[0]

    def list(self, params=(), session=None):
        session = session or self.http
        resp = session.get(f'{self.cloud.aodh_endpoint}/v2/alarms', params=list(params))
        self.assertEqual(200, resp.status_code, resp.text)
        return resp.json()


class TestAlarmList(AodhTestCase):

    def test_scoped_to_the_callers_project_newest_first(self):
        names = [a['name'] for a in self.list()]
        self.assertEqual([f'alarm-{n:05d}' for n in range(16, 0, -1)], names)

    def test_alarm_has_aodhs_keys_and_its_rule(self):
        alarm = next(a for a in self.list() if a['type'] == 'event')
        self.assertEqual(
            {'alarm_actions', 'ok_actions', 'insufficient_data_actions', 'alarm_id', 'name',
             'description', 'enabled', 'repeat_actions', 'type', 'time_constraints',
             'project_id', 'user_id', 'timestamp', 'state', 'state_timestamp',
             'state_reason', 'severity', 'evaluate_timestamp', 'event_rule'}, set(alarm))
        self.assertEqual('string', alarm['event_rule']['query'][0]['type'])

    def test_every_type_is_seeded_with_its_rule_key(self):
        alarms = self.list()
        self.assertEqual(set(ALARM_TYPES), {a['type'] for a in alarms})
        for alarm in alarms:
            self.assertIn(f'{alarm["type"]}_rule', alarm)

    def test_all_projects_lists_every_project_for_admin(self):
        alarms = self.list(ALL_PROJECTS)
        self.assertEqual(17, len(alarms))
        self.assertIn(self.demo_alarm['alarm_id'], [a['alarm_id'] for a in alarms])

    def test_all_projects_is_403_for_non_admin(self):
        resp = self.as_user('demo').get(f'{self.cloud.aodh_endpoint}/v2/alarms',
                                        params=ALL_PROJECTS)
        self.assertEqual(403, resp.status_code)
        self.assertIn('faultstring', resp.json()['error_message'])

    def test_non_admin_sees_only_its_project(self):
        alarms = self.list(session=self.as_user('demo'))
        self.assertEqual([self.demo_alarm['alarm_id']], [a['alarm_id'] for a in alarms])

    def test_non_admin_asking_for_another_project_is_401(self):
        resp = self.as_user('demo').get(
            f'{self.cloud.aodh_endpoint}/v2/alarms',
            params=[('q.field', 'project_id'), ('q.op', 'eq'),
                    ('q.value', self.cloud.admin_project_id)])
        self.assertEqual(401, resp.status_code)

    def test_missing_project_identity_is_403(self):
        resp = self.http.get(f'{self.cloud.aodh_endpoint}/v2/alarms',
                             headers={'X-Auth-Token': '', 'X-User-Id': 'u'})
        self.assertEqual(403, resp.status_code)

    def test_eq_filters(self):
        def names(field, value):
            return {a['name'] for a in self.list([('q.field', field), ('q.op', 'eq'),
                                                  ('q.value', value)])}
        self.assertEqual({'alarm-00003'}, names('name', 'alarm-00003'))
        self.assertEqual({a['name'] for a in self.alarms if a['type'] == 'prometheus'},
                         names('type', 'prometheus'))
        self.assertEqual({a['name'] for a in self.alarms if a['state'] == 'alarm'},
                         names('state', 'alarm'))
        self.assertEqual({a['name'] for a in self.alarms if a['severity'] == 'critical'},
                         names('severity', 'critical'))
        self.assertEqual({a['name'] for a in self.alarms if not a['enabled']},
                         names('enabled', 'false'))
        self.assertEqual({a['name'] for a in self.alarms if a['repeat_actions']},
                         names('repeat_actions', 'True'))
        self.assertEqual({'alarm-00002'}, names('timestamp', self.alarms[1]['timestamp']))
        self.assertEqual(16, len(names('user_id', self.cloud.admin_user_id)))
        self.assertEqual(16, len(names('project_id', self.cloud.admin_project_id)))

    def test_other_operators_are_400(self):
        resp = self.http.get(f'{self.cloud.aodh_endpoint}/v2/alarms', params=[
            ('q.field', 'name'), ('q.op', 'ne'), ('q.value', 'x')])
        self.assertEqual(400, resp.status_code)
        self.assertIn("only operations {'eq'} are allowed",
                      resp.json()['error_message']['faultstring'])

    def test_other_fields_are_400(self):
        resp = self.http.get(f'{self.cloud.aodh_endpoint}/v2/alarms', params=[
            ('q.field', 'description'), ('q.op', 'eq'), ('q.value', 'x')])
        self.assertEqual(400, resp.status_code)

    def test_limit_and_marker_page_without_a_next_link(self):
        first = self.list([('limit', 5)])
        second = self.list([('limit', 5), ('marker', first[-1]['alarm_id'])])
        self.assertEqual(['alarm-00016', 'alarm-00015', 'alarm-00014', 'alarm-00013',
                          'alarm-00012'], [a['name'] for a in first])
        self.assertEqual('alarm-00011', second[0]['name'])
        self.assertIsInstance(first, list)

    def test_paging_by_alarm_id_sees_alarms_created_between_pages(self):
        by_id = [('sort', 'alarm_id:asc'), ('limit', 100)]
        first = self.list([('sort', 'alarm_id:asc'), ('limit', 1)])
        # A random id could sort before the marker (and rightly be missed):
        # the one created between the pages sorts after it.
        last = uuid.UUID('ffffffff-ffff-4fff-bfff-ffffffffffff')
        with fixtures.MockPatch('vitrage_ds_testing.cloud.aodh.uuid.uuid4', return_value=last):
            created = self.cloud.aodh.create_alarm('late', notify=False)
        rest = self.list([*by_id, ('marker', first[0]['alarm_id'])])
        expected = sorted({a['alarm_id'] for a in self.alarms} | {created['alarm_id']})
        self.assertEqual(expected, [first[0]['alarm_id']] + [a['alarm_id'] for a in rest])

    def test_unknown_marker_is_500(self):
        resp = self.http.get(f'{self.cloud.aodh_endpoint}/v2/alarms',
                             params={'marker': 'nope'})
        self.assertEqual(500, resp.status_code)  # as Aodh 23 answers
        self.assertEqual('Marker nope not found.', resp.json()['error_message']['faultstring'])

    def test_sort(self):
        alarms = self.list([('sort', 'name:asc'), ('limit', 2)])
        self.assertEqual(['alarm-00001', 'alarm-00002'], [a['name'] for a in alarms])

    def test_bad_sort_key_is_400(self):
        resp = self.http.get(f'{self.cloud.aodh_endpoint}/v2/alarms',
                             params={'sort': 'colour:asc'})
        self.assertEqual(400, resp.status_code)

    def test_aodh_root_lists_v2(self):
        resp = self.http.get(self.cloud.aodh_endpoint)
        self.assertEqual('v2', resp.json()['versions']['values'][0]['id'])


class TestAlarmCrud(AodhTestCase):

    def create(self, body, session=None):
        return (session or self.http).post(f'{self.cloud.aodh_endpoint}/v2/alarms',
                                           json=body)

    def test_create_every_current_type(self):
        for alarm_type in CREATABLE_TYPES:
            resp = self.create({'name': f'n-{alarm_type}', 'type': alarm_type,
                                f'{alarm_type}_rule': sample_rule(alarm_type)})
            self.assertEqual(201, resp.status_code, resp.text)
            body = resp.json()
            self.assertEqual('insufficient data', body['state'])
            self.assertEqual('Not evaluated yet', body['state_reason'])
            self.assertEqual(self.cloud.admin_project_id, body['project_id'])
            self.assertTrue(resp.headers['Location'].endswith(body['alarm_id']))

    def test_create_fills_rule_defaults(self):
        resp = self.create({'name': 'p', 'type': 'prometheus',
                            'prometheus_rule': {'threshold': 1, 'query': 'up'}})
        self.assertEqual({'comparison_operator': 'eq', 'threshold': 1, 'query': 'up'},
                         resp.json()['prometheus_rule'])

    def test_legacy_threshold_type_cannot_be_created(self):
        resp = self.create({'name': 't', 'type': 'threshold',
                            'threshold_rule': sample_rule('threshold')})
        self.assertEqual(400, resp.status_code)

    def test_event_query_items_need_a_type(self):
        resp = self.create({'name': 'e', 'type': 'event', 'event_rule': {
            'event_type': 'x', 'query': [{'field': 'a', 'op': 'eq', 'value': 'b'}]}})
        self.assertEqual(400, resp.status_code)
        self.assertEqual("Query value or traits invalid: value must be one of ['', 'boolean', "
                         "'float', 'integer', 'string'] for dictionary value @ data['value']",
                         resp.json()['error_message']['faultstring'])

    def test_missing_rule_is_400(self):
        resp = self.create({'name': 'e', 'type': 'event'})
        self.assertEqual(400, resp.status_code)
        self.assertEqual('event_rule must be set for event type alarm',
                         resp.json()['error_message']['faultstring'])

    def test_missing_type_and_missing_rule_key_are_400(self):
        self.assertEqual(400, self.create({'name': 'e'}).status_code)
        self.assertEqual(400, self.create({
            'name': 'g', 'type': 'gnocchi_resources_threshold',
            'gnocchi_resources_threshold_rule': {'threshold': 1}}).status_code)

    def test_two_rules_are_400(self):
        resp = self.create({'name': 'e', 'type': 'event', 'event_rule': {},
                            'prometheus_rule': sample_rule('prometheus')})
        self.assertEqual(400, resp.status_code)

    def test_show_and_delete(self):
        alarm_id = self.alarms[0]['alarm_id']
        shown = self.aodh('GET', f'/v2/alarms/{alarm_id}')
        self.assertEqual(self.alarms[0], shown.json())
        self.assertEqual(204, self.aodh('DELETE', f'/v2/alarms/{alarm_id}').status_code)
        gone = self.aodh('GET', f'/v2/alarms/{alarm_id}')
        self.assertEqual(404, gone.status_code)
        self.assertEqual(f'Alarm {alarm_id} not found',
                         gone.json()['error_message']['faultstring'])

    def test_other_projects_alarm_is_404_for_non_admin(self):
        resp = self.as_user('demo').get(
            f'{self.cloud.aodh_endpoint}/v2/alarms/{self.alarms[0]["alarm_id"]}')
        self.assertEqual(404, resp.status_code)

    def test_put_resets_what_the_body_leaves_out(self):
        alarm = self.alarms[3]
        self.aodh('PUT', f'/v2/alarms/{alarm["alarm_id"]}/state', json='alarm')
        body = {'name': alarm['name'], 'type': 'prometheus',
                'prometheus_rule': sample_rule('prometheus')}
        updated = self.aodh('PUT', f'/v2/alarms/{alarm["alarm_id"]}', json=body).json()
        self.assertEqual(('insufficient data', 'low', 'prometheus alarm rule', None),
                         (updated['state'], updated['severity'], updated['description'],
                          updated['evaluate_timestamp']))
        self.assertNotIn(f'{alarm["type"]}_rule', updated)

    def test_composite_sub_rules_read_back_with_scope_to_project(self):
        body = {'name': 'c', 'type': 'composite', 'composite_rule': {'or': [
            {'type': 'prometheus', 'query': 'up', 'threshold': 1.0,
             'comparison_operator': 'lt'}]}}
        created = self.aodh('POST', '/v2/alarms', json=body).json()
        self.assertNotIn('scope_to_project', created['composite_rule']['or'][0])
        shown = self.aodh('GET', f'/v2/alarms/{created["alarm_id"]}').json()
        self.assertIsNone(shown['composite_rule']['or'][0]['scope_to_project'])

    def test_event_alarm_default_description_names_the_event(self):
        created = self.aodh('POST', '/v2/alarms', json={
            'name': 'e', 'type': 'event', 'event_rule': {'event_type': 'compute.x'}}).json()
        self.assertEqual('Alarm when compute.x event occurred.', created['description'])

    def test_admin_without_project_lists_nothing(self):
        headers = {'X-Auth-Token': '', 'X-User-Id': self.cloud.admin_user_id,
                   'X-Roles': 'admin'}
        resp = self.http.get(f'{self.cloud.aodh_endpoint}/v2/alarms', headers=headers)
        self.assertEqual((200, []), (resp.status_code, resp.json()))

    def test_put_replaces_the_alarm(self):
        alarm = dict(self.alarms[0], severity='critical', description='changed')
        resp = self.aodh('PUT', f'/v2/alarms/{alarm["alarm_id"]}', json=alarm)
        self.assertEqual(200, resp.status_code, resp.text)
        self.assertEqual(('critical', 'changed'),
                         (resp.json()['severity'], resp.json()['description']))
        self.assertNotEqual(self.alarms[0]['timestamp'], resp.json()['timestamp'])

    def test_state_get_and_put_with_a_json_string_body(self):
        alarm_id = self.alarms[0]['alarm_id']
        put = self.aodh('PUT', f'/v2/alarms/{alarm_id}/state', json='alarm')
        self.assertEqual((200, 'alarm'), (put.status_code, put.json()))
        self.assertEqual('alarm', self.aodh('GET', f'/v2/alarms/{alarm_id}/state').json())
        self.assertEqual('Manually set via API',
                         self.aodh('GET', f'/v2/alarms/{alarm_id}').json()['state_reason'])

    def test_invalid_state_is_400(self):
        resp = self.aodh('PUT', f'/v2/alarms/{self.alarms[0]["alarm_id"]}/state',
                         json='on fire')
        self.assertEqual(400, resp.status_code)

    def test_history_lists_changes_newest_first_with_json_detail(self):
        alarm_id = self.alarms[0]['alarm_id']
        self.aodh('PUT', f'/v2/alarms/{alarm_id}/state', json='alarm')
        self.cloud.aodh.set_state(alarm_id, 'ok', 'back to normal', notify=False)
        history = self.aodh('GET', f'/v2/alarms/{alarm_id}/history').json()
        self.assertEqual(['state transition', 'state transition'],
                         [h['type'] for h in history])
        self.assertNotIn('severity', history[0])
        self.assertEqual({'state': 'ok', 'transition_reason': 'back to normal'},
                         json.loads(history[0]['detail']))
        self.assertEqual({'state': 'alarm', 'state_reason': 'Manually set via API'},
                         json.loads(history[1]['detail']))

    def test_noauth_headers_create_in_the_headers_project(self):
        headers = self.cloud.noauth_headers(self.cloud.demo_project_id,
                                            self.cloud.demo_user_id, 'member')
        resp = self.http.post(f'{self.cloud.aodh_endpoint}/v2/alarms',
                              headers={**headers, 'X-Auth-Token': ''},
                              json={'name': 'n', 'type': 'event', 'event_rule': {}})
        self.assertEqual(201, resp.status_code, resp.text)
        self.assertEqual((self.cloud.demo_project_id, self.cloud.demo_user_id),
                         (resp.json()['project_id'], resp.json()['user_id']))


class TestHistoryQuery(AodhTestCase):
    """``POST /v2/query/alarms/history``: Aodh's complex query over every alarm's history."""

    def query(self, session=None, **body):
        resp = (session or self.http).post(
            f'{self.cloud.aodh_endpoint}/v2/query/alarms/history',
            json={k: json.dumps(v) if k != 'limit' else v for k, v in body.items()})
        self.assertEqual(200, resp.status_code, resp.text)
        return resp.json()

    def created(self, name='e', session=None):
        resp = (session or self.http).post(f'{self.cloud.aodh_endpoint}/v2/alarms', json={
            'name': name, 'type': 'event', 'description': 'first', 'state': 'alarm',
            'event_rule': {'event_type': '*', 'query': []}})
        self.assertEqual(201, resp.status_code, resp.text)
        return resp.json()

    def test_a_put_is_a_rule_change_holding_only_what_changed(self):
        alarm = self.created()
        put = {k: alarm[k] for k in ('name', 'type', 'severity', 'enabled', 'event_rule')}
        self.aodh('PUT', f'/v2/alarms/{alarm["alarm_id"]}',
                  json={**put, 'description': 'second', 'state': 'ok'})

        changes = self.query(filter={'=': {'alarm_id': alarm['alarm_id']}})

        self.assertEqual(['rule change', 'creation'], [c['type'] for c in changes])
        self.assertEqual({'description': 'second', 'state': 'ok',
                          'state_reason': 'Manually set via API'},
                         json.loads(changes[0]['detail']))
        creation = json.loads(changes[1]['detail'])
        self.assertEqual(('first', 'alarm', 'e'),
                         (creation['description'], creation['state'], creation['name']))
        self.assertEqual({'event_id', 'alarm_id', 'type', 'detail', 'user_id', 'project_id',
                          'on_behalf_of', 'timestamp'}, set(changes[0]))

    def test_filters_by_alarms_types_and_time_newest_first(self):
        first, second, third = self.created('a'), self.created('b'), self.created('c')
        ids = [first['alarm_id'], third['alarm_id']]
        self.aodh('PUT', f'/v2/alarms/{second["alarm_id"]}/state', json='ok')
        since = self.cloud.aodh.changes(third['alarm_id'])[0]['timestamp']
        self.aodh('PUT', f'/v2/alarms/{first["alarm_id"]}/state', json='ok')

        changes = self.query(filter={'and': [
            {'in': {'alarm_id': ids}}, {'in': {'type': ['creation', 'state transition']}},
            {'>=': {'timestamp': since + 'Z'}}]})

        self.assertEqual([(first['alarm_id'], 'state transition'),
                          (third['alarm_id'], 'creation')],
                         [(c['alarm_id'], c['type']) for c in changes])

    def test_orderby_and_limit(self):
        alarms = [self.created(f'n{n}') for n in range(3)]

        changes = self.query(filter={'in': {'alarm_id': [a['alarm_id'] for a in alarms]}},
                             orderby=[{'timestamp': 'asc'}], limit=2)

        self.assertEqual([a['alarm_id'] for a in alarms[:2]],
                         [c['alarm_id'] for c in changes])

    def test_a_deleted_alarms_history_is_still_found(self):
        alarm = self.created()
        self.aodh('DELETE', f'/v2/alarms/{alarm["alarm_id"]}')

        changes = self.query(filter={'=': {'alarm_id': alarm['alarm_id']}})

        self.assertEqual(['deletion', 'creation'], [c['type'] for c in changes])

    def test_a_member_sees_the_changes_made_on_behalf_of_its_project_only(self):
        mine = self.created()
        demo = self.as_user('demo')
        theirs = self.created('d', demo)

        changes = self.query(demo, filter={'in': {'alarm_id': [
            mine['alarm_id'], theirs['alarm_id']]}})

        self.assertEqual([theirs['alarm_id']], [c['alarm_id'] for c in changes])

    def test_an_invalid_filter_or_limit_is_400(self):
        url = f'{self.cloud.aodh_endpoint}/v2/query/alarms/history'
        for body in ({'filter': json.dumps({'=': {'colour': 'red'}})},
                     {'filter': json.dumps({'and': [{'=': {'type': 'creation'}}]})},
                     {'filter': '{not json'},
                     {'orderby': json.dumps([{'timestamp': 'sideways'}])},
                     {'limit': 0}):
            resp = self.http.post(url, json=body)
            self.assertEqual(400, resp.status_code, body)


class TestByVitrageId(AodhTestCase):

    def event_alarm(self, name, *query):
        rule = {'event_type': '*', 'query': [
            {'field': field, 'op': 'eq', 'type': 'string', 'value': value}
            for field, value in query]}
        return self.cloud.aodh.create_alarm(name, 'event', rule, notify=False)

    def test_groups_the_alarms_whose_query_carries_a_vitrage_id(self):
        first = self.event_alarm('a', ('resource_id', 'r'), ('vitrage_id', 'v-1'))
        second = self.event_alarm('b', ('vitrage_id', 'v-1'))
        other = self.event_alarm('c', ('vitrage_id', 'v-2'))
        self.event_alarm('d', ('resource_id', 'r'))

        found = self.cloud.aodh.by_vitrage_id()

        self.assertEqual({'v-1': {first['alarm_id'], second['alarm_id']},
                          'v-2': {other['alarm_id']}},
                         {v: {a['alarm_id'] for a in alarms} for v, alarms in found.items()})

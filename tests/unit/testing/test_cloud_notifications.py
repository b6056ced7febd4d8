"""Notifications the emulated Heat and Aodh send on each change."""

from __future__ import annotations

import json

import fixtures
import testtools

from vitrage_ds_testing import EmulatedCloud
from vitrage_ds_testing.cloud import Notification

HEAT_KEYS = {'tenant_id', 'user_id', 'user_identity', 'username', 'stack_identity',
             'stack_name', 'state', 'state_reason', 'create_at', 'tags', 'updated_at',
             'description'}
AODH_KEYS = {'event_id', 'alarm_id', 'type', 'detail', 'user_id', 'project_id',
             'on_behalf_of', 'timestamp', 'severity'}


class Recorder:
    """A plain-callable sink."""

    def __init__(self):
        self.calls = []

    def __call__(self, event_type, payload, priority):
        self.calls.append((event_type, payload, priority))


class FakePublisher:
    """A publisher-like sink (``publish(event_type, payload, priority=...)``)."""

    def __init__(self):
        self.calls = []

    def publish(self, event_type, payload, priority='info'):
        self.calls.append((event_type, payload, priority))


class NotificationTestCase(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(EmulatedCloud(seed=3))
        self.heat_sink = Recorder()
        self.aodh_sink = FakePublisher()
        self.cloud.publish_to(heat=self.heat_sink, aodh=self.aodh_sink)

    def heat_types(self):
        return [(t, p) for t, _, p in self.heat_sink.calls]


class TestHeatNotifications(NotificationTestCase):

    def test_create_sends_start_then_end_at_info(self):
        self.cloud.heat.create_stack('web', tags=['a'], description='d')
        self.assertEqual([('orchestration.stack.create.start', 'info'),
                          ('orchestration.stack.create.end', 'info')], self.heat_types())

    def test_payload_has_heats_keys_and_user_name_as_user_id(self):
        stack = self.cloud.heat.create_stack('web', tags=['a'], description='d')
        start, end = (p for _, p, _ in self.heat_sink.calls)
        self.assertEqual(HEAT_KEYS, set(end))
        self.assertEqual({
            'tenant_id': self.cloud.admin_project_id, 'user_id': 'admin',
            'user_identity': self.cloud.admin_user_id, 'username': 'admin',
            'stack_identity': stack.id, 'stack_name': 'web', 'state': 'CREATE_COMPLETE',
            'state_reason': 'Stack CREATE completed successfully', 'tags': ['a'],
            'updated_at': None, 'description': 'd', 'create_at': end['create_at']}, end)
        self.assertEqual('CREATE_IN_PROGRESS', start['state'])
        self.assertEqual(start['create_at'], end['create_at'])
        self.assertRegex(end['create_at'], r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$')

    def test_failure_is_sent_at_error_priority(self):
        stack = self.cloud.heat.create_stack('web', complete=False)
        self.cloud.heat.fail(stack.id, 'Resource CREATE failed: boom')
        event_type, payload, priority = self.heat_sink.calls[-1]
        self.assertEqual(('orchestration.stack.create.error', 'error'),
                         (event_type, priority))
        self.assertEqual(('CREATE_FAILED', 'Resource CREATE failed: boom'),
                         (payload['state'], payload['state_reason']))

    def test_update_and_delete(self):
        stack = self.cloud.heat.create_stack('web', notify=False)
        self.cloud.heat.update_stack(stack.id, tags=['b'])
        self.cloud.heat.delete_stack(stack.id)
        self.assertEqual([('orchestration.stack.update.start', 'info'),
                          ('orchestration.stack.update.end', 'info'),
                          ('orchestration.stack.delete.start', 'info'),
                          ('orchestration.stack.delete.end', 'info')], self.heat_types())
        self.assertIsNotNone(self.heat_sink.calls[1][1]['updated_at'])
        self.assertEqual(['b'], self.heat_sink.calls[1][1]['tags'])

    def test_any_action_and_phase(self):
        stack = self.cloud.heat.create_stack('web', notify=False)
        self.cloud.heat.begin(stack.id, 'suspend')
        self.cloud.heat.complete(stack.id)
        self.cloud.heat.fail(stack.id, 'no', action='check')
        self.assertEqual([('orchestration.stack.suspend.start', 'info'),
                          ('orchestration.stack.suspend.end', 'info'),
                          ('orchestration.stack.check.start', 'info'),
                          ('orchestration.stack.check.error', 'error')], self.heat_types())

    def test_unknown_action_is_refused(self):
        stack = self.cloud.heat.create_stack('web', notify=False)
        self.assertRaises(ValueError, self.cloud.heat.begin, stack.id, 'explode')

    def test_deleting_a_parent_notifies_for_the_child_first(self):
        parent = self.cloud.heat.create_stack('p', notify=False)
        child = self.cloud.heat.create_stack('', parent=parent.id, notify=False)
        self.cloud.heat.delete_stack(parent.id)
        self.assertEqual([child.id, child.id, parent.id, parent.id],
                         [p['stack_identity'] for _, p, _ in self.heat_sink.calls])

    def test_notify_false_sends_nothing(self):
        self.cloud.heat.create_stack('quiet', notify=False)
        self.assertEqual([], self.heat_sink.calls)
        self.assertEqual([], self.cloud.notifications.sent)

    def test_recorded_with_service_and_publisher_id(self):
        self.cloud.heat.create_stack('web')
        note = self.cloud.notifications.of('orchestration')[0]
        self.assertIsInstance(note, Notification)
        self.assertEqual('orchestration.emulated-cloud', note.publisher_id)


class TestAodhNotifications(NotificationTestCase):

    def test_creation_has_a_dict_detail_of_the_whole_alarm(self):
        alarm = self.cloud.aodh.create_alarm('a1', 'event', severity='critical')
        event_type, payload, priority = self.aodh_sink.calls[0]
        self.assertEqual(('alarm.creation', 'info'), (event_type, priority))
        self.assertEqual(AODH_KEYS, set(payload))
        self.assertEqual('creation', payload['type'])
        expected = {k: v for k, v in alarm.items()
                    if k not in ('event_rule', 'evaluate_timestamp')}
        self.assertEqual(dict(expected, rule=alarm['event_rule']), payload['detail'])
        self.assertEqual('critical', payload['severity'])
        self.assertEqual(self.cloud.admin_project_id, payload['on_behalf_of'])

    def test_rule_change_has_only_the_changes(self):
        alarm = self.cloud.aodh.create_alarm('a1', 'event', notify=False)
        self.cloud.aodh.update_alarm(alarm['alarm_id'], description='new',
                                     event_rule={'event_type': 'x', 'query': []})
        event_type, payload, _ = self.aodh_sink.calls[0]
        self.assertEqual('alarm.rule_change', event_type)
        self.assertEqual({'description': 'new', 'rule': {'event_type': 'x', 'query': []}},
                         payload['detail'])
        self.assertIsNone(payload['severity'])

    def test_api_state_transition_has_a_dict_detail(self):
        alarm = self.cloud.aodh.create_alarm('a1', 'event', notify=False)
        self.cloud.aodh.set_state(alarm['alarm_id'], 'alarm', source='api')
        _, payload, _ = self.aodh_sink.calls[0]
        self.assertEqual({'state': 'alarm', 'state_reason': 'Manually set via API'},
                         payload['detail'])
        self.assertEqual('state transition', payload['type'])
        self.assertIsNone(payload['severity'])

    def test_evaluator_state_transition_has_a_json_string_detail(self):
        alarm = self.cloud.aodh.create_alarm('a1', 'event', severity='moderate',
                                             notify=False)
        self.cloud.aodh.set_state(alarm['alarm_id'], 'alarm', 'threshold crossed')
        event_type, payload, _ = self.aodh_sink.calls[0]
        self.assertEqual('alarm.state_transition', event_type)
        self.assertEqual({'state': 'alarm', 'transition_reason': 'threshold crossed'},
                         json.loads(payload['detail']))
        self.assertEqual('moderate', payload['severity'])
        self.assertEqual(self.cloud.admin_project_id, payload['on_behalf_of'])
        self.assertEqual('aodh.evaluator', self.cloud.notifications.sent[-1].publisher_id)

    def test_deletion_has_the_last_state(self):
        alarm = self.cloud.aodh.create_alarm('a1', 'event', notify=False)
        self.cloud.aodh.delete_alarm(alarm['alarm_id'])
        event_type, payload, _ = self.aodh_sink.calls[0]
        self.assertEqual(('alarm.deletion', {'state': 'insufficient data'}),
                         (event_type, payload['detail']))

    def test_api_calls_notify_like_the_real_api(self):
        import requests
        headers = self.cloud.noauth_headers()
        base = f'{self.cloud.aodh_endpoint}/v2/alarms'
        alarm = requests.post(base, headers=headers,
                              json={'name': 'x', 'type': 'event', 'event_rule': {}}).json()
        requests.put(f'{base}/{alarm["alarm_id"]}/state', headers=headers, json='ok')
        requests.delete(f'{base}/{alarm["alarm_id"]}', headers=headers)
        self.assertEqual(['alarm.creation', 'alarm.state_transition', 'alarm.deletion'],
                         [t for t, _, _ in self.aodh_sink.calls])
        self.assertEqual(['aodh.api'] * 3,
                         [n.publisher_id for n in self.cloud.notifications.of('alarming')])

    def test_invalid_state_or_source_is_refused(self):
        alarm = self.cloud.aodh.create_alarm('a1', 'event', notify=False)
        self.assertRaises(ValueError, self.cloud.aodh.set_state, alarm['alarm_id'], 'bad')
        self.assertRaises(ValueError, self.cloud.aodh.set_state, alarm['alarm_id'], 'ok',
                          source='nowhere')


class TestSinks(NotificationTestCase):

    def test_a_failing_sink_does_not_stop_the_others_or_the_change(self):
        logs = self.useFixture(fixtures.FakeLogger())
        def broken(event_type, payload, priority):
            raise RuntimeError('sink down')
        later = Recorder()
        self.cloud.publish_to(heat=broken)
        self.cloud.publish_to(heat=later)
        stack = self.cloud.heat.create_stack('web')
        self.assertEqual(2, len(later.calls))
        self.assertEqual('COMPLETE', self.cloud.heat.get(stack.id).status)
        self.assertIn('a sink failed on orchestration.stack.create.start', logs.output)

    def test_a_sink_altering_the_payload_changes_nothing_else(self):
        def vandal(event_type, payload, priority):
            payload.clear()
        self.cloud.notifications.disconnect_all()
        self.cloud.publish_to(heat=vandal)
        self.cloud.publish_to(heat=self.heat_sink)
        self.cloud.heat.create_stack('web')
        self.assertEqual('web', self.heat_sink.calls[0][1]['stack_name'])
        self.assertEqual('web', self.cloud.notifications.sent[0].payload['stack_name'])

    def test_a_sink_must_be_callable_or_a_publisher(self):
        self.assertRaises(TypeError, self.cloud.publish_to, heat=42)

    def test_of_filters_by_event_type_and_clear_empties(self):
        self.cloud.heat.create_stack('web')
        self.assertEqual(1, len(self.cloud.notifications.of(
            event_type='orchestration.stack.create.end')))
        self.cloud.notifications.clear()
        self.assertEqual([], self.cloud.notifications.sent)

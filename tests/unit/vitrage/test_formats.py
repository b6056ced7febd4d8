"""The dicts the Vitrage adapters hand Vitrage's transformers, built without Vitrage."""

from __future__ import annotations

import datetime
from typing import Any

import testtools

from tests.unit.drivers.aodh import samples
from tests.unit.drivers.heat.heat_api import (CREATED, PROJECT, HeatTestCase, resource_item,
                                              stack_item)
from vitrage_ds.drivers.aodh import alarm_fields
from vitrage_ds.drivers.aodh.fields import TIME_FORMAT
from vitrage_ds.event import Action, Event
from vitrage_ds.vitrage import _formats

TOP = '11111111-0000-0000-0000-000000000001'
NESTED = '11111111-0000-0000-0000-000000000002'
OTHER = '11111111-0000-0000-0000-000000000003'
ALL_LINKED = ('nova.instance', 'cinder.volume', 'neutron.network', 'neutron.port')

#: Keys of Heat's stack listing that a vitrage_ds event does not keep.
_NOT_KEPT = {'links', 'stack_user_project_id', 'deletion_time'}


class TestHeatStacks(HeatTestCase):
    """A poll as the Heat adapter runs it (show_nested off, nested_depth 10)."""

    def setUp(self) -> None:
        super().setUp()
        self.top = stack_item(TOP, 'top')
        self.list_stacks([[self.top]])
        self.serve_resources(self.top, [
            resource_item(TOP, 'top', 'server', resource_type='OS::Nova::Server'),
            resource_item(TOP, 'top', 'group', resource_type='OS::Heat::ResourceGroup',
                          nested=('top-group-x', NESTED)),
            resource_item(TOP, 'top', 'flag', resource_type='OS::Heat::None'),
            resource_item(TOP, 'top', 'pending', resource_type='OS::Cinder::Volume',
                          physical=''),
            resource_item(NESTED, 'top-group-x', 'port', resource_type='OS::Neutron::Port',
                          parent_resource='group'),
        ])

    def poll(self, datasources: tuple[str, ...] = ALL_LINKED) -> list[tuple[dict[str, Any], bool]]:
        events = self.driver(show_nested=False, nested_depth=10).get_all()
        tree = _formats.StackTree()
        tree.learn(events, complete=True)
        return _formats.heat_stacks(events, tree, datasources)

    def test_one_dict_per_top_level_stack_with_the_listing_keys(self) -> None:
        [(stack, deleted)] = self.poll()
        self.assertFalse(deleted)
        listed = {k: v for k, v in self.top.items() if k not in _NOT_KEPT}
        self.assertEqual(listed, {k: stack[k] for k in listed})
        self.assertEqual((TOP, 'top', 'CREATE_COMPLETE', PROJECT, CREATED),
                         (stack['id'], stack['stack_name'], stack['stack_status'],
                          stack['project'], stack['creation_time']))

    def test_resources_of_the_whole_tree_that_vitrage_links(self) -> None:
        [(stack, _)] = self.poll()
        self.assertEqual([('OS::Nova::Server', 'phys-server'), ('OS::Neutron::Port', 'phys-port')],
                         [(r['resource_type'], r['physical_resource_id'])
                          for r in stack['resources']])

    def test_resources_keep_the_resource_listing_keys(self) -> None:
        [(stack, _)] = self.poll()
        server = stack['resources'][0]
        self.assertEqual(('server', 'server', 'CREATE_COMPLETE', 'state changed'),
                         (server['resource_name'], server['logical_resource_id'],
                          server['resource_status'], server['resource_status_reason']))

    def test_resources_of_datasources_vitrage_does_not_run_are_left_out(self) -> None:
        [(stack, _)] = self.poll(datasources=('nova.instance',))
        self.assertEqual(['server'], [r['resource_name'] for r in stack['resources']])

    def test_a_stack_being_deleted_is_a_delete_without_resources(self) -> None:
        self.top['stack_status'] = 'DELETE_IN_PROGRESS'
        [(stack, deleted)] = self.poll()
        self.assertTrue(deleted)
        self.assertEqual([], stack['resources'])


def _stack(stack_id: str, parent: str | None = None, deleted: bool = False) -> Event:
    return Event('heat.stack', 'heat.stack', stack_id, {'stack_id': stack_id, 'parent': parent},
                 Action.SNAPSHOT, 'delete_entity' if deleted else None)


class TestStackTree(testtools.TestCase):

    def test_nested_stacks_listed_with_their_parent_fold_into_the_top(self) -> None:
        tree = _formats.StackTree()
        tree.learn([_stack(TOP), _stack(NESTED, TOP), _stack(OTHER, NESTED)], complete=True)
        self.assertEqual((TOP, TOP, TOP), (tree.top(TOP), tree.top(NESTED), tree.top(OTHER)))
        self.assertEqual((False, True), (tree.nested(TOP), tree.nested(NESTED)))

    def test_a_poll_forgets_what_it_no_longer_shows(self) -> None:
        tree = _formats.StackTree()
        tree.learn([_stack(NESTED, TOP)], complete=True)
        tree.learn([_stack(NESTED)], complete=True)
        self.assertFalse(tree.nested(NESTED))

    def test_a_notification_adds_to_what_the_poll_showed(self) -> None:
        tree = _formats.StackTree()
        tree.learn([_stack(NESTED, TOP)], complete=True)
        tree.learn([_stack(OTHER, TOP)])
        self.assertEqual((True, True), (tree.nested(NESTED), tree.nested(OTHER)))

    def test_a_deleted_stack_is_forgotten(self) -> None:
        tree = _formats.StackTree()
        tree.learn([_stack(NESTED, TOP)], complete=True)
        tree.learn([_stack(NESTED, deleted=True)])
        self.assertFalse(tree.nested(NESTED))

    def test_a_loop_in_garbage_input_ends(self) -> None:
        tree = _formats.StackTree()
        tree.learn([_stack(TOP, NESTED), _stack(NESTED, TOP)], complete=True)
        self.assertIn(tree.top(TOP), (TOP, NESTED))


class TestAodhAlarm(testtools.TestCase):

    def test_the_keys_of_vitrages_own_aodh_driver(self) -> None:
        alarm = _formats.aodh_alarm(alarm_fields(samples.alarm('threshold')))
        self.assertEqual(set(_formats.AODH_KEYS), set(alarm))

    def test_event_alarms_carry_their_event_type(self) -> None:
        alarm = _formats.aodh_alarm(alarm_fields(samples.alarm('event')))
        self.assertEqual(samples.RULES['event']['event_type'], alarm['event_type'])

    def test_a_deduced_alarms_mirror_carries_its_vitrage_id(self) -> None:
        alarm = _formats.aodh_alarm(alarm_fields(samples.deduced_alarm()))
        self.assertEqual((samples.VITRAGE_ID, samples.SERVER),
                         (alarm['vitrage_id'], alarm['resource_id']))
        self.assertNotIn('vitrage_id', _formats.aodh_alarm(alarm_fields(samples.alarm())))

    def test_aodh_times_are_kept_as_they_are(self) -> None:
        alarm = _formats.aodh_alarm(alarm_fields(samples.alarm()))
        self.assertEqual((samples.CREATED, samples.CREATED),
                         (alarm['timestamp'], alarm['state_timestamp']))

    def test_other_time_formats_become_aodhs(self) -> None:
        for given in ('2024-05-01T12:00:00Z', '2024-05-01 12:00:00', '2024-05-01T14:00:00+02:00'):
            alarm = _formats.aodh_alarm(alarm_fields(samples.alarm(timestamp=given)))
            self.assertEqual('2024-05-01T12:00:00.000000', alarm['timestamp'], given)

    def test_a_missing_time_is_now_in_aodhs_format(self) -> None:
        alarm = _formats.aodh_alarm({'alarm_id': 'a1', 'state_timestamp': 'garbage'})
        for key in ('timestamp', 'state_timestamp'):
            datetime.datetime.strptime(alarm[key], TIME_FORMAT)


def _alarm(index: int, state: str, deleted: bool = False) -> Event:
    fields = alarm_fields(samples.alarm('event', index, state=state))
    return Event('aodh', 'aodh', fields['alarm_id'], fields, Action.SNAPSHOT,
                 'delete_entity' if deleted else None)


def _sent(alarms: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None]]:
    return [(a['alarm_id'], a['state'], a.get('vitrage_event_type')) for a in alarms]


A, B, C = (samples.alarm_id(i) for i in (1, 2, 3))


class TestAlarmStates(testtools.TestCase):
    """What the Aodh adapter sends Vitrage: as Vitrage's own Aodh driver chooses."""

    def setUp(self) -> None:
        super().setUp()
        self.states = _formats.AlarmStates()

    def test_a_poll_sends_the_raised_alarms_only(self) -> None:
        sent = self.states.polled([_alarm(1, 'alarm'), _alarm(2, 'ok'),
                                   _alarm(3, 'insufficient data')])
        self.assertEqual([(A, 'alarm', None)], _sent(sent))

    def test_an_alarm_no_longer_raised_is_sent_once_more(self) -> None:
        self.states.polled([_alarm(1, 'alarm')])
        self.assertEqual([(A, 'ok', None)], _sent(self.states.polled([_alarm(1, 'ok')])))
        self.assertEqual([], self.states.polled([_alarm(1, 'ok')]))

    def test_a_raised_alarm_that_is_gone_is_a_delete(self) -> None:
        self.states.polled([_alarm(1, 'alarm'), _alarm(2, 'ok')])
        self.assertEqual([(A, 'alarm', 'delete_entity')], _sent(self.states.polled([])))

    def test_a_raised_alarm_is_sent_by_every_poll_but_changes_only_once(self) -> None:
        self.states.polled([_alarm(1, 'alarm')])
        self.assertEqual([(A, 'alarm', None)], _sent(self.states.polled([_alarm(1, 'alarm')])))
        self.assertEqual([], self.states.polled([_alarm(1, 'alarm')], changes_only=True))
        self.assertEqual([(B, 'alarm', None)],
                         _sent(self.states.polled([_alarm(1, 'alarm'), _alarm(2, 'alarm')],
                                                  changes_only=True)))

    def test_a_notification_raising_an_alarm_is_sent(self) -> None:
        alarm = self.states.notified(_alarm(1, 'alarm'), 'alarm.state_transition')
        assert alarm is not None
        self.assertEqual((A, 'alarm.state_transition'), (alarm['alarm_id'],
                                                         alarm['vitrage_event_type']))

    def test_a_notification_about_a_quiet_alarm_sends_nothing(self) -> None:
        self.assertIsNone(self.states.notified(_alarm(1, 'ok'), 'alarm.creation'))
        self.assertIsNone(self.states.notified(_alarm(1, 'ok', deleted=True), 'alarm.deletion'))

    def test_the_deletion_of_a_raised_alarm_is_a_delete(self) -> None:
        self.states.polled([_alarm(1, 'alarm')])
        alarm = self.states.notified(_alarm(1, 'alarm', deleted=True), 'alarm.deletion')
        assert alarm is not None
        self.assertEqual('delete_entity', alarm['vitrage_event_type'])
        self.assertIsNone(self.states.lookup(A))
        self.assertEqual([], self.states.polled([]))  # deleted once, not again

    def test_the_lookup_knows_the_last_fields(self) -> None:
        self.states.polled([_alarm(1, 'ok')])
        self.states.notified(_alarm(1, 'alarm'), 'alarm.state_transition')
        known = self.states.lookup(A)
        assert known is not None
        self.assertEqual('alarm', known['state'])
        self.assertIsNone(self.states.lookup(C))

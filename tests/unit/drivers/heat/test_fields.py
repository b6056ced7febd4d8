"""The declarative field tables and Heat link parsing."""

from __future__ import annotations

import testtools

from vitrage_ds.drivers.heat import RESOURCE_FIELDS, STACK_FIELDS, links
from vitrage_ds.drivers.heat.fields import (RESOURCE_FROM_LISTING,
                                            STACK_FROM_LISTING,
                                            STACK_FROM_NOTIFICATION, Field,
                                            FieldError, map_fields, timestamp)
from vitrage_ds.drivers.heat.notifications import Notice, parse_event_type


class TestTables(testtools.TestCase):

    def test_both_stack_tables_give_the_same_fields_in_the_same_order(self) -> None:
        self.assertEqual([f.name for f in STACK_FROM_LISTING],
                         [f.name for f in STACK_FROM_NOTIFICATION])

    def test_stack_fields_start_with_the_blueprint_fields(self) -> None:
        self.assertEqual(('stack_id', 'name', 'description', 'user_project_id', 'owner'),
                         STACK_FIELDS[:5])
        self.assertTrue({'status', 'status_reason', 'parent', 'creation_time',
                         'updated_time', 'tags', 'scope'} <= set(STACK_FIELDS))

    def test_the_notification_table_reads_heat_payload_keys(self) -> None:
        keys = {f.name: f.keys for f in STACK_FROM_NOTIFICATION}
        self.assertEqual({'stack_id': ('stack_identity',), 'name': ('stack_name',),
                          'user_project_id': ('tenant_id',), 'owner': ('user_identity',),
                          'status': ('state',), 'status_reason': ('state_reason',),
                          'creation_time': ('create_at',), 'updated_time': ('updated_at',)},
                         {k: keys[k] for k in ('stack_id', 'name', 'user_project_id', 'owner',
                                               'status', 'status_reason', 'creation_time',
                                               'updated_time')})

    def test_resource_fields_list_every_mapped_field(self) -> None:
        self.assertEqual([f.name for f in RESOURCE_FROM_LISTING],
                         list(RESOURCE_FIELDS[:len(RESOURCE_FROM_LISTING)]))


class TestMapFields(testtools.TestCase):

    def test_the_first_present_key_wins(self) -> None:
        table = (Field('who', ('username', 'user_id')),)
        self.assertEqual({'who': 'b'}, map_fields(table, {'user_id': 'a', 'username': 'b'})[0])
        self.assertEqual({'who': 'a'}, map_fields(table, {'user_id': 'a'})[0])

    def test_a_field_without_keys_is_none(self) -> None:
        fields, problems = map_fields(STACK_FROM_LISTING, {'id': 'x'})
        self.assertIsNone(fields['owner'])
        self.assertEqual([], problems)

    def test_a_wrong_value_is_a_problem_naming_key_and_type(self) -> None:
        fields, problems = map_fields(STACK_FROM_LISTING, {'id': 'x', 'stack_status': 3.5})
        self.assertIsNone(fields['status'])
        self.assertEqual(['stack_status: expected a string, got float'], problems)

    def test_a_missing_required_value_raises(self) -> None:
        error = self.assertRaises(FieldError, map_fields, STACK_FROM_LISTING, {})
        self.assertEqual('id: missing', str(error))

    def test_empty_strings_meaning_none_become_none(self) -> None:
        fields, _ = map_fields(RESOURCE_FROM_LISTING,
                               {'resource_name': 'r', 'physical_resource_id': ''})
        self.assertIsNone(fields['physical_resource_id'])

    def test_tags_are_always_a_list(self) -> None:
        for raw, tags in ((None, []), (['a', 'b'], ['a', 'b']), ('a,b', ['a', 'b'])):
            fields, _ = map_fields(STACK_FROM_LISTING, {'id': 'x', 'tags': raw})
            self.assertEqual(tags, fields['tags'])


class TestTimestamp(testtools.TestCase):

    def test_every_heat_time_format_reads_the_same(self) -> None:
        for raw in ('2024-05-01T10:00:00Z', '2024-05-01T10:00:00', '2024-05-01 10:00:00',
                    '2024-05-01T10:00:00.000000', '2024-05-01T12:00:00+02:00'):
            self.assertEqual('2024-05-01T10:00:00Z', timestamp(raw), raw)

    def test_microseconds_are_kept(self) -> None:
        self.assertEqual('2016-02-29T22:15:56.378444Z', timestamp('2016-02-29T22:15:56.378444'))

    def test_absent_is_none_and_garbage_is_an_error(self) -> None:
        self.assertIsNone(timestamp(None))
        self.assertIsNone(timestamp(''))
        self.assertRaises(FieldError, timestamp, 'tomorrow')
        self.assertRaises(FieldError, timestamp, 12)


class TestLinks(testtools.TestCase):
    base = 'http://heat:8004/v1/p1/stacks/web/s1'

    @staticmethod
    def item(**rels: str) -> dict[str, list[dict[str, str]]]:
        return {'links': [{'rel': rel.rstrip('_'), 'href': href}
                          for rel, href in rels.items()]}

    def test_a_stack_link_names_project_stack_name_and_id(self) -> None:
        item = self.item(self_=self.base)
        self.assertEqual(links.StackRef('web', 's1'), links.stack(item))
        self.assertEqual('p1', links.project(item))

    def test_a_resource_link_names_its_stack_and_nested_stack(self) -> None:
        item = self.item(self_=f'{self.base}/resources/r', stack=self.base,
                         nested='http://heat:8004/v1/p1/stacks/web-r-x/s2')
        self.assertEqual(links.StackRef('web', 's1'), links.stack(item, 'stack'))
        self.assertEqual(links.StackRef('web-r-x', 's2'), links.nested_stack(item))

    def test_hrefs_keeps_the_first_link_of_each_relation(self) -> None:
        item = {'links': [{'rel': 'self', 'href': self.base}, 7, {'rel': 'stack'},
                          {'rel': 'self', 'href': 'http://other'},
                          {'rel': 'nested', 'href': f'{self.base}/x'}, {'href': 'no rel'}]}
        self.assertEqual({'self': self.base, 'nested': f'{self.base}/x'}, links.hrefs(item))
        self.assertEqual({}, links.hrefs({'links': 'x'}))

    def test_a_stack_named_stacks_is_still_read(self) -> None:
        item = self.item(self_='http://heat:8004/v1/p1/stacks/stacks/s1')
        self.assertEqual(links.StackRef('stacks', 's1'), links.stack(item))

    def test_missing_or_odd_links_give_none(self) -> None:
        for item in ({}, {'links': 'x'}, {'links': [7]}, self.item(self_='http://heat/v1'),
                     self.item(other=self.base)):
            self.assertIsNone(links.stack(item))
            self.assertIsNone(links.project(item))


class TestEventTypes(testtools.TestCase):

    def test_stack_and_autoscaling_types_parse(self) -> None:
        self.assertEqual(Notice('create', 'start'),
                         parse_event_type('orchestration.stack.create.start'))
        self.assertEqual(Notice('autoscaling', 'error'),
                         parse_event_type('orchestration.autoscaling.error'))

    def test_phases_say_whether_the_operation_is_over(self) -> None:
        self.assertFalse(Notice('update', 'start').finished)
        self.assertTrue(Notice('update', 'error').finished)

    def test_only_delete_start_and_end_delete(self) -> None:
        self.assertTrue(Notice('delete', 'start').deletes)
        self.assertTrue(Notice('delete', 'end').deletes)
        self.assertFalse(Notice('delete', 'error').deletes)
        self.assertFalse(Notice('update', 'end').deletes)

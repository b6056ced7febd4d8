"""get_all against the emulated cloud: scale, exact paging, failures."""

from __future__ import annotations

import json
from typing import Any

from tests.functional.drivers import base
from vitrage_ds.drivers.aodh import TYPES
from vitrage_ds.errors import APIError, BackendError
from vitrage_ds_testing import load_plugin
from vitrage_ds_testing.cloud import ALARM_TYPES, EmulatedCloud

ALL_PROJECTS = [('q.field', 'all_projects'), ('q.op', 'eq'), ('q.value', 'true')]
ORDER = [('sort', 'alarm_id:asc')]


class _EmulatedAodh(base.EmulatedDriverTestCase):
    driver_name = 'aodh'
    seed = 8

    def list_calls(self) -> list[list[tuple[str, str]]]:
        """The query of every alarm listing made, in order."""
        return [list(r.params) for r in self.cloud.requests.filter('aodh.alarms.list')]


class TestTenThousandAlarms(base.OnePollTestCase):
    """One poll of 10,000 alarms of every type in five projects, shared by the tests."""

    driver_name = 'aodh'
    seed = 8
    alarms: list[dict[str, Any]]

    @classmethod
    def populate(cls, cloud: EmulatedCloud) -> None:
        cls.alarms = cloud.aodh.populate(10_000, projects=5)

    def list_calls(self) -> list[list[tuple[str, str]]]:
        return [list(r.params) for r in self.cloud.requests.filter('aodh.alarms.list')]

    def test_every_alarm_is_present_once(self) -> None:
        self.assertEqual(10_000, len(self.events))
        self.assertEqual({a['alarm_id'] for a in self.alarms},
                         {e.entity_id for e in self.events})

    def test_every_type_and_project_is_present(self) -> None:
        self.assertEqual(set(ALARM_TYPES), {e.fields['type'] for e in self.events})
        self.assertEqual({a['project_id'] for a in self.alarms},
                         {e.fields['project_id'] for e in self.events})
        self.assertEqual(5, len({e.fields['project_id'] for e in self.events}))

    def test_requests_are_pages_plus_one_walking_the_markers(self) -> None:
        ids = sorted(a['alarm_id'] for a in self.alarms)
        base = [*ALL_PROJECTS, *ORDER, ('limit', '1000')]
        expected = [base] + [[*base, ('marker', ids[k * 1000 - 1])] for k in range(1, 11)]
        self.assertEqual(expected, self.list_calls())
        self.assertEqual(11, self.cloud.requests.count(service='alarming'))

    def test_events_come_in_alarm_id_order(self) -> None:
        ids = [e.entity_id for e in self.events]
        self.assertEqual(sorted(ids), ids)

    def test_each_type_keeps_its_rule_and_finds_its_resource(self) -> None:
        by_id = {a['alarm_id']: a for a in self.alarms}
        resourceless = {'gnocchi_aggregation_by_metrics_threshold',
                        'gnocchi_aggregation_by_resources_threshold'}  # a server group
        for event in self.events:
            alarm = by_id[event.entity_id]
            row = TYPES[alarm['type']]
            self.assertEqual(row.rule(alarm), event.fields[row.rule_key])
            self.assertNotIn('scope_to_project', json.dumps(event.fields[row.rule_key]))
            expected = None if alarm['type'] in resourceless else f'resource-{alarm["name"][6:]}'
            self.assertEqual(expected, event.fields['resource_id'], alarm['type'])


class TestLaterPollsInRanges(_EmulatedAodh):
    """From the second poll on: ranges at once, split at the last poll's ids."""

    def setUp(self) -> None:
        super().setUp()
        self.cloud.aodh.populate(2000, projects=3)
        self.poller = self.driver(page_size=200)
        self.first = [e.entity_id for e in self.poller.get_all()]
        self.cloud.requests.clear()

    def listed(self) -> list[str]:
        return sorted(self.cloud.aodh.alarms)

    def test_ranges_start_after_every_190th_id_and_read_at_once(self) -> None:
        events = self.poller.get_all()

        starts = self.first[189:-1:190]
        base = [*ALL_PROJECTS, *ORDER, ('limit', '200')]
        probe = [*ALL_PROJECTS, *ORDER, ('limit', '1')]  # one alarm alone, first
        ranges = [[*base, ('marker', m)] for m in [self.first[0], *starts]]
        empty = [*base, ('marker', self.first[-1])]  # the last range's empty page
        calls = self.list_calls()
        self.assertEqual(probe, calls[0])
        self.assertEqual(sorted([*ranges, empty]), sorted(calls[1:]))
        self.assertEqual(self.first, [e.entity_id for e in events])

    def test_alarms_created_and_deleted_since_are_seen_as_they_are_now(self) -> None:
        starts = set(self.first[189:-1:190])
        for alarm_id in [i for i in self.first if i not in starts][::40]:
            self.cloud.aodh.delete_alarm(alarm_id, notify=False)
        for n in range(60):
            self.cloud.aodh.create_alarm(f'since-{n}', 'event', notify=False)

        events = self.poller.get_all()

        self.assertEqual(self.listed(), [e.entity_id for e in events])
        self.assertEqual(len(starts) + 3, len(self.list_calls()))  # probe, ranges, empty

    def test_a_deleted_range_start_reads_the_listing_again_in_one_go(self) -> None:
        self.cloud.aodh.delete_alarm(self.first[189 + 190 * 4], notify=False)

        events = self.poller.get_all()

        listed = self.listed()
        self.assertEqual(listed, [e.entity_id for e in events])
        base = [*ALL_PROJECTS, *ORDER, ('limit', '200')]
        markers = [*listed[199::200], listed[-1]]  # 1,999 alarms: ten pages, an empty one
        in_one_go = [base, *([*base, ('marker', m)] for m in markers)]
        self.assertEqual(in_one_go, self.list_calls()[-len(in_one_go):])


class TestScopeAndFailures(_EmulatedAodh):

    def setUp(self) -> None:
        super().setUp()
        self.alarms = self.cloud.aodh.populate(25, projects=3)
        self.cloud.requests.clear()

    def test_failure_on_page_two_raises(self) -> None:
        self.cloud.fail_on_page('aodh.alarms.list', 2, 503)
        self.assertRaises(BackendError, self.driver(page_size=10).get_all)
        self.assertEqual(2, len(self.list_calls()))

    def test_truncated_page_raises(self) -> None:
        self.cloud.add_fault('aodh.alarms.list', 'truncate', start=2)
        self.assertRaises(BackendError, self.driver(page_size=10).get_all)

    def test_repeated_page_raises(self) -> None:
        self.cloud.repeat_page('aodh.alarms.list')
        self.assertRaises(BackendError, self.driver(page_size=10).get_all)

    def test_member_listing_every_project_is_told_why_it_is_refused(self) -> None:
        conf = self.cloud.make_conf('password', http={'retries': 0}, service_credentials={
            'username': self.cloud.demo_username, 'password': self.cloud.demo_password,
            'project_name': self.cloud.demo_project_name})
        driver = load_plugin('driver', 'aodh', conf=conf)
        error = self.assertRaises(APIError, driver.get_all)
        self.assertEqual(403, error.status)
        self.assertIn('all_projects = false', str(error))
        self.assertNotIn(self.cloud.demo_password, str(error))

    def test_own_project_only_when_all_projects_is_false(self) -> None:
        mine = self.cloud.aodh.create_alarm('mine', 'event', notify=False)
        events = self.driver(all_projects=False).get_all()
        self.assertEqual(['mine'], [e.fields['name'] for e in events])
        first = [*ORDER, ('limit', '1000')]
        self.assertEqual([first, [*first, ('marker', mine['alarm_id'])]], self.list_calls())

    def test_noauth_with_identity_headers_works_too(self) -> None:
        events = self.driver('none').get_all()
        self.assertEqual(25, len(events))

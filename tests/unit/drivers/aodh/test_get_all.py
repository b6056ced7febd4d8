"""get_all: the exact calls to Aodh, paging, and failures."""

from __future__ import annotations

import logging
import urllib.parse
from typing import Any

import fixtures
import testtools
from requests_mock.contrib import fixture as rm_fixture

from tests.unit.drivers.aodh import samples
from vitrage_ds.drivers.aodh import AodhDriver
from vitrage_ds.errors import APIError, BackendError, MalformedResponse
from vitrage_ds.event import Action
from vitrage_ds_testing import load_plugin

ENDPOINT = 'http://aodh.test:8042'
ALARMS = f'{ENDPOINT}/v2/alarms'
ALL_PROJECTS = [('q.field', 'all_projects'), ('q.op', 'eq'), ('q.value', 'true')]
ORDER = [('sort', 'alarm_id:asc')]


def make_driver(**options: Any) -> AodhDriver:
    driver = load_plugin('driver', 'aodh',
                         options={'endpoint_override': ENDPOINT, **options})
    assert isinstance(driver, AodhDriver)
    return driver


class _AodhTest(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.http = self.useFixture(rm_fixture.Fixture())
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.INFO))

    def calls(self) -> list[tuple[str, str, list[tuple[str, str]]]]:
        """Every request made: method, path and query pairs, in order."""
        made = []
        for request in self.http.request_history:
            parts = urllib.parse.urlsplit(request.url)
            made.append((request.method, parts.path,
                         urllib.parse.parse_qsl(parts.query, keep_blank_values=True)))
        return made

    def serve_pages(self, alarms: list[dict[str, Any]], page_size: int) -> None:
        """Answer GET /v2/alarms like Aodh 23: limit/marker over ``alarms`` as
        it is when asked (500 for a marker that is not one of them)."""
        def answer(request: Any, context: Any) -> Any:
            query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.url).query))
            limit = int(query['limit'])
            start = 0
            if 'marker' in query:
                ids = [a['alarm_id'] for a in alarms]
                if query['marker'] not in ids:
                    context.status_code = 500
                    return {'error_message': {
                        'faultstring': f'Marker {query["marker"]} not found.'}}
                start = ids.index(query['marker']) + 1
            return alarms[start:start + limit]
        self.http.get(ALARMS, json=answer)


class TestCalls(_AodhTest):

    def test_one_short_page_and_an_empty_one_for_every_project_ordered_by_id(self) -> None:
        alarm = samples.alarm('event')
        self.serve_pages([alarm], page_size=1000)
        make_driver().get_all()
        base = [*ALL_PROJECTS, *ORDER, ('limit', '1000')]
        self.assertEqual(
            [('GET', '/v2/alarms', base),
             ('GET', '/v2/alarms', [*base, ('marker', alarm['alarm_id'])])],
            self.calls())

    def test_pages_follow_the_last_alarm_id_as_marker(self) -> None:
        alarms = [samples.alarm('event', i) for i in range(5)]
        self.serve_pages(alarms, page_size=2)
        make_driver(page_size=2).get_all()
        base = [*ALL_PROJECTS, *ORDER, ('limit', '2')]
        self.assertEqual(
            [('GET', '/v2/alarms', base),
             ('GET', '/v2/alarms', [*base, ('marker', samples.alarm_id(1))]),
             ('GET', '/v2/alarms', [*base, ('marker', samples.alarm_id(3))]),
             ('GET', '/v2/alarms', [*base, ('marker', samples.alarm_id(4))])],
            self.calls())

    def test_full_last_page_costs_one_empty_page(self) -> None:
        alarms = [samples.alarm('event', i) for i in range(6)]
        self.serve_pages(alarms, page_size=3)
        events = make_driver(page_size=3).get_all()
        self.assertEqual(6, len(events))
        self.assertEqual(3, len(self.calls()))  # pages + 1

    def test_all_projects_false_asks_for_the_own_project_only(self) -> None:
        self.http.get(ALARMS, json=[])
        make_driver(all_projects=False).get_all()
        self.assertEqual([('GET', '/v2/alarms', [*ORDER, ('limit', '1000')])],
                         self.calls())

    def test_endpoint_with_a_path_prefix_is_kept(self) -> None:
        self.http.get('http://web.test/aodh/v2/alarms', json=[])
        driver = load_plugin('driver', 'aodh',
                             options={'endpoint_override': 'http://web.test/aodh/'})
        driver.get_all()
        self.assertEqual('/aodh/v2/alarms', self.calls()[0][1])


class TestLaterPolls(_AodhTest):
    """From the second poll on, ranges split at the ids the last poll saw."""

    def test_ranges_start_at_every_span_of_the_ids_the_last_poll_saw(self) -> None:
        alarms = [samples.alarm('event', i) for i in range(10)]
        self.serve_pages(alarms, page_size=4)
        driver = make_driver(page_size=4)
        driver.get_all()
        first = len(self.calls())

        events = driver.get_all()

        # One alarm alone first; a range holds 95 % of a page: 3 of 4 alarms,
        # so ranges start after alarms 2, 5 and 8; each stops at the next
        # start, the last at the end (an empty page after alarm 9).
        base = [*ALL_PROJECTS, *ORDER, ('limit', '4')]
        marker = [('GET', '/v2/alarms', [*base, ('marker', samples.alarm_id(i))])
                  for i in (0, 2, 5, 8, 9)]
        probe = ('GET', '/v2/alarms', [*ALL_PROJECTS, *ORDER, ('limit', '1')])
        self.assertEqual(probe, self.calls()[first])
        self.assertEqual(sorted(marker), sorted(self.calls()[first + 1:]))
        self.assertEqual([a['alarm_id'] for a in alarms], [e.entity_id for e in events])

    def test_alarms_created_between_polls_are_in_the_next_one(self) -> None:
        alarms = [samples.alarm('event', i) for i in range(0, 20, 2)]
        self.serve_pages(alarms, page_size=4)
        driver = make_driver(page_size=4)
        driver.get_all()
        alarms[:] = sorted([*alarms, *(samples.alarm('event', i) for i in range(1, 20, 2))],
                           key=lambda a: a['alarm_id'])

        events = driver.get_all()

        self.assertEqual([samples.alarm_id(i) for i in range(20)],
                         [e.entity_id for e in events])

    def test_a_range_start_deleted_since_makes_the_poll_read_in_one_go(self) -> None:
        alarms = [samples.alarm('event', i) for i in range(10)]
        self.serve_pages(alarms, page_size=4)
        driver = make_driver(page_size=4)
        driver.get_all()
        del alarms[5]  # the start of the third range

        events = driver.get_all()

        self.assertEqual([samples.alarm_id(i) for i in range(10) if i != 5],
                         [e.entity_id for e in events])
        self.assertIn(f'Marker {samples.alarm_id(5)} not found', self.logs.output)
        self.assertIn('reading the listing in one go', self.logs.output)
        self.assertEqual([samples.alarm_id(i) for i in range(10) if i != 5],
                         [e.entity_id for e in driver.get_all()])

    def test_parallel_ranges_off_pages_in_one_go_every_time(self) -> None:
        alarms = [samples.alarm('event', i) for i in range(5)]
        self.serve_pages(alarms, page_size=2)
        driver = make_driver(page_size=2, parallel_ranges=False)
        driver.get_all()
        driver.get_all()
        calls = self.calls()
        self.assertEqual(calls[:4], calls[4:])  # pages + 1, one after the other

    def test_a_failed_range_fails_the_poll(self) -> None:
        alarms = [samples.alarm('event', i) for i in range(10)]
        self.serve_pages(alarms, page_size=4)
        driver = make_driver(page_size=4)
        driver.get_all()
        self.http.get(ALARMS, status_code=503)
        self.assertRaises(BackendError, driver.get_all)


class TestSnapshot(_AodhTest):

    def test_one_snapshot_event_per_alarm_in_aodh_order(self) -> None:
        alarms = [samples.alarm(t, i) for i, t in enumerate(samples.TYPES)]
        self.serve_pages(alarms, page_size=1000)
        events = make_driver().get_all()
        self.assertEqual([a['alarm_id'] for a in alarms], [e.entity_id for e in events])
        for event in events:
            self.assertEqual(('aodh', 'aodh', Action.SNAPSHOT, None),
                             (event.datasource, event.entity_type, event.action,
                              event.event_type))

    def test_alarms_of_every_project_are_kept(self) -> None:
        self.serve_pages([samples.alarm('event', 1),
                          samples.alarm('event', 2, project_id=samples.PROJECT_B)],
                         page_size=1000)
        events = make_driver().get_all()
        self.assertEqual([samples.PROJECT_A, samples.PROJECT_B],
                         [e.fields['project_id'] for e in events])

    def test_a_mistyped_project_id_still_gives_the_alarm(self) -> None:
        self.serve_pages([samples.alarm('event', 1, project_id={'id': 'p'}),
                          samples.alarm('event', 2, project_id=['p'])], page_size=1000)
        for all_projects in (True, False):
            events = make_driver(all_projects=all_projects).get_all()
            self.assertEqual([samples.alarm_id(1), samples.alarm_id(2)],
                             [e.entity_id for e in events])

    def test_unknown_type_is_an_alarm_and_logged_once(self) -> None:
        self.serve_pages([samples.alarm('future_type', 1),
                          samples.alarm('future_type', 2),
                          samples.alarm('event', 3)], page_size=1000)
        driver = make_driver()
        events = driver.get_all()
        driver.get_all()
        self.assertEqual(3, len(events))
        self.assertEqual('future_type', events[0].fields['type'])
        self.assertEqual(1, self.logs.output.count("'future_type' is unknown"))

    def test_unknown_types_warned_about_are_bounded(self) -> None:
        self.serve_pages([samples.alarm(f'type_{i}', i) for i in range(150)], page_size=1000)
        events = make_driver().get_all()
        self.assertEqual(150, len(events))
        self.assertEqual(100, self.logs.output.count('is unknown to this driver'))

    def test_empty_cloud_is_an_empty_snapshot(self) -> None:
        self.http.get(ALARMS, json=[])
        self.assertEqual([], make_driver().get_all())


class TestFailures(_AodhTest):

    def test_forbidden_all_projects_is_explained(self) -> None:
        self.http.get(ALARMS, status_code=403, json={'error_message': {
            'faultstring': 'RBAC Authorization Failed', 'faultcode': 'Client'}})
        error = self.assertRaises(APIError, make_driver().get_all)
        self.assertEqual(403, error.status)
        self.assertIn('RBAC Authorization Failed', str(error))
        self.assertIn('telemetry:get_alarms:all_projects', str(error))
        self.assertIn('all_projects = false', str(error))

    def test_forbidden_own_project_is_explained_too(self) -> None:
        self.http.get(ALARMS, status_code=403, json={})
        error = self.assertRaises(APIError, make_driver(all_projects=False).get_all)
        self.assertIn('telemetry:get_alarms"', str(error))

    def test_failure_on_page_two_raises(self) -> None:
        base = f'{ALARMS}?limit=2'
        self.http.get(ALARMS, json=[samples.alarm('event', 0), samples.alarm('event', 1)])
        self.http.get(f'{base}&marker={samples.alarm_id(1)}', status_code=503)
        self.assertRaises(BackendError, make_driver(page_size=2).get_all)
        self.assertEqual(2, len(self.calls()))

    def test_malformed_page_raises(self) -> None:
        self.http.get(ALARMS, json={'alarms': []})
        self.assertRaises(MalformedResponse, make_driver().get_all)

    def test_alarm_without_id_raises(self) -> None:
        self.http.get(ALARMS, json=[{'name': 'no id', 'type': 'event'}])
        self.assertRaises(MalformedResponse, make_driver().get_all)

    def test_server_error_raises(self) -> None:
        self.http.get(ALARMS, status_code=500, text='boom')
        self.assertRaises(APIError, make_driver().get_all)

    def test_repeated_page_raises(self) -> None:
        self.http.get(ALARMS, json=[samples.alarm('event', 0), samples.alarm('event', 1)])
        self.assertRaises(BackendError, make_driver(page_size=2).get_all)

"""Aodh's API as the driver and the notifier share it: paths, filters, one alarm."""

from __future__ import annotations

import testtools
from keystoneauth1 import session as ks_session
from requests_mock.contrib import fixture as rm_fixture

from vitrage_ds import aodh_api
from vitrage_ds.errors import APIError, MalformedResponse
from vitrage_ds.http.client import Client, RetryPolicy

AODH = 'http://aodh.test/aodh'


class PathsAndFiltersTest(testtools.TestCase):

    def test_an_alarm_id_is_quoted_whole_into_its_paths(self) -> None:
        self.assertEqual('v2/alarms/a%2F..%3Fx', aodh_api.alarm_path('a/..?x'))
        self.assertEqual('v2/alarms/a%2F..%3Fx/state', aodh_api.state_path('a/..?x'))

    def test_a_filter_is_one_query_item_whatever_its_value(self) -> None:
        self.assertEqual((('q.field', 'name'), ('q.op', 'eq'), ('q.value', 'a&q.field=b')),
                         aodh_api.eq('name', 'a&q.field=b'))

    def test_a_field_aodh_cannot_filter_by_is_refused(self) -> None:
        error = self.assertRaises(ValueError, aodh_api.eq, 'event_rule', 'x')
        self.assertIn("'event_rule'", str(error))


class GetAlarmTest(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.http = self.useFixture(rm_fixture.Fixture())
        self.client = Client(ks_session.Session(), AODH, retry=RetryPolicy(0))

    def test_the_alarm_asked_for(self) -> None:
        self.http.get(f'{AODH}/v2/alarms/a-1', json={'alarm_id': 'a-1', 'name': 'n'})
        self.assertEqual({'alarm_id': 'a-1', 'name': 'n'}, aodh_api.get_alarm(self.client, 'a-1'))

    def test_an_alarm_aodh_does_not_have_is_none(self) -> None:
        self.http.get(f'{AODH}/v2/alarms/a-1', status_code=404, json={})
        self.assertIsNone(aodh_api.get_alarm(self.client, 'a-1'))

    def test_another_alarm_in_the_answer_is_malformed(self) -> None:
        self.http.get(f'{AODH}/v2/alarms/a-1', json={'alarm_id': 'a-2'})
        self.assertRaises(MalformedResponse, aodh_api.get_alarm, self.client, 'a-1')

    def test_other_errors_are_raised(self) -> None:
        self.http.get(f'{AODH}/v2/alarms/a-1', status_code=403, json={})
        error = self.assertRaises(APIError, aodh_api.get_alarm, self.client, 'a-1')
        self.assertEqual(403, error.status)

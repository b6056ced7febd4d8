"""The Aodh driver passes the driver contract suite (HTTP mocked per call)."""

from __future__ import annotations

import logging
import re
import urllib.parse
from typing import Any

import fixtures
import testtools
from requests_mock.contrib import fixture as rm_fixture

from tests.unit.drivers.aodh import samples
from tests.unit.drivers.aodh.test_get_all import ALARMS, make_driver
from vitrage_ds.driver import Driver
from vitrage_ds_testing import DriverContractTests

ALARM_IDS = [samples.alarm_id(i) for i in range(5)]
ONE_ALARM = re.compile(re.escape(ALARMS) + r'/[^/?]+$')


class TestAodhDriverContract(DriverContractTests, testtools.TestCase):
    backend_failure_modes = ('down', 'fail_on_page', 'forbidden', 'malformed')
    min_snapshot_size = len(ALARM_IDS)
    sample_notifications = [
        ('alarm.creation', samples.creation(samples.alarm('event', 0))),
        ('alarm.creation', samples.creation(samples.deduced_alarm(5))),
        ('alarm.rule_change', samples.rule_change(ALARM_IDS[1], {'name': 'renamed'})),
        ('alarm.state_transition', samples.api_state_transition(ALARM_IDS[2])),
        ('alarm.state_transition', samples.evaluator_state_transition(ALARM_IDS[3]),
         {**samples.METADATA, 'publisher_id': 'aodh.evaluator'}),
        ('alarm.deletion', samples.deletion(ALARM_IDS[4])),
    ]

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.http = self.useFixture(rm_fixture.Fixture())
        types = samples.TYPES
        self.alarms = [samples.alarm(types[i % len(types)], i) for i in range(len(ALARM_IDS))]
        self.http.get(ALARMS, json=self._page)
        self.http.get(ONE_ALARM, json=self._one)

    def _page(self, request: Any, context: Any) -> list[dict[str, Any]]:
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(request.url).query))
        start = ALARM_IDS.index(query['marker']) + 1 if 'marker' in query else 0
        return self.alarms[start:start + int(query['limit'])]

    def _one(self, request: Any, context: Any) -> dict[str, Any] | None:
        wanted = urllib.parse.unquote(urllib.parse.urlsplit(request.url).path.rsplit('/', 1)[1])
        for alarm in self.alarms:
            if alarm['alarm_id'] == wanted:
                return alarm
        context.status_code = 404
        return {'error_message': {'faultstring': f'Alarm {wanted} not found'}}

    def make_plugin(self) -> Driver:
        return make_driver(page_size=2)

    def break_backend(self, mode: str) -> None:
        if mode == 'down':
            self.http.get(ALARMS, status_code=503)
            self.http.get(ONE_ALARM, status_code=503)
        elif mode == 'fail_on_page':
            self.http.get(f'{ALARMS}?marker={ALARM_IDS[1]}', status_code=500)
        elif mode == 'forbidden':
            self.http.get(ALARMS, status_code=403)
        elif mode == 'malformed':
            self.http.get(f'{ALARMS}?marker={ALARM_IDS[1]}', text='[{"alarm_id": ')
        else:
            raise AssertionError(mode)

"""What the Aodh notifier's call-by-call tests share: Aodh answered by requests-mock,
the plugin on a fake clock, and the alarms and messages they exchange."""

from __future__ import annotations

import json
import logging
import urllib.parse
from typing import Any

import fixtures
import testtools
from requests_mock.contrib import fixture as rm_fixture

from tests.unit.notifiers.leaks import NoVerifierLeft
from vitrage_ds.deduced import ACTIVATE, DEACTIVATE
from vitrage_ds.event import parse_time
from vitrage_ds.notifier import Message, Outcome
from vitrage_ds.notifiers.aodh import AodhNotifier
from vitrage_ds.plugin import PluginContext
from vitrage_ds_testing import FakeClock, construct_plugin

AODH = 'http://aodh.test/aodh'
ALARMS = f'{AODH}/v2/alarms'
T1 = '2024-05-01T12:00:01.000000Z'
T2 = '2024-05-01T12:00:02.000000Z'
T3 = '2024-05-01T12:00:03.000000Z'
T9 = '2024-05-01T12:00:09.000000Z'
#: The plugin's clock when a test starts: T1..T3 are fresh (reorder_window 10 s).
NOW = '2024-05-01T12:00:05Z'
CREATED = '2024-05-01T11:00:00.000000Z'
WINDOW = 10.0
INTERVAL = 1.0


def activate(**overrides: Any) -> Message:
    payload = {'vitrage_id': 'v-1', 'name': 'cpu high', 'severity': 'CRITICAL',
               'affected_resource_id': 'host-1', 'timestamp': T2, 'sequence': 0}
    payload.update(overrides)
    return Message(ACTIVATE, {k: v for k, v in payload.items() if v is not None},
                   {'message_id': 'm-1', 'timestamp': '2024-05-01 12:00:05.000000'})


def deactivate(**overrides: Any) -> Message:
    payload = {'vitrage_id': 'v-1', 'name': 'cpu high', 'affected_resource_id': 'host-1',
               'timestamp': T3, 'sequence': 0}
    payload.update(overrides)
    return Message(DEACTIVATE, {k: v for k, v in payload.items() if v is not None},
                   {'message_id': 'm-2', 'timestamp': '2024-05-01 12:00:06.000000'})


def description(kind: str, at: str, sequence: int = 0, name: str = 'cpu high',
                resource: str = 'host-1', vitrage_id: str = 'v-1',
                created: str = CREATED) -> str:
    return (f'Deduced by Vitrage from alarm "{name}" on resource {resource} '
            f'(vitrage_id {vitrage_id}). Created {created}; last change: {kind} at {at}, '
            f'sequence {sequence}.')


def mirror(alarm_id: str = 'a-1', *, state: str = 'alarm', kind: str = 'activate',
           at: str = T1, vitrage_id: str = 'v-1', name: str = 'cpu high_host-1',
           created: str = CREATED, severity: str = 'critical') -> dict[str, Any]:
    """An alarm as Aodh lists one this notifier created."""
    return {
        'alarm_id': alarm_id, 'name': name, 'type': 'event', 'enabled': True,
        'description': description(kind, at, vitrage_id=vitrage_id, created=created),
        'severity': severity, 'state': state, 'repeat_actions': False,
        'ok_actions': [], 'alarm_actions': [], 'insufficient_data_actions': [],
        'time_constraints': [], 'project_id': 'p-1', 'user_id': 'u-1',
        'timestamp': '2024-05-01T11:00:00.000000', 'state_timestamp': '2024-05-01T11:00:00',
        'event_rule': {'event_type': '*', 'query': [
            {'field': 'resource_id', 'op': 'eq', 'type': 'string', 'value': 'host-1'},
            {'field': 'vitrage_id', 'op': 'eq', 'type': 'string', 'value': vitrage_id}]},
    }


def foreign(alarm_id: str = 'x-1') -> dict[str, Any]:
    """An alarm someone else created (no vitrage_id in its rule)."""
    return {'alarm_id': alarm_id, 'name': 'disk full', 'type': 'event', 'state': 'ok',
            'description': 'by hand', 'severity': 'low',
            'event_rule': {'event_type': 'x.*', 'query': []}}


def by_name(name: str = 'cpu high_host-1') -> str:
    query = urllib.parse.urlencode([('q.field', 'name'), ('q.op', 'eq'),
                                    ('q.value', name), ('limit', 1000)])
    return f'{ALARMS}?{query}'


def event_alarms(marker: str | None = None) -> str:
    """A page of the listing of every event alarm (what a round may read)."""
    params = [('q.field', 'type'), ('q.op', 'eq'), ('q.value', 'event'),
              ('sort', 'alarm_id:asc'), ('limit', 1000)]
    if marker is not None:
        params.append(('marker', marker))
    return f'{ALARMS}?{urllib.parse.urlencode(params)}'


class AodhCallsTest(testtools.TestCase):
    """Aodh answered by requests-mock; the plugin on a fake clock, no verifier thread."""

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(NoVerifierLeft())
        self.http = self.useFixture(rm_fixture.Fixture())
        # The final checks' history query: no change recorded, unless a test says.
        self.http.post(f'{AODH}/v2/query/alarms/history', json=[])
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.clock = FakeClock(NOW)

    def plugin(self, conf: Any = None, **options: Any) -> Any:
        clock = self.clock

        class ClockedAodhNotifier(AodhNotifier):
            def __init__(self, context: PluginContext) -> None:
                super().__init__(context, sleep=clock.sleep, clock=clock.time,
                                 verify_in_background=False)

        options = {'endpoint_override': AODH, 'verify_delay': 0.0, **options}
        plugin = construct_plugin(ClockedAodhNotifier, 'notifier', name='aodh', conf=conf,
                                  options=options)
        self.addCleanup(plugin.close)
        return plugin

    # -- registering and reading calls -----------------------------------

    def list_answers(self, *answers: list[dict[str, Any]], name: str = 'cpu high_host-1'
                     ) -> None:
        """Successive answers of the listing by ``name``."""
        self.http.get(by_name(name), [{'json': a} for a in answers], complete_qs=True)

    def forget_calls(self) -> None:
        self.http.request_history.clear()

    def calls(self) -> list[tuple[str, str]]:
        return [(r.method, r.url) for r in self.http.request_history]

    def body(self, index: int) -> Any:
        return json.loads(self.http.request_history[index].text)

    def known(self, plugin: Any, alarm: dict[str, Any] | None = None,
              msg: Message | None = None) -> None:
        """Make ``plugin`` know ``alarm`` (read by name for ``msg``), then forget the calls."""
        alarm = alarm or mirror()
        self.list_answers([alarm], name=alarm['name'])
        self.assertEqual(Outcome.DONE, plugin.notify(msg or activate(timestamp=T1)))
        self.forget_calls()

    def written(self, plugin: Any, msg: Message | None = None) -> None:
        """Have ``plugin`` write ``msg`` (a deactivate) to a known alarm; forget the calls."""
        self.http.put(f'{ALARMS}/a-1', json={})
        self.known(plugin, mirror(at='2024-05-01T12:00:00Z'), activate(timestamp=T1))
        self.assertEqual(Outcome.DONE, plugin.notify(msg or deactivate()))
        self.forget_calls()


def parse(when: str) -> float:
    seconds = parse_time(when)
    assert seconds is not None
    return seconds

"""``vitrage-ds demo`` as a user runs it: a subprocess, no outside service.

One run per class (the demo takes a few seconds): the JSON lines run is
checked change by change, the text run (the README's command, defaults
and all) for what a person reads. Every run must end by itself: the
subprocess has a timeout.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from typing import Any, ClassVar

import testtools

VITRAGE_DS = os.path.join(os.path.dirname(sys.executable), 'vitrage-ds')
#: Far above the demo's own bound (~20 s with the default pace).
TIMEOUT = 60

STACKS, ALARMS = 6, 9


@dataclasses.dataclass(frozen=True)
class _Finished:
    returncode: int
    stdout: str
    stderr: str


def _run_demo(*args: str) -> _Finished:
    env = {k: v for k, v in os.environ.items()
           if k not in ('OS_CLOUD', 'PYTHONWARNINGS')}
    proc = subprocess.run([VITRAGE_DS, 'demo', *args], capture_output=True, text=True,
                          env=env, timeout=TIMEOUT, check=False)
    return _Finished(proc.returncode, proc.stdout, proc.stderr)


class TestDemoJsonLines(testtools.TestCase):
    """``vitrage-ds demo --json``: every scripted change, exactly once."""

    demo: ClassVar[_Finished]
    lines: ClassVar[list[dict[str, Any]]]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.demo = _run_demo('--json', '--pace', '0', '--stacks', str(STACKS),
                            '--alarms', str(ALARMS), '--seed', '7')
        cls.lines = [json.loads(line) for line in cls.demo.stdout.splitlines()]

    def of(self, kind: str, step: int | None = None) -> list[dict[str, Any]]:
        return [line for line in self.lines if line['kind'] == kind
                and (step is None or line.get('step') == step)]

    def step_number(self, key: str) -> int:
        (step,) = [line['step'] for line in self.of('step') if line['key'] == key]
        return int(step)

    def changes(self, key: str) -> list[tuple[str, str, str, str]]:
        """(entity type, event type, name, status) of each event of one step."""
        rows = []
        for line in self.of('event', self.step_number(key)):
            event = line['event']
            name = (f'{event["stack_name"]}/{event["resource_name"]}'
                    if event['vitrage_entity_type'] == 'heat.resource' else event['name'])
            rows.append((event['vitrage_entity_type'], event['vitrage_event_type'], name,
                         event.get('status') or event.get('state')))
        return rows

    def stack_name(self) -> str:
        (title,) = [line['title'] for line in self.of('step') if line['key'] == 'stack-updated']
        match = re.search(r'stack-\d{5}', title)
        assert match is not None, title
        return match.group(0)

    def test_it_exits_zero_with_nothing_on_stderr(self) -> None:
        self.assertEqual((0, ''), (self.demo.returncode, self.demo.stderr))

    def test_the_snapshot_counts_every_seeded_entity(self) -> None:
        (snapshot,) = self.of('snapshot')
        nested = STACKS // 3
        self.assertEqual({'heat.stack': STACKS + nested,
                          'heat.resource': (STACKS + nested) * 3,
                          'aodh': ALARMS + 1}, snapshot['counts'])

    def test_the_snapshot_is_followed_by_each_of_its_events(self) -> None:
        (snapshot,) = self.of('snapshot')
        events = self.of('event', 0)
        self.assertEqual(sum(snapshot['counts'].values()), len(events))
        self.assertEqual({'init_snapshot'},
                         {e['event']['vitrage_datasource_action'] for e in events})

    def test_the_snapshot_holds_alarms_of_every_type(self) -> None:
        (snapshot,) = self.of('snapshot')
        self.assertEqual(8, len(snapshot['alarm_types']))

    def test_the_stack_update_is_seen_once(self) -> None:
        name = self.stack_name()
        update = 'orchestration.stack.update'
        start = ('heat.stack', f'{update}.start', name, 'UPDATE_IN_PROGRESS')
        changes = self.changes('stack-updated')
        # The pooled listener handles update.start and update.end on
        # threads of their own: when the end is applied first, the older
        # start is stale and never emitted. It is never seen after the end.
        if start in changes:
            self.assertEqual([start], [c for c in changes if c == start], changes)
            self.assertEqual(start, changes[0], changes)
        self.assertEqual(
            [('heat.stack', f'{update}.end', name, 'UPDATE_COMPLETE'),
             ('heat.resource', f'{update}.end', f'{name}/server_0', 'UPDATE_COMPLETE'),
             ('heat.resource', f'{update}.end', f'{name}/port_1', 'UPDATE_COMPLETE'),
             ('heat.resource', f'{update}.end', f'{name}/net_2', 'UPDATE_COMPLETE')],
            [c for c in changes if c != start])

    def test_the_stack_failure_is_seen_once(self) -> None:
        create = 'orchestration.stack.create'
        start = ('heat.stack', f'{create}.start', 'web-frontend', 'CREATE_IN_PROGRESS')
        changes = self.changes('stack-failed')
        # create.error comes at ERROR priority, on another queue than the
        # INFO create.start: handled first, it makes the older start a
        # non-change. Either way the start is never seen after the failure.
        if start in changes:
            self.assertEqual([start], [c for c in changes if c == start], changes)
            self.assertEqual(start, changes[0], changes)
        self.assertEqual(
            [('heat.stack', f'{create}.error', 'web-frontend', 'CREATE_FAILED'),
             ('heat.resource', f'{create}.error', 'web-frontend/server_0', 'CREATE_FAILED'),
             ('heat.resource', f'{create}.error', 'web-frontend/port_1', 'CREATE_COMPLETE'),
             ('heat.resource', f'{create}.error', 'web-frontend/net_2', 'CREATE_COMPLETE')],
            [c for c in changes if c != start])

    def test_heat_sends_the_stack_failure_at_error_priority(self) -> None:
        sent = self.of('notification', self.step_number('stack-failed'))
        self.assertEqual(
            [('heat', 'orchestration.stack.create.start', 'info'),
             ('heat', 'orchestration.stack.create.error', 'error')],
            [(n['exchange'], n['event_type'], n['priority']) for n in sent])

    def test_the_alarm_firing_is_seen_once(self) -> None:
        self.assertEqual([('aodh', 'alarm.state_transition', 'cpu_high', 'alarm')],
                         self.changes('alarm-fired'))

    def test_the_deduced_alarm_is_published_on_the_graph_topic(self) -> None:
        sent = self.of('notification', self.step_number('deduced-alarm'))
        self.assertEqual(
            [('vitrage', 'vitrage.graph', 'vitrage.deduced_alarm.activate'),
             ('aodh', 'notifications', 'alarm.creation')],
            [(n['exchange'], n['topic'], n['event_type']) for n in sent])

    def test_the_collector_sees_the_deduced_alarm_created_in_aodh_once(self) -> None:
        (activate, _) = self.of('notification', self.step_number('deduced-alarm'))
        changes = self.changes('deduced-alarm')
        name = f'stack_degraded_{activate["payload"]["affected_resource_id"]}'
        self.assertEqual([('aodh', 'alarm.creation', name, 'alarm')], changes)

    def test_the_deduced_alarm_reads_back_from_aodh_as_one_event_alarm(self) -> None:
        (activate, _) = self.of('notification', self.step_number('deduced-alarm'))
        (read,) = self.of('aodh_alarm')
        vitrage_id = activate['payload']['vitrage_id']
        self.assertEqual(
            [('event', 'alarm', 'critical', f'stack_degraded_'
              f'{activate["payload"]["affected_resource_id"]}', True)],
            [(a['type'], a['state'], a['severity'], a['name'],
              {'field': 'vitrage_id', 'op': 'eq', 'value': vitrage_id}
              in _query(a['event_rule'])) for a in read['alarms']])

    def test_the_collected_deduced_alarm_is_the_one_in_aodh(self) -> None:
        (read,) = self.of('aodh_alarm')
        (event,) = self.of('event', self.step_number('deduced-alarm'))
        self.assertEqual(([read['alarms'][0]['alarm_id']], True),
                         ([event['event']['alarm_id']], event['event']['vitrage_deduced']))

    def test_it_reports_a_clean_stop_after_every_notification(self) -> None:
        (done,) = self.of('done')
        self.assertEqual((6, 1, True),
                         (done['notifications'], done['messages'], done['stopped_cleanly']))


def _query(rule: dict[str, Any]) -> Sequence[dict[str, Any]]:
    return [{k: item.get(k) for k in ('field', 'op', 'value')} for item in rule['query']]


class TestDemoText(testtools.TestCase):
    """``vitrage-ds demo`` with its defaults, as the README runs it."""

    demo: ClassVar[_Finished]

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.demo = _run_demo()

    def timeline(self) -> list[str]:
        lines = self.demo.stdout.splitlines()
        return [line for line in lines if re.match(r'  \+\d+\.\d\ds ', line)]

    def test_it_exits_zero_with_nothing_on_stderr(self) -> None:
        self.assertEqual((0, ''), (self.demo.returncode, self.demo.stderr))

    def test_it_shows_the_snapshot_counts_per_entity_type(self) -> None:
        rows = re.findall(r'^  (heat\.stack|heat\.resource|aodh) +(\d+)  ',
                          self.demo.stdout, re.M)
        self.assertEqual([('heat.stack', '16'), ('heat.resource', '48'), ('aodh', '17')],
                         rows)

    def test_it_shows_each_change_as_it_arrives_in_aligned_columns(self) -> None:
        header = next(line for line in self.demo.stdout.splitlines()
                      if line.startswith('  TIME'))
        column = header.index('EVENT TYPE')
        event_types = {line[column:].split()[0] for line in self.timeline()}
        self.assertEqual({'orchestration.stack.update.start', 'orchestration.stack.update.end',
                          'orchestration.stack.create.start', 'orchestration.stack.create.error',
                          'alarm.state_transition', 'vitrage.deduced_alarm.activate',
                          'alarm.creation'}, event_types)

    def test_it_shows_the_failed_stack_event_once(self) -> None:
        failed = [line for line in self.timeline()
                  if ' event ' in line and 'web-frontend ' in line and 'CREATE_FAILED' in line]
        self.assertEqual(1, len(failed), self.demo.stdout)

    def test_it_shows_the_deduced_alarm_read_back_from_aodh(self) -> None:
        after = self.demo.stdout.split('Read back from Aodh:', 1)[-1]
        self.assertIsNotNone(re.search(r'^    state +alarm, severity critical$', after, re.M),
                             self.demo.stdout)

    def test_it_prints_no_raw_dicts(self) -> None:
        self.assertEqual([], re.findall(r"\{['\"]", self.demo.stdout))

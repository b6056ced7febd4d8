"""vitrage_ds's classes in Vitrage 15.0.1's own slots, run by Vitrage's own code.

Every test runs Vitrage 15.0.1, installed from the package index in its own
virtualenv (:class:`~tests.kit.vitrage_env.VitragePython`), on the
scripts of ``tests/integration/vitrage_slots``: Vitrage's ``parse_config``
reads a ``vitrage.conf`` whose class-path options name vitrage_ds's classes,
Vitrage loads them itself (``get_drivers_by_name``,
``VitrageNotifierService.get_notifier_plugins``) and its own transformers,
processor and notifier endpoint do the rest, against real Heat 27 and Aodh 23.
"""

from __future__ import annotations

import datetime
import json
import socket
import uuid
from pathlib import Path
from typing import Any

import fixtures
from testtools.content import text_content

from tests.integration.base import THREE, RealServicesTestCase, event_alarm
from tests.kit.vitrage_env import VitragePython

SCRIPTS = Path(__file__).resolve().parent / 'vitrage_slots'

HEAT_DRIVER = 'vitrage_ds.vitrage.heat.HeatStackDriver'
AODH_DRIVER = 'vitrage_ds.vitrage.aodh.AodhDriver'
AODH_NOTIFIER = 'vitrage_ds.vitrage.aodh_notifier.AodhNotifier'


class VitrageSlotsTestCase(RealServicesTestCase):
    """A project of its own, and a vitrage.conf that reaches it."""

    def setUp(self) -> None:
        super().setUp()
        self.vitrage = self.useFixture(VitragePython())
        self.project = self.new_project()
        self.work = Path(self.useFixture(fixtures.TempDir()).path)

    def vitrage_conf(self, notifier_aodh_url: str | None = None) -> Path:
        """vitrage.conf with vitrage_ds's classes in Vitrage's slots.

        No Keystone: ``[service_credentials] auth_type = none`` (Vitrage's
        group, read by vitrage_ds too), the project's identity headers in
        ``[vitrage_ds_http]`` and each plugin's endpoint in its own group.
        """
        headers = ','.join(f'{k}:{v}' for k, v in self.coords.headers(self.project).items())
        path = self.work / 'vitrage.conf'
        path.write_text('\n'.join([
            '[DEFAULT]', 'notifiers = aodh',
            '[datasources]', 'types = heat.stack, aodh',
            '[heat.stack]', f'driver = {HEAT_DRIVER}',
            '[aodh]', f'driver = {AODH_DRIVER}', f'notifier = {AODH_NOTIFIER}',
            '[service_credentials]', 'auth_type = none', 'timeout = 30',
            '[vitrage_ds_http]', f'headers = {headers}', 'retries = 0',
            '[driver.heat.stack]',
            f'endpoint_override = {self.coords.heat_endpoint(self.project)}',
            '[driver.aodh]', f'endpoint_override = {self.coords.aodh_url}',
            '[notifier.aodh]',
            f'endpoint_override = {notifier_aodh_url or self.coords.aodh_url}',
            'verify_interval = 0.2', 'reorder_window = 0.5', '']))
        return path

    def run_script(self, name: str, *args: str) -> dict[str, Any]:
        """The script's result; its log (Vitrage's oslo.log writes to
        stdout) is kept in :attr:`log`."""
        output = self.work / f'{name}-{uuid.uuid4().hex[:6]}.json'
        done = self.vitrage.run(SCRIPTS / f'{name}.py', *args, str(output))
        self.addDetail(f'{name} stdout', text_content(done.stdout[-20000:]))
        self.addDetail(f'{name} stderr', text_content(done.stderr[-20000:]))
        self.assertEqual(0, done.returncode, done.stderr[-3000:])
        self.log = done.stdout
        result: dict[str, Any] = json.loads(output.read_text())
        return result

    def graph(self, mode: str, notes: list[Any] | None = None) -> dict[str, Any]:
        source = self.work / 'notifications.json'
        source.write_text(json.dumps([
            {'publisher_id': n.publisher_id, 'event_type': n.event_type,
             'payload': n.payload, 'metadata': dict(n.metadata)} for n in notes or []]))
        return self.run_script('graph', str(self.vitrage_conf()), mode, str(source))

    # -- assertions on Vitrage's graph ---------------------------------------

    def vertices(self, graph: dict[str, Any], vitrage_type: str, entity_id: str
                 ) -> list[dict[str, Any]]:
        return [v for v in graph['vertices']
                if v['vitrage_type'] == vitrage_type and v['id'] == entity_id]

    def assert_stack_vertex(self, graph: dict[str, Any], stack_id: str, name: str) -> str:
        found = self.vertices(graph, 'heat.stack', stack_id)
        self.assertEqual(1, len(found), found)
        [stack] = found
        self.assertEqual(('RESOURCE', name, 'CREATE_COMPLETE', False, False),
                         (stack['vitrage_category'], stack['name'], stack['state'],
                          stack['vitrage_is_deleted'], stack['vitrage_is_placeholder']))
        return str(stack['vitrage_id'])

    def assert_alarm_on(self, graph: dict[str, Any], alarm: dict[str, Any],
                        resource_vitrage_id: str) -> None:
        found = self.vertices(graph, 'aodh', alarm['alarm_id'])
        self.assertEqual(1, len(found), found)
        [vertex] = found
        self.assertEqual(('ALARM', alarm['name'], False),
                         (vertex['vitrage_category'], vertex['name'],
                          vertex['vitrage_is_deleted']))
        self.assertIn([vertex['vitrage_id'], resource_vitrage_id, 'on'], graph['edges'])


class TestVitrageDriverSlots(VitrageSlotsTestCase):
    """``[heat.stack] driver`` and ``[aodh] driver`` set to vitrage_ds's classes."""

    def test_a_snapshot_builds_stack_and_alarm_vertices(self) -> None:
        heat, aodh = self.heat(self.project), self.aodh(self.project)
        names = [f'vds-slot-{uuid.uuid4().hex[:6]}' for _ in range(2)]
        ids = [self.create_stack(heat, name, THREE) for name in names]
        for name, stack_id in zip(names, ids):
            self.wait_stack(heat, name, stack_id, 'CREATE_COMPLETE')
        raised = self.create_alarm(aodh, event_alarm(f'{names[0]}-down', resource=ids[0],
                                                     state='alarm'))
        quiet = self.create_alarm(aodh, event_alarm(f'{names[1]}-down', resource=ids[1],
                                                    state='ok'))

        graph = self.graph('snapshot')

        self.assertEqual({'heat.stack': HEAT_DRIVER, 'aodh': AODH_DRIVER}, graph['drivers'])
        stack_vertices = [self.assert_stack_vertex(graph, i, n) for n, i in zip(names, ids)]
        self.assert_alarm_on(graph, raised, stack_vertices[0])
        self.assertEqual([], self.vertices(graph, 'aodh', quiet['alarm_id']))

    def test_notifications_through_enrich_event_build_the_same(self) -> None:
        heat, aodh = self.heat(self.project), self.aodh(self.project)
        log = self.bus()
        name = f'vds-slot-{uuid.uuid4().hex[:6]}'
        stack_id = self.create_stack(heat, name, THREE)
        self.wait_stack(heat, name, stack_id, 'CREATE_COMPLETE')
        created = self.stack_note(log, stack_id, 'orchestration.stack.create.end')
        alarm = self.create_alarm(aodh, event_alarm(f'{name}-down', resource=stack_id,
                                                    state='alarm'))
        raised = self.alarm_note(log, alarm['alarm_id'], 'alarm.creation')

        graph = self.graph('notifications', [created, raised])

        stack_vertex = self.assert_stack_vertex(graph, stack_id, name)
        self.assert_alarm_on(graph, alarm, stack_vertex)
        self.assertEqual(['update', 'update'],
                         [e['vitrage_datasource_action'] for e in graph['given']])


class TestVitrageNotifierSlot(VitrageSlotsTestCase):
    """``[aodh] notifier`` set to vitrage_ds's class, in Vitrage's notifier service."""

    def setUp(self) -> None:
        super().setUp()
        self.cleaned: set[str] = set()

    def message(self, event_type: str, vitrage_id: str, server: str, *,
                active: bool, at: datetime.datetime) -> dict[str, Any]:
        """A deduced alarm's message as Vitrage's graph publishes it (vertex properties)."""
        stamp = at.strftime('%Y-%m-%d %H:%M:%S.%f')
        return {'event_type': event_type, 'payload': {
            'vitrage_id': vitrage_id, 'name': 'instance down', 'severity': 'CRITICAL',
            'vitrage_operational_severity': 'CRITICAL', 'vitrage_category': 'ALARM',
            'vitrage_type': 'vitrage', 'state': 'Active' if active else 'Inactive',
            'vitrage_is_deleted': not active, 'vitrage_is_placeholder': False,
            'vitrage_resource_id': 'r-vertex', 'vitrage_resource_type': 'nova.instance',
            'vitrage_resource_project_id': self.project,
            'update_timestamp': stamp, 'vitrage_sample_timestamp': stamp,
            'resource': {'id': server, 'vitrage_id': 'r-vertex', 'name': 'vm-1',
                         'vitrage_type': 'nova.instance', 'vitrage_category': 'RESOURCE',
                         'project_id': self.project}}}

    def notify(self, *messages: dict[str, Any], aodh_url: str | None = None) -> None:
        source = self.work / f'messages-{uuid.uuid4().hex[:6]}.json'
        source.write_text(json.dumps(list(messages)))
        result = self.run_script('notifier', str(self.vitrage_conf(aodh_url)), str(source))
        self.assertEqual([AODH_NOTIFIER], result['plugins'])

    def mirrors(self, name: str) -> list[dict[str, Any]]:
        alarms: list[dict[str, Any]] = self.aodh(self.project).get(
            'v2/alarms', params=[('q.field', 'name'), ('q.op', 'eq'), ('q.value', name)])
        for alarm in alarms:
            if alarm['alarm_id'] not in self.cleaned:
                self.cleaned.add(alarm['alarm_id'])
                self.addCleanup(self.aodh(self.project).delete,
                                f'v2/alarms/{alarm["alarm_id"]}')
        return alarms

    def test_activate_and_deactivate_are_applied_exactly_once(self) -> None:
        vitrage_id, server = str(uuid.uuid4()), str(uuid.uuid4())
        name = f'instance down_{server}'
        now = datetime.datetime.now(datetime.timezone.utc)
        activate = self.message('vitrage.deduced_alarm.activate', vitrage_id, server,
                                active=True, at=now)

        self.notify(activate, activate)  # a redelivery changes nothing

        [alarm] = self.mirrors(name)
        self.assertEqual(('alarm', 'critical', 'event'),
                         (alarm['state'], alarm['severity'], alarm['type']))
        query = {q['field']: q['value'] for q in alarm['event_rule']['query']}
        self.assertEqual(server, query['resource_id'])
        self.assertEqual(vitrage_id, query['vitrage_id'])

        self.notify(self.message('vitrage.deduced_alarm.deactivate', vitrage_id, server,
                                 active=False, at=now + datetime.timedelta(seconds=1)))

        [after] = self.mirrors(name)
        self.assertEqual((alarm['alarm_id'], 'ok'), (after['alarm_id'], after['state']))
        history = self.aodh(self.project).get(f'v2/alarms/{alarm["alarm_id"]}/history')
        kinds = sorted(h['type'] for h in history)
        self.assertEqual(1, kinds.count('creation'), history)
        states = [json.loads(h['detail']).get('state') for h in history
                  if h['type'] != 'creation']
        self.assertEqual(['ok'], [s for s in states if s is not None], history)

    def test_a_message_aodh_refuses_every_attempt_at_is_logged_as_lost_by_name(self) -> None:
        # A port held without listening: every connection to it is refused.
        closed = socket.socket()
        self.addCleanup(closed.close)
        closed.bind(('127.0.0.1', 0))
        vitrage_id, server = str(uuid.uuid4()), str(uuid.uuid4())
        activate = self.message('vitrage.deduced_alarm.activate', vitrage_id, server,
                                active=True, at=datetime.datetime.now(datetime.timezone.utc))

        self.notify(activate, aodh_url=f'http://127.0.0.1:{closed.getsockname()[1]}')

        [lost] = [line for line in self.log.splitlines() if ' lost after ' in line]
        self.assertIn(f'vitrage.deduced_alarm.activate of deduced alarm {vitrage_id} '
                      f'(instance down_{server}) lost after 3 attempts', lost)
        self.assertEqual([], self.mirrors(f'instance down_{server}'))


class TestVitrageConfiguration(VitrageSlotsTestCase):
    """vitrage_ds's options on the ``CONF`` Vitrage's ``parse_config`` filled."""

    def test_registering_raises_nothing_and_both_read_the_same_credentials(self) -> None:
        path = self.work / 'credentials.conf'
        path.write_text('\n'.join([
            '[DEFAULT]', 'notifiers = nova',
            '[datasources]', 'types = heat.stack, aodh',
            '[service_credentials]', 'auth_type = password',
            'auth_url = http://127.0.0.1:5000/v3', 'username = vitrage', 'password = s3cret',
            'project_name = service', 'user_domain_id = default', 'project_domain_id = default',
            'region_name = RegionTwo', 'interface = internalURL', 'cafile = /etc/vitrage/ca.pem',
            'timeout = 4',
            '[vitrage_ds]', 'notifiers = aodh', '']))

        seen = self.run_script('credentials', str(path))

        self.assertTrue(seen['same_identity'], seen)
        self.assertEqual(('http://127.0.0.1:5000/v3', 'vitrage', ['/etc/vitrage/ca.pem'] * 2),
                         (seen['auth_url'], seen['username'], seen['verify']))
        self.assertEqual(('RegionTwo', 'internalURL'), (seen['region_name'], seen['interface']))
        self.assertEqual((4.0, ['nova'], ['aodh']),
                         (seen['http_timeout'], seen['vitrage_notifiers'],
                          seen['vitrage_ds_notifiers']))

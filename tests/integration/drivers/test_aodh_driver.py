"""The Aodh driver against real Aodh 23: polls, and Aodh's own notifications on RabbitMQ.

Alarms of the types Aodh creates without Gnocchi or Keystone (event,
prometheus, composite, loadbalancer_member_health) in two projects of the
test's own. Polls through all_projects see other tests' alarms too, so
assertions look at the test's own alarms. Every notification is the one
real Aodh sent, received through :class:`vitrage_ds.bus.Listener`; the
evaluator's string-detail transition comes from a real ``aodh-listener``
fed an event in Ceilometer's format (:class:`AodhListener`).
"""

from __future__ import annotations

import datetime
import logging
import os
import signal
import subprocess
import time
import urllib.parse
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import fixtures

from tests.integration import base
from vitrage_ds import config
from vitrage_ds.bus import Notification, Publisher, get_transport
from vitrage_ds.drivers.aodh import AodhDriver, alarm_fields, alarm_version
from vitrage_ds.errors import APIError
from vitrage_ds.event import Event
from vitrage_ds_testing import load_plugin
from tests.kit.real import Coordinates, venv_path

SERVER = 'b0bf3635-d9e8-4624-9793-7aac82948c0a'
GROUP = '3d7f0f52-6a0e-4b59-8c5e-2f1f0b6f1c22'


def event_alarm(name: str, resource: str = SERVER, **extra: Any) -> dict[str, Any]:
    return base.event_alarm(name, resource, severity='moderate', **extra)


def deduced_alarm(name: str, vitrage_id: str) -> dict[str, Any]:
    """An event alarm as the vitrage_ds Aodh notifier makes one."""
    return {'name': f'{name}_{SERVER}', 'type': 'event', 'severity': 'critical',
            'state': 'alarm', 'description': 'Deduced by Vitrage',
            'event_rule': {'event_type': 'vitrage.deduced', 'query': [
                {'field': 'resource_id', 'op': 'eq', 'type': 'string', 'value': SERVER},
                {'field': 'vitrage_id', 'op': 'eq', 'type': 'string', 'value': vitrage_id}]}}


def prometheus_alarm(name: str) -> dict[str, Any]:
    return {'name': name, 'type': 'prometheus', 'prometheus_rule': {
        'comparison_operator': 'gt', 'threshold': 80.0,
        'query': f'ceilometer_cpu{{resource="{SERVER}"}}'}}


def composite_alarm(name: str) -> dict[str, Any]:
    # Sub-rules of Gnocchi types: Aodh 23 validates them without calling Gnocchi.
    gnocchi = {'comparison_operator': 'gt', 'threshold': 80.0, 'aggregation_method': 'mean',
               'granularity': 60, 'evaluation_periods': 1}
    return {'name': name, 'type': 'composite', 'composite_rule': {'or': [
        {'type': 'gnocchi_resources_threshold', 'metric': 'cpu', 'resource_id': SERVER,
         'resource_type': 'instance', **gnocchi},
        {'and': [{'type': 'gnocchi_aggregation_by_metrics_threshold',
                  'metrics': ['0bb1604d-1193-4c0a-b4b8-74b170e35e83'], **gnocchi}]}]}}


def member_health_alarm(name: str) -> dict[str, Any]:
    return {'name': name, 'type': 'loadbalancer_member_health',
            'loadbalancer_member_health_rule': {
                'pool_id': 'c5e2a8e4-1f3b-4d1e-9a3b-6b2f0c7d8e33',
                'stack_id': '0f6a1b9e-58a3-4b0e-9c49-7f6e0d0c2a11',
                'autoscaling_group_id': GROUP}}


def ceilometer_event(event_type: str, traits: Mapping[str, str]) -> dict[str, Any]:
    """One event as Ceilometer publishes it to Aodh.

    The shape of ``ceilometer.event.models.Event.serialize`` (traits as
    ``[name, dtype, value]``, dtype 1 being text) plus the
    ``message_signature`` that ``ceilometer.publisher.utils.message_from_event``
    adds; Aodh's event evaluator does not check the signature.
    """
    return {'message_id': str(uuid.uuid4()), 'event_type': event_type,
            'generated': datetime.datetime.now(datetime.timezone.utc)
            .replace(tzinfo=None).isoformat(),
            'traits': [[name, 1, value] for name, value in traits.items()],
            'raw': {}, 'message_signature': ''}


class AodhListener(fixtures.Fixture):
    """Aodh 23's own ``aodh-listener`` (the event alarm evaluator) for a run.

    Runs from the real services' virtualenv with the run's ``aodh.conf``
    plus ``[service_credentials] auth_type = none``: without Keystone the
    evaluator then records its transitions with a null user and project,
    and publishes them as Aodh does. It consumes Ceilometer's events at
    SAMPLE priority on topic :attr:`topic` of the run's ``aodh`` exchange.
    Stopped (its process group, by id) at cleanup.
    """

    #: Aodh's ``[listener] event_alarm_topic`` default.
    topic = 'alarm.all'

    def __init__(self, coords: Coordinates) -> None:
        super().__init__()
        self.coords = coords

    @staticmethod
    def unavailable(coords: Coordinates) -> str:
        """Why a listener cannot run for ``coords`` ('' when it can)."""
        if not (Path(coords.state_dir) / 'aodh.conf').is_file():
            return f'no aodh.conf in the run directory {coords.state_dir!r}'
        if not (venv_path() / 'bin' / 'python').exists():
            return f'no real-services virtualenv at {venv_path()}'
        return ''

    def _setUp(self) -> None:
        work = Path(self.useFixture(fixtures.TempDir()).path)
        conf = work / 'aodh-listener.conf'
        conf.write_text((Path(self.coords.state_dir) / 'aodh.conf').read_text()
                        + '\n[service_credentials]\nauth_type = none\n')
        self.log_path = work / 'aodh-listener.log'
        # The virtualenv's console scripts carry its build-time path: run the
        # entry point through its interpreter instead.
        main = ('import sys; from aodh.cmd.alarm import listener; '
                'sys.argv = ["aodh-listener", "--config-file", sys.argv[1]]; listener()')
        with open(self.log_path, 'wb') as out:
            self.process = subprocess.Popen(
                [str(venv_path() / 'bin' / 'python'), '-I', '-c', main, str(conf)],
                cwd=work, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        self.addCleanup(self._stop)

    def wait_ready(self, timeout: float = base.DEADLINE) -> None:
        """Wait until the listener's queue is bound, so an event is not dropped.

        Asks ``rabbitmqctl`` for the queues of the run's vhost. A queue left
        by an earlier listener of the same run also holds the event until
        this one consumes it.
        """
        vhost = urllib.parse.unquote(urllib.parse.urlsplit(self.coords.transport_url).path[1:])
        queue = f'{self.topic}.sample'
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f'aodh-listener exited: {self.tail()}')
            listed = subprocess.run(
                ['rabbitmqctl', 'list_queues', '-p', vhost, '--quiet', '--no-table-headers',
                 'name'], capture_output=True, text=True, timeout=60, check=False)
            if queue in listed.stdout.split():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f'no queue {queue} after {timeout:.0f} s: {self.tail()}')
            time.sleep(0.5)

    def _stop(self) -> None:
        for sig, grace in ((signal.SIGTERM, 20.0), (signal.SIGKILL, 10.0)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            try:
                self.process.wait(grace)
                return
            except subprocess.TimeoutExpired:
                continue

    def tail(self) -> str:
        try:
            return '\n'.join(self.log_path.read_text(errors='replace').splitlines()[-15:])
        except OSError:
            return ''


KINDS = {'event': event_alarm, 'prometheus': prometheus_alarm,
         'composite': composite_alarm, 'loadbalancer_member_health': member_health_alarm}
RESOURCE = {'event': SERVER, 'prometheus': SERVER, 'composite': SERVER,
            'loadbalancer_member_health': GROUP}


class AodhDriverTestCase(base.RealServicesTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.project = self.new_project()
        self.client = self.aodh(self.project)
        self.logged = self.useFixture(fixtures.FakeLogger(
            name='vitrage_ds', level=logging.INFO, format='%(levelname)s %(message)s'))

    def driver(self, project: str | None = None, *, roles: str = 'admin',
               **options: Any) -> AodhDriver:
        project = project or self.project
        conf = self.real.config(project)
        conf.set_override('headers', {**self.coords.headers(project), 'X-Roles': roles},
                          config.HTTP_GROUP)
        driver: AodhDriver = load_plugin('driver', 'aodh', conf=conf, options=options)
        self.addCleanup(driver.close)
        return driver

    def polled(self, alarm_id: str) -> Event:
        """The alarm's event from a fresh poll of the test's project.

        Not every project's: tests running beside this one on the same Aodh
        delete alarms meanwhile, and a paged listing is read again once when
        the alarm it would resume from is deleted, but fails the second time.
        """
        events = self.driver(all_projects=False).get_all()
        return {e.entity_id: e for e in events}[alarm_id]


class PollTest(AodhDriverTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.other = self.new_project()
        self.alarms: dict[str, dict[str, Any]] = {}
        for project in (self.project, self.other):
            client = self.aodh(project)
            for kind, make in KINDS.items():
                alarm = self.create_alarm(client, make(f'{kind}-alarm'))
                self.alarms[alarm['alarm_id']] = alarm
        self.vitrage_id = str(uuid.uuid4())
        deduced = self.create_alarm(self.client, deduced_alarm('cpu high', self.vitrage_id))
        self.alarms[deduced['alarm_id']] = deduced
        self.deduced_id = deduced['alarm_id']

    def ours(self, events: list[Event]) -> dict[str, Event]:
        return {e.entity_id: e for e in events if e.entity_id in self.alarms}

    def test_every_alarm_of_both_projects_comes_once(self) -> None:
        events = self.driver().get_all()
        ids = [e.entity_id for e in events]
        self.assertEqual(len(ids), len(set(ids)))
        self.assertEqual(set(self.alarms), set(self.ours(events)))

    def test_fields_are_the_mapping_of_what_aodh_shows(self) -> None:
        for alarm_id, event in self.ours(self.driver().get_all()).items():
            shown = self.client.get(f'v2/alarms/{alarm_id}')
            self.assertEqual(alarm_fields(shown), dict(event.fields))
            self.assertEqual(alarm_version(shown, 0.0).source, event.version.source)

    def test_each_type_keeps_its_rule_and_finds_its_resource(self) -> None:
        for alarm_id, event in self.ours(self.driver().get_all()).items():
            kind = self.alarms[alarm_id]['type']
            self.assertEqual(self.alarms[alarm_id][f'{kind}_rule'], event.fields[f'{kind}_rule'])
            self.assertEqual(RESOURCE[kind], event.fields['resource_id'], kind)
            self.assertEqual('aodh', event.fields['sync_type'])

    def test_the_notifier_s_alarm_is_recognised_as_deduced(self) -> None:
        events = self.ours(self.driver().get_all())
        self.assertEqual((self.vitrage_id, True, SERVER),
                         (events[self.deduced_id].fields['vitrage_id'],
                          events[self.deduced_id].fields['vitrage_deduced'],
                          events[self.deduced_id].fields['resource_id']))
        deduced = [e for e in events.values() if e.fields['vitrage_deduced']]
        self.assertEqual([self.deduced_id], [e.entity_id for e in deduced])

    def test_small_pages_give_the_same_snapshot(self) -> None:
        # The test's own project (see polled): its five alarms in pages of two.
        whole = self.driver(all_projects=False).get_all()
        paged = self.driver(all_projects=False, page_size=2).get_all()
        self.assertEqual(self._own(), {e.entity_id for e in paged})
        self.assertEqual({e.entity_id: e.fields for e in whole},
                         {e.entity_id: e.fields for e in paged})
        self.assertEqual(len(paged), len({e.entity_id for e in paged}))

    def _own(self) -> set[str]:
        return {a['alarm_id'] for a in self.client.get('v2/alarms')}

    def test_a_later_poll_read_in_ranges_sees_alarms_created_since(self) -> None:
        driver = self.driver(all_projects=False, page_size=2)  # a range per alarm
        driver.get_all()
        for n in range(3):
            self.create_alarm(self.client, event_alarm(f'later-{n}'))

        events = driver.get_all()

        self.assertEqual(self._own(), {e.entity_id for e in events})
        self.assertEqual(len(events), len({e.entity_id for e in events}))
        self.assertNotIn('reading the listing in one go', self.logged.output)

    def test_a_range_start_deleted_since_is_answered_500_and_read_again(self) -> None:
        driver = self.driver(all_projects=False, page_size=2)
        first = [e.entity_id for e in driver.get_all()]
        self.client.delete(f'v2/alarms/{first[0]}')  # the second range's start

        events = driver.get_all()

        self.assertEqual(self._own(), {e.entity_id for e in events})
        self.assertNotIn(first[0], {e.entity_id for e in events})
        self.assertIn(f'Marker {first[0]} not found', self.logged.output)
        self.assertIn('reading the listing in one go', self.logged.output)

    def test_without_all_projects_only_the_own_project(self) -> None:
        events = self.driver(all_projects=False).get_all()
        self.assertEqual({self.project}, {e.fields['project_id'] for e in events})
        self.assertEqual({i for i, a in self.alarms.items() if a['project_id'] == self.project},
                         {e.entity_id for e in events})

    def test_member_asking_for_every_project_is_told_why(self) -> None:
        error = self.assertRaises(APIError, self.driver(roles='member').get_all)
        self.assertEqual(403, error.status)
        self.assertIn('RBAC Authorization Failed', str(error))
        self.assertIn('telemetry:get_alarms:all_projects', str(error))


class NotificationTest(AodhDriverTestCase):
    """Aodh's own notifications, through the driver, give what the next poll gives."""

    def setUp(self) -> None:
        super().setUp()
        self.log = self.bus(self.coords.aodh_exchange)
        self.known: dict[str, Mapping[str, Any]] = {}
        self.notifier_driver = self.driver()

    def lookup(self, entity_type: str, entity_id: str) -> Mapping[str, Any] | None:
        return self.known.get(entity_id)

    def handled(self, alarm_id: str, event_type: str,
                match: Any = None) -> tuple[Notification, Event]:
        """Wait for Aodh's notification, hand it to the driver, keep the result."""
        note = self.log.wait_for(
            lambda n: (n.event_type == event_type and n.payload.get('alarm_id') == alarm_id
                       and (match is None or match(n))),
            f'{event_type} for {alarm_id}', base.DEADLINE)
        events = self.notifier_driver.notifications(
            note.event_type, note.payload, note.metadata, self.lookup)
        self.assertEqual(1, len(events), self.logged.output)
        event = events[0]
        if event.deleted:
            self.known.pop(alarm_id, None)
        else:
            self.known[alarm_id] = event.fields
        return note, event

    def assert_as_polled(self, event: Event) -> None:
        polled = self.polled(event.entity_id)
        self.assertEqual(dict(polled.fields), dict(event.fields))
        self.assertEqual(polled.version.source, event.version.source)
        self.assertGreaterEqual(polled.version, event.version)

    def test_create_change_state_change_rule_delete(self) -> None:
        alarm = self.create_alarm(self.client, event_alarm('life'))
        alarm_id = alarm['alarm_id']
        _, created = self.handled(alarm_id, 'alarm.creation')
        self.assertEqual('alarm.creation', created.event_type)
        self.assert_as_polled(created)

        self.client.put(f'v2/alarms/{alarm_id}/state', json='alarm')
        note, fired = self.handled(alarm_id, 'alarm.state_transition')
        self.assertIsInstance(note.payload['detail'], dict)
        self.assertEqual(('alarm', 'Manually set via API'),
                         (fired.fields['state'], fired.fields['state_reason']))
        self.assert_as_polled(fired)

        body = self.client.get(f'v2/alarms/{alarm_id}')
        body['event_rule']['query'][0]['value'] = GROUP
        body['severity'] = 'critical'
        self.client.put(f'v2/alarms/{alarm_id}', json=body)
        note, changed = self.handled(alarm_id, 'alarm.rule_change')
        self.assertIn('rule', note.payload['detail'])
        self.assertEqual((GROUP, 'critical'),
                         (changed.fields['resource_id'], changed.fields['severity']))
        self.assert_as_polled(changed)

        self.client.delete(f'v2/alarms/{alarm_id}')
        _, deleted = self.handled(alarm_id, 'alarm.deletion')
        self.assertTrue(deleted.deleted)
        self.assertEqual(('life', GROUP), (deleted.fields['name'], deleted.fields['resource_id']))
        self.assertNotIn(alarm_id, {e.entity_id for e in
                                    self.driver(all_projects=False).get_all()})

    def test_a_deletion_by_an_admin_of_another_project_is_kept_by_the_own_project(
            self) -> None:
        alarm_id = self.create_alarm(self.client, event_alarm('deleted by admin'))['alarm_id']
        self.handled(alarm_id, 'alarm.creation')
        own = self.driver(all_projects=False)
        own.get_all()  # learns its project
        admin = self.aodh(self.new_project(), roles='admin')

        admin.delete(f'v2/alarms/{alarm_id}')

        note = self.alarm_note(self.log, alarm_id, 'alarm.deletion')
        self.assertNotEqual(self.project, note.payload['on_behalf_of'])  # the admin's
        events = own.notifications(note.event_type, note.payload, note.metadata, self.lookup)
        self.assertEqual([(alarm_id, True, self.project)],
                         [(e.entity_id, e.deleted, e.fields['project_id']) for e in events])

    def test_every_type_s_creation_gives_what_the_poll_gives(self) -> None:
        for kind, make in KINDS.items():
            alarm = self.create_alarm(self.client, make(f'{kind}-created'))
            _, created = self.handled(alarm['alarm_id'], 'alarm.creation')
            self.assert_as_polled(created)

    def test_notification_about_an_unknown_alarm_is_completed_by_a_fetch(self) -> None:
        alarm = self.create_alarm(self.client, prometheus_alarm('unknown'))
        self.client.put(f'v2/alarms/{alarm["alarm_id"]}/state', json='ok')
        _, event = self.handled(alarm['alarm_id'], 'alarm.state_transition')
        self.assertEqual(('ok', 'prometheus'), (event.fields['state'], event.fields['type']))
        self.assert_as_polled(event)

    def test_evaluator_transition_from_a_real_aodh_listener(self) -> None:
        why = AodhListener.unavailable(self.coords)
        if why:
            self.skipTest(why)
        listener = self.useFixture(AodhListener(self.coords))
        resource = str(uuid.uuid4())
        alarm = self.create_alarm(self.client, event_alarm('evaluated', resource))
        alarm_id = alarm['alarm_id']
        self.handled(alarm_id, 'alarm.creation')

        transport = get_transport(config.new_config(), url=self.coords.transport_url)
        self.addCleanup(transport.cleanup)
        publisher = Publisher(transport, topic=listener.topic,
                              exchange=self.coords.aodh_exchange,
                              publisher_id='telemetry.publisher.vds-test')
        listener.wait_ready()
        publisher.publish('event', [ceilometer_event(
            'compute.instance.update',
            {'resource_id': resource, 'project_id': self.project})], priority='sample')

        note, fired = self.handled(alarm_id, 'alarm.state_transition')
        self.assertEqual('aodh.evaluator', note.publisher_id)
        self.assertIsInstance(note.payload['detail'], str)
        self.assertEqual('alarm', fired.fields['state'])
        self.assertIn('hits the query', fired.fields['state_reason'])
        # Aodh's evaluator leaves state_timestamp alone; so does the driver,
        # so the next poll shows the same source time and wins on observation.
        self.assertEqual(alarm['state_timestamp'], fired.fields['state_timestamp'])
        self.assert_as_polled(fired)


class CommandLineTest(AodhDriverTestCase):
    """``vitrage-ds poll aodh`` with a clouds.yaml cloud (no Keystone: ``auth_type: none``)."""

    def test_poll_prints_the_alarms_of_every_project(self) -> None:
        other = self.new_project()
        mine = self.create_alarm(self.client, member_health_alarm('cli-mine'))
        theirs = self.create_alarm(self.aodh(other), prometheus_alarm('cli-theirs'))
        rows = {row['alarm_id']: row for row in self.poll_command(
            'aodh', self.project, alarming_endpoint_override=self.coords.aodh_url)}
        self.assertEqual((GROUP, self.project),
                         (rows[mine['alarm_id']]['resource_id'],
                          rows[mine['alarm_id']]['project_id']))
        self.assertEqual((SERVER, other),
                         (rows[theirs['alarm_id']]['resource_id'],
                          rows[theirs['alarm_id']]['project_id']))

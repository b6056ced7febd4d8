"""The base of every integration test: real Heat 27 and Aodh 23 on loopback.

Tests reach the services only through vitrage_ds's own layers: the HTTP
:class:`~vitrage_ds.http.client.Client` built from configuration (as the
drivers get theirs) and the bus :class:`~vitrage_ds.bus.Listener` (through
:class:`~tests.kit.NotificationLog`). The services come from
:class:`~tests.kit.RealServices`: started once for the tier by
``tools/dev.py test integration``, or once per test process otherwise.
Every test works in projects of its own, so tests never see each other's
stacks or alarms.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fixtures
import testtools

import vitrage_ds_testing
from vitrage_ds.bus import Notification
from vitrage_ds.errors import APIError
from vitrage_ds.http.client import Client
from tests.kit import NotificationLog, RealServices

#: Most seconds a stack operation or a notification may take; never a measure.
DEADLINE = 120.0

HOT = '2018-08-31'


def template(resources: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A HOT template holding ``resources``."""
    return {'heat_template_version': HOT, 'resources': resources, **extra}


#: Three resources Heat 27 creates with no other service.
THREE = template({
    'none': {'type': 'OS::Heat::None'},
    'random': {'type': 'OS::Heat::RandomString', 'properties': {'length': 8}},
    'test': {'type': 'OS::Heat::TestResource', 'properties': {'value': 'v1'}},
})
#: An update of :data:`THREE`: ``test`` changes in place, the others go.
UPDATED = template({'test': {'type': 'OS::Heat::TestResource',
                             'properties': {'value': 'v2'}}})
#: A resource that fails on purpose, failing its stack's create or update.
FAILING = template({'boom': {'type': 'OS::Heat::TestResource',
                             'properties': {'fail': True}}})


def event_alarm(name: str, resource: str = 'r-1', severity: str = 'critical',
                **extra: Any) -> dict[str, Any]:
    """An Aodh event alarm on ``compute.instance.update`` of ``resource``."""
    return {'name': name, 'type': 'event', 'severity': severity,
            'event_rule': {'event_type': 'compute.instance.update',
                           'query': [{'field': 'traits.resource_id', 'op': 'eq',
                                      'value': resource, 'type': 'string'}]},
            **extra}


class RealServicesTestCase(testtools.TestCase):
    """Gives a test the real services, new projects, clients and bus logs."""

    def setUp(self) -> None:
        super().setUp()
        self.real = self.useFixture(RealServices())
        self.coords = self.real.coords

    def new_project(self) -> str:
        """A project name no other test uses."""
        return f'vds-{uuid.uuid4().hex[:12]}'

    def heat(self, project: str, global_policy: bool = False) -> Client:
        """vitrage_ds's client for ``project``'s Heat endpoint."""
        return self.real.heat_client(project, global_policy=global_policy)

    def aodh(self, project: str, roles: str = 'admin', composite: bool = False) -> Client:
        """vitrage_ds's client for Aodh, as ``project`` with ``roles``.

        :param composite: the Aodh API kept for creating composite alarms
            (:attr:`~tests.kit.real.Coordinates.aodh_composite_url`).
        """
        return self.real.aodh_client(project, roles=roles, composite=composite)

    def poll_command(self, driver: str, project: str,
                     **cloud: str) -> list[dict[str, Any]]:
        """The rows of ``vitrage-ds --os-cloud real poll DRIVER -f json``, as ``project``.

        The clouds.yaml cloud ``real`` has ``auth_type: none`` and the keys
        ``cloud`` gives (an endpoint override); ``project``'s identity
        headers come from a configuration file. The command must succeed.
        """
        work = Path(self.useFixture(fixtures.TempDir()).path)
        (work / 'clouds.yaml').write_text(
            'clouds:\n  real:\n    auth_type: none\n'
            + ''.join(f'    {key}: {value}\n' for key, value in cloud.items()))
        headers = ','.join(f'{k}:{v}' for k, v in self.coords.headers(project).items())
        (work / 'vitrage-ds.conf').write_text(f'[http]\nheaders = {headers}\n')
        done = subprocess.run(
            [str(Path(sys.executable).parent / 'vitrage-ds'),
             '--config-file', str(work / 'vitrage-ds.conf'), '--os-cloud', 'real',
             'poll', driver, '-f', 'json'],
            env=dict(os.environ, OS_CLIENT_CONFIG_FILE=str(work / 'clouds.yaml')),
            capture_output=True, text=True, timeout=120, check=False)
        self.assertEqual(0, done.returncode, done.stderr)
        rows: list[dict[str, Any]] = json.loads(done.stdout)
        return rows

    def bus(self, *exchanges: str) -> NotificationLog:
        """Every notification on ``exchanges`` (default: Heat's and Aodh's) from now on."""
        exchanges = exchanges or (self.coords.heat_exchange, self.coords.aodh_exchange)
        return self.useFixture(NotificationLog(
            self.coords.transport_url, [(e, self.coords.topic) for e in exchanges]))

    # -- Heat ----------------------------------------------------------------

    def create_stack(self, heat: Client, name: str, tmpl: dict[str, Any],
                     **fields: Any) -> str:
        """POST a stack; return its id. The stack is deleted at cleanup."""
        body = heat.post('stacks', json={'stack_name': name, 'template': tmpl, **fields})
        stack_id = body['stack']['id']
        self.addCleanup(_delete_quietly, heat, f'stacks/{name}/{stack_id}')
        return str(stack_id)

    def wait_stack(self, heat: Client, name: str, stack_id: str,
                   status: str) -> dict[str, Any]:
        """Poll the stack until it leaves ``*_IN_PROGRESS``; assert it is ``status``."""
        stack = wait_until(
            lambda: _settled(heat.get(f'stacks/{name}/{stack_id}')['stack']),
            f'stack {name} to settle')
        self.assertEqual(status, stack['stack_status'], stack['stack_status_reason'])
        return stack

    def stack_note(self, log: NotificationLog, stack_id: str,
                   event_type: str) -> Notification:
        """The notification ``event_type`` of stack ``stack_id``."""
        return log.wait_for(
            lambda n: (n.event_type == event_type
                       and n.payload.get('stack_identity') == stack_id),
            f'{event_type} for {stack_id}', DEADLINE)

    # -- Aodh ----------------------------------------------------------------

    def create_alarm(self, aodh: Client, body: dict[str, Any]) -> dict[str, Any]:
        """POST an alarm; return it. The alarm is deleted at cleanup."""
        alarm = aodh.post('v2/alarms', json=body)
        self.addCleanup(_delete_quietly, aodh, f'v2/alarms/{alarm["alarm_id"]}')
        return dict(alarm)

    def alarm_note(self, log: NotificationLog, alarm_id: str,
                   event_type: str) -> Notification:
        """The notification ``event_type`` of alarm ``alarm_id``."""
        return log.wait_for(
            lambda n: (n.event_type == event_type
                       and n.payload.get('alarm_id') == alarm_id),
            f'{event_type} for {alarm_id}', DEADLINE)


def _settled(stack: dict[str, Any]) -> dict[str, Any] | None:
    return None if stack['stack_status'].endswith('_IN_PROGRESS') else stack


def wait_until(fetch: Callable[[], Any], what: str, timeout: float = DEADLINE) -> Any:
    """:func:`vitrage_ds_testing.wait_until` with this tier's deadline, every 0.3 s."""
    return vitrage_ds_testing.wait_until(fetch, what, timeout, 0.3)


def _delete_quietly(client: Client, path: str) -> None:
    """Delete at cleanup what the test may have deleted already.

    Heat answers 400 to a DELETE while the stack's deletion is in progress.
    """
    try:
        client.delete(path)
    except APIError as exc:
        if exc.status not in (400, 404, 409):
            raise

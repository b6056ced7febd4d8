"""Real senders' deduced-alarm messages, through ``vitrage-ds notifier``, to real Aodh 23.

Two senders publish on a vhost of the test's own, on exchange ``vitrage``,
topic ``vitrage.graph``, as a Vitrage deployment does:

* Vitrage 15.0.1's own ``GraphNotifier``, run by Vitrage's interpreter on a
  real ``NXGraph`` holding one resource vertex and one deduced-alarm vertex
  (:class:`~tests.integration.vitrage_graph.VitrageGraph`);
* a plain oslo.messaging ``Notifier`` posting the seed's shapes: an
  activate ``{name, severity, affected_resource_id}`` and a deactivate
  ``{id}``.

``vitrage-ds notifier`` runs as the real command with its default
``[notifier]`` options. Each sender's activate makes one event alarm, a
second activate and a redelivery leave it one, the deactivate sets it to
ok, and every queue on the vhost ends at depth 0. The redelivery is the
first activate's AMQP message published again unchanged to a restarted
notifier, as the broker redelivers a message whose consumer went away
before acknowledging it. (Published again to the same live process,
oslo.messaging's listener recognises its ``_unique_id`` among the last 16
it acknowledged, logs "ignoring duplicate message" and leaves it
unacknowledged until the connection closes.)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import fixtures
import oslo_messaging
from oslo_config import cfg
from testtools import content

from tests.integration import base
from tests.integration.redelivery import RawCopies
from tests.integration.vitrage_graph import VitrageGraph
from vitrage_ds.deduced import ACTIVATE, DEACTIVATE
from tests.kit import RabbitVhost
from tests.kit.process import ServiceProcess

ALARM = 'cpu high'
EXCHANGE = 'vitrage'
TOPIC = 'vitrage.graph'
#: The queue a Vitrage publisher declares for the topic (priority info).
INFO_QUEUE = f'{TOPIC}.info'


class _SenderTestCase(base.RealServicesTestCase):
    """A vhost, a ``vitrage-ds notifier`` on it, and a project's Aodh alarms."""

    def setUp(self) -> None:
        super().setUp()
        self.project = self.new_project()
        self.client = self.aodh(self.project)
        self.addCleanup(self._delete_project_alarms)
        self.rabbit = self.useFixture(RabbitVhost())
        self.work = Path(self.useFixture(fixtures.TempDir()).path)
        self.resource = f'host-{uuid.uuid4().hex[:8]}'
        self.aodh_name = f'{ALARM}_{self.resource}'
        self._started = 0
        self.notifier = self._start_notifier()
        # Bound once the notifier's listener declared the exchange.
        self.copies = self.useFixture(RawCopies(self.rabbit.transport_url, EXCHANGE,
                                                INFO_QUEUE))

    def _delete_project_alarms(self) -> None:
        for alarm in self.client.get('v2/alarms'):
            base._delete_quietly(self.client, f'v2/alarms/{alarm["alarm_id"]}')

    def _start_notifier(self) -> ServiceProcess:
        headers = ','.join(f'{k}:{v}' for k, v in self.coords.headers(self.project).items())
        config = self.work / 'vitrage_ds.conf'
        config.write_text('\n'.join([
            '[DEFAULT]',
            f'transport_url = {self.rabbit.transport_url}',
            '[service_credentials]',
            'auth_type = none',
            'timeout = 30',
            '[http]',
            f'headers = {headers}',
            'retries = 0',
            '[notifier.aodh]',
            f'endpoint_override = {self.coords.aodh_url}',
            '',
        ]))
        self._started += 1
        log = self.work / f'notifier-{self._started}.log'
        process = ServiceProcess(config, ['notifier'], log, ready='notifier service listening on',
                                 deadline=base.DEADLINE)
        self.addCleanup(lambda: self.addDetail(log.name, content.text_content(
            process.output()[-20_000:])))
        return self.useFixture(process)

    def restart_notifier(self) -> None:
        """Stop the notifier (it drains and exits 0) and start another."""
        self.assertEqual(0, self.notifier.terminate())
        self.notifier = self._start_notifier()

    # -- what Aodh and the broker hold ------------------------------------

    def named(self) -> list[dict[str, Any]]:
        """The project's alarms named ``<name>_<resource>``."""
        return list(self.client.get('v2/alarms', params=[
            ('q.field', 'name'), ('q.op', 'eq'), ('q.value', self.aodh_name)]))

    def wait_for_alarm(self, state: str,
                       changed_from: dict[str, Any] | None = None) -> dict[str, Any]:
        """The one alarm, once it is in ``state`` (and its description differs
        from ``changed_from``'s: a newer message was written)."""
        def settled() -> dict[str, Any] | None:
            alarms = self.named()
            if len(alarms) != 1 or alarms[0]['state'] != state:
                return None
            if changed_from is not None and (alarms[0]['description']
                                             == changed_from['description']):
                return None
            return alarms[0]
        what = f'one alarm {self.aodh_name!r} in state {state}'
        alarm: dict[str, Any] = base.wait_until(settled, what)
        return alarm

    def assert_queues_drained(self) -> None:
        """Every queue on the vhost, ``vitrage.graph.info`` included, at depth 0."""
        last: dict[str, dict[str, str]] = {}

        def drained() -> bool:
            last.clear()
            last.update(self.rabbit.queues())
            return INFO_QUEUE in last and all(q['messages'] == '0' for q in last.values())
        try:
            base.wait_until(drained, 'every queue at depth 0')
        except AssertionError:
            raise AssertionError(f'queues not drained: {last}') from None

    # -- the scenario both senders play ------------------------------------

    def play(self, activate: Callable[[], None], deactivate: Callable[[str], None],
             vitrage_id: Callable[[], str | None]) -> None:
        """Activate, activate again, a redelivery, deactivate: one alarm throughout."""
        activate()
        alarm = self.wait_for_alarm('alarm')
        self.assertEqual(('event', 'critical'), (alarm['type'], alarm['severity']))
        expected_query = [{'field': 'resource_id', 'op': 'eq', 'type': 'string',
                           'value': self.resource}]
        known_id = vitrage_id()
        if known_id is not None:
            expected_query.append({'field': 'vitrage_id', 'op': 'eq', 'type': 'string',
                                   'value': known_id})
        self.assertEqual(expected_query, alarm['event_rule']['query'])

        first = self.copies.wait_for(ACTIVATE, base.DEADLINE)
        self.copies.stop_copying()
        activate()  # a second activate, newer: written again, to the same alarm
        again = self.wait_for_alarm('alarm', changed_from=alarm)
        self.restart_notifier()
        self.copies.publish_again(first)  # a redelivery, older: changes nothing
        deactivate(alarm['alarm_id'])
        cleared = self.wait_for_alarm('ok', changed_from=again)

        self.assert_queues_drained()
        self.assertEqual([(alarm['alarm_id'], 'ok')],
                         [(a['alarm_id'], a['state']) for a in self.named()])
        self.assertTrue(cleared['description'].endswith('sequence 0.'), cleared['description'])


class VitrageGraphNotifierTest(_SenderTestCase):
    """Vitrage 15.0.1's GraphNotifier, on a real NXGraph, is the sender."""

    def test_a_deduced_alarm_raised_again_redelivered_and_cleared_is_one_aodh_alarm(
            self) -> None:
        graph = self.useFixture(VitrageGraph(self.rabbit.transport_url, self.work,
                                             self.resource, ALARM, 'CRITICAL'))
        raised: list[str] = []

        def activate() -> None:
            # The vertex is added once; after that the graph's notifier is
            # called again for it, as a restarted vitrage-graph does.
            raised.append(graph.command('notify_again' if raised else 'activate')['done'])

        self.play(activate, lambda _aodh_id: graph.command('deactivate'),
                  lambda: graph.vitrage_id)
        self.assertEqual(['activate', 'notify_again'], raised)


class SeedShapesTest(_SenderTestCase):
    """A plain oslo.messaging Notifier posts the seed's message shapes."""

    def test_the_seeds_activate_and_id_only_deactivate_are_one_aodh_alarm(self) -> None:
        config = self.work / 'sender.conf'
        config.write_text(f'[DEFAULT]\ntransport_url = {self.rabbit.transport_url}\n'
                          f'control_exchange = {EXCHANGE}\n')
        conf = cfg.ConfigOpts()
        conf(['--config-file', str(config)], project='seed-sender')
        transport = oslo_messaging.get_notification_transport(conf)
        self.addCleanup(transport.cleanup)
        sender = oslo_messaging.Notifier(transport, publisher_id='vitrage.graph',
                                         driver='messagingv2', topics=[TOPIC])

        def activate() -> None:
            sender.info({}, ACTIVATE, {'name': ALARM, 'severity': 'CRITICAL',
                                       'affected_resource_id': self.resource})

        def deactivate(aodh_id: str) -> None:
            sender.info({}, DEACTIVATE, {'id': aodh_id})

        self.play(activate, deactivate, lambda: None)

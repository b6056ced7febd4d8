"""Secrets stay secret, TLS is verified, all-projects listings only as configured.

Every log record of every logger is captured at DEBUG (keystoneauth's,
urllib3's and oslo.messaging's included) while the drivers and the Aodh
notifier talk to the emulated cloud with a password and the bus is used
with a transport URL that carries one; ``vitrage-ds`` runs with
``--debug``; errors are provoked (a wrong password, an unreachable
broker). None of the passwords, nor any token the cloud issued, may
appear in a log line, in the command's output or in an exception message.
"""

from __future__ import annotations

import logging
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import fixtures
import testtools

from tests.reliability import figures
from vitrage_ds import registry
from vitrage_ds.bus import Listener, Publisher, get_transport, register_opts
from vitrage_ds.config import new_config
from vitrage_ds.deduced import ACTIVATE, DeducedAlarmActivate, DeducedAlarmDeactivate
from vitrage_ds.errors import BackendError, VitrageDSError
from vitrage_ds.notifier import Message, Outcome
from vitrage_ds.notifier_service import DeducedAlarmPublisher
from vitrage_ds_testing import EmulatedCloud, wait_until
from tests.kit import RabbitVhost
from tests.kit.process import ServiceProcess, vitrage_ds_command

PASSWORD = 'Pw-9f3a1c7e-not-in-any-log'
BUS_PASSWORD = 'Bus-4d2b8e6a-not-in-any-log'


class _Cloud(EmulatedCloud):
    password = PASSWORD


class _SecretsTest(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(
            level=logging.DEBUG, format='%(levelname)s %(name)s %(message)s'))
        self.cloud = self.useFixture(_Cloud(seed=51, global_index_allowed=True))
        self.cloud.populate(stacks=3, resources_per_stack=2, alarms=3)

    def secrets(self) -> set[str]:
        """Every password in play and every token the cloud received."""
        tokens = {r.headers.get('x-auth-token') for r in self.cloud.requests}
        return {PASSWORD, BUS_PASSWORD} | {t for t in tokens if t}

    def bus_url(self) -> str:
        """A transport URL to a vhost of the test's own, for a user whose
        password is :data:`BUS_PASSWORD`."""
        vhost = self.useFixture(RabbitVhost())
        user = f'vds-{uuid.uuid4().hex[:8]}'
        vhost.ctl('add_user', user, BUS_PASSWORD)
        self.addCleanup(vhost.ctl, 'delete_user', user)
        vhost.ctl('set_permissions', '-p', vhost.vhost, user, '.*', '.*', '.*')
        return vhost.transport_url.replace('guest:guest', f'{user}:{BUS_PASSWORD}')

    def assert_no_secret(self, text: str, where: str) -> None:
        found = sorted(s for s in self.secrets() if s in text)
        figures.add(secrets_found=len(found))
        self.assertEqual([], found, f'secrets in {where}')


class TestNoSecretsInLogs(_SecretsTest):

    def test_polls_and_notifications_log_no_password_or_token_at_debug(self) -> None:
        conf = self.cloud.make_conf('password', http={'retries': 1, 'retry_backoff': 0.01})
        drivers = registry.load_drivers(conf, ['heat.stack', 'aodh']).plugins
        for driver in drivers.values():
            self.assertTrue(driver.get_all())
        notifier = registry.load_notifiers(conf, ['aodh']).plugins['aodh']
        self.addCleanup(notifier.close)
        self.assertEqual(Outcome.DONE, notifier.notify(Message(
            ACTIVATE, {'vitrage_id': 'v-1', 'name': 'n', 'severity': 'critical',
                       'affected_resource_id': 'r', 'timestamp': '2024-05-01T12:00:00Z'})))
        # A token expiring makes keystoneauth authenticate again, mid-poll.
        self.cloud.expire_tokens()
        self.assertTrue(drivers['aodh'].get_all())
        self.assertGreaterEqual(len(self.secrets()), 3, 'no token was used: proves nothing')
        self.assertIn('keystoneauth', self.logs.output, 'keystoneauth logged nothing')
        self.assert_no_secret(self.logs.output, 'the DEBUG log')

    def test_a_wrong_password_fails_without_showing_it(self) -> None:
        conf = self.cloud.make_conf('password')
        conf.set_override('password', PASSWORD + '-wrong', 'service_credentials')
        driver = registry.load_drivers(conf, ['aodh']).plugins['aodh']
        error = self.assertRaises(VitrageDSError, driver.get_all)
        self.assertIn('401', str(error))
        self.assert_no_secret(str(error) + self.logs.output, 'the error and the log')
        self.assertNotIn(PASSWORD, repr(error.__cause__))

    def test_transport_url_password_is_never_logged(self) -> None:
        url = self.bus_url()
        conf = new_config()
        register_opts(conf)
        conf.set_override('retry', 0, 'oslo_messaging_notifications')
        transport = get_transport(conf, url)
        self.addCleanup(transport.cleanup)
        seen: list[Any] = []
        listener = Listener(transport, [('sec', 'topic')], lambda n: seen.append(n) or
                            Outcome.DONE, retry_backoff=0.0)
        listener.start()
        self.addCleanup(listener.stop, 10.0)
        Publisher(transport, topic='topic', exchange='sec').publish('e', {'n': 1})
        for _ in range(300):
            if seen:
                break
            threading_wait(0.05)
        self.assertEqual(1, len(seen))
        # A broker that refuses the password: the failure is logged, not the URL.
        wrong = get_transport(conf, url.replace(BUS_PASSWORD, BUS_PASSWORD + '-wrong'))
        self.addCleanup(wrong.cleanup)
        refused = Publisher(wrong, topic='topic', exchange='sec')
        self.addCleanup(refused.close)
        refused.publish('e', {'n': 2})  # oslo.messaging logs the failure, raises nothing
        self.assertIn('oslo.messaging', self.logs.output.replace('oslo_messaging',
                                                                 'oslo.messaging'))
        self.assert_no_secret(self.logs.output, 'the DEBUG log')


    def test_option_values_logged_mask_every_secret(self) -> None:
        conf = self.cloud.make_conf('password')
        register_opts(conf)
        conf.set_override('transport_url', f'rabbit://u:{BUS_PASSWORD}@127.0.0.1:9/')
        conf.set_override('transport_url', f'rabbit://u:{BUS_PASSWORD}@127.0.0.1:9/',
                          'oslo_messaging_notifications')
        conf.log_opt_values(logging.getLogger('vitrage_ds.test'), logging.DEBUG)
        self.assertIn('service_credentials.password', self.logs.output)
        self.assertIn('oslo_messaging_notifications.transport_url', self.logs.output)
        self.assert_no_secret(self.logs.output, "oslo.config's log_opt_values")


def threading_wait(seconds: float) -> None:
    import threading
    threading.Event().wait(seconds)


class TestNoSecretsInCommandOutput(_SecretsTest):

    def run_command(self, *args: str, conf_lines: list[str]) -> subprocess.CompletedProcess[str]:
        tmp = Path(self.useFixture(fixtures.TempDir()).path)
        config = tmp / 'vitrage_ds.conf'
        config.write_text('\n'.join(conf_lines) + '\n')
        return subprocess.run([vitrage_ds_command(), '--debug', '--config-file', str(config),
                               *args], capture_output=True, text=True, timeout=120,
                              env={**os.environ, 'OS_CLOUD': ''}, check=False)

    def credentials(self, password: str = PASSWORD) -> list[str]:
        return ['[service_credentials]', 'auth_type = password',
                f'auth_url = {self.cloud.auth_url}', f'username = {self.cloud.username}',
                f'password = {password}', f'project_name = {self.cloud.project_name}',
                'user_domain_name = Default', 'project_domain_name = Default',
                '[http]', 'retries = 0']

    def test_poll_with_debug_shows_no_secret(self) -> None:
        for driver in ('heat.stack', 'aodh'):
            proc = self.run_command('-v', 'poll', driver, '-f', 'json',
                                    conf_lines=self.credentials())
            self.assertEqual(0, proc.returncode, proc.stderr[-2000:])
            self.assertIn('keystoneauth', proc.stderr)
            self.assert_no_secret(proc.stdout + proc.stderr, f'vitrage-ds poll {driver}')

    def test_a_failing_command_shows_no_secret(self) -> None:
        proc = self.run_command('poll', 'aodh',
                                conf_lines=self.credentials(PASSWORD + '-wrong'))
        self.assertEqual(1, proc.returncode)
        self.assertIn('401', proc.stderr)
        self.assert_no_secret(proc.stdout + proc.stderr, 'a failing vitrage-ds poll')

    def test_publish_to_an_unreachable_broker_shows_no_secret(self) -> None:
        proc = self.run_command(
            'publish', 'activate', '--vitrage-id', 'v', '--name', 'n', '--severity', 'low',
            '--resource', 'r',
            conf_lines=['[DEFAULT]', f'transport_url = rabbit://u:{BUS_PASSWORD}@127.0.0.1:9/',
                        '[oslo_messaging_notifications]', 'retry = 0'])
        # oslo.messaging gives up after retry = 0 and logs why (with its
        # traceback); its public Notifier tells the command nothing more.
        self.assertEqual(0, proc.returncode, proc.stderr[-2000:])
        self.assertIn('Could not send notification', proc.stderr)
        self.assertIn('Connection refused', proc.stderr)
        self.assert_no_secret(proc.stdout + proc.stderr, 'vitrage-ds publish')

    def test_every_other_command_taking_credentials_shows_no_secret(self) -> None:
        for command in (['tables', 'heat.stack', '-f', 'json'],
                        ['search', 'heat.stack', '-f', 'json'],
                        ['collect', '--once', '--no-listen'],
                        ['plugins']):
            proc = self.run_command('-v', *command, conf_lines=[
                '[DEFAULT]', 'drivers = heat.stack, aodh',
                f'transport_url = rabbit://u:{BUS_PASSWORD}@127.0.0.1:9/',
                *self.credentials()])
            self.assertEqual(0, proc.returncode, f'{command}: {proc.stderr[-2000:]}')
            self.assertTrue(proc.stdout.strip(), f'{command} printed nothing')
            self.assert_no_secret(proc.stdout + proc.stderr, f'vitrage-ds {command[0]}')
        self.assertGreaterEqual(len(self.secrets()), 3, 'no token was used: proves nothing')


class TestNoSecretsInServiceOutput(_SecretsTest):
    """``vitrage-ds collect`` and ``notifier`` at DEBUG, every library included."""

    def test_collector_and_notifier_log_no_password_or_token(self) -> None:
        tmp = Path(self.useFixture(fixtures.TempDir()).path)
        url = self.bus_url()
        topic = f'vitrage.graph.{uuid.uuid4().hex[:8]}'
        config = tmp / 'vitrage_ds.conf'
        config.write_text('\n'.join([
            '[DEFAULT]', 'debug = true',
            'default_log_levels = keystoneauth=DEBUG,keystoneauth1=DEBUG,urllib3=DEBUG,'
            'oslo.messaging=DEBUG,oslo_messaging=DEBUG,stevedore=DEBUG,amqp=DEBUG,'
            'kombu=DEBUG,oslo_config=DEBUG',
            f'transport_url = {url}', 'drivers = heat.stack, aodh', 'notifiers = aodh',
            '[service_credentials]', 'auth_type = password',
            f'auth_url = {self.cloud.auth_url}', f'username = {self.cloud.username}',
            f'password = {PASSWORD}', f'project_name = {self.cloud.project_name}',
            'user_domain_name = Default', 'project_domain_name = Default',
            '[http]', 'retries = 0',
            '[collector]', f'sinks = file:{tmp / "events.jsonl"}',
            '[notifier]', f'topic = {topic}', 'exchange = vitrage',
            '[notifier.aodh]', 'verify_delay = 0.0', '']))
        collector = self.useFixture(ServiceProcess(
            config, ['--debug', 'collect'], tmp / 'collect.log', ready='collector started'))
        notifier = self.useFixture(ServiceProcess(
            config, ['--debug', 'notifier'], tmp / 'notifier.log',
            ready='notifier service listening on'))
        conf = new_config()
        register_opts(conf)
        transport = get_transport(conf, url)
        self.addCleanup(transport.cleanup)
        publisher = DeducedAlarmPublisher(transport, topic=topic, exchange='vitrage')
        common = {'vitrage_id': 'v-1', 'name': 'cpu high', 'affected_resource_id': 'host-1'}
        publisher.publish(DeducedAlarmActivate(severity='critical',
                                               timestamp='2024-05-01T12:00:00Z', **common))
        wait_until(lambda: len(self.cloud.aodh) == 4, 'the notifier created the alarm')
        # Tokens expire: both services authenticate again.
        self.cloud.expire_tokens()
        publisher.publish(DeducedAlarmDeactivate(timestamp='2024-05-01T12:00:05Z', **common))
        wait_until(lambda: 'ok' in {a['state'] for a in self.cloud.aodh.ordered()
                                    if a['name'].startswith('cpu high')},
                   'the notifier deactivated the alarm')
        wait_until(lambda: (tmp / 'events.jsonl').exists()
                   and (tmp / 'events.jsonl').stat().st_size > 0, 'the first poll')
        for service in (collector, notifier):
            self.assertEqual(0, service.terminate(), service.output()[-3000:])
        output = collector.output() + notifier.output()
        for library in ('keystoneauth', 'urllib3', 'oslo_messaging'):
            self.assertIn(library, output, f'{library} logged nothing: proves nothing')
        self.assertGreaterEqual(len(self.secrets()), 2, 'no token was used: proves nothing')
        self.assert_no_secret(output, 'the services\' DEBUG output')


class TestTLS(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.cloud = self.useFixture(EmulatedCloud(seed=52, tls=True,
                                                   global_index_allowed=True))
        self.cloud.populate(stacks=2, resources_per_stack=1, alarms=2)

    def poll(self, **credentials: Any) -> Any:
        conf = self.cloud.make_conf('password', http={'retries': 1, 'retry_backoff': 0.01})
        for name, value in credentials.items():
            conf.set_override(name, value, 'service_credentials')
        return registry.load_drivers(conf, ['aodh']).plugins['aodh'].get_all()

    def test_the_ca_bundle_option_verifies_the_emulator(self) -> None:
        self.assertTrue(self.cloud.base_url.startswith('https://'))
        self.assertEqual(2, len(self.poll()))

    def test_verification_is_on_by_default(self) -> None:
        error = self.assertRaises(BackendError, self.poll, cafile=None)
        self.assertIn('CERTIFICATE_VERIFY_FAILED', str(error))
        # Not even authentication got through, so no API call was made.
        self.assertEqual(0, self.cloud.requests.count('aodh.alarms.list'))

    def test_verification_off_only_when_configured(self) -> None:
        self.assertEqual(2, len(self.poll(cafile=None, insecure=True)))


class TestAllProjectsOnlyAsConfigured(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.cloud = self.useFixture(EmulatedCloud(seed=53, global_index_allowed=True))
        self.cloud.populate(stacks=2, resources_per_stack=1, alarms=2)

    def listings(self, all_projects: bool) -> list[tuple[tuple[str, str], ...]]:
        """The query of every stack and alarm listing call, in order."""
        conf = self.cloud.make_conf('password', **{
            'driver.heat.stack': {'all_projects': all_projects},
            'driver.aodh': {'all_projects': all_projects}})
        for driver in registry.load_drivers(conf, ['heat.stack', 'aodh']).plugins.values():
            driver.get_all()
        return [r.params for r in self.cloud.requests
                if r.route in ('heat.stacks.list', 'aodh.alarms.list')]

    def test_off_never_asks_for_every_project(self) -> None:
        params = self.listings(False)
        self.assertTrue(params)
        self.assertFalse([p for p in params if ('global_tenant', 'true') in p
                          or ('q.field', 'all_projects') in p])

    def test_on_asks_for_every_project(self) -> None:
        params = self.listings(True)
        self.assertEqual(
            (True, True),
            (any(('global_tenant', 'true') in p for p in params),
             all(('q.field', 'all_projects') in p for p in params if ('q.op', 'eq') in p)))

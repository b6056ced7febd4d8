"""The real-services launcher's bookkeeping (no service is started here)."""

from __future__ import annotations

import socket
import subprocess
import sys
import unittest
from pathlib import Path

import fixtures
import testtools

from tests.kit import real_launcher as launcher
from tests.kit.real import Coordinates, RealServices, real_config

COORDS = Coordinates(run_id='abcd1234', heat_url='http://127.0.0.1:1',
                     heat_global_url='http://127.0.0.1:2', aodh_url='http://127.0.0.1:3',
                     aodh_composite_url='http://127.0.0.1:4',
                     transport_url='rabbit://guest:guest@127.0.0.1:5672/vds_abcd1234',
                     state_dir='/tmp/vitrage_ds-real-abcd1234-x')


class VirtualenvTest(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.cache = self.useFixture(fixtures.TempDir()).path

    def test_the_path_is_under_the_cache_and_keyed_by_the_pins(self) -> None:
        path = launcher.venv_path(self.cache)
        self.assertEqual(Path(self.cache) / 'vitrage_ds', path.parent)
        self.useFixture(fixtures.MonkeyPatch(
            'tests.kit.real_launcher.PINS', ('aodh==24.0.0',)))
        self.assertNotEqual(path, launcher.venv_path(self.cache))

    def test_xdg_cache_home_is_the_default_cache(self) -> None:
        self.useFixture(fixtures.EnvironmentVariable('XDG_CACHE_HOME', self.cache))
        self.assertEqual(launcher.venv_path(self.cache), launcher.venv_path())

    def test_a_complete_virtualenv_is_reused_without_pip(self) -> None:
        target = launcher.venv_path(self.cache)
        target.mkdir(parents=True)
        (target / launcher._COMPLETE).write_text('')
        self.useFixture(fixtures.MonkeyPatch(
            'tests.kit.real_launcher._run_checked', self.fail))
        self.assertEqual(target, launcher.install(self.cache, log=lambda msg: None))

    def test_a_failed_install_leaves_nothing_behind(self) -> None:
        def fail(cmd: list[str], what: str) -> None:
            raise launcher.ServicesUnavailable(f'{what} failed')
        self.useFixture(fixtures.MonkeyPatch(
            'tests.kit.real_launcher._run_checked', fail))
        self.assertRaises(launcher.ServicesUnavailable, launcher.install, self.cache,
                          log=lambda msg: None)
        self.assertEqual([], [p.name for p in launcher.venv_path(self.cache).parent.iterdir()
                              if not p.name.endswith('.lock')])
        self.assertIsNone(launcher.installed(self.cache))


class CoordinatesTest(testtools.TestCase):

    def test_they_travel_through_environment_variables(self) -> None:
        env = COORDS.to_env()
        self.assertEqual('abcd1234', env['VITRAGE_DS_REAL_RUN_ID'])
        self.assertEqual(COORDS, Coordinates.from_env(env))

    def test_an_incomplete_environment_names_no_run(self) -> None:
        env = COORDS.to_env()
        del env['VITRAGE_DS_REAL_AODH_URL']
        self.assertIsNone(Coordinates.from_env(env))

    def test_the_heat_endpoint_is_versioned_per_project(self) -> None:
        self.assertEqual('http://127.0.0.1:1/v1/p', COORDS.heat_endpoint('p'))
        self.assertEqual('http://127.0.0.1:2/v1/p', COORDS.heat_endpoint('p', global_policy=True))

    def test_headers_carry_both_services_identities(self) -> None:
        self.assertEqual({'X-Auth-Project': 'p', 'X-Auth-User': 'u', 'X-Project-Id': 'p',
                          'X-User-Id': 'u', 'X-Roles': 'member'},
                         COORDS.headers('p', 'u', 'member'))


class RealConfigTest(testtools.TestCase):

    def test_every_plugin_group_points_at_the_services(self) -> None:
        conf = real_config(COORDS, 'p', global_policy=True)
        self.assertEqual('http://127.0.0.1:2/v1/p', conf['driver.heat.stack'].endpoint_override)
        self.assertEqual('http://127.0.0.1:3', conf['driver.aodh'].endpoint_override)
        self.assertEqual('http://127.0.0.1:3', conf['notifier.aodh'].endpoint_override)

    def test_identity_bus_and_auth_come_from_the_run(self) -> None:
        conf = real_config(COORDS, 'p', user='u')
        self.assertEqual('none', conf.service_credentials.auth_type)
        self.assertEqual('p', conf.http.headers['X-Auth-Project'])
        self.assertEqual(COORDS.transport_url, conf.transport_url)


class StopTest(testtools.TestCase):

    def test_a_directory_without_a_run_is_left_alone(self) -> None:
        path = self.useFixture(fixtures.TempDir()).path
        logged: list[str] = []
        launcher.stop(path, log=logged.append)
        self.assertTrue(Path(path).is_dir())
        self.assertEqual(1, len(logged))

    def test_a_finished_process_group_is_not_alive(self) -> None:
        proc = subprocess.Popen([sys.executable, '-c', 'pass'], start_new_session=True)
        proc.wait()
        self.assertFalse(launcher._group_alive(proc.pid))

    def test_a_running_process_group_is_alive_until_stopped(self) -> None:
        proc = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'],
                                start_new_session=True)
        self.addCleanup(proc.kill)
        self.assertTrue(launcher._group_alive(proc.pid))
        launcher._stop_groups([proc.pid], log=self.fail)
        self.assertFalse(launcher._group_alive(proc.pid))


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


class MissingBackendTest(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(fixtures.EnvironmentVariable('VITRAGE_DS_REAL_RUN_ID'))
        self.useFixture(fixtures.MonkeyPatch(
            'tests.kit.real_launcher.RABBIT_PORT', _closed_port()))

    def test_the_message_names_the_missing_service_and_its_address(self) -> None:
        error = self.assertRaises(launcher.ServicesUnavailable, launcher.check_backends)
        self.assertIn(f'RabbitMQ is not reachable on 127.0.0.1:{launcher.RABBIT_PORT}',
                      str(error))

    def test_the_fixture_skips_the_test_on_a_laptop(self) -> None:
        self.useFixture(fixtures.EnvironmentVariable('CI'))
        fixture = RealServices(owned=True)
        self.assertRaises(unittest.SkipTest, fixture.setUp)

    def test_the_fixture_fails_the_test_under_ci(self) -> None:
        self.useFixture(fixtures.EnvironmentVariable('CI', 'true'))
        fixture = RealServices(owned=True)
        error = self.assertRaises(launcher.ServicesUnavailable, fixture.setUp)
        self.assertIn('required under CI=true', str(error))

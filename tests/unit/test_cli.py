"""The vitrage-ds command line: plugins, poll, global options, errors."""

from __future__ import annotations

import importlib.metadata
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import fixtures
import testtools
from vitrage_ds_example.server import WidgetServer

from vitrage_ds import registry
from vitrage_ds.cli.app import main
from vitrage_ds_testing import TemporaryDistribution

WIDGETS = [{'id': f'w{i}', 'name': f'widget {i}', 'status': 'OK',
            'updated_at': f'2024-05-01T12:00:0{i}Z'} for i in range(3)]


class _CLITest(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(fixtures.EnvironmentVariable('OS_CLOUD'))
        self.tmp = self.useFixture(fixtures.TempDir())

    def vitrage_ds(self, *args: str, pythonpath: str | None = None
                   ) -> tuple[int, str, str]:
        """Run the installed console script."""
        env = {k: v for k, v in os.environ.items() if k != 'OS_CLOUD'}
        if pythonpath:
            env['PYTHONPATH'] = os.pathsep.join(filter(None, [pythonpath,
                                                              env.get('PYTHONPATH')]))
        script = Path(sys.executable).with_name('vitrage-ds')
        proc = subprocess.run([str(script), *args], capture_output=True, text=True,
                              env=env, timeout=120, check=False)
        return proc.returncode, proc.stdout, proc.stderr

    def main(self, *args: str) -> tuple[int, str, str]:
        """Run :func:`main` in this process."""
        out = self.useFixture(fixtures.MonkeyPatch('sys.stdout', io.StringIO())).new_value
        err = self.useFixture(fixtures.MonkeyPatch('sys.stderr', io.StringIO())).new_value
        rc = main(list(args))
        return rc, out.getvalue(), err.getvalue()

    def widget_config(self, server: WidgetServer) -> str:
        path = self.tmp.join('vitrage_ds.conf')
        Path(path).write_text(
            '[service_credentials]\nauth_type = none\n'
            '[http]\nretries = 0\n'
            f'[driver.example]\nendpoint_override = {server.url}\npage_size = 2\n')
        return path

    def widget_server(self) -> WidgetServer:
        server = WidgetServer(WIDGETS)
        self.addCleanup(server.stop)
        return server


class TestGlobalOptions(_CLITest):

    def test_version_prints_the_distribution_version(self) -> None:
        rc, out, _err = self.vitrage_ds('--version')
        self.assertEqual(0, rc)
        self.assertEqual(f"vitrage-ds {importlib.metadata.version('vitrage-ds')}\n", out)

    def test_main_returns_the_exit_status(self) -> None:
        rc, out, _err = self.main('--version')
        self.assertEqual(0, rc)
        self.assertTrue(out.startswith('vitrage-ds '))

    def test_help_lists_the_core_commands(self) -> None:
        rc, out, _err = self.main('--help')
        self.assertEqual(0, rc)
        for text in ('--config-file', '--os-cloud', '--debug', 'plugins', 'poll'):
            self.assertIn(text, out)

    def test_unknown_command_exits_2(self) -> None:
        rc, _out, _err = self.main('no-such-command')
        self.assertEqual(2, rc)

    def test_missing_config_file_is_one_clear_line(self) -> None:
        missing = self.tmp.join('missing.conf')
        rc, _out, err = self.main('--config-file', missing, 'poll', 'example')
        self.assertEqual(1, rc)
        self.assertEqual(f'Failed to find some config files: {missing}\n', err)


class TestPlugins(_CLITest):

    def test_lists_installed_plugins_of_both_kinds(self) -> None:
        rc, out, err = self.vitrage_ds('plugins', '-f', 'json')
        self.assertEqual(0, rc)
        self.assertEqual('', err)
        rows = json.loads(out)
        self.assertIn({'Kind': 'driver', 'Name': 'example',
                       'Module': 'vitrage_ds_example.driver:ExampleDriver',
                       'Loads': 'yes', 'Reason': ''}, rows)
        self.assertIn({'Kind': 'notifier', 'Name': 'example',
                       'Module': 'vitrage_ds_example.notifier:ExampleNotifier',
                       'Loads': 'yes', 'Reason': ''}, rows)
        self.assertEqual(sorted(registry.installed(registry.DRIVERS)),
                         [r['Name'] for r in rows if r['Kind'] == 'driver'])

    def test_lists_the_built_in_plugins_loading(self) -> None:
        rc, out, _err = self.main('plugins', '-f', 'json')
        self.assertEqual(0, rc)
        rows = {(r['Kind'], r['Name']): (r['Module'], r['Loads']) for r in json.loads(out)}
        self.assertEqual(
            {('driver', 'heat.stack'): ('vitrage_ds.drivers.heat.driver:HeatStackDriver', 'yes'),
             ('driver', 'aodh'): ('vitrage_ds.drivers.aodh.driver:AodhDriver', 'yes'),
             ('notifier', 'aodh'): ('vitrage_ds.notifiers.aodh:AodhNotifier', 'yes')},
            {key: row for key, row in rows.items() if row[0].startswith('vitrage_ds.')})

    def test_broken_plugin_is_reported_while_the_others_load(self) -> None:
        dist = self.useFixture(TemporaryDistribution(
            {registry.DRIVERS: {'broken': 'vitrage_ds_no_such_module:Driver'}}))
        rc, out, _err = self.vitrage_ds('plugins', '-f', 'json', pythonpath=dist.pythonpath)
        self.assertEqual(0, rc)
        rows = {(r['Kind'], r['Name']): r for r in json.loads(out)}
        self.assertEqual('no', rows['driver', 'broken']['Loads'])
        self.assertIn("ModuleNotFoundError: No module named 'vitrage_ds_no_such_module'",
                      rows['driver', 'broken']['Reason'])
        self.assertEqual('yes', rows['driver', 'example']['Loads'])
        self.assertEqual('yes', rows['notifier', 'example']['Loads'])

    def test_needs_no_credentials(self) -> None:
        rc, out, _err = self.main('plugins', '-f', 'value', '-c', 'Name', '-c', 'Loads')
        self.assertEqual(0, rc)
        self.assertIn('example yes\n', out)


class TestPoll(_CLITest):

    def test_prints_every_event_of_one_complete_poll(self) -> None:
        server = self.widget_server()
        rc, out, err = self.vitrage_ds('--config-file', self.widget_config(server),
                                       'poll', 'example', '-f', 'json')
        self.assertEqual(0, rc, err)
        events = json.loads(out)
        self.assertEqual(['w0', 'w1', 'w2'], [e['widget_id'] for e in events])
        self.assertEqual({'widget_id': 'w1', 'name': 'widget 1', 'status': 'OK',
                          'updated_at': '2024-05-01T12:00:01Z',
                          'vitrage_datasource_name': 'example',
                          'vitrage_entity_type': 'example.widget',
                          'vitrage_datasource_action': 'snapshot',
                          'vitrage_event_type': None,
                          'vitrage_ds_entity_id': 'w1'},
                         {k: v for k, v in events[1].items()
                          if k not in ('vitrage_sample_date', 'vitrage_ds_version')})
        self.assertEqual([('GET', '/widgets?limit=2'), ('GET', '/widgets?limit=2&marker=w1'),
                          ('GET', '/widgets?limit=2&marker=w2')],
                         server.requests)

    def test_value_format_shows_nested_values_as_json(self) -> None:
        server = self.widget_server()
        rc, out, err = self.main('--config-file', self.widget_config(server),
                                 'poll', 'example', '-f', 'value',
                                 '-c', 'widget_id', '-c', 'vitrage_ds_version')
        self.assertEqual(0, rc, err)
        lines = out.splitlines()
        self.assertEqual(['w0', 'w1', 'w2'], [line.split(' ', 1)[0] for line in lines])
        source, _observed, phase = json.loads(lines[0].split(' ', 1)[1])
        self.assertEqual((1714564800.0, 1), (source, phase))

    def test_csv_format(self) -> None:
        server = self.widget_server()
        rc, out, err = self.main('--config-file', self.widget_config(server),
                                 'poll', 'example', '-f', 'csv', '-c', 'widget_id', '-c', 'name')
        self.assertEqual(0, rc, err)
        self.assertEqual('"widget_id","name"\n"w0","widget 0"\n"w1","widget 1"\n'
                         '"w2","widget 2"\n', out.replace('\r\n', '\n'))

    def test_unknown_driver_exits_non_zero_naming_the_installed_ones(self) -> None:
        rc, out, err = self.vitrage_ds('poll', 'nope')
        self.assertEqual(1, rc)
        self.assertEqual('', out)
        installed = ', '.join(registry.installed(registry.DRIVERS))
        self.assertEqual(f'no vitrage_ds.drivers plugin named nope; installed: {installed}\n',
                         err)

    def test_failed_poll_exits_non_zero_with_the_error_and_no_traceback(self) -> None:
        server = self.widget_server()
        server.break_('fail_on_page')
        rc, out, err = self.main('--config-file', self.widget_config(server),
                                 'poll', 'example')
        self.assertEqual(1, rc)
        self.assertEqual('', out)
        self.assertIn('GET http://127.0.0.1:', err)
        self.assertIn('answered 500: page failed on purpose', err)
        self.assertNotIn('Traceback', err)

    def test_debug_adds_the_traceback(self) -> None:
        server = self.widget_server()
        server.break_('down')
        rc, _out, err = self.main('--debug', '--config-file', self.widget_config(server),
                                  'poll', 'example')
        self.assertEqual(1, rc)
        self.assertIn('Traceback', err)
        self.assertIn('ConnectionFailed', err)

    def test_os_cloud_takes_endpoints_from_clouds_yaml(self) -> None:
        server = self.widget_server()
        clouds = self.tmp.join('clouds.yaml')
        Path(clouds).write_text('clouds:\n  loop:\n    auth_type: none\n'
                                f'    example_endpoint_override: {server.url}\n')
        self.useFixture(fixtures.EnvironmentVariable('OS_CLIENT_CONFIG_FILE', clouds))
        rc, out, err = self.main('--os-cloud', 'loop', 'poll', 'example',
                                 '-f', 'value', '-c', 'widget_id')
        self.assertEqual(0, rc, err)
        self.assertEqual('w0\nw1\nw2\n', out)
        self.assertEqual([('GET', '/widgets?limit=100'),
                          ('GET', '/widgets?limit=100&marker=w2')], server.requests)

    def test_unknown_os_cloud_is_reported(self) -> None:
        clouds = self.tmp.join('clouds.yaml')
        Path(clouds).write_text('clouds: {}\n')
        self.useFixture(fixtures.EnvironmentVariable('OS_CLIENT_CONFIG_FILE', clouds))
        rc, _out, err = self.main('--os-cloud', 'nope', 'poll', 'example')
        self.assertEqual(1, rc)
        self.assertEqual("cloud 'nope': Cloud nope was not found.\n", err)

    def test_missing_credentials_are_reported(self) -> None:
        rc, _out, err = self.main('poll', 'example')
        self.assertEqual(1, rc)
        self.assertIn('[service_credentials] auth_type is not set', err)


class TestAppOf(testtools.TestCase):

    def test_a_command_run_by_another_cliff_app_is_refused(self) -> None:
        from cliff import app as cliff_app
        from cliff import commandmanager

        from vitrage_ds.cli.app import app_of
        from vitrage_ds.cli.commands import Poll

        other = cliff_app.App('other', '1', commandmanager.CommandManager('none'))
        error = self.assertRaises(TypeError, app_of, Poll(other, None))
        self.assertEqual('Poll needs the vitrage-ds application, not App', str(error))

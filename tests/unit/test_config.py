"""Configuration: core groups, one group per plugin, secrets, the sample file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import fixtures
import testtools
from oslo_config import cfg

from vitrage_ds import config, registry
from vitrage_ds.testing import TemporaryDistribution

ROOT = Path(__file__).resolve().parents[2]
GENERATOR_CONFIG = ROOT / 'etc' / 'oslo-config-generator' / 'vitrage_ds.conf'


def _groups() -> dict[str | None, list[cfg.Opt]]:
    return dict(config.list_opts())


class TestListOpts(testtools.TestCase):

    def test_core_groups(self) -> None:
        groups = _groups()
        self.assertEqual(['drivers', 'notifiers'], [o.dest for o in groups[None]])
        self.assertIn('auth_type', [o.dest for o in groups['service_credentials']])
        self.assertIn('password', [o.dest for o in groups['service_credentials']])
        self.assertEqual(['timeout', 'retries', 'retry_backoff', 'retry_backoff_max',
                          'max_concurrency', 'headers'], [o.dest for o in groups['http']])

    def test_every_installed_plugin_has_its_own_group(self) -> None:
        groups = _groups()
        for kind, namespace in (('driver', registry.DRIVERS),
                                ('notifier', registry.NOTIFIERS)):
            for name in registry.installed(namespace):
                self.assertIn(f'{kind}.{name}', groups)

    def test_plugin_group_holds_common_and_own_options(self) -> None:
        groups = _groups()
        self.assertEqual(['poll_interval', 'pause_gc', 'endpoint_override', 'page_size'],
                         [o.dest for o in groups['driver.example']])
        self.assertEqual(['endpoint_override'], [o.dest for o in groups['notifier.example']])

    def test_driver_poll_interval_defaults_to_the_class_value(self) -> None:
        opts = {o.dest: o for o in _groups()['driver.example']}
        self.assertEqual(60.0, opts['poll_interval'].default)

    def test_credential_options_are_secret(self) -> None:
        secrets = {o.dest for o in _groups()['service_credentials'] if o.secret}
        self.assertIn('password', secrets)
        for group, opts in config.list_opts():
            for opt in opts:
                if any(word in opt.dest for word in ('password', 'secret', 'token')):
                    self.assertTrue(opt.secret, f'[{group}] {opt.dest} is not secret')

    def test_a_broken_plugin_does_not_break_the_option_list(self) -> None:
        self.useFixture(TemporaryDistribution(
            {registry.NOTIFIERS: {'broken': 'vitrage_ds_no_such_module:Notifier'}}))
        groups = _groups()
        self.assertNotIn('notifier.broken', groups)
        self.assertIn('notifier.example', groups)


class TestLoadConfig(testtools.TestCase):

    def _write(self, text: str) -> str:
        path = self.useFixture(fixtures.TempDir()).join('vitrage_ds.conf')
        Path(path).write_text(text)
        return path

    def test_new_config_leaves_the_global_conf_alone(self) -> None:
        conf = config.new_config()
        self.assertIsNot(cfg.CONF, conf)
        self.assertNotIn('drivers', cfg.CONF)

    def test_defaults_without_files(self) -> None:
        conf = config.load_config([])
        self.assertEqual(['heat.stack', 'aodh'], conf.drivers)
        self.assertEqual(['aodh'], conf.notifiers)
        self.assertEqual(3, conf.http.retries)

    def test_values_from_files_later_ones_win(self) -> None:
        first = self._write('[DEFAULT]\ndrivers = example\n[http]\nretries = 1\n')
        second = self._write('[http]\nretries = 5\n')
        conf = config.load_config(['--config-file', first, '--config-file', second])
        self.assertEqual(['example'], conf.drivers)
        self.assertEqual(5, conf.http.retries)

    def test_plugin_group_values_are_read_once_the_plugin_loads(self) -> None:
        path = self._write('[driver.example]\npage_size = 7\n'
                           'endpoint_override = http://127.0.0.1:1/v1\n')
        conf = config.load_config(['--config-file', path])
        driver = registry.load_drivers(conf, ['example']).plugins['example']
        self.assertEqual(7, driver.conf.page_size)
        self.assertEqual('http://127.0.0.1:1/v1', driver.conf.endpoint_override)

    def test_invalid_value_is_refused(self) -> None:
        path = self._write('[http]\nretries = -1\n')
        conf = config.load_config(['--config-file', path])
        self.assertRaises(cfg.ConfigFileValueError, lambda: conf.http.retries)


class TestSampleGenerator(testtools.TestCase):
    """``oslo-config-generator`` with the shipped generator configuration."""

    def setUp(self) -> None:
        super().setUp()
        self.sample = Path(self.useFixture(fixtures.TempDir()).join('vitrage_ds.conf.sample'))
        generator = Path(sys.executable).with_name('oslo-config-generator')
        proc = subprocess.run(
            [str(generator), '--config-file', str(GENERATOR_CONFIG),
             '--output-file', str(self.sample)],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
            env={**os.environ, 'PYTHONWARNINGS': 'ignore'}, check=False)
        self.assertEqual(0, proc.returncode, proc.stderr)
        self.sections = _sections(self.sample.read_text())

    def test_sample_holds_every_vitrage_ds_option_in_its_group(self) -> None:
        for group, opts in config.list_opts():
            section = self.sections.get(group or 'DEFAULT')
            self.assertIsNotNone(section, f'no [{group}] in the sample')
            assert section is not None
            for opt in opts:
                self.assertIn(opt.dest, section, f'[{group}] {opt.dest} missing')

    def test_sample_holds_the_service_and_built_in_plugin_groups(self) -> None:
        for group in ('collector', 'notifier', 'driver.heat.stack', 'driver.aodh',
                      'notifier.aodh', 'service_credentials', 'http'):
            self.assertIn(group, self.sections)
        self.assertIn('poll_interval', self.sections['driver.heat.stack'])
        self.assertIn('poll_interval', self.sections['driver.aodh'])
        self.assertIn('mode', self.sections['collector'])

    def test_sample_holds_the_third_party_plugin_groups(self) -> None:
        self.assertEqual({'poll_interval', 'pause_gc', 'endpoint_override', 'page_size'},
                         self.sections['driver.example'])
        self.assertEqual({'endpoint_override'}, self.sections['notifier.example'])

    def test_sample_holds_messaging_and_logging_options(self) -> None:
        self.assertIn('transport_url', self.sections['DEFAULT'])
        self.assertIn('debug', self.sections['DEFAULT'])
        self.assertIn('log_file', self.sections['DEFAULT'])


def _sections(text: str) -> dict[str, set[str]]:
    """Option names per section of a generated sample (options are commented out)."""
    sections: dict[str, set[str]] = {}
    current: set[str] = set()
    for line in text.splitlines():
        header = re.match(r'^\[(.+)\]$', line)
        if header:
            current = sections.setdefault(header.group(1), set())
            continue
        option = re.match(r'^#?([A-Za-z0-9_]+) =( |$)', line)
        if option:
            current.add(option.group(1))
    return sections

"""Configuration: core groups, one group per plugin, secrets, the sample file."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import fixtures
import testtools
from keystoneauth1 import loading as ks_loading
from oslo_config import cfg

from vitrage_ds import config, opts, registry
from vitrage_ds.plugin import ADAPTER_OPTS
from vitrage_ds_testing import TemporaryDistribution, load_plugin

ROOT = Path(__file__).resolve().parents[2]
GENERATOR_CONFIG = ROOT / 'etc' / 'oslo-config-generator' / 'vitrage_ds.conf'


#: keystoneauth's adapter options vitrage_ds honours, in a plugin group.
ADAPTER = ['service_type', 'service_name', 'valid_interfaces', 'region_name',
           'endpoint_override', 'connect_retries', 'status_code_retries']

#: A driver and a notifier that make no HTTP call.
_NO_HTTP_MODULE = """
from oslo_config import cfg
from vitrage_ds.driver import Driver
from vitrage_ds.notifier import NotifierPlugin, Outcome


class FileDriver(Driver):
    name = 'file'
    entity_types = ('file.entry',)
    options = (cfg.StrOpt('path', default='/tmp/entries.json'),)

    def get_all(self):
        return []

    def notifications(self, event_type, payload, metadata, lookup=None):
        return []


class LogNotifier(NotifierPlugin):
    name = 'log'

    def notify(self, message):
        return Outcome.DONE
"""


def _groups() -> dict[str | None, list[cfg.Opt]]:
    return dict(opts.list_opts())


class TestListOpts(testtools.TestCase):

    def test_core_groups(self) -> None:
        groups = _groups()
        self.assertEqual(['drivers', 'notifiers'], [o.dest for o in groups[None]])
        self.assertIn('auth_type', [o.dest for o in groups['service_credentials']])
        self.assertIn('password', [o.dest for o in groups['service_credentials']])
        self.assertEqual(['retries', 'retry_backoff', 'retry_backoff_max',
                          'max_parallel_calls', 'headers'], [o.dest for o in groups['http']])
        self.assertIn('timeout', [o.dest for o in groups['service_credentials']])

    def test_every_installed_plugin_has_its_own_group(self) -> None:
        groups = _groups()
        for kind, namespace in (('driver', registry.DRIVERS),
                                ('notifier', registry.NOTIFIERS)):
            for name in registry.installed(namespace):
                self.assertIn(f'{kind}.{name}', groups)

    def test_group_of_a_plugin_with_a_service_type_holds_adapter_and_own_options(
            self) -> None:
        groups = _groups()
        self.assertEqual(['poll_interval', *ADAPTER, 'page_size'],
                         [o.dest for o in groups['driver.example']])
        self.assertEqual(ADAPTER, [o.dest for o in groups['notifier.example']])

    def test_adapter_options_are_keystoneauths(self) -> None:
        theirs = {o.dest: o for o in ks_loading.get_adapter_conf_options()}
        for opt in ADAPTER_OPTS:
            self.assertIs(type(theirs[opt.dest]), type(opt), opt.dest)
            self.assertEqual(theirs[opt.dest].default, opt.default, opt.dest)

    def test_driver_poll_interval_defaults_to_the_class_value(self) -> None:
        options = {o.dest: o for o in _groups()['driver.example']}
        self.assertEqual(60.0, options['poll_interval'].default)

    def test_credential_options_are_secret(self) -> None:
        secrets = {o.dest for o in _groups()['service_credentials'] if o.secret}
        self.assertIn('password', secrets)
        for group, group_opts in opts.list_opts():
            for opt in group_opts:
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


def _host_conf(files: list[str]) -> cfg.ConfigOpts:
    """A host's parsed configuration owning what hosts own: ``[DEFAULT]
    notifiers`` and ``drivers``, ``[http]``, and ``[service_credentials]``
    with its own ``region_name``/``interface`` definitions and keystoneauth's
    options registered with a deprecated ``cacert`` (as Vitrage does)."""
    conf = cfg.ConfigOpts()
    conf.register_opts([cfg.ListOpt('notifiers', help='the host\'s notifiers'),
                        cfg.StrOpt('drivers', help='the host\'s drivers')])
    conf.register_opts([cfg.IntOpt('timeout', default=99, help='the host\'s')], group='http')
    conf.register_opts([
        cfg.StrOpt('region_name', help='the host\'s region'),
        cfg.StrOpt('interface', default='public', deprecated_name='os-endpoint-type',
                   choices=('public', 'internal', 'admin', 'publicURL', 'internalURL')),
    ], group=config.CREDENTIALS_GROUP)
    conf(args=[f'--config-file={f}' for f in files], project='host',
         default_config_files=[])
    ks_loading.register_auth_conf_options(conf, config.CREDENTIALS_GROUP)
    ks_loading.register_session_conf_options(
        conf, config.CREDENTIALS_GROUP,
        deprecated_opts={'cacert': [cfg.DeprecatedOpt('os-cacert', group='DEFAULT')]})
    return conf


class TestRegisterOptsInAHost(testtools.TestCase):
    """:func:`config.register_opts` on a configuration a host parsed first."""

    def setUp(self) -> None:
        super().setUp()
        path = self.useFixture(fixtures.TempDir()).join('host.conf')
        Path(path).write_text(
            '[DEFAULT]\nnotifiers = nova, snmp\ndrivers = host-driver\n'
            '[http]\ntimeout = 7\n'
            '[service_credentials]\nauth_type = password\n'
            'auth_url = http://127.0.0.1:5000/v3\nusername = vitrage\n'
            'password = s3cret\nregion_name = RegionTwo\ninterface = internalURL\n'
            'cafile = /etc/host/ca.pem\n'
            '[vitrage_ds]\ndrivers = aodh\n'
            '[vitrage_ds_http]\nretries = 1\n')
        self.conf = _host_conf([path])

    def test_registering_after_the_host_parsed_raises_nothing(self) -> None:
        config.register_opts(self.conf)
        config.register_opts(self.conf)  # again
        opts.register_service_opts(self.conf)  # and the services' groups

    def test_a_host_without_service_credentials_gets_them(self) -> None:
        conf = cfg.ConfigOpts()
        config.register_opts(conf)
        conf([])
        self.assertEqual('public', conf[config.CREDENTIALS_GROUP].interface)

    def test_the_core_options_would_collide(self) -> None:
        # What register_opts exists for: vitrage_ds's own layout in a host.
        self.assertRaises(cfg.DuplicateOptError, config._register_own_opts, self.conf)

    def test_credentials_are_the_hosts(self) -> None:
        config.register_opts(self.conf)
        creds = self.conf[config.CREDENTIALS_GROUP]
        self.assertEqual(('RegionTwo', 'internalURL', '/etc/host/ca.pem', 'password'),
                         (creds.region_name, creds.interface, creds.cafile, creds.auth_type))
        auth = ks_loading.load_auth_from_conf_options(self.conf, config.CREDENTIALS_GROUP)
        self.assertEqual('http://127.0.0.1:5000/v3', auth.auth_url)

    def test_enablement_and_http_options_have_groups_of_their_own(self) -> None:
        config.register_opts(self.conf)
        self.assertEqual(['aodh'], config.enabled_drivers(self.conf))
        self.assertEqual(['aodh'], config.enabled_notifiers(self.conf))  # not nova, snmp
        self.assertEqual(1, config.http_options(self.conf).retries)
        self.assertNotIn('timeout', config.http_options(self.conf))
        self.assertEqual((['nova', 'snmp'], 'host-driver', 7),
                         (self.conf.notifiers, self.conf.drivers, self.conf.http.timeout))

    def test_service_groups_only_when_asked(self) -> None:
        config.register_opts(self.conf)
        self.assertNotIn('collector', self.conf)
        opts.register_service_opts(self.conf)
        self.assertIn('collector', self.conf)
        self.assertIn('notifier', self.conf)

    def test_plugins_load_from_the_hosted_enablement(self) -> None:
        config.register_opts(self.conf)
        self.conf.set_override('drivers', ['example'], config.HOSTED_GROUP)
        self.conf.set_override('auth_type', 'none', config.CREDENTIALS_GROUP)
        loaded = registry.load_drivers(self.conf)
        self.assertEqual(['example'], list(loaded.plugins))
        self.assertIn('driver.example', self.conf)

    def test_own_configuration_keeps_its_layout(self) -> None:
        conf = config.load_config([])
        self.assertNotIn(config.HOSTED_GROUP, conf)
        self.assertEqual(conf.http.retries, config.http_options(conf).retries)
        self.assertEqual(conf.drivers, config.enabled_drivers(conf))

    def test_hosted_options_are_listed_for_a_hosts_sample(self) -> None:
        groups = dict(config.list_hosted_opts())
        self.assertEqual(['drivers', 'notifiers'], [o.dest for o in groups['vitrage_ds']])
        self.assertEqual([o.dest for o in config.HTTP_OPTS],
                         [o.dest for o in groups['vitrage_ds_http']])


class TestEmbeddingInAHost(testtools.TestCase):
    """vitrage_ds's options on a host's ConfigOpts, next to the host's own."""

    def test_a_host_s_notifiers_interface_choices_and_http_timeout_stay_the_host_s(
            self) -> None:
        conf = cfg.ConfigOpts()
        conf.register_opts([cfg.ListOpt('notifiers', help="the host's notifiers")])
        conf.register_opts([cfg.StrOpt(
            'interface', default='public',
            choices=['public', 'internal', 'admin', 'publicURL', 'internalURL'])],
            group=config.CREDENTIALS_GROUP)
        conf.register_opts([cfg.IntOpt('timeout', default=99)], group='http')
        path = self.useFixture(fixtures.TempDir()).join('host.conf')
        Path(path).write_text(
            '[DEFAULT]\nnotifiers = nova, snmp\n'
            '[service_credentials]\nauth_type = none\ninterface = internalURL\n'
            '[http]\ntimeout = 7\n'
            '[vitrage_ds]\nnotifiers = example\n'
            '[vitrage_ds_http]\nretries = 1\n'
            '[notifier.example]\nendpoint_override = http://example.test/v1\n'
            'valid_interfaces = internal\nconnect_retries = 4\n')
        conf(args=['--config-file', path], project='host', default_config_files=[])

        config.register_opts(conf)  # no DuplicateOptError
        notifier = load_plugin('notifier', 'example', conf=conf)

        self.assertEqual((['nova', 'snmp'], 'internalURL', 7),
                         (conf.notifiers, conf[config.CREDENTIALS_GROUP].interface,
                          conf.http.timeout))
        self.assertEqual((['example'], 1),
                         (config.enabled_notifiers(conf), config.http_options(conf).retries))
        self.assertEqual(('http://example.test/v1', ['internal'], 4),
                         (notifier.conf.endpoint_override, notifier.conf.valid_interfaces,
                          notifier.conf.connect_retries))
        self.assertEqual(config.DEFAULT_TIMEOUT, config.call_timeout(conf))


class TestPluginsWithoutHTTP(testtools.TestCase):
    """A plugin that declares no service type calls no API: no HTTP options."""

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(TemporaryDistribution(
            {registry.DRIVERS: {'file': 'vitrage_ds_nohttp:FileDriver'},
             registry.NOTIFIERS: {'log': 'vitrage_ds_nohttp:LogNotifier'}},
            {'vitrage_ds_nohttp': _NO_HTTP_MODULE}, name='vitrage_ds_nohttp'))

    def test_a_driver_without_a_service_type_gets_only_its_own_options(self) -> None:
        driver = load_plugin('driver', 'file')
        self.assertEqual({'poll_interval', 'path'}, set(driver.context.conf['driver.file']))

    def test_a_notifier_without_a_service_type_gets_no_options(self) -> None:
        notifier = load_plugin('notifier', 'log')
        self.assertEqual(set(), set(notifier.context.conf['notifier.log']))

    def test_the_sample_lists_no_http_option_for_them(self) -> None:
        groups = _groups()
        self.assertEqual(['poll_interval', 'path'], [o.dest for o in groups['driver.file']])
        self.assertEqual([], [o.dest for o in groups['notifier.log']])


class TestCallTimeout(testtools.TestCase):
    """Every API call is bounded: keystoneauth's timeout, or vitrage_ds's default."""

    def test_unset_it_is_the_documented_default(self) -> None:
        conf = config.load_config([])
        self.assertIsNone(conf[config.CREDENTIALS_GROUP].timeout)
        self.assertEqual(30.0, config.call_timeout(conf))

    def test_set_it_is_the_credentials_timeout(self) -> None:
        conf = config.load_config([])
        conf.set_override('timeout', 12, config.CREDENTIALS_GROUP)
        self.assertEqual(12.0, config.call_timeout(conf))

    def test_the_http_group_has_no_timeout_of_its_own(self) -> None:
        conf = config.load_config([])
        self.assertNotIn('timeout', conf[config.HTTP_GROUP])


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
        for group, group_opts in opts.list_opts():
            section = self.sections.get(group or 'DEFAULT')
            self.assertIsNotNone(section, f'no [{group}] in the sample')
            assert section is not None
            for opt in group_opts:
                self.assertIn(opt.dest, section, f'[{group}] {opt.dest} missing')

    def test_sample_holds_the_service_and_built_in_plugin_groups(self) -> None:
        for group in ('collector', 'notifier', 'driver.heat.stack', 'driver.aodh',
                      'notifier.aodh', 'service_credentials', 'http'):
            self.assertIn(group, self.sections)
        self.assertIn('poll_interval', self.sections['driver.heat.stack'])
        self.assertIn('poll_interval', self.sections['driver.aodh'])
        self.assertIn('mode', self.sections['collector'])

    def test_sample_holds_the_third_party_plugin_groups(self) -> None:
        self.assertEqual({'poll_interval', *ADAPTER, 'page_size'},
                         self.sections['driver.example'])
        self.assertEqual(set(ADAPTER), self.sections['notifier.example'])

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

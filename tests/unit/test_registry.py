"""Loading plugins by name: order, unknown names, broken and incomplete plugins."""

from __future__ import annotations

import importlib.metadata
import logging

import fixtures
import testtools

from vitrage_ds import registry
from vitrage_ds.errors import PluginLoadError, PluginNotFound
from vitrage_ds_testing import TemporaryDistribution, new_test_config

#: Plugins that exist only for these tests, installed in a temporary dist-info.
_MODULE = '''
from vitrage_ds import Driver, NotifierPlugin, Outcome

class Second(Driver):
    name = 'second'

    def get_all(self):
        return []

    def notifications(self, event_type, payload, metadata, lookup=None):
        return []

class Exploding(Second):
    name = 'exploding'

    def __init__(self, context):
        raise RuntimeError('constructor failed on purpose')

class NotADriver:
    pass

class PollOnly(Driver):
    def get_all(self):
        return []

class ListenOnly(Driver):
    def notifications(self, event_type, payload, metadata, lookup=None):
        return []

class Neither(Driver):
    pass

class Mute(NotifierPlugin):
    pass
'''

_ENTRY_POINTS = {registry.DRIVERS: {
    'second': 'vitrage_ds_regtest:Second',
    'exploding': 'vitrage_ds_regtest:Exploding',
    'unimportable': 'vitrage_ds_no_such_module:Driver',
    'not-a-driver': 'vitrage_ds_regtest:NotADriver',
    'poll-only': 'vitrage_ds_regtest:PollOnly',
    'listen-only': 'vitrage_ds_regtest:ListenOnly',
    'neither': 'vitrage_ds_regtest:Neither',
}, registry.NOTIFIERS: {
    'mute': 'vitrage_ds_regtest:Mute',
}}


class TestRegistry(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.useFixture(TemporaryDistribution(_ENTRY_POINTS, {'vitrage_ds_regtest': _MODULE},
                                              name='vitrage_ds_regtest'))
        self.conf = new_test_config()

    def test_installed_lists_every_entry_point_sorted(self) -> None:
        names = registry.installed(registry.DRIVERS)
        self.assertEqual(sorted(names), names)
        for name in ('example', 'second', 'exploding', 'unimportable', 'not-a-driver'):
            self.assertIn(name, names)
        self.assertIn('example', registry.installed(registry.NOTIFIERS))

    def test_plugins_load_in_the_order_asked_for(self) -> None:
        loaded = registry.load_drivers(self.conf, ['second', 'example'])
        self.assertEqual(['second', 'example'], list(loaded.plugins))
        loaded = registry.load_drivers(self.conf, ['example', 'second'])
        self.assertEqual(['example', 'second'], list(loaded.plugins))
        self.assertEqual({}, loaded.failures)

    def test_enabled_names_come_from_configuration_by_default(self) -> None:
        self.conf.set_override('drivers', ['second'])
        self.conf.set_override('notifiers', ['example'])
        self.assertEqual(['second'], list(registry.load_drivers(self.conf).plugins))
        self.assertEqual(['example'], list(registry.load_notifiers(self.conf).plugins))

    def test_a_name_enabled_twice_loads_once(self) -> None:
        loaded = registry.load_drivers(self.conf, ['second', 'second'])
        self.assertEqual(['second'], list(loaded.plugins))

    def test_plugins_are_constructed_with_their_own_option_group(self) -> None:
        driver = registry.load_drivers(self.conf, ['example']).plugins['example']
        self.assertEqual('driver.example', driver.context.group)
        self.assertEqual(100, driver.conf.page_size)
        self.assertEqual(60.0, driver.conf.poll_interval)

    def test_unknown_name_raises_plugin_not_found_listing_installed(self) -> None:
        error = self.assertRaises(PluginNotFound, registry.load_drivers, self.conf,
                                  ['example', 'nope'])
        self.assertEqual(['nope'], error.missing)
        self.assertIn('example', error.installed)
        self.assertIn('second', error.installed)
        self.assertIn('installed: ', str(error))
        self.assertIn('nope', str(error))

    def test_unknown_name_fails_before_anything_is_constructed(self) -> None:
        self.assertRaises(PluginNotFound, registry.load_drivers, self.conf,
                          ['exploding', 'nope'])
        self.assertNotIn('constructor failed', self.logs.output)

    def test_plugin_failing_to_import_is_logged_and_skipped(self) -> None:
        loaded = registry.load_drivers(self.conf, ['unimportable', 'example'])
        self.assertEqual(['example'], list(loaded.plugins))
        self.assertIn('ModuleNotFoundError', loaded.failures['unimportable'])
        self.assertIn("driver plugin 'unimportable' skipped: ModuleNotFoundError",
                      self.logs.output)

    def test_plugin_failing_to_construct_is_logged_and_skipped(self) -> None:
        loaded = registry.load_drivers(self.conf, ['example', 'exploding', 'second'])
        self.assertEqual(['example', 'second'], list(loaded.plugins))
        self.assertEqual('RuntimeError: constructor failed on purpose',
                         loaded.failures['exploding'])
        self.assertIn("driver plugin 'exploding' skipped: RuntimeError: constructor failed",
                      self.logs.output)

    def test_entry_point_that_is_not_a_driver_is_skipped(self) -> None:
        loaded = registry.load_drivers(self.conf, ['not-a-driver', 'second'])
        self.assertEqual(['second'], list(loaded.plugins))
        self.assertIn('not a subclass of Driver', loaded.failures['not-a-driver'])

    def test_a_driver_without_notifications_is_refused_at_load_naming_it(self) -> None:
        loaded = registry.load_drivers(self.conf, ['poll-only', 'example'])
        self.assertEqual(['example'], list(loaded.plugins))
        self.assertEqual('PollOnly does not implement notifications() of the Driver contract',
                         loaded.failures['poll-only'])
        self.assertIn("driver plugin 'poll-only' skipped: PollOnly does not implement "
                      "notifications()", self.logs.output)

    def test_a_driver_without_get_all_is_refused_at_load_naming_it(self) -> None:
        loaded = registry.load_drivers(self.conf, ['listen-only'])
        self.assertEqual({}, loaded.plugins)
        self.assertIn('does not implement get_all()', loaded.failures['listen-only'])

    def test_every_missing_method_is_named(self) -> None:
        error = self.assertRaises(PluginLoadError, registry.plugin_class, registry.DRIVERS,
                                  'neither')
        self.assertIn('does not implement get_all(), notifications()', error.reason)

    def test_a_notifier_without_notify_is_refused_at_load_naming_it(self) -> None:
        loaded = registry.load_notifiers(self.conf, ['mute', 'example'])
        self.assertEqual(['example'], list(loaded.plugins))
        self.assertEqual('Mute does not implement notify() of the NotifierPlugin contract',
                         loaded.failures['mute'])

    def test_plugin_class_imports_without_constructing(self) -> None:
        cls = registry.plugin_class(registry.DRIVERS, 'exploding')
        self.assertEqual('Exploding', cls.__name__)

    def test_plugin_class_of_unimportable_plugin_raises_load_error(self) -> None:
        error = self.assertRaises(PluginLoadError, registry.plugin_class, registry.DRIVERS,
                                  'unimportable')
        self.assertEqual('unimportable', error.name)
        self.assertIn('ModuleNotFoundError', error.reason)

    def test_plugin_class_of_unknown_name_raises_not_found(self) -> None:
        self.assertRaises(PluginNotFound, registry.plugin_class, registry.NOTIFIERS, 'nope')


class TestPluginInstalledWhileRunning(testtools.TestCase):

    def test_is_reported_as_a_failure_not_silently_missing(self) -> None:
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        conf = new_test_config()
        registry.load_drivers(conf, ['example'])  # stevedore now knows the namespace
        dist = TemporaryDistribution(_ENTRY_POINTS, {'vitrage_ds_regtest': _MODULE},
                                     name='vitrage_ds_regtest')
        self.useFixture(dist)
        # What a plugin installed into a running process looks like to stevedore.
        self.useFixture(fixtures.MonkeyPatch(
            'stevedore.ExtensionManager.ENTRY_POINT_CACHE',
            {registry.DRIVERS: [ep for ep in importlib.metadata.entry_points(
                group=registry.DRIVERS) if ep.name != 'second']}))
        loaded = registry.load_drivers(conf, ['second', 'example'])
        self.assertEqual(['example'], list(loaded.plugins))
        self.assertIn('restart', loaded.failures['second'])

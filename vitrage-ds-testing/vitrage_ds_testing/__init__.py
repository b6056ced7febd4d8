"""vitrage_ds_testing: the test kit for vitrage_ds plugins.

Installed as its own distribution (``pip install vitrage-ds-testing``), so
the runtime package ships no test code. Third-party plugins test themselves
with it:

- :class:`DriverContractTests` and :class:`NotifierContractTests`, the
  contract suites every plugin should pass (see
  :mod:`vitrage_ds_testing.contracts`);
- :class:`EmulatedCloud`, Keystone, Heat and Aodh on loopback, with fault
  injection and a request log, for tests that make real HTTP calls;
- :class:`RecordingSink`, :class:`ScriptedDriver`, :class:`FakeClock`,
  :func:`wait_until` and the plugin loaders, for collector-level tests.

The project's own tests use the same kit. ``vitrage-ds demo`` runs from it.
"""

from vitrage_ds_testing.clock import FakeClock
from vitrage_ds_testing.cloud import EmulatedCloud
from vitrage_ds_testing.collector import RecordingSink, ScriptedDriver, scripted_driver
from vitrage_ds_testing.contracts import (DriverContractTests, NotifierContractTests,
                                          malformed_payloads)
from vitrage_ds_testing.plugins import (TemporaryDistribution, construct_plugin, load_plugin,
                                        new_test_config)
from vitrage_ds_testing.waiting import wait_until

__all__ = [
    'DriverContractTests',
    'EmulatedCloud',
    'FakeClock',
    'NotifierContractTests',
    'RecordingSink',
    'ScriptedDriver',
    'TemporaryDistribution',
    'construct_plugin',
    'load_plugin',
    'malformed_payloads',
    'new_test_config',
    'scripted_driver',
    'wait_until',
]

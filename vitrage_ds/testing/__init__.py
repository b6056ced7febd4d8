"""The public test kit: contract suites and fixtures for plugin authors.

Third-party plugins test themselves with it (see
:mod:`vitrage_ds.testing.contracts`); the project's own tests use the same
kit. It needs the test requirements (testtools, fixtures).
"""

from vitrage_ds.testing.collector import (RecordingSink, ScriptedDriver,
                                          scripted_driver)
from vitrage_ds.testing.broker import RabbitNode, RabbitNodeUnavailable
from vitrage_ds.testing.clock import FakeClock
from vitrage_ds.testing.cloud import EmulatedCloud
from vitrage_ds.testing.contracts import (DriverContractTests,
                                          NotifierContractTests,
                                          malformed_payloads)
from vitrage_ds.testing.plugins import (TemporaryDistribution,
                                        construct_plugin, load_plugin,
                                        new_test_config)
from vitrage_ds.testing.rabbit import RabbitUnavailable, RabbitVhost
from vitrage_ds.testing.real import (NotificationLog, RealServices,
                                     ServicesUnavailable, real_config)
from vitrage_ds.testing.waiting import wait_until

__all__ = [
    'DriverContractTests',
    'EmulatedCloud',
    'FakeClock',
    'NotificationLog',
    'NotifierContractTests',
    'RabbitNode',
    'RabbitNodeUnavailable',
    'RabbitUnavailable',
    'RabbitVhost',
    'RealServices',
    'RecordingSink',
    'ScriptedDriver',
    'ServicesUnavailable',
    'TemporaryDistribution',
    'construct_plugin',
    'load_plugin',
    'malformed_payloads',
    'new_test_config',
    'real_config',
    'scripted_driver',
    'wait_until',
]

"""What the built-in drivers' functional tests share: an emulated cloud and the driver on it.

* :class:`EmulatedDriverTestCase`: a cloud of the test's own, and
  :meth:`~EmulatedDriverTestCase.driver` loading the driver against it.
* :class:`OnePollTestCase`: one poll of a large cloud, made once for the
  class; its tests read what the poll returned and asked.
* :class:`EmulatedDriverContract`: the driver contract suite on the
  emulated cloud, each backend failure mode being one injected fault.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import fixtures
import testtools

from vitrage_ds.driver import Driver
from vitrage_ds.event import Event
from vitrage_ds_testing import DriverContractTests, load_plugin
from vitrage_ds_testing.cloud import EmulatedCloud

#: A failure mode of the contract suite, caused on the emulated cloud.
Fault = Callable[[EmulatedCloud], object]


class EmulatedDriverTestCase(testtools.TestCase):
    """An emulated cloud seeded with ``seed``, and the driver ``driver_name`` on it.

    :ivar logs: what vitrage_ds logged at INFO and above, in ``log_format``.
    """

    driver_name: ClassVar[str]
    seed: ClassVar[int]
    log_format: ClassVar[str | None] = None

    def setUp(self) -> None:
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.INFO,
                                                        format=self.log_format))
        self.cloud = self.useFixture(EmulatedCloud(seed=self.seed))

    def driver(self, auth_type: str = 'password', **options: Any) -> Any:
        """The driver with ``options`` in its group, no HTTP retries; closed at cleanup."""
        conf = self.cloud.make_conf(auth_type, http={'retries': 0})
        driver = load_plugin('driver', self.driver_name, conf=conf, options=options)
        assert isinstance(driver, Driver)
        self.addCleanup(driver.close)
        return driver


class OnePollTestCase(testtools.TestCase):
    """One poll of an emulated cloud that :meth:`populate` fills, shared by the class.

    The request log is cleared just before the poll, so it holds the
    poll's calls only. A failure while setting up stops the cloud.
    """

    driver_name: ClassVar[str]
    seed: ClassVar[int]
    global_index_allowed: ClassVar[bool] = False
    cloud: ClassVar[EmulatedCloud]
    events: ClassVar[list[Event]]

    @classmethod
    def populate(cls, cloud: EmulatedCloud) -> None:
        """Seed ``cloud`` (and keep on the class what the tests compare with)."""
        raise NotImplementedError

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.cloud = EmulatedCloud(seed=cls.seed, global_index_allowed=cls.global_index_allowed)
        cls.cloud.setUp()
        try:
            cls.populate(cls.cloud)
            conf = cls.cloud.make_conf('password', http={'retries': 0})
            driver = load_plugin('driver', cls.driver_name, conf=conf)
            cls.cloud.requests.clear()
            cls.events = driver.get_all()
            driver.close()
        except BaseException:
            cls.cloud.cleanUp()
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        cls.cloud.cleanUp()
        super().tearDownClass()


class EmulatedDriverContract(DriverContractTests):
    """The driver contract suite against ``self.cloud`` (set by the subclass's ``setUp``).

    A subclass (also deriving from ``testtools.TestCase``) names the driver,
    lists its failure modes in ``faults`` and sets ``backend_failure_modes
    = tuple(faults)``. The driver asks for pages of 3, times out after 2 s
    and does not retry.
    """

    driver_name: ClassVar[str]
    faults: ClassVar[Mapping[str, Fault]]
    cloud: EmulatedCloud

    def make_plugin(self) -> Driver:
        conf = self.cloud.make_conf('password', http={'retries': 0},
                                    service_credentials={'timeout': 2})
        driver = load_plugin('driver', self.driver_name, conf=conf, options={'page_size': 3})
        assert isinstance(driver, Driver)
        return driver

    def break_backend(self, mode: str) -> None:
        self.cloud.clear_faults()
        fault = self.faults.get(mode)
        if fault is None:
            raise AssertionError(mode)
        fault(self.cloud)

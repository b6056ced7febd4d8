"""One default lookup: the contract's and every shipped driver's is no_lookup."""

from __future__ import annotations

import inspect
from typing import Any

import testtools

from vitrage_ds.driver import Driver, no_lookup
from vitrage_ds.drivers.aodh import AodhDriver
from vitrage_ds.drivers.heat.driver import HeatStackDriver


def lookup_default(cls: type) -> Any:
    """The default of the ``lookup`` parameter of ``cls``'s public notification method."""
    for name, method in inspect.getmembers(cls, inspect.isfunction):
        if name.startswith('_'):
            continue
        parameter = inspect.signature(method).parameters.get('lookup')
        if parameter is not None:
            return parameter.default
    raise AssertionError(f'{cls.__name__} takes no lookup')


class NoLookupTest(testtools.TestCase):

    def test_it_knows_nothing(self) -> None:
        self.assertIsNone(no_lookup('heat.stack', 's-1'))

    def test_it_is_the_default_of_the_contract_and_of_every_shipped_driver(self) -> None:
        for cls in (Driver, AodhDriver, HeatStackDriver):
            self.assertIs(no_lookup, lookup_default(cls), cls.__name__)

"""An in-process bus for the tests that need a transport but no broker."""

from __future__ import annotations

import fixtures

from vitrage_ds.bus import get_transport
from vitrage_ds.config import new_config

__all__ = ['FakeBus']


class FakeBus(fixtures.Fixture):
    """An oslo.messaging transport on ``fake://`` (queues in this process),
    cleaned up with the fixture.

    :ivar transport: the transport.
    """

    def _setUp(self) -> None:
        self.transport = get_transport(new_config(), 'fake://')
        self.addCleanup(self.transport.cleanup)

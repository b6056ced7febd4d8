"""vitrage_ds's Aodh notifier in Vitrage's ``[aodh] notifier`` slot.

``[DEFAULT] notifiers = aodh`` and ``[aodh] notifier =
vitrage_ds.vitrage.aodh_notifier.AodhNotifier`` make Vitrage's own notifier
service hand every message of ``vitrage.graph`` to
:class:`vitrage_ds.notifiers.aodh.AodhNotifier`: one Aodh event alarm per
deduced alarm, exactly once and newest message first (see
``doc/source/notifier.rst``).

Vitrage's notifier service acknowledges every message whatever its plugins
do (its listener does not requeue), so a message the notifier answers
:attr:`~vitrage_ds.notifier.Outcome.RETRY` for (Aodh unreachable, after the
HTTP layer's own retries) is tried again here, at most :data:`ATTEMPTS`
times in all, :data:`BACKOFF` seconds apart and doubling; then it is logged
as lost. ``vitrage-ds notifier`` requeues instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from vitrage_ds._logsafe import safe
from vitrage_ds.deduced import from_message
from vitrage_ds.errors import InvalidMessage
from vitrage_ds.notifier import Message, Outcome
from vitrage_ds.notifiers.aodh import AodhNotifier as _Notifier
from vitrage_ds.vitrage import _host

try:
    from vitrage.notifier.plugins.base import NotifierBase  # type: ignore[import-not-found]
except ImportError as _exc:
    raise _host.needs_vitrage(__name__, _exc) from _exc

__all__ = ['ATTEMPTS', 'BACKOFF', 'AodhNotifier']

LOG = logging.getLogger(__name__)

#: Attempts at one message the notifier answers RETRY for.
ATTEMPTS = 3
#: Seconds before the second attempt; doubled before each next one.
BACKOFF = 1.0


class AodhNotifier(NotifierBase):
    """Deduced alarms to Aodh alarms, by vitrage_ds (see the module docstring)."""

    def __init__(self, sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__()
        self._notifier = _host.plugin(_Notifier, 'notifier', 'aodh')
        self._sleep = sleep

    @staticmethod
    def get_notifier_name() -> str:
        return 'aodh'

    def process_event(self, data: Any, event_type: str) -> None:
        """Apply one message of ``vitrage.graph``; never raises."""
        message = Message(event_type=event_type,
                          payload=data if isinstance(data, Mapping) else {})
        delay = BACKOFF
        for attempt in range(1, ATTEMPTS + 1):
            outcome = self._notifier.notify(message)
            if outcome is not Outcome.RETRY:
                return
            if attempt < ATTEMPTS:
                self._sleep(delay)
                delay *= 2
        LOG.error('%s of %s lost after %d attempts: Aodh could not be reached, and '
                  'Vitrage\'s notifier service does not requeue', safe(event_type),
                  _named(event_type, data), ATTEMPTS)

    def close(self) -> None:
        """Finish the notifier's pending checks (Vitrage itself never calls it)."""
        self._notifier.close()


def _named(event_type: str, data: Any) -> str:
    """The deduced alarm a message is about, for a log line: its key (the
    ``vitrage_id`` when there is one) and its Aodh alarm's name."""
    try:
        alarm = from_message(event_type, data)
    except InvalidMessage:
        return 'a deduced alarm'
    named = f'deduced alarm {safe(alarm.key)}'
    return f'{named} ({safe(alarm.aodh_name)})' if alarm.aodh_name else named

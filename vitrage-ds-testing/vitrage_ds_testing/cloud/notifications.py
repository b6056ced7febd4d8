"""Where the emulated services send the notifications their changes cause.

Every notification is recorded (:attr:`NotificationBus.sent`) and handed, in
order and synchronously, to the sinks connected for its service, each with
its own copy of the payload. A sink is
either a publisher (an object with ``publish(event_type, payload,
priority=...)``, such as :class:`vitrage_ds.bus.Publisher`) or a plain
callable ``(event_type, payload, priority) -> None``. A sink that raises is
logged and does not stop the others or the change that caused it.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
import threading
from collections.abc import Callable
from typing import Any

__all__ = ['HEAT', 'AODH', 'Notification', 'NotificationBus', 'Sink', 'SERVICES']

LOG = logging.getLogger(__name__)

#: Service keys, with the exchange and the publisher id each real service uses.
HEAT = 'orchestration'
AODH = 'alarming'
SERVICES = {
    HEAT: {'exchange': 'heat', 'publisher_id': 'orchestration.emulated-cloud'},
    AODH: {'exchange': 'aodh', 'publisher_id': 'aodh.api'},
}

Sink = Any  # a publisher object or a callable (event_type, payload, priority)


@dataclasses.dataclass(frozen=True)
class Notification:
    """One notification as the real service would send it.

    :ivar service: ``orchestration`` or ``alarming``.
    :ivar publisher_id: the envelope's publisher (``aodh.evaluator`` ...).
    :ivar priority: lower case (``info``, ``error``).
    """

    service: str
    publisher_id: str
    event_type: str
    priority: str
    payload: dict[str, Any]


class NotificationBus:
    """Records notifications and forwards them to the connected sinks."""

    def __init__(self) -> None:
        self.sent: list[Notification] = []
        self._sinks: dict[str, list[Callable[[Notification], None]]] = {HEAT: [], AODH: []}
        self._lock = threading.RLock()

    def connect(self, service: str, sink: Sink) -> None:
        """Send ``service``'s notifications to ``sink`` from now on."""
        if service not in self._sinks:
            raise ValueError(f'unknown service {service!r}; one of {sorted(self._sinks)}')
        with self._lock:
            self._sinks[service].append(_adapt(sink))

    def connect_raw(self, service: str, sink: Callable[[Notification], None]) -> None:
        """Hand ``service``'s :class:`Notification` objects to ``sink`` as they are."""
        if service not in self._sinks:
            raise ValueError(f'unknown service {service!r}; one of {sorted(self._sinks)}')
        with self._lock:
            self._sinks[service].append(sink)

    def disconnect_all(self) -> None:
        with self._lock:
            for sinks in self._sinks.values():
                sinks.clear()

    def emit(self, notification: Notification) -> None:
        with self._lock:
            self.sent.append(notification)
            sinks = list(self._sinks[notification.service])
        for sink in sinks:
            try:
                # Each sink gets its own copy: one that alters the payload
                # must not change what the others or the record see.
                sink(dataclasses.replace(notification,
                                         payload=copy.deepcopy(notification.payload)))
            except Exception:
                LOG.exception('emulated cloud: a sink failed on %s', notification.event_type)

    def of(self, service: str | None = None, event_type: str | None = None) -> list[Notification]:
        """The notifications sent so far, optionally of one service or type."""
        with self._lock:
            return [n for n in self.sent
                    if (service is None or n.service == service)
                    and (event_type is None or n.event_type == event_type)]

    def clear(self) -> None:
        with self._lock:
            self.sent.clear()


def _adapt(sink: Sink) -> Callable[[Notification], None]:
    publish = getattr(sink, 'publish', None)
    if callable(publish):
        def to_publisher(n: Notification) -> None:
            publish(n.event_type, n.payload, priority=n.priority)
        return to_publisher
    if callable(sink):
        def to_callable(n: Notification) -> None:
            sink(n.event_type, n.payload, n.priority)
        return to_callable
    raise TypeError(f'{sink!r} is neither a publisher nor a callable')

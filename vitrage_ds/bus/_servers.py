"""oslo.messaging notification servers that survive any envelope's priority.

oslo.messaging's dispatchers read an envelope's ``priority`` with
``.lower()`` before any endpoint is called. A priority that is not a
string (a number, ``null``) makes that raise, and its server answers by
requeueing the message at once, forever: thousands of tracebacks a second,
and in batches every message of the batch requeued with it. A priority that
is a string but no known one is logged by oslo.messaging as it came, so a
newline in it forges a line of the service log.

The servers built here are oslo.messaging's own, with its dispatchers
wrapped by a check that runs first: an envelope whose priority is not one
of :data:`~vitrage_ds.bus.publisher.PRIORITIES` (any case) is handed to
``refuse`` and acknowledged; every other envelope goes to oslo.messaging's
dispatcher unchanged. ``get_notification_listener`` and
``get_batch_notification_listener`` build the same servers from the same
dispatcher classes; they take no dispatcher of their own, so the servers
are built here from the classes they use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from oslo_messaging.notify import dispatcher as oslo_dispatcher  # type: ignore[import-untyped]
from oslo_messaging.notify import listener as oslo_listener  # type: ignore[import-untyped]

from vitrage_ds.bus.publisher import PRIORITIES

__all__ = ['Refuse', 'batch_notification_server', 'notification_server', 'why_no_priority']

#: Called with the envelope (as sent) and why its priority is unusable.
Refuse = Callable[[Mapping[str, Any], str], None]


def why_no_priority(envelope: object) -> str:
    """Why oslo.messaging could not dispatch ``envelope`` by its priority,
    or ``''`` when it can."""
    if not isinstance(envelope, Mapping):
        return f'the envelope is a {type(envelope).__name__}, not a mapping'
    priority = envelope.get('priority', '')
    if not isinstance(priority, str):
        return f'its priority is a {type(priority).__name__}, not a string'
    if priority.lower() not in PRIORITIES:
        return 'its priority is not one of ' + ', '.join(PRIORITIES)
    return ''


def _usable(incoming: Any, refuse: Refuse) -> bool:
    envelope = getattr(incoming, 'message', None)
    reason = why_no_priority(envelope)
    if reason:
        refuse(envelope if isinstance(envelope, Mapping) else {}, reason)
    return not reason


class _Dispatcher(oslo_dispatcher.NotificationDispatcher):  # type: ignore[misc]

    def __init__(self, endpoints: Sequence[Any], refuse: Refuse) -> None:
        super().__init__(endpoints, None)
        self._refuse = refuse

    def dispatch(self, incoming: Any) -> Any:
        if not _usable(incoming, self._refuse):
            return oslo_dispatcher.NotificationResult.HANDLED
        return super().dispatch(incoming)


class _BatchDispatcher(oslo_dispatcher.BatchNotificationDispatcher):  # type: ignore[misc]

    def __init__(self, endpoints: Sequence[Any], refuse: Refuse) -> None:
        super().__init__(endpoints, None)
        self._refuse = refuse

    def dispatch(self, incoming: Sequence[Any]) -> Any:
        # The server acknowledges every message not in the set returned.
        usable = [message for message in incoming if _usable(message, self._refuse)]
        return super().dispatch(usable) if usable else set()


def notification_server(transport: Any, targets: list[Any], endpoints: Sequence[Any],
                        refuse: Refuse, *, executor: str, pool: str | None) -> Any:
    """A notification server handing messages over one by one, with requeue."""
    return oslo_listener.NotificationServer(
        transport, targets, _Dispatcher(endpoints, refuse), executor, True, pool)


def batch_notification_server(transport: Any, targets: list[Any], endpoints: Sequence[Any],
                              refuse: Refuse, *, executor: str, pool: str | None,
                              batch_size: int, batch_timeout: float) -> Any:
    """A notification server handing messages over in batches, with requeue."""
    return oslo_listener.BatchNotificationServer(
        transport, targets, _BatchDispatcher(endpoints, refuse), executor, True, pool,
        batch_size, batch_timeout)

"""Sending notifications: oslo.messaging's ``messagingv2`` driver, on any exchange."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

import oslo_messaging  # type: ignore[import-untyped]
from oslo_messaging import transport as om_transport  # type: ignore[import-untyped]
from oslo_serialization import jsonutils

from vitrage_ds._logsafe import safe
from vitrage_ds.errors import DeliveryFailed, InvalidMessage

__all__ = ['PRIORITIES', 'Publisher']

LOG = logging.getLogger(__name__)

#: Notification priorities, lower case, as listeners' endpoints name them.
PRIORITIES: tuple[str, ...] = (
    'audit', 'debug', 'info', 'warn', 'error', 'critical', 'sample')


class _View(om_transport.NotificationTransport):
    """A view of a transport that names the exchange and keeps send failures.

    oslo.messaging's ``Notifier`` never names an exchange: its driver sends
    to the transport's default one (``[DEFAULT] control_exchange``, fixed
    when the transport is built). This view keeps the Notifier and its
    ``messagingv2`` envelope untouched and only sets the exchange on the
    target the driver hands to ``_send_notification``, so one transport
    (and, on ``fake://``, one set of in-memory queues) serves every
    exchange. The Notifier logs a failed send and swallows it; the view
    keeps the failure (per thread) so :meth:`Publisher.publish` can raise
    it. It owns nothing: cleaning up is the wrapped transport's job.
    """

    def __init__(self, transport: oslo_messaging.Transport, exchange: str | None) -> None:
        # Deliberately not calling super().__init__: nothing here owns a driver.
        self.conf = transport.conf
        self._inner = transport
        self._exchange = exchange
        self._failure = threading.local()

    def _send_notification(self, target: oslo_messaging.Target, ctxt: Any,
                           message: Any, version: float,
                           retry: int | None = None) -> None:
        if self._exchange is not None:
            target = oslo_messaging.Target(exchange=self._exchange, topic=target.topic)
        try:
            self._inner._send_notification(target, ctxt, message, version, retry=retry)
        except Exception as exc:
            self._failure.error = exc
            raise

    def take_failure(self) -> BaseException | None:
        """The failure of this thread's last send, once; ``None`` if it went out."""
        error: BaseException | None = getattr(self._failure, 'error', None)
        self._failure.error = None
        return error

    def cleanup(self) -> None:
        """Nothing to release; the wrapped transport is not touched."""


class Publisher:
    """Publishes notifications in the ``messagingv2`` (2.0 envelope) format.

    A notification of priority ``p`` goes to the routing key ``<topic>.<p>``
    on ``exchange`` (by default the transport's ``control_exchange``), which
    is what a :class:`~vitrage_ds.bus.Listener` on ``(exchange, topic)``
    consumes. Naming an exchange lets a publisher impersonate a service
    (``heat``, ``aodh``) or use the ``vitrage`` graph exchange.

    A send that fails inside the driver (broker unreachable past
    ``[oslo_messaging_notifications] retry``, which oslo.messaging defaults
    to retrying forever) raises :class:`~vitrage_ds.errors.DeliveryFailed`:
    the caller decides whether to send again, so nothing is lost unseen.
    Messages from one publisher thread keep their order. Thread-safe.

    :param transport: from :func:`~vitrage_ds.bus.get_transport`; the
        caller keeps owning it.
    :param topic: the topic; the priority is appended to it.
    :param exchange: the exchange, or ``None`` for the transport's default.
    :param publisher_id: the envelope's ``publisher_id``.
    """

    def __init__(self, transport: oslo_messaging.Transport, *,
                 topic: str = 'notifications', exchange: str | None = None,
                 publisher_id: str = 'vitrage_ds') -> None:
        self.topic = topic
        self.exchange = exchange
        self.publisher_id = publisher_id
        self._view = _View(transport, exchange)
        self._notifier = oslo_messaging.Notifier(
            self._view, publisher_id=publisher_id, driver='messagingv2', topics=[topic])
        self._closed = threading.Event()

    def publish(self, event_type: str, payload: Any, priority: str = 'info',
                context: Mapping[str, Any] | None = None) -> None:
        """Send one notification.

        :param event_type: e.g. ``vitrage.deduced_alarm.activate``.
        :param payload: anything JSON-serialisable.
        :param priority: one of :data:`PRIORITIES` (``warning`` is ``warn``),
            any case.
        :param context: the request context sent along (a plain mapping).
        :raises InvalidMessage: the event type, priority or payload cannot be
            sent; nothing was sent.
        :raises DeliveryFailed: the broker did not take it (oslo.messaging
            logged why); it may not have been sent.
        :raises RuntimeError: the publisher is closed.
        """
        if self._closed.is_set():
            raise RuntimeError('publish() on a closed Publisher')
        level = priority.lower()
        if level == 'warning':
            level = 'warn'
        if level not in PRIORITIES:
            raise InvalidMessage('priority', f'{priority!r} is not one of {PRIORITIES}')
        if not isinstance(event_type, str) or not event_type:
            raise InvalidMessage('event_type', 'a non-empty string is required')
        try:
            jsonutils.dumps(payload)
        except (TypeError, ValueError) as exc:
            raise InvalidMessage('payload', f'not JSON-serialisable: {exc}') from exc
        send = getattr(self._notifier, level)
        send(dict(context or {}), event_type, payload)
        failure = self._view.take_failure()
        if failure is not None:
            # The type only: a broker error's text may quote the transport URL.
            raise DeliveryFailed(
                f'{event_type} was not delivered to '
                f'{self.exchange or "(default exchange)"}/{self.topic}: '
                f'{type(failure).__name__} (the log has the broker\'s answer)') from failure
        LOG.debug('published %s (%s) on %s/%s', safe(event_type), level,
                  self.exchange or '(default exchange)', self.topic)

    def close(self) -> None:
        """Refuse further :meth:`publish` calls. Idempotent; the transport stays open."""
        self._closed.set()

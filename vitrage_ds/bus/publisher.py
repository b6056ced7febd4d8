"""Sending notifications: oslo.messaging's ``messagingv2`` driver, on any exchange."""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Mapping
from typing import Any

import oslo_messaging  # type: ignore[import-untyped]
from oslo_serialization import jsonutils

from vitrage_ds._logsafe import safe
from vitrage_ds.bus.transport import exchange_of, release, transport_for_exchange
from vitrage_ds.errors import InvalidMessage

__all__ = ['PRIORITIES', 'Publisher']

LOG = logging.getLogger(__name__)

#: Notification priorities, lower case, as listeners' endpoints name them.
PRIORITIES: tuple[str, ...] = (
    'audit', 'debug', 'info', 'warn', 'error', 'critical', 'sample')


class Publisher:
    """Publishes notifications in the ``messagingv2`` (2.0 envelope) format.

    A notification of priority ``p`` goes to the routing key ``<topic>.<p>``
    on ``exchange`` (by default the transport's ``control_exchange``), which
    is what a :class:`~vitrage_ds.bus.Listener` on ``(exchange, topic)``
    consumes. Naming an exchange lets a publisher impersonate a service
    (``heat``, ``aodh``) or use the ``vitrage`` graph exchange.

    Only oslo.messaging's public API is used: a ``Notifier`` sends to its
    transport's ``control_exchange``, so for another exchange the publisher
    builds and owns a transport of its own to the same broker
    (:func:`~vitrage_ds.bus.transport_for_exchange`: one more connection,
    closed by :meth:`close`). That needs a transport from
    :func:`~vitrage_ds.bus.get_transport`.

    Delivery: oslo.messaging retries a send while the broker is unreachable
    (``[oslo_messaging_notifications] retry``; -1, its default, retries
    until the broker takes the message, so :meth:`publish` blocks
    meanwhile). A send it gives up on (a finite ``retry``) is logged by
    oslo.messaging and **not raised**: its ``Notifier`` reports no failure
    to the caller. Keep ``retry = -1`` where a lost message matters.
    Messages from one publisher thread keep their order. Thread-safe.

    :param transport: from :func:`~vitrage_ds.bus.get_transport`; the
        caller keeps owning it.
    :param topic: the topic; the priority is appended to it.
    :param exchange: the exchange, or ``None`` for the transport's default.
    :param publisher_id: the envelope's ``publisher_id``.
    :raises ValueError: ``exchange`` is not the transport's own and the
        transport was not built by :func:`~vitrage_ds.bus.get_transport`.
    """

    def __init__(self, transport: oslo_messaging.Transport, *,
                 topic: str = 'notifications', exchange: str | None = None,
                 publisher_id: str = 'vitrage_ds') -> None:
        self.topic = topic
        self.exchange = exchange
        self.publisher_id = publisher_id
        sender = transport
        #: Closes the transport built for ``exchange``, if any; also runs
        #: when the publisher is collected without close().
        self._release: weakref.finalize[..., Publisher] | None = None
        if exchange is not None and exchange != exchange_of(transport):
            sender = transport_for_exchange(transport, exchange)
            self._release = weakref.finalize(self, release, sender)
        self._notifier = oslo_messaging.Notifier(
            sender, publisher_id=publisher_id, driver='messagingv2', topics=[topic])
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
        getattr(self._notifier, level)(dict(context or {}), event_type, payload)
        LOG.debug('published %s (%s) on %s/%s', safe(event_type), level,
                  self.exchange or '(default exchange)', self.topic)

    def close(self) -> None:
        """Refuse further :meth:`publish` calls and close the transport this
        publisher built for its exchange, if any. Idempotent; the caller's
        transport stays open."""
        self._closed.set()
        if self._release is not None:
            self._release()

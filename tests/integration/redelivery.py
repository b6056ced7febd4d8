"""Redeliver a notification on RabbitMQ exactly as it was first delivered.

:class:`RawCopies` binds a queue of its own to an exchange and routing key,
keeps the raw AMQP messages published there (body and properties, so the
oslo.messaging envelope with its ``message_id`` and ``timestamp``), and
publishes one of them again unchanged: to a consumer, the same message
delivered twice. Its queue is deleted by :meth:`RawCopies.stop_copying`
(and at clean-up), so nothing is left growing on the vhost.
"""

from __future__ import annotations

import json
import urllib.parse
import uuid
from typing import Any

import amqp
import fixtures

from vitrage_ds_testing import wait_until

__all__ = ['RawCopies', 'RawMessage']


class RawMessage:
    """One AMQP message as it was published, and its oslo.messaging envelope."""

    def __init__(self, message: amqp.Message) -> None:
        self.body = message.body
        self.properties = dict(message.properties)
        outer = json.loads(self.body)
        self.envelope: dict[str, Any] = json.loads(outer['oslo.message'])

    @property
    def event_type(self) -> str:
        return str(self.envelope.get('event_type'))


class RawCopies(fixtures.Fixture):
    """Copies of what is published on ``exchange`` with ``routing_key``.

    :param transport_url: an oslo.messaging ``rabbit://`` URL of the vhost.
    """

    def __init__(self, transport_url: str, exchange: str, routing_key: str) -> None:
        super().__init__()
        url = urllib.parse.urlsplit(transport_url)
        self._connect = {'host': f'{url.hostname}:{url.port or 5672}',
                         'userid': urllib.parse.unquote(url.username or 'guest'),
                         'password': urllib.parse.unquote(url.password or 'guest'),
                         'virtual_host': urllib.parse.unquote(url.path[1:]) or '/',
                         'confirm_publish': True}
        self.exchange = exchange
        self.routing_key = routing_key
        self.queue = f'vds-copies-{uuid.uuid4().hex[:8]}'
        self._copied: list[RawMessage] = []
        self._copying = False

    def _setUp(self) -> None:
        self._conn = amqp.Connection(**self._connect)
        self._conn.connect()
        self.addCleanup(self._conn.close)
        self._channel = self._conn.channel()
        self._channel.queue_declare(self.queue, durable=False, auto_delete=False)
        self._channel.queue_bind(self.queue, self.exchange, self.routing_key)
        self._copying = True
        self.addCleanup(self.stop_copying)

    def wait_for(self, event_type: str, timeout: float) -> RawMessage:
        """The first copy of an ``event_type`` message (waiting for it)."""
        def found() -> RawMessage | None:
            self._drain()
            return next((m for m in self._copied if m.event_type == event_type), None)
        found_message: RawMessage = wait_until(found, f'a copy of {event_type}',
                                                       timeout, 0.1)
        return found_message

    def _drain(self) -> None:
        while self._copying:
            message = self._channel.basic_get(self.queue, no_ack=True)
            if message is None:
                return
            self._copied.append(RawMessage(message))

    def stop_copying(self) -> None:
        """Delete the queue of copies (idempotent)."""
        if self._copying:
            self._copying = False
            self._channel.queue_delete(self.queue)

    def publish_again(self, message: RawMessage) -> None:
        """Publish ``message`` unchanged; returns once the broker confirmed it."""
        self._channel.basic_publish(amqp.Message(message.body, **message.properties),
                                    exchange=self.exchange, routing_key=self.routing_key)

"""A RabbitMQ virtual host of its own for each test, on the local broker,
and raw messages no oslo.messaging publisher would send.

:func:`publish_raw` puts one ``messagingv2`` envelope on an exchange exactly
as given (a ``message_id`` that is a list, a newline in an event type, a
priority that is a number), as a broken or hostile sender on the bus could.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import unittest
import urllib.parse
import uuid
from typing import Any

import amqp  # type: ignore[import-untyped]  # kombu's AMQP client
import fixtures

__all__ = ['RabbitUnavailable', 'RabbitVhost', 'envelope', 'publish_raw']

_CTL_TIMEOUT = 30.0


class RabbitUnavailable(RuntimeError):
    """RabbitMQ is required (``CI=true``) but cannot be used."""


class RabbitVhost(fixtures.Fixture):
    """A fresh virtual host on the local RabbitMQ, deleted at cleanup.

    Everything a test declares (exchanges, queues, bindings) lives in the
    vhost and goes with it, so concurrent and repeated runs never collide.
    Needs ``rabbitmqctl`` (run as a user allowed to manage the broker) and
    the broker listening on ``host:port``. When either is missing the test
    is skipped, except under ``CI=true`` where it fails with the reason:
    a CI run must not pass by skipping the bus tests.

    :ivar vhost: the vhost's name, ``vitrage_ds-<random>``.
    :ivar transport_url: an oslo.messaging URL for the vhost.
    """

    def __init__(self, host: str = '127.0.0.1', port: int = 5672,
                 user: str = 'guest', password: str = 'guest',
                 rabbitmqctl: str = 'rabbitmqctl') -> None:
        super().__init__()
        self.host = host
        self.port = port
        self.user = user
        self._password = password
        self._ctl = rabbitmqctl
        self.vhost = ''
        self.transport_url = ''

    def setUp(self) -> None:
        # Unavailability is decided here, not in _setUp: fixtures would turn
        # a SkipTest raised there into an error.
        reason = self._unavailable()
        if not reason:
            try:
                super().setUp()
                return
            except fixtures.MultipleExceptions as exc:
                first = exc.args[0][1]
                if not isinstance(first, RabbitUnavailable):
                    raise
                reason = str(first)
        if os.environ.get('CI', '').lower() == 'true':
            raise RabbitUnavailable(f'RabbitMQ is required under CI=true: {reason}')
        raise unittest.SkipTest(f'RabbitMQ unavailable: {reason}')

    def _setUp(self) -> None:
        self.vhost = f'vitrage_ds-{uuid.uuid4().hex[:12]}'
        self.ctl('add_vhost', self.vhost)
        self.addCleanup(self.ctl, 'delete_vhost', self.vhost)
        self.ctl('set_permissions', '-p', self.vhost, self.user, '.*', '.*', '.*')
        self.transport_url = (f'rabbit://{self.user}:{self._password}@'
                              f'{self.host}:{self.port}/{self.vhost}')

    def ctl(self, *args: str) -> str:
        """Run ``rabbitmqctl ARGS`` and return its output.

        :raises RabbitUnavailable: it failed (its output is in the message).
        """
        proc = subprocess.run([self._ctl, *args], capture_output=True, text=True,
                              timeout=_CTL_TIMEOUT, check=False)
        if proc.returncode:
            raise RabbitUnavailable(
                f'rabbitmqctl {" ".join(args)} exited {proc.returncode}: '
                f'{(proc.stderr or proc.stdout).strip()[:500]}')
        return proc.stdout

    def queues(self) -> dict[str, dict[str, str]]:
        """The vhost's queues: name -> ``durable``, ``messages`` (ready +
        unacknowledged) and ``type`` (``classic`` or ``quorum``), as text."""
        out = self.ctl('list_queues', '-p', self.vhost, '--quiet', '--no-table-headers',
                       'name', 'durable', 'messages', 'type')
        queues: dict[str, dict[str, str]] = {}
        for line in out.splitlines():
            fields = line.split('\t')
            if len(fields) == 4:
                queues[fields[0]] = dict(zip(('durable', 'messages', 'type'), fields[1:]))
        return queues

    def _unavailable(self) -> str:
        """Why the broker cannot be used, or ``''``."""
        if shutil.which(self._ctl) is None:
            return f'{self._ctl} is not on PATH'
        try:
            with socket.create_connection((self.host, self.port), timeout=2.0):
                pass
        except OSError as exc:
            return f'nothing accepts connections on {self.host}:{self.port} ({exc})'
        return ''


def publish_raw(transport_url: str, exchange: str, routing_key: str,
                message: dict[str, Any]) -> None:
    """Publish ``message`` as the body of a 2.0 envelope, untouched.

    The exchange must exist (a listener on it declared it).
    """
    url = urllib.parse.urlsplit(transport_url)
    conn = amqp.Connection(f'{url.hostname}:{url.port or 5672}',
                           userid=urllib.parse.unquote(url.username or 'guest'),
                           password=urllib.parse.unquote(url.password or 'guest'),
                           virtual_host=urllib.parse.unquote(url.path[1:]) or '/')
    conn.connect()
    try:
        channel = conn.channel()
        body = json.dumps({'oslo.version': '2.0', 'oslo.message': json.dumps(message)})
        channel.basic_publish(amqp.Message(body, content_type='application/json',
                                           content_encoding='utf-8'),
                              exchange=exchange, routing_key=routing_key)
    finally:
        conn.close()


def envelope(event_type: Any, payload: Any, *, message_id: Any = None,
             publisher_id: Any = 'test.host', priority: Any = 'INFO') -> dict[str, Any]:
    """A notification as oslo.messaging's Notifier builds it, any field overridable."""
    return {'message_id': str(uuid.uuid4()) if message_id is None else message_id,
            'publisher_id': publisher_id, 'event_type': event_type, 'priority': priority,
            'payload': payload, 'timestamp': '2026-01-01 12:00:00.000000'}

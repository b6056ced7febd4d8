"""A RabbitMQ virtual host of its own for each test, on the local broker."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import unittest
import uuid

import fixtures

__all__ = ['RabbitUnavailable', 'RabbitVhost']

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

"""A private RabbitMQ node for tests that restart, stop or kill the broker.

:class:`RabbitNode` starts its own ``rabbitmq-server`` (never the shared
node on 5672): its own node name (``vds-<run>@localhost``), AMQP and
distribution ports on ``127.0.0.1``, data, logs, configuration and Erlang
cookie in a temporary directory, no plugins (so no management listener).
Tests can then :meth:`~RabbitNode.restart` it (a graceful stop and a fresh
start on the same ports and data: durable and quorum queues and their
persistent messages survive) or :meth:`~RabbitNode.kill` it (SIGKILL, as a
crash) while clients are connected. Clean-up stops the node and removes
the directory.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest
import uuid
from pathlib import Path

import fixtures

__all__ = ['RabbitNode', 'RabbitNodeUnavailable']

#: Where Debian's package keeps the scripts that run as the caller (the
#: ones on PATH switch to the rabbitmq user and drop the environment).
_LIBEXEC = Path('/usr/lib/rabbitmq/bin')
_CTL_TIMEOUT = 60.0


class RabbitNodeUnavailable(RuntimeError):
    """The private node could not be started (and ``CI=true`` forbids skipping)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return int(sock.getsockname()[1])


def _tool(name: str) -> str | None:
    own = _LIBEXEC / name
    if own.exists():
        return str(own)
    return shutil.which(name)


class RabbitNode(fixtures.Fixture):
    """A RabbitMQ node of the test's own on loopback ports, started at set-up.

    Waiting for the node means an AMQP connection as ``guest`` succeeds, so
    :meth:`start` and :meth:`restart` return once clients can connect.
    When ``rabbitmq-server`` is missing or does not start, the test is
    skipped, except under ``CI=true`` where it fails with the reason.

    :param start_timeout: seconds a start may take before it counts as failed.
    :ivar nodename: ``vds-<run>@localhost``.
    :ivar port: the AMQP port (``127.0.0.1``).
    :ivar transport_url: an oslo.messaging URL for the default vhost.
    :ivar directory: the node's configuration, data and logs.
    """

    def __init__(self, *, start_timeout: float = 60.0) -> None:
        super().__init__()
        self.start_timeout = start_timeout
        self.run_id = uuid.uuid4().hex[:10]
        self.nodename = f'vds-{self.run_id}@localhost'
        self.port = 0
        self.dist_port = 0
        self.directory = Path()
        self.transport_url = ''
        self.starts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._server = _tool('rabbitmq-server')
        self._ctl = _tool('rabbitmqctl')
        self._epmd_was_running = True

    # -- fixture ---------------------------------------------------------

    def setUp(self) -> None:
        # Unavailability is decided here (fixtures would turn a SkipTest
        # raised in _setUp into an error).
        try:
            super().setUp()
        except fixtures.MultipleExceptions as exc:
            first = exc.args[0][1]
            if not isinstance(first, RabbitNodeUnavailable):
                raise
            if os.environ.get('CI', '').lower() == 'true':
                raise first from None
            raise unittest.SkipTest(f'private RabbitMQ node unavailable: {first}') from None

    def _setUp(self) -> None:
        if not self._server or not self._ctl:
            raise RabbitNodeUnavailable('rabbitmq-server or rabbitmqctl is not installed')
        self.directory = Path(tempfile.mkdtemp(prefix=f'vds-rabbit-{self.run_id}-'))
        self.addCleanup(shutil.rmtree, self.directory, True)
        self.port, self.dist_port = _free_port(), _free_port()
        self._write_files()
        self.transport_url = f'rabbit://guest:guest@127.0.0.1:{self.port}/'
        self._epmd_was_running = _listening(4369)
        self.addCleanup(self._forget_epmd)
        self.addCleanup(self.stop)
        self.start()

    def _write_files(self) -> None:
        d = self.directory
        (d / 'rabbitmq.conf').write_text(
            f'listeners.tcp.1 = 127.0.0.1:{self.port}\n'
            'log.console = false\n'
            'log.file.level = info\n'
            # Tests publish bursts on a small machine: never block publishers.
            'disk_free_limit.absolute = 1MB\n'
            'vm_memory_high_watermark.relative = 0.8\n')
        (d / 'enabled_plugins').write_text('[].\n')
        (d / 'rabbitmq-env.conf').write_text('')
        cookie = d / '.erlang.cookie'
        cookie.write_text(secrets.token_hex(16).upper())
        cookie.chmod(0o400)

    def _env(self) -> dict[str, str]:
        d = str(self.directory)
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(('RABBITMQ_', 'ERL_'))}
        env.update({
            'HOME': d,  # the Erlang cookie, for the node and rabbitmqctl alike
            'RABBITMQ_CONF_ENV_FILE': f'{d}/rabbitmq-env.conf',
            'RABBITMQ_NODENAME': self.nodename,
            'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1',
            'RABBITMQ_NODE_PORT': str(self.port),
            'RABBITMQ_DIST_PORT': str(self.dist_port),
            'RABBITMQ_CONFIG_FILE': f'{d}/rabbitmq.conf',
            'RABBITMQ_ENABLED_PLUGINS_FILE': f'{d}/enabled_plugins',
            'RABBITMQ_MNESIA_BASE': f'{d}/mnesia',
            'RABBITMQ_LOG_BASE': f'{d}/log',
            'RABBITMQ_PID_FILE': f'{d}/node.pid',
            'ERL_EPMD_ADDRESS': '127.0.0.1',
            'ERL_FLAGS': '-kernel inet_dist_use_interface {127,0,0,1}',
        })
        return env

    # -- lifecycle -------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the node's process is alive."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start the node (idempotent) and wait until AMQP clients can connect.

        :raises RabbitNodeUnavailable: it exited or did not answer within
            ``start_timeout`` (its log tail is in the message).
        """
        if self.running:
            return
        assert self._server is not None
        self.starts += 1
        out = open(self.directory / f'server-{self.starts}.out', 'wb')  # noqa: SIM115
        try:
            self._proc = subprocess.Popen([self._server], env=self._env(),
                                          cwd=self.directory, stdout=out,
                                          stderr=subprocess.STDOUT,
                                          start_new_session=True)
        finally:
            out.close()
        self.wait_until_ready(self.start_timeout)

    def wait_until_ready(self, timeout: float) -> None:
        """Block until an AMQP connection succeeds.

        :raises RabbitNodeUnavailable: the node exited or ``timeout`` passed.
        """
        import amqp  # type: ignore[import-untyped]  # kombu's AMQP client

        deadline = time.monotonic() + timeout
        while True:
            if not self.running:
                raise RabbitNodeUnavailable(f'the node exited: {self.log_tail()}')
            try:
                conn = amqp.Connection(f'127.0.0.1:{self.port}', userid='guest',
                                       password='guest', connect_timeout=2)
                conn.connect()
                conn.close()
                return
            except Exception:
                if time.monotonic() > deadline:
                    self.kill()
                    raise RabbitNodeUnavailable(
                        f'no AMQP answer within {timeout} s: {self.log_tail()}') from None
                time.sleep(0.2)

    def stop(self) -> None:
        """Stop the node gracefully (queues written to disk); idempotent."""
        if not self.running:
            self._proc = None
            return
        try:
            self.ctl('stop')
        except RabbitNodeUnavailable:
            pass
        assert self._proc is not None
        try:
            self._proc.wait(_CTL_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.kill()
        self._proc = None

    def kill(self) -> None:
        """SIGKILL the node and everything it started, as a crash would."""
        if self._proc is not None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self._proc.wait()
            self._proc = None

    def restart(self) -> float:
        """Stop the node gracefully and start it again; returns the seconds it was down."""
        began = time.monotonic()
        self.stop()
        self.start()
        return time.monotonic() - began

    def _forget_epmd(self) -> None:
        # The Erlang VM starts epmd when none runs; one we caused must not
        # outlive the test run. A system node's epmd is left alone.
        if not self._epmd_was_running and _listening(4369):
            epmd = shutil.which('epmd')
            if epmd:
                subprocess.run([epmd, '-kill'], env=self._env(), capture_output=True,
                               timeout=_CTL_TIMEOUT, check=False)

    # -- inspection ------------------------------------------------------

    def ctl(self, *args: str) -> str:
        """Run ``rabbitmqctl -n NODE ARGS`` against this node; return its output.

        :raises RabbitNodeUnavailable: it failed (its output is in the message).
        """
        assert self._ctl is not None
        proc = subprocess.run([self._ctl, '-n', self.nodename, *args], env=self._env(),
                              capture_output=True, text=True, timeout=_CTL_TIMEOUT,
                              check=False)
        if proc.returncode:
            raise RabbitNodeUnavailable(
                f'rabbitmqctl {" ".join(args)} exited {proc.returncode}: '
                f'{(proc.stderr or proc.stdout).strip()[:500]}')
        return proc.stdout

    def queues(self) -> dict[str, dict[str, str]]:
        """The default vhost's queues: name -> ``durable``, ``messages``
        (ready + unacknowledged) and ``type`` (``classic``/``quorum``), as text."""
        out = self.ctl('list_queues', '--quiet', '--no-table-headers',
                       'name', 'durable', 'messages', 'type')
        found: dict[str, dict[str, str]] = {}
        for line in out.splitlines():
            fields = line.split('\t')
            if len(fields) == 4:
                found[fields[0]] = dict(zip(('durable', 'messages', 'type'), fields[1:]))
        return found

    def log_tail(self, chars: int = 2000) -> str:
        """The end of the node's own log (or its console output)."""
        logs = sorted((self.directory / 'log').glob('*.log')) if self.directory else []
        outs = sorted(self.directory.glob('server-*.out')) if self.directory else []
        for path in [*logs, *reversed(outs)]:
            text = path.read_text(errors='replace').strip()
            if text:
                return text[-chars:]
        return '(no log)'


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=1.0):
            return True
    except OSError:
        return False

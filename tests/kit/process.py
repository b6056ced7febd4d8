"""Running a ``vitrage-ds`` service command as a real process in a test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import fixtures

__all__ = ['ServiceProcess', 'vitrage_ds_command']


def vitrage_ds_command() -> str:
    """The ``vitrage-ds`` console script next to the running interpreter."""
    return str(Path(sys.executable).parent / 'vitrage-ds')


class ServiceProcess(fixtures.Fixture):
    """``vitrage-ds --config-file CONFIG ARGS...`` in a subprocess of its own.

    Standard output and error go to ``log`` (a file), so a test reads what
    the service said even after it was killed. Started at set-up; clean-up
    kills it if it still runs.

    :param config: the configuration file.
    :param args: the command and its arguments, e.g. ``['collect']``.
    :param log: where its output goes.
    :param env: the environment (default: this process's).
    :param ready: text whose appearance in the log means the service is up;
        set-up waits for it (``None``: does not wait).
    :param deadline: the most seconds any wait takes before the test fails.
    """

    def __init__(self, config: str | Path, args: Sequence[str], log: str | Path, *,
                 env: Mapping[str, str] | None = None, ready: str | None = None,
                 deadline: float = 60.0) -> None:
        super().__init__()
        self.config = str(config)
        self.args = list(args)
        self.log = Path(log)
        self.env = dict(env if env is not None else os.environ)
        self.ready = ready
        self.deadline = deadline
        self.proc: subprocess.Popen[bytes] | None = None
        self._stop_requested = False

    def _setUp(self) -> None:
        with open(self.log, 'ab') as out:
            self.proc = subprocess.Popen(
                [vitrage_ds_command(), '--config-file', self.config, *self.args],
                stdout=out, stderr=subprocess.STDOUT, env=self.env,
                start_new_session=True)
        self.addCleanup(self.kill)
        if self.ready is not None:
            self.wait_for_log(self.ready)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def output(self) -> str:
        """Everything the process wrote so far."""
        return self.log.read_text(errors='replace') if self.log.exists() else ''

    def wait_for_log(self, text: str) -> None:
        """Wait until ``text`` is in the output.

        :raises AssertionError: the process exited first, or ``deadline`` passed.
        """
        end = time.monotonic() + self.deadline
        while text not in self.output():
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f'{self.args[0]} exited {self.proc.returncode} before '
                                     f'saying {text!r}:\n{self.output()[-3000:]}')
            if time.monotonic() > end:
                raise AssertionError(f'no {text!r} from {self.args[0]} within '
                                     f'{self.deadline} s:\n{self.output()[-3000:]}')
            time.sleep(0.05)

    def request_stop(self) -> None:
        """SIGTERM, once, without waiting: several processes then drain at
        the same time, each waited for by :meth:`terminate`."""
        assert self.proc is not None
        if self.proc.poll() is None and not self._stop_requested:
            self.proc.send_signal(signal.SIGTERM)
            self._stop_requested = True

    def terminate(self) -> int:
        """SIGTERM (unless :meth:`request_stop` sent it), then the exit
        status (SIGKILL after ``deadline``)."""
        self.request_stop()
        assert self.proc is not None
        try:
            return self.proc.wait(self.deadline)
        except subprocess.TimeoutExpired:
            self.kill()
            raise AssertionError(f'{self.args[0]} did not stop within {self.deadline} s:\n'
                                 f'{self.output()[-3000:]}') from None

    def kill(self) -> None:
        """SIGKILL the process (a crash: nothing is drained or acknowledged)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(self.deadline)

"""A real Vitrage 15.0.1 graph in a subprocess, publishing on a test's vhost.

:class:`VitrageGraph` runs ``vitrage_scripts/graph_notifier.py`` with the
Vitrage virtualenv's interpreter (built once and cached, see
:class:`tests.kit.vitrage_env.VitrageEnv`; Vitrage's code alone,
without vitrage_ds on its path): Vitrage's own ``NXGraph`` and
``GraphNotifier`` publish the deduced alarm's activation and deactivation
on exchange ``vitrage``, topic ``vitrage.graph``, as ``vitrage-graph``
does.
"""

from __future__ import annotations

import json
import selectors
import subprocess
import time
from pathlib import Path
from typing import Any

import fixtures
from testtools import content

from tests.kit.vitrage_env import VitrageEnv

__all__ = ['SCRIPTS', 'VitrageGraph', 'vitrage_python']

#: The scripts run by Vitrage's interpreter.
SCRIPTS = Path(__file__).parent / 'vitrage_scripts'


def vitrage_python() -> Path:
    """The Vitrage virtualenv's interpreter, building the environment if needed."""
    env = VitrageEnv()
    env.ensure(log=lambda *_: None)  # stdout carries the test stream
    return env.python


class VitrageGraph(fixtures.Fixture):
    """One resource vertex (a ``nova.host`` of OpenStack id ``resource_id``)
    in a Vitrage graph, and commands that raise or clear a deduced alarm
    ``alarm_name`` on it (see the script's docstring).

    :param transport_url: the vhost Vitrage publishes on.
    :param work: a directory for Vitrage's configuration and log.
    :param deadline: the most seconds a command may take.
    """

    def __init__(self, transport_url: str, work: Path, resource_id: str, alarm_name: str,
                 severity: str, *, deadline: float = 120.0) -> None:
        super().__init__()
        self.transport_url = transport_url
        self.work = work
        self.args = [resource_id, alarm_name, severity]
        self.deadline = deadline
        self.vitrage_id: str | None = None
        self._proc: subprocess.Popen[str] | None = None

    def _setUp(self) -> None:
        config = self.work / 'vitrage.conf'
        # GraphNotifier publishes only with a notifier enabled ([DEFAULT] notifiers).
        config.write_text(f'[DEFAULT]\ntransport_url = {self.transport_url}\n'
                          'notifiers = aodh\n')
        log = self.work / 'vitrage-graph.log'
        with open(log, 'w') as err:
            self._proc = subprocess.Popen(
                [str(vitrage_python()), str(SCRIPTS / 'graph_notifier.py'), str(config),
                 *self.args], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err,
                text=True)
        self.addCleanup(self._stop)
        self.addDetail('vitrage-graph.log', content.content_from_file(
            str(log), buffer_now=False))

    def command(self, name: str) -> dict[str, Any]:
        """Run ``name`` in the graph; return the script's answer once published."""
        proc = self._proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(f'{name}\n')
        proc.stdin.flush()
        with selectors.DefaultSelector() as selector:
            selector.register(proc.stdout, selectors.EVENT_READ)
            end = time.monotonic() + self.deadline
            while not selector.select(max(0.0, end - time.monotonic())):
                if time.monotonic() >= end:
                    raise AssertionError(f'Vitrage did not answer {name!r} within '
                                         f'{self.deadline} s')
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f'Vitrage exited {proc.wait(self.deadline)} on {name!r}')
        answer: dict[str, Any] = json.loads(line)
        self.vitrage_id = answer['vitrage_id']
        return answer

    def _stop(self) -> None:
        proc = self._proc
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            proc.wait(self.deadline)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

"""What every benchmark shares: result rows, settings, and running a driver once."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from collections.abc import Callable
from typing import Any

from benchmarks.cloudhost import CLIENT_CPUS, CloudHost

__all__ = ['BenchResult', 'DriverRun', 'Row', 'Settings', 'run_driver', 'say']

RUNNERS = Path(__file__).resolve().parent / 'runners'
ROOT = Path(__file__).resolve().parent.parent


def say(msg: str) -> None:
    """Progress on stderr, so stdout holds only the table."""
    print(f'[bench {time.strftime("%H:%M:%S")}] {msg}', file=sys.stderr, flush=True)


@dataclasses.dataclass
class Row:
    """One line of the ratio table.

    ``ratio`` is how many times better vitrage_ds is (higher is better),
    ``None`` when the line is not a comparison; ``met`` is ``None`` when
    the line has no target.
    """

    bench: str
    measure: str
    ours: str
    reference: str = ''
    ratio: float | None = None
    target: str = ''
    met: bool | None = None


@dataclasses.dataclass
class BenchResult:
    """What one benchmark measured: table rows, notes, and data for plots."""

    number: int
    title: str
    rows: list[Row] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    data: dict[str, Any] = dataclasses.field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None

    def row(self, measure: str, ours: str, reference: str = '', ratio: float | None = None,
            target: str = '', met: bool | None = None) -> None:
        self.rows.append(Row(str(self.number), measure, ours, reference, ratio, target, met))


@dataclasses.dataclass(frozen=True)
class Settings:
    """Sizes of one run (full or ``--quick``)."""

    quick: bool
    heat_stacks: int
    resources_per_stack: int
    latency: float
    aodh_alarms: int
    aodh_projects: int
    bus_notifications: int
    bus_stacks: int
    bus_alarms: int
    reconcile_entities: int
    notifier_activations: int
    growth_stacks: tuple[int, ...]
    growth_latencies: tuple[float, ...]

    @classmethod
    def full(cls) -> Settings:
        return cls(False, 5000, 10, 0.010, 10_000, 5, 20_000, 1000, 1000, 100_000, 1000,
                   (500, 5000, 20_000), (0.0, 0.010, 0.050))

    @classmethod
    def quick_run(cls) -> Settings:
        return cls(True, 500, 10, 0.010, 1000, 5, 2000, 200, 200, 10_000, 100,
                   (100, 500), (0.0, 0.010))


@dataclasses.dataclass
class DriverRun:
    """One ``get_all`` in a subprocess: its output and the requests it made."""

    impl: str
    output: dict[str, Any]
    requests: dict[str, int]  # every timed call's, by route
    wall: float  # the subprocess, start to exit
    repeat: int = 1

    @property
    def seconds(self) -> float:
        return float(self.output['get_all_s'])

    def per_call(self, prefix: str) -> int:
        """Requests to routes starting with ``prefix`` (``heat.``) in one call."""
        return round(sum(n for r, n in self.requests.items() if r.startswith(prefix))
                     / self.repeat)

    def total(self, prefix: str) -> int:
        """Requests to routes starting with ``prefix`` in all the timed calls."""
        return sum(n for r, n in self.requests.items() if r.startswith(prefix))


def _conf_text(impl: str, info: dict[str, Any]) -> str:
    creds = '\n'.join([
        '[service_credentials]', 'auth_type = password', f'auth_url = {info["auth_url"]}',
        f'username = {info["username"]}', f'password = {info["password"]}',
        f'project_name = {info["project_name"]}', 'user_domain_name = Default',
        'project_domain_name = Default', f'region_name = {info["region"]}',
        'interface = public', ''])
    if impl == 'vitrage':
        return '\n'.join([
            '[DEFAULT]', 'debug = false', '',
            '[datasources]',
            # Vitrage's defaults plus the two datasources measured: the Heat
            # driver keeps resources of the types whose datasources are enabled.
            'types = nova.host,nova.instance,nova.zone,cinder.volume,neutron.port,'
            'neutron.network,heat.stack,aodh', '', creds])
    return creds


def run_driver(impl: str, kind: str, cloud: CloudHost, python: str | os.PathLike[str],
               *, warm: bool = False, repeat: int = 1, pinned: bool = True,
               timeout: float = 900.0) -> DriverRun:
    """Run ``kind`` (``heat``/``aodh``) of ``impl`` (``vitrage_ds``/``vitrage``) once.

    The driver is loaded (and with ``warm``, vitrage_ds's polled once
    untimed: Vitrage's Aodh driver already lists every alarm when it is
    constructed), then the cloud's request log is cleared and the timed
    ``get_all`` runs ``repeat`` times (the median counts): the request
    counts are those calls', Keystone's included when the first call
    authenticates (:meth:`DriverRun.per_call` divides by ``repeat``).
    The runner runs on :data:`CLIENT_CPUS` unless ``pinned`` is false.

    :raises RuntimeError: the runner failed (its stderr's tail says why).
    """
    script = RUNNERS / ('vitrage_drivers.py' if impl == 'vitrage' else 'ours_drivers.py')
    with tempfile.TemporaryDirectory(prefix=f'bench-{impl}-') as tmp:
        conf = Path(tmp) / f'{impl}.conf'
        conf.write_text(_conf_text(impl, cloud.info))
        out = Path(tmp) / 'out.json'
        err = Path(tmp) / 'stderr'
        cmd = [str(python), '-I', str(script), kind, str(conf), str(out)]
        if warm:
            cmd.append('--warm')
        if repeat > 1:
            cmd += ['--repeat', str(repeat)]
        if pinned and CLIENT_CPUS:
            cmd += ['--cpus', ','.join(map(str, sorted(CLIENT_CPUS)))]
        began = time.perf_counter()
        with open(err, 'w') as stderr:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=stderr, cwd=tmp, text=True)
            assert proc.stdin is not None and proc.stdout is not None
            try:
                ready = proc.stdout.readline().strip() == 'ready'
                if ready:
                    cloud.clear_requests()
                    proc.stdin.write('go\n')
                    proc.stdin.flush()
                rc = proc.wait(timeout)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        wall = time.perf_counter() - began
        requests = cloud.request_counts()
        if rc != 0 or not ready or not out.exists():
            tail = err.read_text()[-3000:]
            raise RuntimeError(f'{impl} {kind} runner exited {rc}:\n{tail}')
        output = json.loads(out.read_text())
    return DriverRun(impl, output, requests, wall, repeat)


@dataclasses.dataclass(frozen=True)
class CommandRun:
    """One ``vitrage-ds`` command, timed as a user sees it."""

    seconds: float  # process start to exit
    requests: dict[str, int]  # by route, Keystone's included
    events: int  # lines its file sink received


def run_collect_once(cloud: CloudHost, python: str | os.PathLike[str], drivers: str, *,
                     pinned: bool = True, timeout: float = 900.0) -> CommandRun:
    """``vitrage-ds collect --once`` with only ``drivers`` enabled, as a user runs it.

    The project's ``vitrage-ds`` console script (beside ``python``) runs with
    the same credentials as the runners and a ``file:`` sink; the clock runs
    from the process's start (interpreter, imports, configuration, plugin
    loading, authentication) to its exit (the events delivered).

    :raises RuntimeError: the command failed (its stderr's tail says why).
    """
    command = Path(python).parent / 'vitrage-ds'
    with tempfile.TemporaryDirectory(prefix='bench-cli-') as tmp:
        conf = Path(tmp) / 'vitrage_ds.conf'
        conf.write_text(f'[DEFAULT]\ndrivers = {drivers}\n\n' + _conf_text('vitrage_ds',
                                                                            cloud.info))
        sink = Path(tmp) / 'events.jsonl'
        err = Path(tmp) / 'stderr'
        cpus = set(CLIENT_CPUS) if pinned and CLIENT_CPUS else None
        cloud.clear_requests()
        began = time.perf_counter()
        with open(err, 'w') as stderr:
            proc = subprocess.run(
                [str(command), '--config-file', str(conf), 'collect', '--once',
                 '--sink', f'file:{sink}'],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr, cwd=tmp,
                timeout=timeout, check=False,
                preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
        seconds = time.perf_counter() - began
        if proc.returncode != 0 or not sink.exists():
            raise RuntimeError(f'vitrage-ds collect --once exited {proc.returncode}:\n'
                               f'{err.read_text()[-3000:]}')
        with open(sink, 'rb') as lines:
            events = sum(1 for _ in lines)
    return CommandRun(seconds, cloud.request_counts(), events)


def ratio(reference: float, ours: float) -> float | None:
    """``reference / ours``: how many times less vitrage_ds needs."""
    if ours <= 0:
        return None
    return reference / ours


def fmt_s(seconds: float) -> str:
    return f'{seconds:.2f} s' if seconds < 100 else f'{seconds:.0f} s'


def with_rabbit_and_cloud(result: BenchResult,
                          measure: Callable[[CloudHost, Any], None]) -> BenchResult:
    """Run ``measure(cloud, vhost)`` on a per-run RabbitMQ vhost and a fresh cloud.

    The vhost is removed afterwards; RabbitMQ being unavailable is the
    benchmark's error, not a crash of the suite.
    """
    from tests.kit import RabbitVhost

    vhost = RabbitVhost()
    try:
        vhost.setUp()
    except Exception as exc:  # SkipTest or RabbitUnavailable: say why
        result.error = f'RabbitMQ unavailable: {exc}'
        return result
    try:
        with CloudHost() as cloud:
            measure(cloud, vhost)
    finally:
        vhost.cleanUp()
    return result

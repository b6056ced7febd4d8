"""The emulated cloud in a process of its own, driven from the benchmark process.

The benchmarks measure clients (vitrage_ds, Vitrage 15.0.1, the collector,
the notifier); the cloud they call must not share their interpreter lock,
or the cloud's own work would be billed to the client. :class:`CloudHost`
starts :class:`vitrage_ds_testing.EmulatedCloud` in a ``spawn``-ed child
process and calls a few named operations on it over a pipe (:data:`_OPS`),
one at a time. The child exits when the pipe closes, so a crashed
benchmark leaves nothing behind. On a machine of two or more CPUs the cloud
runs on all but the measured clients' (:data:`CLIENT_CPUS`).
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import traceback
from collections.abc import Callable
from typing import Any

__all__ = ['CLIENT_CPUS', 'CloudHost', 'CloudHostError']

_START_TIMEOUT = 120.0


def _client_cpus() -> frozenset[int]:
    """The CPU the measured clients run on: the first this process may use,
    when it may use two or more (the emulated cloud gets the others; see
    :data:`CLIENT_CPUS`); empty (no pinning) otherwise."""
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # no CPU affinity on this OS
        return frozenset()
    return frozenset(cpus[:1]) if len(cpus) > 1 else frozenset()


#: Where the driver runners (:func:`benchmarks.common.run_driver`: Vitrage's
#: and vitrage_ds's, benchmarks 1, 2 and 6) run; the emulated cloud runs on
#: the other CPUs. So placed, a driver and the cloud never compete for a
#: core, and a driver's threads never migrate between CPUs: on a virtual
#: machine, handing the interpreter lock to a thread woken on another CPU
#: made vitrage_ds's Heat poll take 15-25 % longer (Vitrage's sequential
#: driver: no difference). The collector and notifier of benchmarks 3 and 5
#: run in the benchmark's process, unpinned, like the bare listeners they
#: are compared with.
CLIENT_CPUS = _client_cpus()


class CloudHostError(RuntimeError):
    """An operation failed in the cloud's process (its traceback is the message)."""


class CloudHost:
    """An :class:`~vitrage_ds_testing.EmulatedCloud` in a child process.

    :param seed: the cloud's seed (same seed, same content).
    :param global_index_allowed: answer Heat's ``global_tenant=true``
        listing (Vitrage's driver needs it; Heat's default policy refuses).

    Use as a context manager; :attr:`info` holds the endpoints and
    credentials once started.
    """

    def __init__(self, seed: int = 11, *, global_index_allowed: bool = True) -> None:
        self.seed = seed
        self.global_index_allowed = global_index_allowed
        self.info: dict[str, Any] = {}
        self._conn: multiprocessing.connection.Connection | None = None
        self._proc: Any = None

    def __enter__(self) -> CloudHost:
        ctx = multiprocessing.get_context('spawn')
        parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=_serve, args=(child, self.seed,
                                                      self.global_index_allowed,
                                                      _cloud_cpus()),
                                 name='emulated-cloud', daemon=True)
        self._proc.start()
        child.close()
        self._conn = parent
        if not parent.poll(_START_TIMEOUT):
            self.close()
            raise CloudHostError('the emulated cloud did not start in time')
        self.info = self._answer()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the cloud and its process (idempotent)."""
        if self._conn is not None:
            try:
                self._conn.send(('stop', (), {}))
                self._conn.poll(10.0)
            except (OSError, EOFError):
                pass
            self._conn.close()
            self._conn = None
        if self._proc is not None:
            self._proc.join(10.0)
            if self._proc.is_alive():
                self._proc.terminate()
                self._proc.join(5.0)
            self._proc = None

    def call(self, op: str, *args: Any, **kwargs: Any) -> Any:
        """Run operation ``op`` in the cloud's process and return its result.

        :raises CloudHostError: it raised there.
        """
        if self._conn is None:
            raise CloudHostError('the cloud host is not running')
        self._conn.send((op, args, kwargs))
        return self._answer()

    def _answer(self) -> Any:
        assert self._conn is not None
        try:
            status, value = self._conn.recv()
        except (EOFError, OSError) as exc:
            raise CloudHostError(f'the emulated cloud\'s process is gone ({exc!r})') from None
        if status != 'ok':
            raise CloudHostError(value)
        return value

    # -- conveniences ----------------------------------------------------

    def latency(self, seconds: float) -> None:
        """Every request (Keystone, Heat, Aodh) waits ``seconds`` before its answer."""
        self.call('latency', seconds)

    def request_counts(self) -> dict[str, int]:
        """Requests received since the last :meth:`clear_requests`, by route."""
        counts: dict[str, int] = self.call('request_counts')
        return counts

    def clear_requests(self) -> None:
        self.call('clear_requests')


# -- the child process ----------------------------------------------------

def _info(cloud: Any) -> dict[str, Any]:
    from vitrage_ds_testing.cloud.keystone import REGION
    return {'auth_url': cloud.auth_url, 'base_url': cloud.base_url,
            'heat_endpoint': cloud.heat_endpoint(), 'aodh_endpoint': cloud.aodh_endpoint,
            'username': cloud.username, 'password': cloud.password,
            'project_name': cloud.project_name, 'admin_project_id': cloud.admin_project_id,
            'region': REGION}


def _latency(cloud: Any, seconds: float) -> None:
    cloud.clear_faults()
    if seconds > 0:
        cloud.delay('*', seconds)


def _populate_heat(cloud: Any, stacks: int, resources_per_stack: int = 10,
                   projects: int = 0) -> int:
    project_ids = cloud.ensure_projects(projects) if projects else None
    cloud.heat.populate(stacks, resources_per_stack, projects=project_ids)
    return len(cloud.heat.ordered())


def _populate_aodh(cloud: Any, alarms: int, projects: int = 0,
                   types: list[str] | None = None) -> list[str]:
    """``alarms`` alarms over ``projects`` projects: the admin's and ``project-N``."""
    from vitrage_ds_testing.cloud import ALARM_TYPES
    project_ids = ([cloud.admin_project_id, *cloud.ensure_projects(projects - 1)]
                   if projects > 1 else None)
    made = cloud.aodh.populate(alarms, projects=project_ids,
                               types=tuple(types or ALARM_TYPES))
    return [a['alarm_id'] for a in made]


def _create_alarm(cloud: Any, name: str, alarm_type: str) -> str:
    alarm = cloud.aodh.create_alarm(name, alarm_type, notify=False)
    return str(alarm['alarm_id'])


def _stack_ids(cloud: Any) -> list[str]:
    return [s.id for s in cloud.heat.ordered()]


def _alarms_summary(cloud: Any) -> list[dict[str, Any]]:
    """Every alarm's id, name, type, project and event-rule query."""
    with cloud.aodh.lock:
        alarms = list(cloud.aodh.alarms.values())
        return [{'alarm_id': a['alarm_id'], 'name': a['name'], 'type': a['type'],
                 'project_id': a['project_id'], 'state': a['state'],
                 'query': (a.get('event_rule') or {}).get('query')} for a in alarms]


class _Bus:
    """Publishes the cloud's notifications on a RabbitMQ transport."""

    def __init__(self) -> None:
        self.transport: Any = None

    def connect(self, cloud: Any, url: str) -> None:
        from vitrage_ds.bus import get_transport
        from vitrage_ds.config import new_config
        conf = new_config()
        self.transport = get_transport(conf, url)
        cloud.connect_bus(self.transport)

    def close(self, cloud: Any) -> None:
        cloud.notifications.disconnect_all()
        if self.transport is not None:
            self.transport.cleanup()
            self.transport = None


def _emit_changes(cloud: Any, heat_updates: int, aodh_transitions: int) -> dict[str, int]:
    """Real-format notifications: stack updates (start + end) and alarm transitions.

    Stacks and alarms are taken in order, round robin; alarm states cycle
    through ``alarm`` / ``ok`` / ``insufficient data``, half from the
    evaluator (JSON-string ``detail``) and half from the API (dict).
    """
    stacks = [s.id for s in cloud.heat.ordered()]
    alarms = [a['alarm_id'] for a in cloud.aodh.ordered()]
    before = len(cloud.notifications.sent)
    for i in range(heat_updates):
        cloud.heat.update_stack(stacks[i % len(stacks)], description=f'update {i}')
    states = ('alarm', 'ok', 'insufficient data')
    for i in range(aodh_transitions):
        alarm_id = alarms[i % len(alarms)]
        current = cloud.aodh.get(alarm_id)['state']
        state = next(s for s in states[i % 3:] + states if s != current)
        cloud.aodh.set_state(alarm_id, state, source='evaluator' if i % 2 else 'api')
    sent = cloud.notifications.sent[before:]
    counts: dict[str, int] = {}
    for note in sent:
        counts[note.event_type] = counts.get(note.event_type, 0) + 1
    cloud.notifications.clear()
    return counts


def _ops(cloud: Any, bus: _Bus) -> dict[str, Callable[..., Any]]:
    return {
        'info': lambda: _info(cloud),
        'latency': lambda seconds: _latency(cloud, seconds),
        'request_counts': lambda: cloud.requests.counts(),
        'clear_requests': lambda: cloud.requests.clear(),
        'populate_heat': lambda *a, **k: _populate_heat(cloud, *a, **k),
        'populate_aodh': lambda *a, **k: _populate_aodh(cloud, *a, **k),
        'create_alarm': lambda *a: _create_alarm(cloud, *a),
        'stack_ids': lambda: _stack_ids(cloud),
        'alarms_summary': lambda: _alarms_summary(cloud),
        'connect_bus': lambda url: bus.connect(cloud, url),
        'disconnect_bus': lambda: bus.close(cloud),
        'emit_changes': lambda *a: _emit_changes(cloud, *a),
        'global_index_allowed': lambda value: setattr(cloud, 'global_index_allowed', value),
    }


def _cloud_cpus() -> frozenset[int]:
    """The CPUs this process may use but the measured clients' (empty: no pinning)."""
    return frozenset(os.sched_getaffinity(0)) - CLIENT_CPUS if CLIENT_CPUS else frozenset()


def _serve(conn: multiprocessing.connection.Connection, seed: int,
           global_index_allowed: bool, cpus: frozenset[int]) -> None:
    import logging

    if cpus:  # before the cloud's threads start: they inherit it
        os.sched_setaffinity(0, cpus)

    from vitrage_ds_testing import EmulatedCloud

    logging.basicConfig(level=logging.WARNING)
    cloud = EmulatedCloud(seed, global_index_allowed=global_index_allowed)
    cloud.start()
    bus = _Bus()
    ops = _ops(cloud, bus)
    try:
        conn.send(('ok', _info(cloud)))
        while True:
            try:
                op, args, kwargs = conn.recv()
            except (EOFError, OSError):
                return
            if op == 'stop':
                conn.send(('ok', None))
                return
            try:
                conn.send(('ok', ops[op](*args, **kwargs)))
            except Exception:
                conn.send(('error', f'{op}: {traceback.format_exc()}'))
    finally:
        bus.close(cloud)
        cloud.stop()

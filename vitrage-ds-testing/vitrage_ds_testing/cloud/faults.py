"""Fault and latency injection, per route.

A rule names the requests it applies to with a *route spec*:
``"[METHOD ]TARGET"`` where ``METHOD`` is an HTTP method (none or ``*``:
any) and ``TARGET`` is either a route name glob (``heat.stacks.list``,
``aodh.*``; see :data:`ROUTES`) or, when it starts with ``/``, a regular
expression searched in the path below the service's prefix
(``/v1/[^/]+/stacks$``).

Each rule counts the requests it matches (``calls``). It fires on the
``start``-th match (1-based) and on every later one while ``times`` lasts
(``None``: forever), counting its firings in ``fired``. Several rules may
fire on one request: every delay adds up, then the first terminal rule
(status, hang, close) decides, then body rules (truncate, malformed) alter
a successful answer.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import random
import re
import threading
from typing import Any

__all__ = ['Action', 'Fault', 'FaultSet', 'ROUTES']

#: Every route name the emulator serves, by service (a test holds it to the
#: routes actually registered).
ROUTES = {
    'identity': ['keystone.root', 'keystone.version', 'keystone.tokens.create',
                 'keystone.tokens.validate'],
    'orchestration': ['heat.root', 'heat.stacks.list', 'heat.stacks.lookup',
                      'heat.stacks.show', 'heat.resources.lookup', 'heat.resources.list',
                      'heat.resources.show', 'heat.stacks.lookup_path',
                      # heat_extra_api.EXTRA_ROUTES (tables and search)
                      'heat.resource_types.list', 'heat.stacks.template',
                      'heat.outputs.list', 'heat.outputs.show', 'heat.events.list',
                      'heat.events.resource', 'heat.events.show', 'heat.resources.metadata',
                      'heat.snapshots.list', 'heat.snapshots.create', 'heat.snapshots.show',
                      'heat.snapshots.delete', 'heat.software_configs.list',
                      'heat.software_configs.create', 'heat.software_configs.show',
                      'heat.software_deployments.list', 'heat.software_deployments.create',
                      'heat.software_deployments.show', 'heat.software_deployments.update'],
    'alarming': ['aodh.root', 'aodh.alarms.list', 'aodh.alarms.create', 'aodh.alarms.show',
                 'aodh.alarms.update', 'aodh.alarms.delete', 'aodh.alarms.state.show',
                 'aodh.alarms.state.update', 'aodh.alarms.history', 'aodh.query.alarms.history'],
}

_METHODS = {'GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', '*'}
_KINDS = {'status', 'delay', 'hang', 'close', 'truncate', 'malformed', 'repeat_page'}
_TERMINAL = {'status', 'hang', 'close'}


@dataclasses.dataclass
class Action:
    """What one fired rule does to one request."""

    kind: str
    delay: float = 0.0
    seconds: float = 0.0
    status: int = 500
    body: Any = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.kind in _TERMINAL


@dataclasses.dataclass(eq=False)
class Fault:
    """One injected rule; see the module docstring for how it matches.

    :ivar kind: ``status`` (answer ``status`` with the service's error body,
        or ``body``), ``delay`` (wait ``delay`` seconds, or a random time in
        the ``(low, high)`` range, then serve normally), ``hang`` (wait
        ``seconds`` then close the connection unanswered), ``close`` (close
        the connection unanswered: the client sees it dropped),
        ``truncate`` (the JSON body cut in half, with a matching
        ``Content-Length``), ``malformed`` (``body`` or a broken JSON text
        instead of the answer), ``repeat_page`` (the ``marker`` parameter
        is ignored: the first page comes back again).
    """

    spec: str
    kind: str
    status: int = 500
    delay: float | tuple[float, float] = 0.0
    seconds: float = 3600.0
    start: int = 1
    times: int | None = None
    body: Any = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    calls: int = 0
    fired: int = 0

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f'unknown fault kind {self.kind!r}')
        method, _, target = self.spec.strip().partition(' ')
        if not target:
            method, target = '*', method
        method = method.upper()
        if method not in _METHODS:
            raise ValueError(f'bad route spec {self.spec!r}: unknown method {method!r}')
        self._method = method
        self._target = target.strip()
        self._regex = re.compile(self._target) if self._target.startswith('/') else None
        if self.start < 1:
            raise ValueError('start counts matching requests from 1')

    def matches(self, method: str, path: str, route: str) -> bool:
        if self._method not in ('*', method):
            return False
        if self._regex is not None:
            return self._regex.search(path) is not None
        return bool(route) and fnmatch.fnmatchcase(route, self._target)

    @property
    def exhausted(self) -> bool:
        return self.times is not None and self.fired >= self.times


class FaultSet:
    """The rules in force, thread-safe. Random delays draw from ``rng``."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self._faults: list[Fault] = []
        self._lock = threading.Lock()
        self._rng = rng or random.Random(0)

    def add(self, fault: Fault) -> Fault:
        with self._lock:
            self._faults.append(fault)
        return fault

    def remove(self, fault: Fault) -> None:
        with self._lock:
            if fault in self._faults:
                self._faults.remove(fault)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._faults)

    def actions(self, method: str, service: str, path: str, route: str) -> list[Action]:
        """Count the request against every rule; the actions of those that fire."""
        fired: list[Action] = []
        with self._lock:
            for fault in self._faults:
                if not fault.matches(method, path, route):
                    continue
                fault.calls += 1
                if fault.calls < fault.start or fault.exhausted:
                    continue
                fault.fired += 1
                fired.append(self._action(fault))
        return fired

    def _action(self, fault: Fault) -> Action:
        delay = fault.delay
        if isinstance(delay, tuple):
            delay = self._rng.uniform(*delay)
        return Action(fault.kind, delay=float(delay) if fault.kind == 'delay' else 0.0,
                      seconds=fault.seconds, status=fault.status, body=fault.body,
                      headers=dict(fault.headers))

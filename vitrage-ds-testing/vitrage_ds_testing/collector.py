"""Test doubles for the collector: a scripted in-memory driver and a recording sink.

:class:`ScriptedDriver` is a real :class:`~vitrage_ds.driver.Driver` whose
``get_all()`` answers what the test scripted (a snapshot, a failure, or a
wait on a gate) and whose notifications carry entities in a plain format
(:func:`notification`). :class:`RecordingSink` keeps every batch delivered
to it and fails on command. Embedders use them to test how their service
consumes the collector's events without a cloud.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from oslo_config import cfg

from vitrage_ds.driver import Driver, Lookup, no_lookup
from vitrage_ds.errors import BackendError
from vitrage_ds.event import DELETE_ENTITY, Action, Event, Phase, Version
from vitrage_ds_testing.plugins import construct_plugin

__all__ = [
    'BrokenSink',
    'RecordingSink',
    'ScriptedDriver',
    'backend_down',
    'entity',
    'ids',
    'notification',
    'scripted_driver',
]

ENTITY_TYPE = 'scripted.thing'


def entity(entity_id: str, *, datasource: str = 'scripted', entity_type: str = ENTITY_TYPE,
           source: float = 0.0, observed: float = 0.0, phase: int = Phase.END,
           deleted: bool = False, action: Action = Action.SNAPSHOT,
           event_type: str | None = None, **fields: Any) -> Event:
    """An event about ``entity_id`` with ``fields`` (``id`` added) and a version."""
    return Event(datasource=datasource, entity_type=entity_type, entity_id=entity_id,
                 fields={'id': entity_id, **fields}, action=action,
                 event_type=DELETE_ENTITY if deleted else event_type,
                 version=Version(source, observed, phase))


def notification(entity_id: str, *, source: float = 0.0, phase: int = Phase.END,
                 deleted: bool = False, entity_type: str = ENTITY_TYPE,
                 **fields: Any) -> dict[str, Any]:
    """The payload :class:`ScriptedDriver` turns into one event."""
    return {'id': entity_id, 'type': entity_type, 'source': source, 'phase': int(phase),
            'deleted': deleted, 'fields': fields}


class ScriptedDriver(Driver):
    """A driver that answers what the test scripts.

    * :meth:`script` sets what each next ``get_all()`` does: an event list
      is returned (a copy), an exception instance is raised. The last item
      repeats.
    * :meth:`hold` makes ``get_all()`` wait until :meth:`release` (a slow
      or hanging backend).
    * Notifications ``scripted.*`` whose payload is :func:`notification`
      give one event; the driver's ``lookup`` calls are recorded.

    :ivar polls: how many times ``get_all()`` was called.
    """

    name = 'scripted'
    default_poll_interval = 60.0
    entity_types: ClassVar[Sequence[str]] = (ENTITY_TYPE,)
    event_types: ClassVar[Sequence[str]] = ('scripted.*',)
    exchanges: ClassVar[Sequence[str]] = ('scripted',)

    def __init__(self, context: Any) -> None:
        super().__init__(context)
        self._script: list[Sequence[Event] | BaseException] = [[]]
        self._gate = threading.Event()
        self._gate.set()
        self._lock = threading.Lock()
        self.polls = 0
        self.polling = threading.Event()
        self.lookups: list[tuple[str, str, Mapping[str, Any] | None]] = []
        self.closed = False

    def script(self, *steps: Sequence[Event] | BaseException) -> None:
        """What the next ``get_all()`` calls do, in order; the last repeats."""
        with self._lock:
            self._script = list(steps) or [[]]

    def hold(self) -> None:
        """Make ``get_all()`` block (after counting the call) until :meth:`release`."""
        self._gate.clear()

    def release(self) -> None:
        """Let blocked and future ``get_all()`` calls go on."""
        self._gate.set()

    def get_all(self) -> list[Event]:
        with self._lock:
            self.polls += 1
            step = self._script.pop(0) if len(self._script) > 1 else self._script[0]
        self.polling.set()
        self._gate.wait()
        if isinstance(step, BaseException):
            raise step
        return [e.replace(datasource=self.context.name) if isinstance(e, Event) else e
                for e in step]

    def notifications(self, event_type: str, payload: Any,
                      metadata: Mapping[str, Any],
                      lookup: Lookup = no_lookup) -> list[Event]:
        if not isinstance(payload, Mapping) or not isinstance(payload.get('id'), str):
            return []
        etype = str(payload.get('type') or ENTITY_TYPE)
        if lookup is not no_lookup:
            self.lookups.append((etype, payload['id'], lookup(etype, payload['id'])))
        fields = payload.get('fields') if isinstance(payload.get('fields'), Mapping) else {}
        return [entity(payload['id'], datasource=self.context.name, entity_type=etype,
                       source=float(payload.get('source') or 0.0),
                       phase=int(payload.get('phase', Phase.END)),
                       deleted=bool(payload.get('deleted')), action=Action.UPDATE,
                       event_type=event_type, **dict(fields or {}))]

    def close(self) -> None:
        self.closed = True
        self.release()


def scripted_driver(name: str = 'scripted', *, conf: cfg.ConfigOpts | None = None,
                    poll_interval: float | None = None,
                    snapshot: Sequence[Event] | None = None) -> ScriptedDriver:
    """A :class:`ScriptedDriver` named ``name``, constructed as the registry would.

    :param poll_interval: sets ``[driver.NAME] poll_interval``.
    :param snapshot: what ``get_all()`` returns until scripted otherwise.
    """
    options = {} if poll_interval is None else {'poll_interval': poll_interval}
    driver: ScriptedDriver = construct_plugin(ScriptedDriver, 'driver', name=name,
                                              conf=conf, options=options)
    if snapshot is not None:
        driver.script(snapshot)
    return driver


class BrokenSink(Exception):
    """What a :class:`RecordingSink` raises when told to fail."""


class RecordingSink:
    """A sink that keeps every batch, and fails the next deliveries on command.

    :ivar batches: every delivered batch, in order (failed ones excluded).
    :ivar failures: deliveries that failed on command.
    """

    def __init__(self) -> None:
        self.batches: list[list[Event]] = []
        self.failures = 0
        self.closed = False
        self._fail_next = 0
        self._cond = threading.Condition()

    @property
    def events(self) -> list[Event]:
        """Every delivered event, flattened, in order."""
        with self._cond:
            return [e for batch in self.batches for e in batch]

    def fail_next(self, count: int = 1) -> None:
        """Make the next ``count`` deliveries raise :class:`BrokenSink`."""
        with self._cond:
            self._fail_next = count

    def deliver(self, events: Sequence[Event]) -> None:
        with self._cond:
            if self._fail_next:
                self._fail_next -= 1
                self.failures += 1
                raise BrokenSink('the recording sink was told to fail')
            self.batches.append(list(events))
            self._cond.notify_all()

    def close(self) -> None:
        self.closed = True

    def wait_for(self, predicate: Callable[[list[Event]], bool],
                 timeout: float = 30.0) -> list[Event]:
        """Wait until ``predicate(events)`` holds; return the events.

        :raises AssertionError: it did not hold within ``timeout`` seconds
            (a test failure, not a timing assertion: the bound only stops a
            broken test from hanging).
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                events = [e for batch in self.batches for e in batch]
                if predicate(events):
                    return events
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f'sink did not see what was expected within {timeout} s; '
                        f'it has {len(events)} event(s): '
                        f'{[(e.entity_id, e.action.value, e.event_type) for e in events][:20]}')
                self._cond.wait(left)


def ids(events: Iterable[Event]) -> list[str]:
    """The entity ids of ``events``, in order (for compact assertions)."""
    return [e.entity_id for e in events]


def backend_down(message: str = 'the scripted backend is down') -> BackendError:
    """The error a scripted failing poll raises."""
    return BackendError(message)

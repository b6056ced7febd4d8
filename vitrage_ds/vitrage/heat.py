"""vitrage_ds's Heat driver in Vitrage's ``[heat.stack] driver`` slot.

``[heat.stack] driver = vitrage_ds.vitrage.heat.HeatStackDriver`` keeps
Vitrage's ``HeatStackTransformer``; this class polls and reads notifications
with :class:`vitrage_ds.drivers.heat.HeatStackDriver` and gives Vitrage the
dicts its transformer reads (see :mod:`vitrage_ds.vitrage._formats`):

* :meth:`get_all`: one dict per top-level stack, the raw keys of Heat's
  stack listing plus ``resources`` (its whole tree's servers, volumes,
  networks and ports); a stack being deleted comes with
  ``vitrage_event_type = delete_entity``. A failed or partial poll raises,
  so Vitrage's driver runner logs it and deletes nothing.
* :meth:`enrich_event`: the notification's own payload (``stack_identity``,
  ``state``...) plus ``resources``, or ``None`` for a notification about a
  nested stack (its resources are its top-level stack's) or one vitrage_ds
  drops (logged).

Inside Vitrage, ``[driver.heat.stack]`` defaults to ``show_nested = false``
and ``nested_depth = 10``, as Vitrage's own driver lists stacks: one
resources call per top-level stack returns its whole tree.
"""

from __future__ import annotations

import threading
from typing import Any

from oslo_config import cfg

from vitrage_ds.drivers.heat.driver import HeatStackDriver as _Driver
from vitrage_ds.drivers.heat.notifications import ACTIONS
from vitrage_ds.vitrage import _formats, _host

try:
    from vitrage.datasources.driver_base import DriverBase  # type: ignore[import-not-found]
except ImportError as _exc:
    raise _host.needs_vitrage(__name__, _exc) from _exc

__all__ = ['EVENT_TYPES', 'HeatStackDriver']

_DATASOURCE = 'heat.stack'
_DELETE_ENTITY = 'delete_entity'

#: The notifications Vitrage hands this driver (it matches event types
#: exactly): the end and the error of every action, and ``delete.start``
#: (the stack is gone as far as the graph is concerned). Other starts are
#: left out: their stack has no complete resources yet, and Vitrage drops
#: the links an update does not repeat.
EVENT_TYPES = (*(f'orchestration.stack.{action}.{phase}'
                 for action in ACTIONS for phase in ('end', 'error')),
               'orchestration.stack.delete.start')


class HeatStackDriver(DriverBase):
    """Heat stacks for Vitrage's graph, read by vitrage_ds (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._driver = _host.plugin(_Driver, 'driver', _DATASOURCE,
                                    {'show_nested': False, 'nested_depth': 10})
        self._tree = _formats.StackTree()
        self._lock = threading.Lock()

    @staticmethod
    def _datasources() -> list[str]:
        return list(cfg.CONF.datasources.types)

    def get_all(self, datasource_action: str) -> list[dict[str, Any]]:
        """Every top-level stack with its resources (raises when the poll fails)."""
        events = self._driver.get_all()
        with self._lock:
            self._tree.learn(events, complete=True)
            stacks = _formats.heat_stacks(events, self._tree, self._datasources())
        entities = []
        for stack, deleted in stacks:
            if deleted:
                stack['vitrage_event_type'] = _DELETE_ENTITY
            entities.append(stack)
        return list(self.make_pickleable(entities, _DATASOURCE, datasource_action,
                                         *self.properties_to_filter_out()))

    @staticmethod
    def get_event_types() -> list[str]:
        return list(EVENT_TYPES)

    def enrich_event(self, event: Any, event_type: str) -> dict[str, Any] | None:
        """The notification's payload with ``resources``, or ``None`` (see the module)."""
        events = self._driver.notifications(event_type, event, {})
        stack_event = next((e for e in events if e.entity_type == 'heat.stack'), None)
        if stack_event is None:
            return None
        with self._lock:
            self._tree.learn(events)
            if self._tree.nested(stack_event.entity_id):
                return None
            stacks = _formats.heat_stacks(events, self._tree, self._datasources())
        resources = stacks[0][0]['resources'] if stacks else []
        entity = dict(event)
        entity['resources'] = resources
        entity['vitrage_event_type'] = _DELETE_ENTITY if stack_event.deleted else event_type
        return dict(self.make_pickleable([entity], _DATASOURCE, 'update',
                                         *self.properties_to_filter_out())[0])

    @staticmethod
    def should_delete_outdated_entities() -> bool:
        """A stack a complete poll no longer lists is gone."""
        return True

"""vitrage_ds's Aodh driver in Vitrage's ``[aodh] driver`` slot.

``[aodh] driver = vitrage_ds.vitrage.aodh.AodhDriver`` keeps Vitrage's
``AodhTransformer``; this class polls and reads notifications with
:class:`vitrage_ds.drivers.aodh.AodhDriver` and gives Vitrage the alarm dicts
its own Aodh driver builds (see :func:`vitrage_ds.vitrage._formats.aodh_alarm`),
with Vitrage's own choice of what to send, since its transformer turns
every alarm it gets into a vertex:

* :meth:`get_all`: the alarms in state ``alarm``, the ones that were and no
  longer are (the transformer deletes their vertex) and, as deletes, the
  ones that were and are gone. A failed or partial poll raises, so Vitrage's
  driver runner logs it and deletes nothing.
* :meth:`get_changes` (``update_method = pull``): the alarms whose state
  changed since the last poll, new alarms in state ``alarm``, and deletes.
* :meth:`enrich_event`: the alarm after the notification when it is or was
  in state ``alarm``; ``None`` otherwise, and for a deletion of an alarm
  this driver never sent (Vitrage's graph has no vertex for it).

It remembers the last state of every alarm (as Vitrage's own driver does)
and completes partial notifications from it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from vitrage_ds.drivers.aodh.driver import AodhDriver as _Driver
from vitrage_ds.drivers.aodh.fields import ENTITY_TYPE
from vitrage_ds.event import Event
from vitrage_ds.vitrage import _formats, _host

try:
    from vitrage.datasources.driver_base import DriverBase  # type: ignore[import-not-found]
except ImportError as _exc:
    raise _host.needs_vitrage(__name__, _exc) from _exc

__all__ = ['AodhDriver']

_DATASOURCE = 'aodh'
_DELETE_ENTITY = 'delete_entity'
_ALARM = 'alarm'


class AodhDriver(DriverBase):
    """Aodh alarms for Vitrage's graph, read by vitrage_ds (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._driver = _host.plugin(_Driver, 'driver', _DATASOURCE)
        self._lock = threading.Lock()
        #: alarm id -> the fields last seen (every alarm Aodh has).
        self._known: dict[str, Mapping[str, Any]] = {}
        #: ids of the alarms last sent to Vitrage in state alarm.
        self._raised: set[str] = set()

    def get_all(self, datasource_action: str) -> list[dict[str, Any]]:
        """Alarms raised, alarms no longer raised, and raised alarms that are gone."""
        return self._poll(datasource_action, changes_only=False)

    def get_changes(self, datasource_action: str) -> list[dict[str, Any]]:
        """What changed since the last poll (for ``update_method = pull``)."""
        return self._poll(datasource_action, changes_only=True)

    def _poll(self, action: str, *, changes_only: bool) -> list[dict[str, Any]]:
        events = self._driver.get_all()  # raises when Aodh could not be read whole
        with self._lock:
            entities = list(self._snapshot(events, changes_only))
        return list(self.make_pickleable(entities, _DATASOURCE, action))

    def _snapshot(self, events: Iterable[Event],
                  changes_only: bool) -> Iterable[dict[str, Any]]:
        known, raised = self._known, self._raised
        self._known, self._raised = {}, set()
        for event in events:
            fields = event.fields
            self._known[event.entity_id] = fields
            now_raised = fields.get('state') == _ALARM
            was_raised = event.entity_id in raised
            if now_raised:
                self._raised.add(event.entity_id)
            before = known.get(event.entity_id)
            changed = before is None or before.get('state') != fields.get('state')
            if (now_raised or was_raised) and (changed or not changes_only):
                yield _formats.aodh_alarm(fields)
        for alarm_id in raised - set(self._known):
            gone = _formats.aodh_alarm(known[alarm_id])
            gone['vitrage_event_type'] = _DELETE_ENTITY
            yield gone

    @staticmethod
    def get_event_types() -> list[str]:
        return list(_Driver.event_types)

    def enrich_event(self, event: Any, event_type: str) -> dict[str, Any] | None:
        """The alarm after this notification, when Vitrage's graph cares (see the module)."""
        events = self._driver.handle_notification(event_type, event, {}, self._lookup)
        if not events:
            return None  # dropped by vitrage_ds, which logged why
        (changed,) = events
        with self._lock:
            was_raised = changed.entity_id in self._raised
            if changed.deleted:
                self._known.pop(changed.entity_id, None)
                self._raised.discard(changed.entity_id)
            else:
                self._known[changed.entity_id] = changed.fields
                if changed.fields.get('state') == _ALARM:
                    self._raised.add(changed.entity_id)
                else:
                    self._raised.discard(changed.entity_id)
        now_raised = not changed.deleted and changed.fields.get('state') == _ALARM
        if not (now_raised or was_raised):
            return None
        alarm = _formats.aodh_alarm(changed.fields)
        alarm['vitrage_event_type'] = _DELETE_ENTITY if changed.deleted else event_type
        return dict(self.make_pickleable([alarm], _DATASOURCE, 'update')[0])

    def _lookup(self, entity_type: str, entity_id: str) -> Mapping[str, Any] | None:
        if entity_type != ENTITY_TYPE:
            return None
        with self._lock:
            return self._known.get(entity_id)

    @staticmethod
    def should_delete_outdated_entities() -> bool:
        """An alarm a complete poll no longer sends is no longer raised."""
        return True

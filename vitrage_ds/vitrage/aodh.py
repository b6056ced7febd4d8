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

It remembers the last state of every alarm (as Vitrage's own driver does,
see :class:`vitrage_ds.vitrage._formats.AlarmStates`) and completes partial
notifications from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vitrage_ds.drivers.aodh.driver import AodhDriver as _Driver
from vitrage_ds.drivers.aodh.fields import ENTITY_TYPE
from vitrage_ds.vitrage import _formats, _host

try:
    from vitrage.datasources.driver_base import DriverBase  # type: ignore[import-not-found]
except ImportError as _exc:
    raise _host.needs_vitrage(__name__, _exc) from _exc

__all__ = ['AodhDriver']

_DATASOURCE = 'aodh'


class AodhDriver(DriverBase):
    """Aodh alarms for Vitrage's graph, read by vitrage_ds (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self._driver = _host.plugin(_Driver, 'driver', _DATASOURCE)
        self._states = _formats.AlarmStates()

    def get_all(self, datasource_action: str) -> list[dict[str, Any]]:
        """Alarms raised, alarms no longer raised, and raised alarms that are gone."""
        alarms = self._states.polled(self._driver.get_all())  # raises on a failed poll
        return list(self.make_pickleable(alarms, _DATASOURCE, datasource_action))

    def get_changes(self, datasource_action: str) -> list[dict[str, Any]]:
        """What changed since the last poll (for ``update_method = pull``)."""
        alarms = self._states.polled(self._driver.get_all(), changes_only=True)
        return list(self.make_pickleable(alarms, _DATASOURCE, datasource_action))

    @staticmethod
    def get_event_types() -> list[str]:
        return list(_Driver.event_types)

    def enrich_event(self, event: Any, event_type: str) -> dict[str, Any] | None:
        """The alarm after this notification, when Vitrage's graph cares (see the module)."""
        events = self._driver.notifications(event_type, event, {}, self._lookup)
        if not events:
            return None  # dropped by vitrage_ds, which logged why
        alarm = self._states.notified(events[0], event_type)
        if alarm is None:
            return None
        return dict(self.make_pickleable([alarm], _DATASOURCE, 'update')[0])

    def _lookup(self, entity_type: str, entity_id: str) -> Mapping[str, Any] | None:
        return self._states.lookup(entity_id) if entity_type == ENTITY_TYPE else None

    @staticmethod
    def should_delete_outdated_entities() -> bool:
        """An alarm a complete poll no longer sends is no longer raised."""
        return True

"""The Aodh datasource driver (entry point ``aodh`` in ``vitrage_ds.drivers``).

Every Aodh alarm, of every project and type, becomes an event of entity
type :data:`ENTITY_TYPE` keyed by its ``alarm_id``; see
``doc/source/drivers/aodh.rst`` for the fields per type and how an alarm
becomes a graph vertex.
"""

from vitrage_ds.drivers.aodh.alarm_types import TYPES, AlarmType
from vitrage_ds.drivers.aodh.driver import AodhDriver
from vitrage_ds.drivers.aodh.fields import (DERIVED, ENTITY_TYPE, GENERIC,
                                            SEVERITIES, STATES, SYNC_TYPE,
                                            alarm_fields, alarm_version)

__all__ = [
    'DERIVED',
    'ENTITY_TYPE',
    'GENERIC',
    'SEVERITIES',
    'STATES',
    'SYNC_TYPE',
    'TYPES',
    'AlarmType',
    'AodhDriver',
    'alarm_fields',
    'alarm_version',
]

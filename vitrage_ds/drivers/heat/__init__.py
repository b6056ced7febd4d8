"""The Heat datasource driver (entry point ``heat.stack``).

See :mod:`vitrage_ds.drivers.heat.driver` for the API calls it makes and
:mod:`vitrage_ds.drivers.heat.fields` for how Heat's bodies become fields.
"""

from vitrage_ds.drivers.heat.driver import (ALL_PROJECTS, GLOBAL_INDEX_POLICY,
                                            PROJECT, HeatStackDriver)
from vitrage_ds.drivers.heat.events import RESOURCE, STACK, resource_id
from vitrage_ds.drivers.heat.fields import RESOURCE_FIELDS, STACK_FIELDS

__all__ = [
    'ALL_PROJECTS',
    'GLOBAL_INDEX_POLICY',
    'HeatStackDriver',
    'PROJECT',
    'RESOURCE',
    'RESOURCE_FIELDS',
    'STACK',
    'STACK_FIELDS',
    'resource_id',
]

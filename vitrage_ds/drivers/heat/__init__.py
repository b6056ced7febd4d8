"""The Heat datasource driver (entry point ``heat.stack``).

See :mod:`vitrage_ds.drivers.heat.driver` for the API calls it makes and
:mod:`vitrage_ds.drivers.heat.fields` for how Heat's bodies become fields;
:mod:`~vitrage_ds.drivers.heat.tables` and :mod:`~vitrage_ds.drivers.heat.search`
read Heat as relational tables and search its stacks. All three call Heat
through :mod:`vitrage_ds.drivers.heat.api` (paths, paging, the policy
fallback).
"""

from vitrage_ds.drivers.heat.driver import (ALL_PROJECTS, GLOBAL_INDEX_POLICY,
                                            PROJECT, HeatStackDriver)
from vitrage_ds.drivers.heat.events import RESOURCE, STACK, resource_id
from vitrage_ds.drivers.heat.fields import RESOURCE_FIELDS, STACK_FIELDS
from vitrage_ds.drivers.heat.search import FoundStack, StackQuery, StackSearch
from vitrage_ds.drivers.heat.tables import TABLES, HeatTables, TableData

__all__ = [
    'ALL_PROJECTS',
    'FoundStack',
    'GLOBAL_INDEX_POLICY',
    'HeatTables',
    'HeatStackDriver',
    'PROJECT',
    'RESOURCE',
    'RESOURCE_FIELDS',
    'STACK',
    'STACK_FIELDS',
    'StackQuery',
    'StackSearch',
    'TABLES',
    'TableData',
    'resource_id',
]

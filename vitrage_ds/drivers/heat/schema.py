"""The declarations of Heat's tables: the API calls, the tables, their columns.

Every table is declared, not coded: a :class:`Table` names the API
:class:`Call` that feeds it, its columns and where each value comes from
(a :data:`~vitrage_ds.drivers.heat.sources.Source`), the table it belongs to
and the columns that point there. A call names its path (a template of
:mod:`~vitrage_ds.drivers.heat.api`, which also decides how it pages), the
call whose items it is made for, and the identifiers its items give their
rows and children. The engine that plans and makes the calls is
:class:`~vitrage_ds.drivers.heat.tables.HeatTables`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from vitrage_ds.drivers.heat import api
from vitrage_ds.drivers.heat.events import DELETED_STATUSES
from vitrage_ds.drivers.heat.sources import (Mask, Source, element, entry_key, field,
                                             mask_attribute, mask_entry, mask_output,
                                             mask_properties, mask_within, nested_stack_id, ref,
                                             stack_project, template_description,
                                             template_version)

__all__ = ['CALLS', 'Call', 'Column', 'TABLES', 'Table']


@dataclasses.dataclass(frozen=True)
class Call:
    """One kind of API call: made once, or once per item of another call.

    :ivar name: how tables and other calls refer to it.
    :ivar path: a path template of :mod:`~vitrage_ds.drivers.heat.api`
        (which decides how it pages); ``{ref}`` placeholders are filled from
        the refs of the item it is made for. :data:`~vitrage_ds.drivers.heat.api.STACKS`
        is Heat's stack listing: ``global_tenant``, ``show_nested``,
        ``tenant`` and ``limit`` follow the engine's options, and a 403 to
        ``global_tenant`` falls back as
        :meth:`~vitrage_ds.drivers.heat.api.HeatAPI.list_stacks` says.
    :ivar key: the body key holding the answer; ``None``: the body itself.
    :ivar over: the call whose items this one is made for, one call each.
    :ivar refs: identifiers each answered item gives its rows and the calls
        made for it (inherited by their children); an item without one is a
        malformed answer.
    :ivar optional_refs: like ``refs``, but ``None`` when absent.
    :ivar params: query parameters.
    :ivar single: the answer is one object, not a list of items.
    :ivar children_if: items failing this get no calls of their own.
    :ivar covers: a call whose items this call's items hold entirely; when
        both are needed only this one is made.
    :ivar project_key: the item key naming its project: when the engine is
        scoped to a project, other projects' items are dropped here (for
        listings Heat cannot filter by project).
    """

    name: str
    path: str
    key: str | None
    over: str | None = None
    refs: Mapping[str, Source] = dataclasses.field(default_factory=dict)
    optional_refs: Mapping[str, Source] = dataclasses.field(default_factory=dict)
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)
    single: bool = False
    children_if: Callable[[Any], bool] | None = None
    covers: str | None = None
    project_key: str | None = None


@dataclasses.dataclass(frozen=True)
class Column:
    """One column: its name, where its value comes from, what it means.

    :ivar mask: how secrets in its values are masked (see
        :mod:`~vitrage_ds.drivers.heat.masking`); ``None``: never a secret.
    """

    name: str
    source: Source
    doc: str = ''
    mask: Mask | None = None


@dataclasses.dataclass(frozen=True)
class Table:
    """One table.

    :ivar call: the call whose items feed it (one row each, or one per
        element with ``explode``).
    :ivar key: the columns that identify a row.
    :ivar parent: the table its rows belong to; ``parent_key`` are its
        columns that hold the parent row's key, in the parent key's order.
    :ivar explode: a list or dict in each item: one row per element or
        entry (an absent or ``null`` one gives no rows).
    """

    name: str
    call: str
    columns: tuple[Column, ...]
    doc: str
    key: tuple[str, ...] = ()
    parent: str | None = None
    parent_key: tuple[str, ...] = ()
    explode: Source | None = None

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _alive(stack: Any) -> bool:
    return isinstance(stack, Mapping) and stack.get('stack_status') not in DELETED_STATUSES


#: Every call a table may need, by name.
CALLS: dict[str, Call] = {c.name: c for c in (
    Call('stacks', api.STACKS, 'stacks',
         refs={'stack_id': field('id'), 'stack_name': field('stack_name')},
         children_if=_alive),
    Call('stack', api.STACK, 'stack', over='stacks', single=True),
    Call('resources', api.RESOURCES, 'resources', over='stacks',
         refs={'resource_name': field('resource_name')}),
    Call('resource_details', api.RESOURCES, 'resources', over='stacks',
         params={'with_detail': 'true'}, refs={'resource_name': field('resource_name')},
         covers='resources'),
    Call('resource_metadata', api.RESOURCE_METADATA, 'metadata', over='resources',
         single=True),
    # An event without an id or resource_name is still a row of ``events``;
    # only its detail call, which needs both, fails.
    Call('events', api.EVENTS, 'events', over='stacks',
         optional_refs={'event_id': field('id'), 'resource_name': field('resource_name')}),
    Call('event', api.EVENT, 'event', over='events', single=True),
    Call('snapshots', api.SNAPSHOTS, 'snapshots', over='stacks'),
    Call('template', api.TEMPLATE, None, over='stacks', single=True),
    Call('resource_types', api.RESOURCE_TYPES, 'resource_types'),
    Call('software_config_list', api.SOFTWARE_CONFIGS, 'software_configs',
         refs={'config_id': field('id')}, optional_refs={'project': field('project')},
         project_key='project'),
    Call('software_config', api.SOFTWARE_CONFIG, 'software_config',
         over='software_config_list', single=True),
    Call('software_deployments', api.SOFTWARE_DEPLOYMENTS, 'software_deployments'),
)}

_STACK_ID = Column('stack_id', ref('stack_id'), 'The stack (stacks.id).')
_RESOURCE = Column('resource_name', ref('resource_name'),
                   'The resource\'s logical name in its stack.')
_KEY = Column('key', entry_key(), 'The entry\'s key.')
_SECRET_VALUE = Column('value', element(), 'The entry\'s value (secrets masked).',
                       mask=mask_entry)

#: Every table, in documentation order.
TABLES: dict[str, Table] = {t.name: t for t in (
    Table('stacks', 'stacks', (
        Column('id', field('id'), 'The stack id.'),
        Column('name', field('stack_name')),
        Column('project', stack_project,
               'The owning project (the listing\'s project, else the one in its link).'),
        Column('status', field('stack_status'), 'ACTION_STATUS, e.g. CREATE_COMPLETE.'),
        Column('status_reason', field('stack_status_reason')),
        Column('creation_time', field('creation_time')),
        Column('updated_time', field('updated_time')),
        Column('deletion_time', field('deletion_time')),
        Column('owner', field('stack_owner'), 'The creator\'s user name.'),
        Column('parent', field('parent'), 'The parent stack\'s id for a nested stack.'),
        Column('stack_user_project_id', field('stack_user_project_id'),
               'Heat\'s internal stack-domain project (not the owner).'),
    ), 'Every stack the credentials may list, nested stacks included.', key=('id',)),
    Table('stack_tags', 'stacks', (
        Column('stack_id', field('id'), 'The stack (stacks.id).'),
        Column('tag', element()),
    ), 'One row per tag of a stack.', key=('stack_id', 'tag'), parent='stacks',
        parent_key=('stack_id',), explode=field('tags')),
    Table('stack_links', 'stacks', (
        Column('stack_id', field('id'), 'The stack (stacks.id).'),
        Column('rel', element('rel')),
        Column('href', element('href')),
    ), 'The links of a stack\'s listing item.', key=('stack_id', 'rel'), parent='stacks',
        parent_key=('stack_id',), explode=field('links')),
    Table('resources', 'resources', (
        _STACK_ID,
        Column('resource_name', field('resource_name'), 'The logical name in its stack.'),
        Column('physical_resource_id', field('physical_resource_id'),
               'What the resource created (a server id...); empty when none.'),
        Column('resource_type', field('resource_type')),
        Column('status', field('resource_status'), 'ACTION_STATUS.'),
        Column('status_reason', field('resource_status_reason')),
        Column('creation_time', field('creation_time')),
        Column('updated_time', field('updated_time')),
        Column('nested_stack_id', nested_stack_id,
               'The nested stack it owns (a template resource, a group...).'),
    ), 'The resources of every stack.', key=('stack_id', 'resource_name'), parent='stacks',
        parent_key=('stack_id',)),
    Table('resource_links', 'resources', (
        _STACK_ID, _RESOURCE,
        Column('rel', element('rel'), 'self, stack or nested.'),
        Column('href', element('href')),
    ), 'The links of each resource.', key=('stack_id', 'resource_name', 'rel'),
        parent='resources', parent_key=('stack_id', 'resource_name'),
        explode=field('links')),
    Table('resource_data', 'resource_details', (
        _STACK_ID, _RESOURCE, _KEY,
        Column('value', element(), 'The attribute\'s value (secrets masked: a random '
               'string\'s value, a key pair\'s private_key...).', mask=mask_attribute),
    ), 'The attributes Heat resolves for each resource (its show data), one row '
       'per attribute.', key=('stack_id', 'resource_name', 'key'), parent='resources',
        parent_key=('stack_id', 'resource_name'), explode=field('attributes')),
    Table('resource_metadata', 'resource_metadata', (
        _STACK_ID, _RESOURCE, _KEY, _SECRET_VALUE,
    ), 'Each resource\'s metadata, one row per top-level key.',
        key=('stack_id', 'resource_name', 'key'), parent='resources',
        parent_key=('stack_id', 'resource_name'), explode=field()),
    Table('resource_types', 'resource_types', (
        Column('resource_type', field(), 'A type templates may use.'),
    ), 'The resource types Heat offers these credentials.', key=('resource_type',)),
    Table('events', 'events', (
        Column('id', field('id'), 'The event id.'),
        _STACK_ID,
        Column('resource_name', field('resource_name'),
               'The resource, or the stack\'s own name for a stack event.'),
        Column('physical_resource_id', field('physical_resource_id')),
        Column('status', field('resource_status'), 'ACTION_STATUS.'),
        Column('status_reason', field('resource_status_reason')),
        Column('event_time', field('event_time')),
    ), 'The events of every stack (its own and its resources\'), newest first.',
        key=('id',), parent='stacks', parent_key=('stack_id',)),
    Table('event_details', 'event', (
        Column('id', field('id'), 'The event (events.id).'),
        _STACK_ID,
        Column('resource_name', field('resource_name'),
               'The resource, or the stack\'s own name for a stack event.'),
        Column('resource_type', field('resource_type'),
               'OS::Heat::Stack for a stack event.'),
        Column('resource_properties', field('resource_properties'),
               'The resource\'s properties when the event happened, resolved (secrets '
               'masked); {} for a stack event.', mask=mask_properties),
    ), 'Each event in detail: what the resource was, and its properties then.',
        key=('id',), parent='events', parent_key=('id',)),
    Table('outputs', 'stack', (
        _STACK_ID,
        Column('output_key', element('output_key')),
        Column('output_value', element('output_value'),
               'The resolved value (masked when its key names a secret).',
               mask=mask_output),
        Column('description', element('description')),
        Column('output_error', element('output_error'), 'Why it did not resolve.'),
    ), 'The outputs of every stack, resolved.', key=('stack_id', 'output_key'),
        parent='stacks', parent_key=('stack_id',), explode=field('outputs')),
    Table('snapshots', 'snapshots', (
        Column('id', field('id'), 'The snapshot id.'),
        _STACK_ID,
        Column('name', field('name')),
        Column('action', field('action')),
        Column('status', field('status')),
        Column('status_reason', field('status_reason')),
        Column('creation_time', field('creation_time')),
    ), 'The snapshots of every stack (without their data).', key=('id',),
        parent='stacks', parent_key=('stack_id',)),
    Table('templates', 'template', (
        _STACK_ID,
        Column('version', template_version,
               'heat_template_version (or AWSTemplateFormatVersion).'),
        Column('description', template_description),
        Column('template', field(), 'The whole template.'),
    ), 'The template of every stack (a nested stack\'s own template).',
        key=('stack_id',), parent='stacks', parent_key=('stack_id',)),
    Table('software_configs', 'software_config', (
        Column('id', field('id'), 'The config id.'),
        Column('name', field('name')),
        Column('group', field('group'), 'The tool that applies it (script, puppet...).'),
        Column('creation_time', field('creation_time')),
        Column('project', ref('project'), 'Its project (when the credentials are admin).'),
        Column('config', field('config')),
        Column('inputs', field('inputs'), 'Input definitions and, in a deployment\'s '
               'derived config, values (secret ones masked).', mask=mask_within),
        Column('outputs', field('outputs')),
        Column('options', field('options'), 'The tool\'s options (secrets masked).',
               mask=mask_within),
    ), 'Every software config, in detail.', key=('id',)),
    Table('software_deployments', 'software_deployments', (
        Column('id', field('id'), 'The deployment id.'),
        Column('config_id', field('config_id'), 'The config (software_configs.id).'),
        Column('server_id', field('server_id'), 'The server it applies to.'),
        Column('action', field('action')),
        Column('status', field('status')),
        Column('status_reason', field('status_reason')),
        Column('creation_time', field('creation_time')),
        Column('updated_time', field('updated_time')),
    ), 'Every software deployment.', key=('id',)),
    Table('software_deployment_outputs', 'software_deployments', (
        Column('deployment_id', field('id'), 'The deployment (software_deployments.id).'),
        _KEY, _SECRET_VALUE,
    ), 'The output values a deployment signalled (deploy_stdout, deploy_status_code, '
       'the config\'s outputs).', key=('deployment_id', 'key'),
        parent='software_deployments', parent_key=('deployment_id',),
        explode=field('output_values')),
    Table('software_deployment_inputs', 'software_deployments', (
        Column('deployment_id', field('id'), 'The deployment (software_deployments.id).'),
        _KEY, _SECRET_VALUE,
    ), 'The input values of each deployment.', key=('deployment_id', 'key'),
        parent='software_deployments', parent_key=('deployment_id',),
        explode=field('input_values')),
)}

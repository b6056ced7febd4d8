"""Heat's API read into relational tables, for policy engines.

Every table is declared, not coded: a :class:`Table` names the API
:class:`Call` that feeds it, its columns and where each value comes from
(a :data:`Source`), the table it belongs to and the columns that point
there. One small engine, :class:`HeatTables`, plans the calls the asked-for
tables need and nothing else, runs them level by level (one
:meth:`~vitrage_ds.http.client.Client.fan_out` per level, so at most the
client's ``max_concurrency`` calls are ever in flight), and turns the
answers into rows::

    tables = HeatTables(client).fetch(['stacks', 'resources'])
    tables['resources'].columns   # ('stack_id', 'resource_name', ...)
    tables['resources'].rows      # [('0c1f...', 'server', ...), ...]

The calls, on the orchestration endpoint ``.../v1/{project_id}`` (see
:data:`CALLS`; ``{name}/{id}`` is the stack's):

========================  ==================================================  ==========
call                      request                                             made
========================  ==================================================  ==========
``stacks``                ``GET stacks?show_nested=true&limit=N`` (then the   once
                          ``rel=next`` links; ``global_tenant=true`` first,
                          the project's listing after a 403)
``stack``                 ``GET stacks/{name}/{id}``                          per stack
``resources``             ``GET stacks/{name}/{id}/resources``                per stack
``resource_details``      ``... /resources?with_detail=true``                 per stack
``resource_metadata``     ``... /resources/{resource}/metadata``              per resource
``events``                ``GET stacks/{name}/{id}/events?limit=N`` (then     per stack
                          ``marker``)
``snapshots``             ``GET stacks/{name}/{id}/snapshots``                per stack
``template``              ``GET stacks/{name}/{id}/template``                 per stack
``resource_types``        ``GET resource_types``                              once
``software_config_list``  ``GET software_configs?limit=N`` (then ``marker``)  once
``software_config``       ``GET software_configs/{config_id}``                per config
``software_deployments``  ``GET software_deployments``                        once
========================  ==================================================  ==========

Per-stack calls are made for every listed stack except those being or
having been deleted (``DELETE_IN_PROGRESS``/``DELETE_COMPLETE``): such a
stack is a row of ``stacks`` without children. ``resource_details``
answers everything ``resources`` does, so when both are needed only it is
made.

Values are atoms: strings, numbers, booleans or ``None``; a list or an
object from Heat is a JSON text (keys sorted). Rows keep Heat's order:
the listing's, and within it each parent's children together, in parent
order.

Secrets: values Heat resolves or stores that hold secrets (a random
string's ``value``, a key pair's ``private_key``, a ``deploy_password``,
anything under a key named like ``password`` or ``token``) are masked as
``******`` in the columns that declare a :attr:`Column.mask` (resource
data and metadata, outputs, software config inputs, deployment values; see
:mod:`~vitrage_ds.drivers.heat.masking`), unless the engine is made with
``reveal_secrets=True``. Templates and software config bodies are as Heat
stores them.

Failure: any failed call (after the client's retries), a page loop or a
body of the wrong shape raises :class:`~vitrage_ds.errors.BackendError`
naming the call and the stack; no partial tables are ever returned.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from vitrage_ds import config
from vitrage_ds.drivers.heat import links, masking
from vitrage_ds.drivers.heat.driver import GLOBAL_INDEX_POLICY, HeatStackDriver
from vitrage_ds.drivers.heat.events import DELETED_STATUSES
from vitrage_ds.errors import APIError, BackendError, MalformedResponse
from vitrage_ds.plugin import PluginContext

if TYPE_CHECKING:
    from oslo_config import cfg

    from vitrage_ds.http.client import Client
    from vitrage_ds.plugin import ClientFactory

__all__ = [
    'CALLS',
    'Call',
    'Column',
    'HeatTables',
    'Mask',
    'Scope',
    'Source',
    'TABLES',
    'Table',
    'TableData',
    'UnknownTable',
    'driver_client',
    'element',
    'entry_key',
    'field',
    'list_stacks',
    'origin',
    'ref',
    'select',
]

LOG = logging.getLogger(__name__)


# -- where values come from ----------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Scope:
    """What one row is made from.

    :ivar item: the API item (a stack of the listing, a resource, an event).
    :ivar refs: the identifiers the item and its parents gave (``stack_id``,
        ``stack_name``, ``resource_name``, ``config_id``...).
    :ivar key: in an exploded table, the key of the dict entry.
    :ivar element: in an exploded table, the list element or dict value.
    """

    item: Any
    refs: Mapping[str, Any]
    key: Any = None
    element: Any = None


#: Computes one value from a :class:`Scope`; ``None`` when absent.
Source = Callable[[Scope], Any]


def _dig(value: Any, path: Sequence[str]) -> Any:
    for step in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


class _Pick:
    """A :data:`Source` reading a path in the item or the exploded element,
    or a ref, or the entry key; ``str()`` says which (for the schema)."""

    def __init__(self, part: str, path: tuple[str, ...], text: str) -> None:
        self.part, self.path, self.text = part, path, text

    def __call__(self, scope: Scope) -> Any:
        if self.part == 'ref':
            return scope.refs.get(self.path[0])
        if self.part == 'key':
            return scope.key
        return _dig(scope.item if self.part == 'item' else scope.element, self.path)

    def __str__(self) -> str:
        return self.text


def field(*path: str) -> Source:
    """The item's value at ``path`` (nested keys); no path: the item itself."""
    return _Pick('item', path, '.'.join(path) or 'the item')


def ref(name: str) -> Source:
    """An identifier given by the item or a parent (see :attr:`Call.refs`)."""
    return _Pick('ref', (name,), f'{name} (from the listing above)')


def element(*path: str) -> Source:
    """The exploded element's value at ``path``; no path: the element itself."""
    return _Pick('element', path, f'each element\'s {".".join(path)}' if path
                 else 'each element')


def entry_key() -> Source:
    """The key of the exploded dict entry."""
    return _Pick('key', (), 'each entry\'s key')


def origin(source: Source) -> str:
    """Where ``source`` takes its value, in words."""
    if isinstance(source, _Pick):
        return str(source)
    text = source.__doc__ or getattr(source, '__name__', None) or 'computed'
    return str(text).strip()


def _nested_stack_id(scope: Scope) -> str | None:
    """the id in the resource's rel=nested link"""
    nested = links.nested_stack(scope.item) if isinstance(scope.item, Mapping) else None
    return nested.id if nested else None


def _stack_project(scope: Scope) -> str | None:
    """project (listed to admins), else the project in the self link"""
    item = scope.item
    project = item.get('project')
    return project if isinstance(project, str) and project else links.project(item)


def _template_version(scope: Scope) -> Any:
    """heat_template_version, or AWSTemplateFormatVersion"""
    return _dig(scope.item, ['heat_template_version']) or _dig(
        scope.item, ['AWSTemplateFormatVersion'])


def _template_description(scope: Scope) -> Any:
    """description, or Description"""
    return _dig(scope.item, ['description']) or _dig(scope.item, ['Description'])


def _mask_entry(scope: Scope, value: Any) -> Any:
    """secrets by the entry's key and within the value"""
    return masking.mask(value, scope.key)


def _mask_attribute(scope: Scope, value: Any) -> Any:
    """the resource type's secret attributes, then as any entry"""
    return masking.mask_attribute(_dig(scope.item, ['resource_type']), scope.key, value)


def _mask_output(scope: Scope, value: Any) -> Any:
    """secrets by the output key and within the value"""
    return masking.mask(value, _dig(scope.element, ['output_key']))


def _mask_within(scope: Scope, value: Any) -> Any:
    """secrets within the value"""
    return masking.mask(value)


# -- declarations --------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Call:
    """One kind of API call: made once, or once per item of another call.

    :ivar name: how tables and other calls refer to it.
    :ivar path: below the endpoint; ``{ref}`` placeholders are filled from
        the refs of the item it is made for (URL-quoted).
    :ivar key: the body key holding the answer; ``None``: the body itself.
    :ivar over: the call whose items this one is made for, one call each.
    :ivar refs: identifiers each answered item gives its rows and the calls
        made for it (inherited by their children); an item without one is a
        malformed answer.
    :ivar optional_refs: like ``refs``, but ``None`` when absent.
    :ivar paging: ``links`` (``rel=next``), ``marker`` (``limit``/``marker``
        until a short page) or ``none``.
    :ivar params: query parameters.
    :ivar single: the answer is one object, not a list of items.
    :ivar stack_listing: this is Heat's stack listing: ``global_tenant`` and
        ``show_nested`` follow the engine's options (see :func:`list_stacks`).
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
    paging: str = 'none'
    params: Mapping[str, str] = dataclasses.field(default_factory=dict)
    single: bool = False
    stack_listing: bool = False
    children_if: Callable[[Any], bool] | None = None
    covers: str | None = None
    project_key: str | None = None


#: Masks the secrets in a column's value, given the row's :class:`Scope`.
Mask = Callable[[Scope, Any], Any]


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


_STACK_PATH = 'stacks/{stack_name}/{stack_id}'

#: Every call a table may need, by name.
CALLS: dict[str, Call] = {c.name: c for c in (
    Call('stacks', 'stacks', 'stacks', paging='links', stack_listing=True,
         refs={'stack_id': field('id'), 'stack_name': field('stack_name')},
         children_if=_alive),
    Call('stack', _STACK_PATH, 'stack', over='stacks', single=True),
    Call('resources', f'{_STACK_PATH}/resources', 'resources', over='stacks',
         refs={'resource_name': field('resource_name')}),
    Call('resource_details', f'{_STACK_PATH}/resources', 'resources', over='stacks',
         params={'with_detail': 'true'}, refs={'resource_name': field('resource_name')},
         covers='resources'),
    Call('resource_metadata', f'{_STACK_PATH}/resources/{{resource_name}}/metadata',
         'metadata', over='resources', single=True),
    Call('events', f'{_STACK_PATH}/events', 'events', over='stacks', paging='marker'),
    Call('snapshots', f'{_STACK_PATH}/snapshots', 'snapshots', over='stacks'),
    Call('template', f'{_STACK_PATH}/template', None, over='stacks', single=True),
    Call('resource_types', 'resource_types', 'resource_types'),
    Call('software_config_list', 'software_configs', 'software_configs', paging='marker',
         refs={'config_id': field('id')}, optional_refs={'project': field('project')},
         project_key='project'),
    Call('software_config', 'software_configs/{config_id}', 'software_config',
         over='software_config_list', single=True),
    Call('software_deployments', 'software_deployments', 'software_deployments'),
)}

_STACK_ID = Column('stack_id', ref('stack_id'), 'The stack (stacks.id).')
_RESOURCE = Column('resource_name', ref('resource_name'),
                   'The resource\'s logical name in its stack.')
_KEY = Column('key', entry_key(), 'The entry\'s key.')
_VALUE = Column('value', element(), 'The entry\'s value.')
_SECRET_VALUE = Column('value', element(), 'The entry\'s value (secrets masked).',
                       mask=_mask_entry)

#: Every table, in documentation order.
TABLES: dict[str, Table] = {t.name: t for t in (
    Table('stacks', 'stacks', (
        Column('id', field('id'), 'The stack id.'),
        Column('name', field('stack_name')),
        Column('project', _stack_project,
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
        Column('nested_stack_id', _nested_stack_id,
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
               'string\'s value, a key pair\'s private_key...).', mask=_mask_attribute),
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
    Table('outputs', 'stack', (
        _STACK_ID,
        Column('output_key', element('output_key')),
        Column('output_value', element('output_value'),
               'The resolved value (masked when its key names a secret).',
               mask=_mask_output),
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
        Column('version', _template_version,
               'heat_template_version (or AWSTemplateFormatVersion).'),
        Column('description', _template_description),
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
               'derived config, values (secret ones masked).', mask=_mask_within),
        Column('outputs', field('outputs')),
        Column('options', field('options'), 'The tool\'s options (secrets masked).',
               mask=_mask_within),
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


# -- the engine ------------------------------------------------------------------

class UnknownTable(ValueError):
    """A table name that is not in :data:`TABLES`."""

    def __init__(self, names: Iterable[str], tables: Iterable[str] = TABLES) -> None:
        self.names = sorted(names)
        super().__init__(f'no such Heat table: {", ".join(self.names)} (tables: '
                         f'{", ".join(tables)})')


@dataclasses.dataclass
class TableData:
    """One fetched table: its column names and its rows (tuples, column order)."""

    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]

    def as_dicts(self) -> list[dict[str, Any]]:
        """The rows as ``{column: value}`` dicts."""
        return [dict(zip(self.columns, row)) for row in self.rows]


def select(names: Iterable[str] | None, tables: Mapping[str, Table] = TABLES) -> list[Table]:
    """The tables ``names`` (default: all of ``tables``), once each, in the order given.

    :raises UnknownTable: a name is not one of ``tables``.
    """
    names = list(tables) if names is None else list(dict.fromkeys(names))
    unknown = [n for n in names if n not in tables]
    if unknown:
        raise UnknownTable(unknown, tables)
    return [tables[n] for n in names]


#: What one call answered: ``(refs, item)`` pairs in order.
_Answers = list[tuple[dict[str, Any], Any]]


class HeatTables:
    """Fetches :data:`TABLES` from Heat through one API client.

    :param client: the orchestration client (``.../v1/{project_id}``).
    :param all_projects: list every project's stacks (``global_tenant``),
        falling back to the credentials' project on Heat's default-policy
        403 (logged once, naming the policy).
    :param page_size: ``limit`` of the paged listings (stacks, events,
        software configs); 0 asks for the stacks in one response.
    :param nested: list nested stacks as stacks of their own
        (``show_nested``), so their children are read too.
    :param project: only this project's stacks (Heat's ``tenant`` filter)
        and software configs (those listed with another ``project`` are
        dropped before their calls). Software deployments do not name their
        project: an admin sees every project's.
    :param reveal_secrets: give secret values as Heat answered them instead
        of ``******`` (see :attr:`Column.mask`).
    :param tables: the table declarations (default :data:`TABLES`).
    :param calls: the call declarations (default :data:`CALLS`).
    """

    def __init__(self, client: Client, *, all_projects: bool = True, page_size: int = 1000,
                 nested: bool = True, project: str | None = None,
                 reveal_secrets: bool = False,
                 tables: Mapping[str, Table] | None = None,
                 calls: Mapping[str, Call] | None = None) -> None:
        self.client = client
        self.all_projects = all_projects
        self.page_size = page_size
        self.nested = nested
        self.project = project
        self.reveal_secrets = reveal_secrets
        self.tables = dict(TABLES if tables is None else tables)
        self.calls = dict(CALLS if calls is None else calls)
        self._refused = False

    @classmethod
    def from_config(cls, conf: cfg.ConfigOpts, client_factory: ClientFactory | None = None,
                    project: str | None = None, reveal_secrets: bool = False) -> HeatTables:
        """An engine with the ``heat.stack`` driver's client and options.

        ``[driver.heat.stack]`` gives ``endpoint_override``, ``all_projects``,
        ``page_size``, ``show_nested`` and ``max_concurrency``; credentials
        come from ``client_factory`` (default: ``[service_credentials]``).
        No call is made until :meth:`fetch`.
        """
        client, options = driver_client(conf, client_factory)
        return cls(client, all_projects=options.all_projects, page_size=options.page_size,
                   nested=options.show_nested, project=project,
                   reveal_secrets=reveal_secrets)

    # -- planning --------------------------------------------------------

    def plan(self, names: Iterable[str] | None = None) -> tuple[list[list[Call]], dict[str, str]]:
        """The calls ``names`` need, level by level, and which call answers for which.

        :returns: ``(levels, answered_by)``: each level's calls depend only on
            earlier levels; ``answered_by`` maps every needed call name to
            the call actually made for it (itself, or one that covers it).
        :raises UnknownTable: a name is not a table.
        """
        wanted = self._tables(names)
        needed: set[str] = set()
        for table in wanted:
            name: str | None = table.call
            while name is not None and name not in needed:
                needed.add(name)
                name = self.calls[name].over
        answered_by = {name: name for name in needed}
        for name in needed:
            covered = self.calls[name].covers
            if covered in needed:
                answered_by[covered] = name
        made = {answered_by[name] for name in needed}
        levels: list[list[Call]] = []
        placed: set[str] = set()
        while len(placed) < len(made):
            level = [self.calls[name] for name in sorted(made - placed)
                     if self.calls[name].over is None
                     or answered_by[self.calls[name].over or ''] in placed]
            if not level:
                raise ValueError(f'call dependencies loop among {sorted(made - placed)}')
            levels.append(level)
            placed.update(call.name for call in level)
        return levels, answered_by

    def _tables(self, names: Iterable[str] | None) -> list[Table]:
        return select(names, self.tables)

    # -- fetching --------------------------------------------------------

    def fetch(self, names: Iterable[str] | None = None) -> dict[str, TableData]:
        """The tables ``names`` (default: all), in the order asked.

        Makes only the calls those tables need (see :meth:`plan`).

        :raises UnknownTable: a name is not a table (before any call).
        :raises BackendError: a call failed; nothing is returned.
        """
        wanted = self._tables(names)
        levels, answered_by = self.plan(t.name for t in wanted)
        answers: dict[str, _Answers] = {}
        for level in levels:
            jobs = [(call, refs) for call in level for refs in self._targets(call, answers,
                                                                              answered_by)]
            results = self.client.fan_out(lambda job: self._answer(*job), jobs)
            for call in level:
                answers[call.name] = []
            for (call, _refs), result in zip(jobs, results):
                answers[call.name].extend(result)
        return {t.name: TableData(t.name, t.column_names,
                                  _rows(t, answers[answered_by[t.call]],
                                        reveal=self.reveal_secrets))
                for t in wanted}

    def _targets(self, call: Call, answers: Mapping[str, _Answers],
                 answered_by: Mapping[str, str]) -> list[dict[str, Any]]:
        """The refs of each item ``call`` is made for (one empty dict: made once)."""
        if call.over is None:
            return [{}]
        parent = self.calls[answered_by[call.over]]
        return [refs for refs, item in answers[parent.name]
                if parent.children_if is None or parent.children_if(item)]

    def _answer(self, call: Call, refs: dict[str, Any]) -> _Answers:
        try:
            path = _path(call, refs, self.client)
            answered = []
            for item in self._items(call, path):
                if (self.project is not None and call.project_key is not None
                        and isinstance(item, Mapping)
                        and item.get(call.project_key) not in (None, self.project)):
                    continue
                scope = Scope(item, refs)
                own = dict(refs)
                for name, source in call.refs.items():
                    own[name] = source(scope)
                    if own[name] is None:
                        raise MalformedResponse('GET', self.client.url(path),
                                                f'an item has no {name}')
                own.update((name, source(scope)) for name, source in call.optional_refs.items())
                answered.append((own, item))
            return answered
        except BackendError as exc:
            if not refs:
                raise
            raise BackendError(f'{call.name} of {_described(refs)} could not be read: '
                               f'{exc}') from exc

    def _items(self, call: Call, path: str) -> list[Any]:
        params: dict[str, Any] = dict(call.params)
        if call.stack_listing:
            if self.nested:
                params['show_nested'] = 'true'
            if self.project is not None:
                params['tenant'] = self.project
            if self.page_size:
                params['limit'] = self.page_size
            items, self._refused = list_stacks(self.client, params,
                                               all_projects=self.all_projects, path=path,
                                               key=call.key or '', warned=self._refused)
            return items
        if call.paging == 'links':
            return list(self.client.paginate_links(path, call.key or '', params))
        if call.paging == 'marker':
            return list(self.client.paginate_marker(path, 'id', params,
                                                    limit=self.page_size or 1000,
                                                    key=call.key))
        body = self.client.get(path, params=params or None)
        answer = body if call.key is None else (
            body.get(call.key) if isinstance(body, Mapping) else None)
        if not isinstance(answer, Mapping if call.single else list):
            what = 'an object' if call.single else 'a list'
            where = f' under {call.key!r}' if call.key else ''
            raise MalformedResponse('GET', self.client.url(path), f'expected {what}{where}')
        return [answer] if call.single else list(answer)


def driver_client(conf: cfg.ConfigOpts, client_factory: ClientFactory | None = None
                  ) -> tuple[Client, Any]:
    """The ``heat.stack`` driver's orchestration client and its option group.

    Registers ``[driver.heat.stack]`` on ``conf`` if needed; builds no
    session until the first call.
    """
    config.register_plugin_opts(conf, 'driver', HeatStackDriver.name, HeatStackDriver)
    context = PluginContext(conf, 'driver', HeatStackDriver.name, client_factory)
    return context.client('orchestration'), context.options


def list_stacks(client: Client, params: Mapping[str, Any], *, all_projects: bool = True,
                path: str = 'stacks', key: str = 'stacks', warned: bool = False
                ) -> tuple[list[Any], bool]:
    """Every page of Heat's stack listing, every project's when allowed.

    With ``all_projects``, asks ``global_tenant=true`` first; Heat's default
    policy answers 403, and then the credentials' project is listed instead
    (Heat 27 still shows admins every project's stacks there) and a warning
    names the policy, unless ``warned`` (what an earlier call returned) says
    it was given already.

    :returns: the items, and whether the all-projects listing was refused.
    :raises BackendError: a page failed.
    """
    if all_projects:
        try:
            return list(client.paginate_links(
                path, key, {'global_tenant': 'true', **params})), False
        except APIError as exc:
            if exc.status != 403:
                raise
            if not warned:
                LOG.warning('Heat refused to list every project\'s stacks (%s): listing '
                            'the credentials\' project only; allow the Heat policy "%s" '
                            'to see every project', exc, GLOBAL_INDEX_POLICY)
        return list(client.paginate_links(path, key, params)), True
    return list(client.paginate_links(path, key, params)), False


def _path(call: Call, refs: Mapping[str, Any], client: Client) -> str:
    quoted = {k: urllib.parse.quote(str(v), safe='') for k, v in refs.items()
              if v is not None}
    try:
        return call.path.format_map(quoted)
    except KeyError as exc:
        raise MalformedResponse('GET', client.url(call.path),
                                f'no {exc.args[0]} to call it with') from None


def _described(refs: Mapping[str, Any]) -> str:
    if 'stack_id' in refs:
        text = f'stack {refs.get("stack_name")} ({refs["stack_id"]})'
        if 'resource_name' in refs:
            text = f'resource {refs["resource_name"]} of {text}'
        return text
    return ', '.join(f'{k} {v}' for k, v in refs.items())


def _rows(table: Table, answers: _Answers, *, reveal: bool = False
          ) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for refs, item in answers:
        if table.explode is None:
            scopes: Iterable[Scope] = (Scope(item, refs),)
        else:
            scopes = _exploded(table.explode(Scope(item, refs)), item, refs)
        for scope in scopes:
            rows.append(tuple(_atom(_value(c, scope, reveal)) for c in table.columns))
    return rows


def _value(column: Column, scope: Scope, reveal: bool) -> Any:
    value = column.source(scope)
    return value if reveal or column.mask is None else column.mask(scope, value)


def _exploded(value: Any, item: Any, refs: dict[str, Any]) -> list[Scope]:
    if isinstance(value, Mapping):
        return [Scope(item, refs, key, inner) for key, inner in value.items()]
    if isinstance(value, list):
        return [Scope(item, refs, index, inner) for index, inner in enumerate(value)]
    return []


def _atom(value: Any) -> Any:
    """A table value: scalars as they are, anything else as canonical JSON text."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return json.dumps(value, sort_keys=True, separators=(',', ':'), default=str)

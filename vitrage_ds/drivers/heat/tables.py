"""Heat's API read into relational tables, for policy engines.

Every table is declared, not coded (:mod:`~vitrage_ds.drivers.heat.schema`):
a :class:`Table` names the API :class:`Call` that feeds it, its columns and
where each value comes from (a :data:`Source`, see
:mod:`~vitrage_ds.drivers.heat.sources`), the table it belongs to and the
columns that point there. The calls go through
:class:`~vitrage_ds.drivers.heat.api.HeatAPI` (paths, paging, the policy
fallback). One small engine, :class:`HeatTables`, plans the calls the asked-for
tables need and nothing else, runs them level by level (one
:meth:`~vitrage_ds.http.client.Client.fan_out` per level, so at most the
client's ``max_parallel_calls`` calls are ever in flight), and turns the
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
``event``                 ``... /resources/{resource}/events/{event_id}``     per event
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
data and metadata, event properties, outputs, software config inputs,
deployment values; see
:mod:`~vitrage_ds.drivers.heat.masking`), unless the engine is made with
``reveal_secrets=True``. Templates and software config bodies are as Heat
stores them.

Failure: any failed call (after the client's retries), a page loop or a
body of the wrong shape raises :class:`~vitrage_ds.errors.BackendError`
naming the call and the stack; no partial tables are ever returned.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from vitrage_ds.drivers.heat import api
from vitrage_ds.drivers.heat.driver import HeatStackDriver
from vitrage_ds.drivers.heat.schema import CALLS, TABLES, Call, Column, Table
from vitrage_ds.drivers.heat.sources import (Mask, Scope, Source, element, entry_key, field,
                                             origin, ref)
from vitrage_ds.errors import BackendError, MalformedResponse

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
    'element',
    'entry_key',
    'field',
    'origin',
    'ref',
    'select',
]


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
        self.api = api.HeatAPI(client, all_projects=all_projects, page_size=page_size)
        self.all_projects = all_projects
        self.page_size = page_size
        self.nested = nested
        self.project = project
        self.reveal_secrets = reveal_secrets
        self.tables = dict(TABLES if tables is None else tables)
        self.calls = dict(CALLS if calls is None else calls)

    @classmethod
    def from_config(cls, conf: cfg.ConfigOpts, client_factory: ClientFactory | None = None,
                    project: str | None = None, reveal_secrets: bool = False) -> HeatTables:
        """An engine with the ``heat.stack`` driver's client and options.

        ``[driver.heat.stack]`` gives ``endpoint_override``, ``all_projects``,
        ``page_size``, ``show_nested`` and ``max_parallel_calls``; credentials
        come from ``client_factory`` (default: ``[service_credentials]``).
        No call is made until :meth:`fetch`.
        """
        heat, options = HeatStackDriver.api_from_config(conf, client_factory)
        return cls(heat.client, all_projects=options.all_projects, page_size=options.page_size,
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
            answered = []
            for item in self._items(call, refs):
                if (self.project is not None and call.project_key is not None
                        and isinstance(item, Mapping)
                        and item.get(call.project_key) not in (None, self.project)):
                    continue
                scope = Scope(item, refs)
                own = dict(refs)
                for name, source in call.refs.items():
                    own[name] = source(scope)
                    if own[name] is None:
                        raise MalformedResponse(
                            'GET', self.client.url(api.path(call.path, refs)),
                            f'an item has no {name}')
                own.update((name, source(scope)) for name, source in call.optional_refs.items())
                answered.append((own, item))
            return answered
        except BackendError as exc:
            if not refs:
                raise
            raise BackendError(f'{call.name} of {_described(refs)} could not be read: '
                               f'{exc}') from exc

    def _items(self, call: Call, refs: Mapping[str, Any]) -> list[Any]:
        if call.path != api.STACKS:
            return self.api.read(call.path, refs, call.key, call.params, single=call.single)
        params: dict[str, Any] = dict(call.params)
        if self.nested:
            params['show_nested'] = 'true'
        if self.project is not None:
            params['tenant'] = self.project
        listing, _scope = self.api.list_stacks(params)
        with contextlib.closing(listing):
            return list(listing)


def _described(refs: Mapping[str, Any]) -> str:
    if 'stack_id' in refs:
        text = f'stack {refs.get("stack_name")} ({refs["stack_id"]})'
        if 'resource_name' in refs:
            text = f'resource {refs["resource_name"]} of {text}'
        if 'event_id' in refs:
            text = f'event {refs["event_id"]} of {text}'
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

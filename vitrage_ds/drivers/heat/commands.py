"""``vitrage-ds tables heat.stack`` and ``vitrage-ds search heat.stack``.

Both read Heat with the ``heat.stack`` driver's client and options
(``[driver.heat.stack]``: ``endpoint_override``, ``all_projects``,
``page_size``, ``show_nested``, ``max_parallel_calls``), from the
configuration files or ``--os-cloud``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import Any

from cliff import lister

from vitrage_ds.cli.app import app_of
from vitrage_ds.drivers.heat.driver import HeatStackDriver
from vitrage_ds.drivers.heat.search import MAX_DEPTH, StackQuery, StackSearch
from vitrage_ds.drivers.heat.tables import CALLS, TABLES, HeatTables, Table, origin, select

__all__ = ['Search', 'Tables']

_DRIVERS = (HeatStackDriver.name,)


def _driver_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('driver', metavar='DRIVER', choices=_DRIVERS,
                        help=f'The driver whose API to read: {", ".join(_DRIVERS)}.')


def _cell(value: Any, raw: bool) -> Any:
    if raw or not isinstance(value, (dict, list, tuple)):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def _raw(parsed_args: argparse.Namespace) -> bool:
    return getattr(parsed_args, 'formatter', 'table') == 'json'


class Tables(lister.Lister):
    """Print Heat's API as relational tables: one, several or all of them.

    With one TABLE its rows are printed with its columns. With several, or
    none (every table), each row is printed as its table's name and the
    row as a JSON object ("table", "row"), so any output format holds them.
    --project reads one project's stacks only (Heat's tenant filter).
    Secret values (a random string's value, passwords, tokens...) print as
    ****** unless --reveal-secrets. --schema prints the tables' columns,
    where each column's value comes from, keys, parents and API calls
    instead, without calling anything. Only the calls the asked-for tables
    need are made; any failure prints the error and exits 1.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _driver_argument(parser)
        parser.add_argument('tables', metavar='TABLE', nargs='*',
                            help=f'Tables to print (default: all): {", ".join(TABLES)}.')
        parser.add_argument('--project', metavar='PROJECT_ID',
                            help='Only this project\'s stacks (and software configs).')
        parser.add_argument('--reveal-secrets', action='store_true',
                            help='Print secret values (random strings, passwords, '
                                 'tokens...) instead of ******.')
        parser.add_argument('--schema', action='store_true',
                            help='Print the tables\' definitions (each column\'s source '
                                 'included), make no call.')
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        names: Sequence[str] = parsed_args.tables
        tables = select(names or None)  # an unknown name fails before any call
        if parsed_args.schema:
            return self._schema(tables, _raw(parsed_args))
        app = app_of(self)
        engine = HeatTables.from_config(app.config(), app.client_factory(),
                                        project=parsed_args.project,
                                        reveal_secrets=parsed_args.reveal_secrets)
        fetched = engine.fetch(t.name for t in tables)
        if len(fetched) == 1:
            (data,) = fetched.values()
            return data.columns, data.rows
        raw = _raw(parsed_args)
        rows = [(name, _cell(row, raw)) for name, data in fetched.items()
                for row in data.as_dicts()]
        return ('table', 'row'), rows

    @staticmethod
    def _schema(tables: Sequence[Table], raw: bool) -> tuple[Any, Any]:
        """One row per table; ``sources`` maps each column to where its value
        comes from (a JSON object with ``-f json``, else one line per column)."""
        rows = []
        for table in tables:
            call = CALLS[table.call]
            query = '&'.join(f'{k}={v}' for k, v in call.params.items())
            sources = {c.name: origin(c.source) + (' (secrets masked)' if c.mask else '')
                       for c in table.columns}
            rows.append((table.name, ', '.join(table.column_names),
                         sources if raw else '\n'.join(f'{k}: {v}' for k, v in sources.items()),
                         ', '.join(table.key), table.parent or '', ', '.join(table.parent_key),
                         f'GET {call.path}{"?" if query else ""}{query}', table.doc))
        return ('table', 'columns', 'sources', 'key', 'parent', 'parent_key', 'call',
                'description'), rows


class Search(lister.Lister):
    """Find stacks by name, status, project, tag, or a resource in their nested tree.

    Filters Heat supports are sent to it (exact name, status, project as
    tenant, tags; exact resource type and name with nested_depth); globs
    run here. Prints one row per found stack, newest first, with the
    resources that matched; --with-template adds each stack's template and
    its nested stacks' templates.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        _driver_argument(parser)
        parser.add_argument('--name', metavar='GLOB', help='Stack name (shell glob).')
        parser.add_argument('--status', metavar='STATUS', action='append', default=[],
                            help='COMPLETE, FAILED, IN_PROGRESS or e.g. CREATE_FAILED; '
                                 'repeat for any of several.')
        parser.add_argument('--project', metavar='PROJECT_ID',
                            help='The owning project\'s id.')
        parser.add_argument('--tag', metavar='TAG', action='append', default=[],
                            help='A tag the stack has; repeat: all of them.')
        parser.add_argument('--resource-type', metavar='GLOB',
                            help='A resource type anywhere in the nested tree.')
        parser.add_argument('--resource-name', metavar='GLOB',
                            help='A resource name anywhere in the nested tree.')
        parser.add_argument('--nested', action='store_true',
                            help='Nested stacks are results too.')
        parser.add_argument('--depth', metavar='N', type=int, default=MAX_DEPTH,
                            help=f'Levels of nested stacks searched (default {MAX_DEPTH}, '
                                 'Heat\'s own limit).')
        parser.add_argument('--with-template', action='store_true',
                            help='Add each stack\'s template and its nested templates.')
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        query = StackQuery(name=parsed_args.name, status=tuple(parsed_args.status),
                           project=parsed_args.project, tags=tuple(parsed_args.tag),
                           resource_type=parsed_args.resource_type,
                           resource_name=parsed_args.resource_name,
                           nested=parsed_args.nested, depth=parsed_args.depth)
        app = app_of(self)
        search = StackSearch.from_config(app.config(), app.client_factory())
        with_template = parsed_args.with_template
        found = [f.as_dict(with_template) for f in search.search(query, with_template)]
        columns = ['id', 'name', 'project', 'status', 'tags', 'parent', 'matches']
        if with_template:
            columns += ['template', 'nested_templates']
        raw = _raw(parsed_args)
        return columns, [[_cell(row[c], raw) for c in columns] for row in found]

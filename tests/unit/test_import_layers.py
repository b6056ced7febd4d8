"""The package's import graph has no cycle, and the core imports nothing above it.

The core is the package's top-level modules (``config``, ``registry``,
``plugin``, ``driver``, ``notifier``, ``outcome``, ``event``, ``errors``...)
and the HTTP layer; :mod:`vitrage_ds.opts` and the ``vitrage_ds`` package's
own ``__init__`` (the public re-exports) sit above everything.

Every ``import`` statement of every ``vitrage_ds`` module counts: at module
level, inside functions (deferred imports) and under ``if TYPE_CHECKING``.
A module importing a sibling from its package's ``__init__`` counts as
importing that ``__init__``.
"""

from __future__ import annotations

import ast
import functools
import pathlib

import testtools

import vitrage_ds

PACKAGE = 'vitrage_ds'
ROOT = pathlib.Path(vitrage_ds.__file__).parent


@functools.cache
def _modules() -> dict[str, pathlib.Path]:
    found: dict[str, pathlib.Path] = {}
    for path in sorted(ROOT.rglob('*.py')):
        parts = list(path.relative_to(ROOT.parent).with_suffix('').parts)
        if parts[-1] == '__init__':
            parts.pop()
        found['.'.join(parts)] = path
    return found


def _is_package(modules: dict[str, pathlib.Path], name: str) -> bool:
    return modules[name].name == '__init__.py'


def _imports(modules: dict[str, pathlib.Path], name: str) -> set[str]:
    """The ``vitrage_ds`` modules ``name`` imports, wherever the statement is."""
    tree = ast.parse(modules[name].read_text(), filename=str(modules[name]))
    package = name if _is_package(modules, name) else name.rpartition('.')[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split('.')[:len(package.split('.')) - node.level + 1]
                base = '.'.join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ''
            for alias in node.names:
                submodule = f'{base}.{alias.name}'
                found.add(submodule if submodule in modules else base)
    return {m for m in found if m in modules and m != name}


def import_graph() -> dict[str, set[str]]:
    """Each ``vitrage_ds`` module and the package modules it imports."""
    modules = _modules()
    return {name: _imports(modules, name) for name in modules}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module,
    as the path ``a -> b -> ... -> a`` (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is None:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(component)
            elif child not in index:
                index[child] = low[child] = len(index)
                stack.append(child)
                on_stack.add(child)
                work.append((child, iter(sorted(graph[child]))))
            elif child in on_stack:
                low[node] = min(low[node], index[child])
    return [_path_through(graph, component) for component in components]


def _path_through(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle through the first (sorted) module of ``component``."""
    start = min(component)
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & component):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [*reversed(path), start]
                if child not in parents:
                    parents[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f'no cycle through {start}')  # pragma: no cover


#: Modules above every floor: they may import anything.
TOP = frozenset({PACKAGE, f'{PACKAGE}.opts'})


def is_core(name: str) -> bool:
    """Whether ``name`` is a core module: a top-level module or the HTTP layer."""
    return name not in TOP and (
        (name.count('.') == 1 and not _is_package(_modules(), name))
        or name == f'{PACKAGE}.http' or name.startswith(f'{PACKAGE}.http.'))


def _calls_import_module(path: pathlib.Path) -> bool:
    return any(isinstance(node, ast.Call)
               and isinstance(node.func, (ast.Attribute, ast.Name))
               and (node.func.attr if isinstance(node.func, ast.Attribute)
                    else node.func.id) in ('import_module', '__import__')
               for node in ast.walk(ast.parse(path.read_text())))


class TestImportGraph(testtools.TestCase):

    def test_no_module_of_the_package_takes_part_in_an_import_cycle(self) -> None:
        found = cycles(import_graph())
        self.assertEqual([], found, 'import cycles:\n' + '\n'.join(
            ' -> '.join(cycle) for cycle in found))

    def test_the_core_imports_nothing_above_it(self) -> None:
        upward = sorted(f'{name} -> {target}'
                        for name, targets in import_graph().items() if is_core(name)
                        for target in targets if not is_core(target))
        self.assertEqual([], upward)

    def test_the_core_imports_nothing_by_name(self) -> None:
        # importlib.import_module('vitrage_ds.collector.options') is an edge
        # the scan cannot see.
        modules = _modules()
        by_name = sorted(name for name, path in modules.items()
                         if is_core(name) and _calls_import_module(path))
        self.assertEqual([], by_name)


class TestTheScanItself(testtools.TestCase):
    """The scan sees what it must, so an empty answer means something."""

    def test_deferred_and_type_checking_imports_are_edges(self) -> None:
        graph = import_graph()
        # registry's and plugin's imports, whatever block they sit in
        self.assertIn('vitrage_ds.errors', graph['vitrage_ds.registry'])
        self.assertTrue(any(m.startswith('vitrage_ds.http') for m in graph['vitrage_ds.plugin']))

    def test_the_core_is_the_top_level_modules_and_the_http_layer(self) -> None:
        self.assertEqual((True, True, True), (is_core('vitrage_ds.config'),
                                              is_core('vitrage_ds.http'),
                                              is_core('vitrage_ds.http.session')))
        self.assertEqual((False, False, False), (is_core('vitrage_ds.opts'),
                                                 is_core('vitrage_ds.collector'),
                                                 is_core('vitrage_ds.collector.options')))

    def test_a_call_to_import_module_is_seen(self) -> None:
        modules = _modules()
        self.assertTrue(_calls_import_module(modules['vitrage_ds.notifier_service']))

    def test_a_cycle_is_named_as_a_path(self) -> None:
        graph = {'a': {'b'}, 'b': {'c'}, 'c': {'a'}, 'd': {'a'}}
        self.assertEqual([['a', 'b', 'c', 'a']], cycles(graph))

    def test_a_graph_without_cycle_has_none(self) -> None:
        self.assertEqual([], cycles({'a': {'b'}, 'b': {'c'}, 'c': set()}))

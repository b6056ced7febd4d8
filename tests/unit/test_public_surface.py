"""What the documentation tells users to import is public, and vitrage_ds says so.

The ``vitrage_ds`` package's docstring names its public modules (besides the
names it re-exports); every other module is private. The docs' examples,
and the third-party example package they show, import only from
``vitrage_ds`` itself and those modules.
"""

from __future__ import annotations

import ast
import importlib.util
import pathlib
import re

import testtools

import vitrage_ds

REPO = pathlib.Path(__file__).resolve().parents[2]
PAGES = sorted([*(REPO / 'doc' / 'source').rglob('*.rst'), REPO / 'README.rst'])
EXAMPLE_PACKAGE = REPO / 'tests' / 'thirdparty' / 'vitrage_ds_example'

_NAMED_MODULE = re.compile(r'``(vitrage_ds(?:\.\w+)*)``')
_IMPORT_LINE = re.compile(r'^\s+(?:from\s+(vitrage_ds(?:\.\w+)*)\s+import\b'
                          r'|import\s+(vitrage_ds(?:\.\w+)*))')


def public_modules() -> set[str]:
    """``vitrage_ds`` and the modules its docstring names."""
    return {'vitrage_ds', *_NAMED_MODULE.findall(vitrage_ds.__doc__ or '')}


def modules_imported_by_pages() -> dict[str, set[str]]:
    """Each page's ``vitrage_ds`` imports, from its indented (code) lines."""
    found: dict[str, set[str]] = {}
    for page in PAGES:
        for line in page.read_text().splitlines():
            match = _IMPORT_LINE.match(line)
            if match:
                found.setdefault(str(page.relative_to(REPO)), set()).add(
                    match[1] or match[2])
    return found


def modules_imported_by_the_example() -> set[str]:
    found = set()
    for source in EXAMPLE_PACKAGE.glob('*.py'):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return {name for name in found if name.split('.')[0] == 'vitrage_ds'}


class TestThePublicSurface(testtools.TestCase):

    def test_every_module_the_package_names_as_public_exists(self) -> None:
        # vitrage_ds.vitrage's adapter modules import vitrage; the package does not
        for name in sorted(public_modules()):
            self.assertIsNotNone(importlib.util.find_spec(name), name)

    def test_the_docs_import_only_public_modules(self) -> None:
        private = {page: sorted(modules - public_modules())
                   for page, modules in modules_imported_by_pages().items()}
        self.assertEqual({}, {page: names for page, names in private.items() if names})

    def test_the_docs_examples_are_seen_importing(self) -> None:
        # the scan above reads the guides' code blocks
        self.assertIn('vitrage_ds.http',
                      modules_imported_by_pages()['doc/source/writing-a-driver.rst'])

    def test_the_example_plugins_import_only_public_modules(self) -> None:
        self.assertEqual(set(), modules_imported_by_the_example() - public_modules())

    def test_a_private_module_is_not_public(self) -> None:
        self.assertNotIn('vitrage_ds.http.transport', public_modules())

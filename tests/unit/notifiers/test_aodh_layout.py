"""The Aodh notifier's modules in the order one deduced-alarm message walks them.

Each module imports only modules after it in :data:`WALK`, so following a
message through the code enters each file once; the verifier, which checks
the writes later on its own thread, imports none of the modules that handle
the message.
"""

from __future__ import annotations

import ast
import pathlib

import testtools

import vitrage_ds

PACKAGE = pathlib.Path(vitrage_ds.__file__).parent
#: One message's walk (``vitrage_ds/notifiers/aodh/__init__.py`` documents it).
WALK = ('notifiers.aodh.plugin', 'notifiers.aodh.mirror', 'notifiers.aodh.store',
        'notifiers.aodh.alarms', 'aodh_api', 'notifiers.aodh.record',
        'notifiers.aodh.watchlist', 'notifiers.aodh.keyed')
VERIFIER = 'notifiers.aodh.verifier'
KNOWN = (*WALK, VERIFIER)


def imports(module: str) -> set[str]:
    """The modules of :data:`KNOWN` that ``module`` imports (deferred ones included)."""
    tree = ast.parse((PACKAGE / (module.replace('.', '/') + '.py')).read_text())
    found = set()
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f'{node.module}.{a.name}' for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            short = name.removeprefix('vitrage_ds.')
            if short in KNOWN and short != module:
                found.add(short)
    return found


class LayoutTest(testtools.TestCase):

    def test_every_module_of_the_walk_imports_only_modules_after_it(self) -> None:
        for index, module in enumerate(WALK):
            earlier = imports(module) & set(WALK[:index])
            self.assertEqual(set(), earlier, f'{module} goes back to {sorted(earlier)}')

    def test_the_verifier_imports_no_module_that_handles_the_message(self) -> None:
        self.assertEqual(set(), imports(VERIFIER) & {'notifiers.aodh.plugin',
                                                     'notifiers.aodh.mirror'})

    def test_the_package_has_no_module_outside_the_walk(self) -> None:
        modules = {f'notifiers.aodh.{p.stem}' for p in (PACKAGE / 'notifiers' / 'aodh').glob('*.py')
                   if p.stem != '__init__'}
        self.assertEqual(set(KNOWN) - {'aodh_api'}, modules)

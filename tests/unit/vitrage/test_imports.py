"""The library never needs Vitrage; the adapter modules say so when it is missing."""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import subprocess
import sys

import testtools

import vitrage_ds

ADAPTERS = ('vitrage_ds.vitrage.heat', 'vitrage_ds.vitrage.aodh',
            'vitrage_ds.vitrage.aodh_notifier')


class TestWithoutVitrage(testtools.TestCase):
    """In the project's environment, where Vitrage is not installed."""

    def setUp(self) -> None:
        super().setUp()
        if importlib.util.find_spec('vitrage') is not None:
            self.fail('Vitrage is installed in this environment: these tests need one without')

    def test_every_other_module_imports_without_vitrage(self) -> None:
        modules = [m.name for m in pkgutil.walk_packages(vitrage_ds.__path__, 'vitrage_ds.')
                   if m.name not in ADAPTERS]
        self.assertIn('vitrage_ds.vitrage._formats', modules)
        code = ('import importlib, sys\n'
                f'for name in {modules!r}:\n'
                '    importlib.import_module(name)\n'
                'print(sorted(m for m in sys.modules if m.split(".")[0] == "vitrage"))\n')
        out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                             timeout=120, check=False)
        self.assertEqual(0, out.returncode, out.stderr[-2000:])
        self.assertEqual('[]', out.stdout.strip())

    def test_an_adapter_module_names_what_it_needs(self) -> None:
        for name in ADAPTERS:
            sys.modules.pop(name, None)
            with testtools.ExpectedException(ImportError, f'{name} implements one of '
                                             'Vitrage.s own .*it needs Vitrage.*'):
                importlib.import_module(name)

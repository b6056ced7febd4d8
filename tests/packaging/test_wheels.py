"""The wheels, installed alone into fresh virtualenvs, as a new user would.

The runtime wheel is the library and its services, nothing of the test
kit; the test kit is the ``vitrage-ds-testing`` wheel, and with it a
third-party plugin's contract test runs under stestr.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import ClassVar

import testtools

from tests.kit.wheels import FreshVenv, Wheels, built_wheels

ROOT = Path(__file__).resolve().parents[2]
#: Top-level packages that are test code, in this repository or its test requirements.
TEST_PACKAGES = ('vitrage_ds_testing', 'tests', 'testtools', 'fixtures', 'requests_mock',
                 'hypothesis', 'stestr', 'subunit')


class _InstalledOnce(testtools.TestCase):
    """One fresh virtualenv per class, with :attr:`installs` installed."""

    venv: ClassVar[FreshVenv]
    wheels: ClassVar[Wheels]
    workdir: ClassVar[Path]

    @classmethod
    def installs(cls, wheels: Wheels) -> list[str | Path]:
        raise NotImplementedError

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.wheels = built_wheels()
        cls.workdir = Path(tempfile.mkdtemp(prefix='vitrage-ds-fresh-'))
        try:
            cls.venv = FreshVenv(cls.workdir)
            cls.venv.install(*cls.installs(cls.wheels))
        except BaseException:
            shutil.rmtree(cls.workdir, ignore_errors=True)
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        shutil.rmtree(cls.workdir, ignore_errors=True)
        super().tearDownClass()


class TestRuntimeWheel(_InstalledOnce):
    """``pip install vitrage-ds`` from the wheel alone."""

    @classmethod
    def installs(cls, wheels: Wheels) -> list[str | Path]:
        return [wheels.runtime]

    def test_plugins_lists_both_drivers_and_the_notifier(self) -> None:
        out = self.venv.run('vitrage-ds', 'plugins', '-f', 'json').stdout
        listed = {(p['Kind'], p['Name'], p['Loads']) for p in json.loads(out)}
        self.assertEqual({('driver', 'heat.stack', 'yes'), ('driver', 'aodh', 'yes'),
                          ('notifier', 'aodh', 'yes')}, listed)

    def test_import_loads_no_test_code(self) -> None:
        out = self.venv.run('python', '-c', 'import json, sys, vitrage_ds; '
                            'print(json.dumps(sorted(sys.modules)))').stdout
        loaded = json.loads(out)
        test_modules = [m for m in loaded if m.split('.')[0] in TEST_PACKAGES]
        self.assertEqual([], test_modules)
        # The count, so a new import shows up in review; today's is a few dozen.
        ours = [m for m in loaded if m.split('.')[0] == 'vitrage_ds']
        self.assertLess(len(ours), 40, ours)

    def test_the_test_kit_is_not_installed(self) -> None:
        proc = self.venv.run('python', '-c', 'import vitrage_ds_testing', check=False)
        self.assertEqual(1, proc.returncode)
        self.assertIn("No module named 'vitrage_ds_testing'", proc.stderr)

    def test_pip_check_passes(self) -> None:
        proc = self.venv.pip('check')
        self.assertIn('No broken requirements found.', proc.stdout)

    def test_demo_names_what_to_install_in_one_line(self) -> None:
        proc = self.venv.run('vitrage-ds', 'demo', check=False)
        self.assertEqual(2, proc.returncode)
        self.assertEqual('', proc.stdout)
        self.assertEqual(['vitrage-ds demo comes with the vitrage-ds-testing distribution: '
                          'pip install vitrage-ds-testing'], proc.stderr.splitlines())

    def test_the_file_list_has_the_license_and_no_test_infrastructure(self) -> None:
        names = self.wheels.names(self.wheels.runtime)
        self.assertTrue([n for n in names if re.search(r'\.dist-info/(licenses/)?LICENSE$', n)],
                        names)
        self.assertIn('vitrage_ds/py.typed', names)
        packages = {n.split('/')[0] for n in names}
        self.assertEqual({'vitrage_ds'}, {p for p in packages if not p.endswith('.dist-info')})
        for banned in ('testing', 'cloud', 'demo', 'broker', 'rabbit', 'launcher',
                       'real_serve', 'emulator'):
            self.assertEqual([], [n for n in names if banned in n], banned)


class TestTestingWheel(_InstalledOnce):
    """``pip install vitrage-ds-testing`` beside a third-party plugin and stestr."""

    @classmethod
    def installs(cls, wheels: Wheels) -> list[str | Path]:
        return [wheels.runtime, wheels.testing, wheels.example, 'stestr']

    def test_a_third_party_contract_test_runs_under_stestr(self) -> None:
        project = self.workdir / 'plugin-project'
        (project / 'plugin_tests').mkdir(parents=True)
        (project / 'plugin_tests' / '__init__.py').write_text('')
        shutil.copy(ROOT / 'tests' / 'unit' / 'test_thirdparty_contracts.py',
                    project / 'plugin_tests' / 'test_contracts.py')
        (project / '.stestr.conf').write_text(
            '[DEFAULT]\ntest_path=./plugin_tests\ntop_dir=./\n')

        proc = self.venv.run('stestr', 'run', cwd=project, check=False)
        listed = self.venv.run('stestr', 'list', cwd=project).stdout.split()

        self.assertEqual(0, proc.returncode, proc.stdout[-3000:] + proc.stderr[-3000:])
        totals = dict(re.findall(r'^ - (Passed|Failed|Skipped): (\d+)$', proc.stdout, re.M))
        # Every test of the file ran and passed: the example's contract suites and its own.
        self.assertGreater(len(listed), 20)
        self.assertEqual({'Passed': str(len(listed)), 'Failed': '0', 'Skipped': '0'}, totals)

    def test_pip_check_passes(self) -> None:
        proc = self.venv.pip('check')
        self.assertIn('No broken requirements found.', proc.stdout)

    def test_the_file_list_has_the_license_and_only_the_kit(self) -> None:
        names = self.wheels.names(self.wheels.testing)
        self.assertTrue([n for n in names if re.search(r'\.dist-info/(licenses/)?LICENSE$', n)],
                        names)
        packages = {n.split('/')[0] for n in names if not n.split('/')[0].endswith('.dist-info')}
        self.assertEqual({'vitrage_ds_testing'}, packages)
        for banned in ('broker', 'rabbit', 'launcher', 'real_serve', 'vitrage_env'):
            self.assertEqual([], [n for n in names if banned in n], banned)

    def test_demo_runs_every_change_through(self) -> None:
        proc = self.venv.run('vitrage-ds', 'demo', '--stacks', '3', '--alarms', '4',
                             '--pace', '0', '--json')
        last = json.loads(proc.stdout.splitlines()[-1])
        self.assertEqual(('done', True), (last['kind'], last['stopped_cleanly']))

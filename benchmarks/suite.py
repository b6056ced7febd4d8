"""Running the benchmarks: choosing them, the reference environment, the report."""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from benchmarks import report
from benchmarks.common import ROOT, BenchResult, Settings, say
from tests.kit.vitrage_env import VitrageEnv

__all__ = ['main']

DOC_DIR = ROOT / 'doc' / 'source'
REQUIREMENTS = Path(__file__).resolve().parent / 'requirements.txt'
ALL = (1, 2, 3, 4, 5, 6)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='python -m benchmarks',
        description='vitrage_ds vs Vitrage 15.0.1\'s drivers and the bare bus; prints '
                    'one table of ratios and, for a full run, writes '
                    'doc/source/benchmarks.rst and its plot.')
    parser.add_argument('--quick', action='store_true',
                        help='small sizes (500 stacks, ...), a couple of minutes; '
                             'Vitrage only if its environment is already built; the '
                             'report goes to a temporary directory unless --doc-dir')
    parser.add_argument('--only', type=int, action='append', choices=ALL, metavar='N',
                        help='run benchmark N only (repeatable)')
    parser.add_argument('--vitrage', choices=('run', 'if-cached', 'skip'),
                        help='Vitrage 15.0.1: build its environment if needed and run '
                             'it (default of a full run), only if already built '
                             '(default of --quick), or not at all')
    parser.add_argument('--doc-dir', type=Path,
                        help='where benchmarks.rst and the plot go (default: '
                             'doc/source for a full run of every benchmark, else a '
                             'temporary directory)')
    parser.add_argument('--strict', action='store_true',
                        help='exit 1 when a target is missed, not only on errors')
    return parser


def _ensure_plotting() -> None:
    """Install the bench-only requirements (matplotlib) into this environment if missing."""
    if importlib.util.find_spec('matplotlib') is not None:
        return
    say(f'installing {REQUIREMENTS.name} (bench-only: matplotlib)')
    proc = subprocess.run([sys.executable, '-m', 'pip', 'install', '-q',
                           '--disable-pip-version-check', '-r', str(REQUIREMENTS)],
                          check=False)
    if proc.returncode:
        say('matplotlib could not be installed: the report will have no plot')


def _vitrage(mode: str) -> tuple[str | None, dict[str, str] | None, str]:
    """The reference interpreter (or None), its versions, and what happened."""
    env = VitrageEnv()
    if mode == 'skip':
        return None, None, 'skipped (--vitrage skip)'
    if not env.ready():
        if mode == 'if-cached':
            return None, None, f'skipped: no cached environment at {env.path}'
        try:
            spent = env.ensure(log=say)
        except (subprocess.CalledProcessError, OSError) as exc:
            return None, None, f'could not be installed: {exc}'
        say(f'Vitrage environment built in {spent:.0f} s')
    try:
        return str(env.python), env.versions(), 'run'
    except (subprocess.SubprocessError, OSError, ValueError) as exc:
        return None, None, f'environment unusable: {exc}'


def _run_one(number: int, settings: Settings, vitrage_python: str | None) -> BenchResult:
    from benchmarks import b1_heat, b2_aodh, b3_bus, b4_reconcile, b5_notifier, b6_growth
    ours = sys.executable
    runs: dict[int, Callable[[], BenchResult]] = {
        1: lambda: b1_heat.run(settings, vitrage_python, ours),
        2: lambda: b2_aodh.run(settings, vitrage_python, ours),
        3: lambda: b3_bus.run(settings),
        4: lambda: b4_reconcile.run(settings),
        5: lambda: b5_notifier.run(settings),
        6: lambda: b6_growth.run(settings, ours),
    }
    began = time.perf_counter()
    try:
        result = runs[number]()
    except Exception as exc:
        say(f'benchmark {number} failed:\n{traceback.format_exc()}')
        result = BenchResult(number, f'benchmark {number}',
                             error=f'{type(exc).__name__}: {str(exc)[-500:]}')
    result.seconds = time.perf_counter() - began
    say(f'benchmark {number} done in {result.seconds:.0f} s')
    return result


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    began = time.perf_counter()
    load_at_start = report.load_average()
    chosen = sorted(set(args.only or ALL))
    mode = args.vitrage or ('if-cached' if args.quick else 'run')
    settings = Settings.quick_run() if args.quick else Settings.full()
    if 6 in chosen:
        _ensure_plotting()
    vitrage_python, versions, vitrage_status = (None, None, 'not needed')
    if {1, 2} & set(chosen):
        vitrage_python, versions, vitrage_status = _vitrage(mode)
        say(f'Vitrage 15.0.1: {vitrage_status}')
    results = [_run_one(n, settings, vitrage_python) for n in chosen]
    env = report.environment(versions, (load_at_start, report.load_average()))
    if vitrage_python is None and {1, 2} & set(chosen):
        env['reference'] = f'Vitrage 15.0.1 {vitrage_status}'
    seconds = time.perf_counter() - began
    print(report.text_report(results, env), flush=True)
    full_doc = not args.quick and chosen == list(ALL)
    with tempfile.TemporaryDirectory(prefix='vitrage_ds-bench-') as tmp:
        doc_dir = args.doc_dir or (DOC_DIR if full_doc else Path(tmp))
        doc_dir.mkdir(parents=True, exist_ok=True)
        image = None
        growth = next((r for r in results if r.number == 6 and r.data.get('grid')), None)
        if growth is not None and report.growth_plot(growth, doc_dir / report.GROWTH_IMAGE):
            image = report.GROWTH_IMAGE
        rst = doc_dir / 'benchmarks.rst'
        report.write_rst(rst, results, env, quick=args.quick, image=image, seconds=seconds)
        problems = report.check_rst(rst)
        for problem in problems:
            say(f'benchmarks.rst: {problem}')
        say(f'report written to {rst}'
            + ('' if doc_dir != Path(tmp) else ' (temporary: checked, then removed)'))
    say(f'whole run: {seconds / 60:.1f} min')
    errors = [r for r in results if r.error]
    missed = [row for r in results for row in r.rows if row.met is False]
    if errors or problems:
        return 1
    return 1 if args.strict and missed else 0

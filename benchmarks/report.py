"""Presenting results: the printed table, ``doc/source/benchmarks.rst`` and the plot."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.cloudhost import CLIENT_CPUS
from benchmarks.common import BenchResult, Row

__all__ = ['GROWTH_IMAGE', 'check_rst', 'environment', 'growth_plot', 'text_report',
           'write_rst']

#: The plot's file name, next to benchmarks.rst.
GROWTH_IMAGE = 'benchmarks-growth.png'

_HEADERS = ('#', 'measure', 'vitrage_ds', 'reference', 'ratio', 'target', 'met')


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return 'not installed'


def _cpu_model() -> str:
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown CPU'


def _memory_gib() -> str:
    try:
        pages = os.sysconf('SC_PHYS_PAGES') * os.sysconf('SC_PAGE_SIZE')
        return f'{pages / 2**30:.0f} GiB'
    except (ValueError, OSError):
        return '? GiB'


def _rabbitmq() -> str:
    ctl = shutil.which('rabbitmqctl')
    if not ctl:
        return 'unknown'
    try:
        out = subprocess.run([ctl, 'version'], capture_output=True, text=True, timeout=30,
                             check=False)
    except (OSError, subprocess.TimeoutExpired):
        return 'unknown'
    return out.stdout.strip() or 'unknown'


def load_average() -> float:
    """The machine's 1-minute load average (0 where unknown)."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return 0.0


def _placement() -> str:
    if not CLIENT_CPUS:
        return 'not pinned (one CPU, or no CPU affinity here)'
    return (f'driver runners (Vitrage\'s and vitrage_ds\'s) on CPU '
            f'{",".join(map(str, sorted(CLIENT_CPUS)))}, the emulated cloud on the others '
            f'(a driver\'s threads moving between CPUs made vitrage_ds 15-25 % slower on '
            f'this kind of machine; benchmark 1 reports an unpinned run too)')


def environment(vitrage_versions: dict[str, str] | None,
                load: tuple[float, float] | None = None) -> dict[str, str]:
    """Date, machine and versions, for the report's header.

    :param load: the 1-minute load average when the run started and ended:
        other work on the machine slows the CPU-bound side more than the
        latency-bound one.
    """
    env = {
        'date': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'),
        'machine': f'{os.cpu_count()} cores ({_cpu_model()}), {_memory_gib()}, '
                   f'{platform.system()} {platform.release()}',
        'python': platform.python_version(),
        'vitrage_ds': _version('vitrage_ds'),
        'oslo.messaging': _version('oslo.messaging'),
        'keystoneauth1': _version('keystoneauth1'),
        'rabbitmq': _rabbitmq(),
        'load': ('unknown' if load is None else
                 f'{load[0]:.1f} at the start, {load[1]:.1f} at the end'),
        'placement': _placement(),
    }
    if vitrage_versions:
        env['reference'] = ', '.join(f'{k} {v}' for k, v in vitrage_versions.items())
    else:
        env['reference'] = 'Vitrage not run'
    return env


def _cells(row: Row) -> list[str]:
    ratio = '' if row.ratio is None else f'{row.ratio:.1f}x'
    met = {None: '', True: 'yes', False: 'NO'}[row.met]
    return [row.bench, row.measure, row.ours, row.reference, ratio, row.target, met]


def _grid(result: BenchResult) -> tuple[list[str], list[list[str]]]:
    grid: list[dict[str, float]] = result.data.get('grid', [])
    latencies = sorted({p['latency_ms'] for p in grid})
    stacks = sorted({p['stacks'] for p in grid})
    header = ['stacks'] + [f'{lat:.0f} ms' for lat in latencies]
    rows = []
    for n in stacks:
        cells = [f'{n:,.0f}']
        for lat in latencies:
            point = next((p for p in grid if p['stacks'] == n and p['latency_ms'] == lat), None)
            cells.append('' if point is None else
                         f'{point["seconds"]:.2f} s, {point["requests"]:,.0f} req')
        rows.append(cells)
    return header, rows


def _text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = '  '.join('-' * w for w in widths)
    out = ['  '.join(h.ljust(w) for h, w in zip(header, widths)), line]
    out += ['  '.join(str(c).ljust(w) for c, w in zip(r, widths)) for r in rows]
    return '\n'.join(out)


def text_report(results: Sequence[BenchResult], env: dict[str, str]) -> str:
    """The table printed at the end of a run, with notes and the growth grid."""
    rows = [_cells(r) for res in results for r in res.rows]
    parts = [f'vitrage_ds benchmarks, {env["date"]}; {env["machine"]}; Python {env["python"]}; '
             f'load average {env["load"]}',
             f'reference: {env["reference"]}', f'placement: {env["placement"]}', '',
             _text_table(_HEADERS, rows), '']
    for res in results:
        if res.error:
            parts.append(f'{res.number}. {res.title}: NOT MEASURED: {res.error}')
        for note in res.notes:
            parts.append(f'{res.number}. {note}')
        if res.data.get('grid'):
            header, grid = _grid(res)
            parts += ['', f'{res.number}. {res.title} (wall time of get_all, Heat requests)',
                      _text_table(header, grid)]
    return '\n'.join(parts)


def _rst_escape(text: str) -> str:
    return text.replace('\\', '\\\\').replace('*', '\\*').replace('`', '\\`').replace('|', '\\|')


def _list_table(header: Sequence[str], rows: Sequence[Sequence[str]],
                widths: Sequence[int]) -> list[str]:
    out = ['.. list-table::', '   :header-rows: 1',
           f'   :widths: {" ".join(map(str, widths))}', '']
    for cells in [header, *rows]:
        first = True
        for cell in cells:
            out.append(f'   {"* -" if first else "  -"} {_rst_escape(str(cell)) or " "}')
            first = False
    return [*out, '']


def write_rst(path: Path, results: Sequence[BenchResult], env: dict[str, str], *,
              quick: bool, image: str | None, seconds: float) -> None:
    """Write ``benchmarks.rst``: how it was measured, the ratio table, notes, the grid."""
    rows = [_cells(r) for res in results for r in res.rows]
    lines = [
        '.. This file is written by ``python -m benchmarks`` (``tox -e bench``);',
        '   edit benchmarks/report.py, not this file.', '',
        '==========', 'Benchmarks', '==========', '',
        'vitrage_ds side by side with what it replaces, measured in one run on one '
        'machine against one emulated cloud (Keystone, Heat and Aodh in a process of '
        'their own, every request delayed by the latency given): Vitrage 15.0.1\'s own '
        'Heat and Aodh drivers in a virtualenv of their own, driven as Vitrage drives '
        'them, and a bare oslo.messaging listener on the same RabbitMQ. Ratios are how '
        'many times better vitrage_ds did; absolute times are context and depend on the '
        'machine. Run it with ``tox -e bench`` or ``python3 tools/dev.py bench`` '
        '(``--only N`` for one benchmark); the source, with what each benchmark does '
        'exactly, is in ``benchmarks/``.', '',
        'Vitrage\'s virtualenv (``vitrage==15.0.1``, ``python-heatclient``, '
        '``aodhclient``) is built once, atomically, under '
        '``${XDG_CACHE_HOME:-~/.cache}/vitrage_ds/bench-vitrage-<hash of the pins>``. Its '
        'drivers run as Vitrage runs them, with no shim: ``vitrage.common.config.'
        'parse_config`` on a generated ``vitrage.conf`` (password credentials, '
        'endpoints from the emulated Keystone\'s catalog), the driver loaded by '
        '``vitrage.datasources.utils.get_drivers_by_name``, then ``get_all`` '
        '(``benchmarks/runners/vitrage_drivers.py``). ``--quick`` (what CI runs: about '
        '500 stacks and smaller everything, a couple of minutes) runs Vitrage only when '
        'that virtualenv is already cached, and writes its report to a temporary '
        'directory; only a full run of every benchmark rewrites this page.', '',
        f'* Date: {env["date"]}{" (quick run: smaller sizes)" if quick else ""}; '
        f'whole run {seconds / 60:.1f} min',
        f'* Machine: {env["machine"]}; 1-minute load average {env["load"]} (other '
        f'work on the machine slows vitrage_ds, which is CPU-bound, more than Vitrage\'s '
        f'sequential drivers, which wait on the network)',
        f'* Placement: {env["placement"]}',
        f'* Python {env["python"]}; vitrage_ds {env["vitrage_ds"]}, oslo.messaging '
        f'{env["oslo.messaging"]}, keystoneauth1 {env["keystoneauth1"]}; RabbitMQ '
        f'{env["rabbitmq"]}',
        f'* Reference: {env["reference"]}', '',
        'Results', '=======', '']
    lines += _list_table(_HEADERS, rows, (3, 30, 20, 20, 7, 18, 5))
    for res in results:
        lines += [f'{res.number}. {res.title}', '-' * (len(res.title) + 3), '']
        doc = _doc(res.number)
        if doc:
            lines += [doc, '']
        if res.error:
            lines += [f'Not measured: {_rst_escape(res.error)}', '']
        for note in res.notes:
            lines += [f'* {_rst_escape(note)}']
        if res.notes:
            lines.append('')
        if res.data.get('grid'):
            header, grid = _grid(res)
            lines += ['Wall time of ``get_all`` and Heat API requests, by stack count and '
                      'latency per request:', '']
            lines += _list_table(header, grid, [12] + [20] * (len(header) - 1))
            if image:
                lines += [f'.. image:: {image}', '   :alt: wall time of the Heat snapshot '
                          'by stack count, one line per latency', '']
    path.write_text('\n'.join(lines).rstrip() + '\n')


def _doc(number: int) -> str:
    """The first paragraph of benchmark ``number``'s module docstring, after its title."""
    import importlib
    names = {1: 'b1_heat', 2: 'b2_aodh', 3: 'b3_bus', 4: 'b4_reconcile', 5: 'b5_notifier',
             6: 'b6_growth'}
    module = importlib.import_module(f'benchmarks.{names[number]}')
    text = (module.__doc__ or '').strip().split('\n\n')
    first = ' '.join(' '.join(p.split()) for p in text[1:2])
    # Sphinx roles are not plain docutils: keep their text as literals.
    return re.sub(r':[a-z]+:`~?([^`]+)`', r'``\1``', first)


def growth_plot(result: BenchResult, path: Path) -> bool:
    """Plot benchmark 6's grid to ``path`` (PNG); ``False`` without matplotlib."""
    try:
        import matplotlib
    except ImportError:
        return False
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    grid: list[dict[str, Any]] = result.data.get('grid', [])
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    for lat in sorted({p['latency_ms'] for p in grid}):
        points = sorted((p['stacks'], p['seconds']) for p in grid if p['latency_ms'] == lat)
        ax.plot([x for x, _ in points], [y for _, y in points], marker='o',
                label=f'{lat:.0f} ms per request')
    ax.set_xscale('log')
    ax.set_yscale('log')
    ax.set_xlabel('stacks (10 resources each)')
    ax.set_ylabel('get_all wall time (s)')
    ax.set_title('vitrage_ds Heat snapshot: cost growth')
    ax.grid(True, which='both', alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, metadata={'Software': None})
    plt.close(fig)
    return True


def check_rst(path: Path) -> list[str]:
    """Problems docutils finds in the written file (warnings and worse)."""
    import io

    import docutils.core  # type: ignore[import-untyped]

    stream = io.StringIO()
    docutils.core.publish_doctree(
        path.read_text(), source_path=str(path),
        settings_overrides={'warning_stream': stream, 'report_level': 2,
                            'halt_level': 5})
    return [line for line in stream.getvalue().splitlines() if line.strip()]

#!/usr/bin/env python3
"""Developer entry point: needs only python3; sets up ``.venv`` by itself.

Usage::

    python3 tools/dev.py test [TIER ...]   # unit packaging functional integration reliability
    python3 tools/dev.py lint              # ruff + mypy
    python3 tools/dev.py docs              # Sphinx docs and release notes, warnings are errors
    python3 tools/dev.py bench [ARGS]      # benchmarks (not part of test)
    python3 tools/dev.py ARGS...           # any vitrage-ds command, e.g. demo

One virtualenv serves every tier. It is rebuilt only when a requirements
file or setup.cfg changes (a hash of them is stamped in it).
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV = Path(os.environ.get('VITRAGE_DS_VENV', ROOT / '.venv'))
BIN = VENV / 'bin'
INPUTS = ['requirements.txt', 'test-requirements.txt', 'doc/requirements.txt',
          'setup.cfg', 'pyproject.toml', 'vitrage-ds-testing/requirements.txt',
          'vitrage-ds-testing/setup.cfg', 'tests/thirdparty/pyproject.toml']
TIERS = ['unit', 'packaging', 'functional', 'integration', 'reliability']
#: stestr workers per tier (absent: one per CPU). The packaging tier shares one
#: build of the wheels, so it runs serially. The other tiers' tests mostly wait:
#: on real Heat and Aodh, the broker, child processes and poll intervals. Each
#: works in projects, vhosts, pools, clouds and (where it restarts one) broker
#: nodes of its own, and looks only at its own stacks and alarms in what admin
#: credentials list of every project. On two CPUs more workers than CPUs took
#: the integration tier from 290 s to 178 s (two workers: the real services have
#: a CPU's worth of work), the functional one from 275 s to 187 s and the
#: reliability one from about 300 s to 106-166 s (four).
WORKERS = {'packaging': 1, 'integration': 2, 'functional': 4, 'reliability': 4}
TOTALS = re.compile(r'^ - (Passed|Failed|Skipped): (\d+)', re.M)


def log(msg: str) -> None:
    print(f'[dev] {msg}', flush=True)


def run(*cmd: str | Path, check: bool = True, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, check=check, **kw)


def ensure_venv() -> None:
    digest = hashlib.sha256()
    for name in INPUTS:
        path = ROOT / name
        if path.exists():
            digest.update(name.encode() + path.read_bytes())
    stamp = VENV / '.vitrage_ds-stamp'
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return
    start = time.monotonic()
    log(f'setting up {VENV}')
    if not (BIN / 'python').exists():
        run(sys.executable, '-m', 'venv', VENV)
    pip = [BIN / 'python', '-m', 'pip', 'install', '-q', '--disable-pip-version-check']
    run(*pip, '--upgrade', 'pip', 'setuptools', 'wheel', 'pbr')
    run(*pip, '-r', 'requirements.txt', '-r', 'test-requirements.txt',
        '-r', 'doc/requirements.txt')
    # The test kit is a distribution of its own (vitrage-ds-testing); it and
    # the third-party example plugin install beside the package, editable.
    run(*pip, '--no-build-isolation', '-e', '.', '-e', 'vitrage-ds-testing',
        '-e', 'tests/thirdparty')
    stamp.write_text(digest.hexdigest())
    log(f'virtualenv ready in {time.monotonic() - start:.0f} s')


def env() -> dict[str, str]:
    e = dict(os.environ)
    e['PATH'] = f'{BIN}{os.pathsep}{e.get("PATH", "")}'
    e['VIRTUAL_ENV'] = str(VENV)
    e.setdefault('PYTHONDONTWRITEBYTECODE', '1')
    return e


def start_real_services(tier_env: dict[str, str]):
    """Start real Heat and Aodh once for a tier (tools/real_services.py).

    Exports their VITRAGE_DS_REAL_* coordinates into ``tier_env`` and
    returns the function that stops them. When they cannot start, says why
    and returns None: the tests then start their own, or skip (fail under
    CI=true).
    """
    fd, name = tempfile.mkstemp(prefix='vitrage_ds-real-', suffix='.env')
    os.close(fd)
    env_file = Path(name)
    script = ROOT / 'tools' / 'real_services.py'
    began = time.monotonic()
    if run(BIN / 'python', script, 'start', '--env-file', env_file,
           '--owner-pid', str(os.getpid()), check=False, env=env(),
           stdout=subprocess.DEVNULL).returncode != 0:
        env_file.unlink()
        log('real services did not start (see above)')
        return None
    log(f'real services started in {time.monotonic() - began:.0f} s')
    for line in env_file.read_text().splitlines():
        key, _, value = line.removeprefix('export ').partition('=')
        tier_env[key] = shlex.split(value)[0]

    def stop() -> None:
        run(BIN / 'python', script, 'stop', '--env-file', env_file, check=False, env=env())
        env_file.unlink()
    return stop


def test(tiers: list[str]) -> int:
    tiers = tiers or TIERS
    unknown = set(tiers) - set(TIERS)
    if unknown:
        sys.exit(f'unknown tier(s): {", ".join(sorted(unknown))}; tiers: {", ".join(TIERS)}')
    passed = failed = skipped = 0
    status = 0
    failing: list[str] = []
    for tier in tiers:
        path = ROOT / 'tests' / tier
        if not path.is_dir():
            continue
        start = time.monotonic()
        log(f'tier {tier}')
        workers = WORKERS.get(tier)
        extra = [] if workers is None else (
            ['--serial'] if workers == 1 else ['--concurrency', str(workers)])
        tier_env = env()
        stop_services = start_real_services(tier_env) if tier == 'integration' else None
        try:
            proc = subprocess.Popen(
                [str(BIN / 'stestr'), '--test-path', f'./tests/{tier}', '--top-dir', './',
                 'run', '--color', *extra],
                cwd=ROOT, env=tier_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True)
            out = []
            assert proc.stdout is not None
            for line in proc.stdout:
                sys.stdout.write(line)
                out.append(line)
            rc = proc.wait()
        finally:
            if stop_services:
                stop_services()
        counts = {k: int(v) for k, v in TOTALS.findall(''.join(out))}
        tier_failed = counts.get('Failed', 0)
        if rc != 0 and tier_failed == 0:
            tier_failed = 1  # the runner itself failed (import error, crash)
        passed += counts.get('Passed', 0)
        failed += tier_failed
        skipped += counts.get('Skipped', 0)
        status = status or rc
        if rc != 0:
            failing += _failing_tests(tier_env) or [f'tier {tier}: the runner failed']
        log(f'tier {tier}: {counts.get("Passed", 0)} passed, {tier_failed} failed, '
            f'{counts.get("Skipped", 0)} skipped in {time.monotonic() - start:.0f} s')
    # Repeated just above the totals, where a CI log's tail shows them.
    for name in failing:
        print(f'FAILED {name}')
    print(f'{passed} passed, {failed} failed, {skipped} skipped', flush=True)
    return 1 if status or failed else 0


def _failing_tests(tier_env: dict[str, str]) -> list[str]:
    """The ids of the tests that failed in stestr's last run."""
    listed = subprocess.run([str(BIN / 'stestr'), 'failing', '--list'], cwd=ROOT,
                            env=tier_env, capture_output=True, text=True, check=False)
    return [line for line in listed.stdout.splitlines() if line.strip()]


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    ensure_venv()
    cmd, rest = argv[0], argv[1:]
    if cmd == 'test':
        return test(rest)
    if cmd == 'lint':
        ruff = run(BIN / 'ruff', 'check', 'vitrage_ds', 'vitrage-ds-testing', 'tests', 'tools',
                   'benchmarks', check=False)
        mypy = run(BIN / 'mypy', check=False, env=env())
        return ruff.returncode or mypy.returncode
    if cmd == 'docs':
        # -E: a fresh environment, so a warning in an unchanged page still fails.
        docs = run(BIN / 'sphinx-build', '-E', '-W', '--keep-going', '-q', '-b', 'html',
                   'doc/source', 'doc/build/html', check=False, env=env())
        notes = run(BIN / 'sphinx-build', '-E', '-W', '--keep-going', '-q', '-b', 'html',
                    'releasenotes/source', 'releasenotes/build/html', check=False, env=env())
        return docs.returncode or notes.returncode
    if cmd == 'bench':
        return run(BIN / 'python', '-m', 'benchmarks', *rest, check=False, env=env()).returncode
    return run(BIN / 'vitrage-ds', *argv, check=False, env=env()).returncode


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

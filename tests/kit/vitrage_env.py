"""Vitrage 15.0.1 and its clients in a virtualenv of their own, built once.

Vitrage's own code runs in a separate virtualenv so that nothing of
Vitrage's (its pins of oslo.*, eventlet, ...) touches the project's
environment: the benchmarks' reference drivers, and the integration tests
that run vitrage_ds inside Vitrage (with the repository on ``PYTHONPATH``:
every runtime requirement of vitrage_ds is among Vitrage's own, which
:meth:`VitrageEnv.missing` checks). The environment lives under
``${XDG_CACHE_HOME:-~/.cache}/vitrage_ds/bench-vitrage-<hash>``, where the
hash covers :data:`PINS` and the Python version: changing a pin builds a
new one. It is built in a temporary directory next to it and renamed into
place only once complete (a rename is atomic), under a file lock, so an
interrupted or concurrent build never leaves a half-installed environment
that looks usable. The benchmarks run ``<env>/bin/python``, which finds its
environment from its own location, so the rename is safe; the console
scripts pip wrote keep the temporary path in their ``#!`` lines and are
not used.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import fixtures

__all__ = ['PINS', 'VitrageEnv', 'VitragePython', 'cache_root']

ROOT = Path(__file__).resolve().parents[2]

#: What the reference environment installs. The drivers import only
#: Vitrage, its clients for Heat and Aodh, and Vitrage's own requirements.
PINS = ('vitrage==15.0.1', 'python-heatclient', 'aodhclient')

_COMPLETE = '.bench-complete'


def cache_root() -> Path:
    """``${XDG_CACHE_HOME:-~/.cache}/vitrage_ds``."""
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return Path(base) / 'vitrage_ds'


def _digest() -> str:
    text = '\n'.join((*PINS, f'python{sys.version_info[0]}.{sys.version_info[1]}'))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class VitrageEnv:
    """The cached reference environment (see the module docstring)."""

    def __init__(self, root: Path | None = None) -> None:
        self.path = (root or cache_root()) / f'bench-vitrage-{_digest()}'

    @property
    def python(self) -> Path:
        return self.path / 'bin' / 'python'

    def ready(self) -> bool:
        """Whether a complete environment is in place."""
        return (self.path / _COMPLETE).is_file() and self.python.exists()

    def versions(self) -> dict[str, str]:
        """Installed versions of Vitrage and its clients (for the report)."""
        code = ('import importlib.metadata as m, json; print(json.dumps({n: m.version(n) '
                'for n in ("vitrage", "python-heatclient", "aodhclient", "keystoneauth1")}))')
        out = subprocess.run([str(self.python), '-I', '-c', code], capture_output=True,
                             text=True, check=True, timeout=60)
        versions: dict[str, str] = json.loads(out.stdout)
        return versions

    def missing(self, requirements: Path = ROOT / 'requirements.txt') -> list[str]:
        """vitrage_ds's runtime requirements (by name) the environment lacks.

        An empty list when ``requirements`` does not exist (an installed
        vitrage_ds without its source tree).
        """
        if not requirements.is_file():
            return []
        names = [re.split(r'[<>=!~;\[ ]', line.strip(), maxsplit=1)[0]
                 for line in requirements.read_text().splitlines()
                 if line.strip() and not line.lstrip().startswith('#')]
        code = ('import importlib.metadata as m, json, sys\n'
                'def has(name):\n'
                '    try:\n'
                '        m.version(name)\n'
                '    except m.PackageNotFoundError:\n'
                '        return False\n'
                '    return True\n'
                'print(json.dumps([n for n in json.loads(sys.argv[1]) if not has(n)]))\n')
        out = subprocess.run([str(self.python), '-I', '-c', code, json.dumps(names)],
                             capture_output=True, text=True, check=True, timeout=60)
        lacking: list[str] = json.loads(out.stdout)
        return lacking

    def ensure(self, log: object = print) -> float:
        """Build the environment unless it is ready; returns the seconds spent.

        :raises subprocess.CalledProcessError: pip failed (its output went
            to the terminal); nothing is left in place.
        """
        if self.ready():
            return 0.0
        began = time.monotonic()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.parent / f'{self.path.name}.lock', 'w') as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if self.ready():  # built by a concurrent run meanwhile
                return time.monotonic() - began
            if self.path.exists():  # a leftover without its completion mark
                shutil.rmtree(self.path)
            tmp = self.path.with_name(f'{self.path.name}.tmp-{os.getpid()}')
            shutil.rmtree(tmp, ignore_errors=True)
            try:
                log(f'building the Vitrage reference environment in {self.path} '  # type: ignore[operator]
                    '(once; a few minutes)')
                subprocess.run([sys.executable, '-m', 'venv', str(tmp)], check=True)
                pip = [str(tmp / 'bin' / 'python'), '-m', 'pip', 'install', '-q',
                       '--disable-pip-version-check']
                subprocess.run([*pip, '--upgrade', 'pip', 'setuptools', 'wheel'], check=True)
                subprocess.run([*pip, *PINS], check=True)
                (tmp / _COMPLETE).write_text('\n'.join(PINS) + '\n')
                os.rename(tmp, self.path)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return time.monotonic() - began


class VitragePython(fixtures.Fixture):
    """The Vitrage environment's python for a test, with vitrage_ds importable.

    Builds the environment unless it is ready (:meth:`VitrageEnv.ensure`,
    under its lock: once per machine, about a minute), checks that every
    runtime requirement of vitrage_ds is there, and runs scripts with the
    repository first on ``PYTHONPATH``: the cached environment itself is
    never changed.

    :raises RuntimeError: (in ``setUp``) the environment lacks one of
        vitrage_ds's requirements.
    """

    def __init__(self, env: VitrageEnv | None = None) -> None:
        super().__init__()
        self.env = env or VitrageEnv()

    def _setUp(self) -> None:
        self.env.ensure(log=lambda line: print(line, file=sys.stderr))
        missing = self.env.missing()
        if missing:
            raise RuntimeError(f'{self.env.path} lacks vitrage_ds requirements {missing}: '
                               f'add them to PINS in {__name__}')

    def run(self, script: Path, *args: str, timeout: float = 300.0
            ) -> subprocess.CompletedProcess[str]:
        """Run ``script`` with ``args``; its output captured, whatever its exit code."""
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join([str(ROOT), *filter(None, [env.get('PYTHONPATH')])])
        return subprocess.run([str(self.env.python), str(script), *args], env=env,
                              capture_output=True, text=True, timeout=timeout, check=False)

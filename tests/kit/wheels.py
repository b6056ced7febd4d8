"""Built wheels installed into fresh virtualenvs, as a new user would.

:func:`built_wheels` builds the three distributions of this repository
(``vitrage-ds``, ``vitrage-ds-testing`` and the example third-party plugin)
once per process; :class:`FreshVenv` makes an empty virtualenv (with pip in
it, for ``pip check``) and installs wheels into it with uv, their
dependencies from the package index: the same resolution a ``pip install``
makes, in seconds rather than a minute once uv's cache holds the
dependencies. Nothing of the project virtualenv leaks in: the child
processes run with an environment that names only the new one.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ['FreshVenv', 'Wheels', 'built_wheels']

ROOT = Path(__file__).resolve().parents[2]
_UV = str(Path(sys.executable).parent / 'uv')
#: Longest any build or install may take, in seconds.
DEADLINE = 600

_lock = threading.Lock()
_built: Wheels | None = None


@dataclass(frozen=True)
class Wheels:
    """Paths of the built wheels."""

    runtime: Path
    testing: Path
    example: Path

    def names(self, wheel: Path) -> list[str]:
        """The file list of ``wheel``."""
        with zipfile.ZipFile(wheel) as archive:
            return archive.namelist()


def built_wheels() -> Wheels:
    """The repository's wheels, built with the running interpreter's pip on first use.

    Built from the working tree (``pip wheel --no-deps``), into a directory
    removed when the process exits.
    """
    global _built
    with _lock:
        if _built is None:
            out = Path(tempfile.mkdtemp(prefix='vitrage-ds-wheels-'))
            atexit.register(shutil.rmtree, out, True)
            _run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
                  '--no-build-isolation', '--wheel-dir', str(out),
                  str(ROOT), str(ROOT / 'vitrage-ds-testing'), str(ROOT / 'tests' / 'thirdparty')],
                 cwd=ROOT, env=_clean_env())
            _built = Wheels(runtime=_one(out, 'vitrage_ds-*.whl'),
                            testing=_one(out, 'vitrage_ds_testing-*.whl'),
                            example=_one(out, 'vitrage_ds_example-*.whl'))
        return _built


class FreshVenv:
    """An empty virtualenv under ``parent``; :meth:`install` puts wheels in it."""

    def __init__(self, parent: Path) -> None:
        self.path = Path(parent) / 'venv'
        _run([_UV, 'venv', '-q', '--seed', '--python', sys.executable, str(self.path)],
             cwd=Path(parent), env=_clean_env())
        self.bin = self.path / 'bin'

    def env(self) -> dict[str, str]:
        """An environment that finds this virtualenv's commands first."""
        env = _clean_env()
        env['PATH'] = f'{self.bin}{os.pathsep}{env.get("PATH", "")}'
        env['VIRTUAL_ENV'] = str(self.path)
        return env

    def install(self, *requirements: str | Path) -> None:
        """Install wheels (and requirements), dependencies from the index."""
        _run([_UV, 'pip', 'install', '-q', '--python', str(self.bin / 'python'),
              *[str(r) for r in requirements]], cwd=self.path.parent, env=self.env())

    def pip(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run('python', '-m', 'pip', '--disable-pip-version-check', *args)

    def run(self, command: str, *args: str, cwd: Path | None = None,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run one of the virtualenv's commands; output captured as text.

        :raises AssertionError: ``check`` and it exited non-zero (with its output).
        """
        return _run([str(self.bin / command), *args], cwd=cwd or self.path.parent,
                    env=self.env(), check=check)


def _run(cmd: Sequence[str], *, cwd: Path, env: dict[str, str],
         check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(list(cmd), cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=DEADLINE, check=False)
    if check and proc.returncode != 0:
        raise AssertionError(f'{" ".join(cmd)} exited {proc.returncode}:\n'
                             f'{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}')
    return proc


def _clean_env() -> dict[str, str]:
    # Without the project virtualenv's traces: a fresh one must stand alone.
    env = {k: v for k, v in os.environ.items()
           if k not in ('VIRTUAL_ENV', 'PYTHONPATH', 'PYTHONHOME')}
    project_bin = str(Path(sys.executable).parent)
    env['PATH'] = os.pathsep.join(p for p in env.get('PATH', '').split(os.pathsep)
                                  if p != project_bin)
    env['PIP_DISABLE_PIP_VERSION_CHECK'] = '1'
    return env


def _one(directory: Path, pattern: str) -> Path:
    found = sorted(directory.glob(pattern))
    if len(found) != 1:
        raise AssertionError(f'expected one {pattern} in {directory}, found {found}')
    return found[0]

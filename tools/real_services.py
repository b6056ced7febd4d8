#!/usr/bin/env python3
"""Real Heat 27 and Aodh 23 on loopback, for the integration tier.

Usage::

    python3 tools/real_services.py install            # build the cached virtualenv
    eval "$(python3 tools/real_services.py start)"    # start a run; exports VITRAGE_DS_REAL_*
    python3 tools/real_services.py start --env-file F # ... and write them to F too
    python3 tools/real_services.py status             # virtualenv, backends, runs
    python3 tools/real_services.py stop [STATE_DIR]   # default: $VITRAGE_DS_REAL_STATE_DIR
    python3 tools/real_services.py stop --all         # every run on this machine

Needs only python3 (and PostgreSQL and RabbitMQ on 127.0.0.1 to start).
The integration tests find a started run through the exported variables;
without them each test process starts (and stops) a run of its own.

Exit status: 0 done, 1 failed, 3 PostgreSQL or RabbitMQ missing or the
virtualenv could not be built.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import sys
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
UNAVAILABLE = 3


def _launcher() -> ModuleType:
    """The launcher module, loaded by path: importing the package would need
    the project's virtualenv."""
    path = ROOT / 'tests' / 'kit' / 'real_launcher.py'
    spec = importlib.util.spec_from_file_location('vitrage_ds_real_launcher', path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    sub = parser.add_subparsers(dest='command', required=True)
    sub.add_parser('install', help='build the services virtualenv unless cached')
    start = sub.add_parser('start', help='start a run; print `export` lines')
    start.add_argument('--env-file', help='also write the variables to this file')
    start.add_argument('--owner-pid', type=int,
                       help='stop the run by itself once this process is gone')
    stop = sub.add_parser('stop', help='stop a run and drop what it created')
    stop.add_argument('state_dir', nargs='?', help='the run (default: $VITRAGE_DS_REAL_STATE_DIR)')
    stop.add_argument('--env-file', help='read the run from this file')
    stop.add_argument('--all', action='store_true', help='stop every run on this machine')
    sub.add_parser('status', help='show the virtualenv, the backends and the runs')
    args = parser.parse_args(argv)

    real = _launcher()
    try:
        if args.command == 'install':
            began = time.monotonic()
            print(real.install())
            print(f'install: {time.monotonic() - began:.1f} s', file=sys.stderr)
        elif args.command == 'start':
            coords = real.start(owner_pid=args.owner_pid)
            lines = [f'export {k}={shlex.quote(v)}' for k, v in sorted(coords.to_env().items())]
            if args.env_file:
                Path(args.env_file).write_text('\n'.join(lines) + '\n')
            print('\n'.join(lines))
        elif args.command == 'stop' and args.all:
            for run in real.runs():
                real.stop(run['state_dir'])
        elif args.command == 'stop':
            state_dir = args.state_dir or _from_env_file(args.env_file) or os.environ.get(
                'VITRAGE_DS_REAL_STATE_DIR')
            if not state_dir:
                parser.error('which run? give STATE_DIR, --env-file or $VITRAGE_DS_REAL_STATE_DIR')
            real.stop(state_dir)
        else:
            return _status(real)
    except real.ServicesUnavailable as exc:
        print(f'real services unavailable: {exc}', file=sys.stderr)
        return UNAVAILABLE
    except RuntimeError as exc:
        print(f'real services failed: {exc}', file=sys.stderr)
        return 1
    return 0


def _from_env_file(path: str | None) -> str | None:
    if not path:
        return None
    for line in Path(path).read_text().splitlines():
        name, _, value = line.removeprefix('export ').partition('=')
        if name == 'VITRAGE_DS_REAL_STATE_DIR':
            return shlex.split(value)[0]
    return None


def _status(real: ModuleType) -> int:
    venv = real.installed()
    print(f'virtualenv: {venv or "not built (" + str(real.venv_path()) + ")"}')
    try:
        real.check_backends()
        print('backends: PostgreSQL and RabbitMQ reachable')
    except real.ServicesUnavailable as exc:
        print(f'backends: {exc}')
    runs = real.runs()
    for run in runs:
        alive = ', '.join(f'{n} {"up" if up else "down"}' for n, up in run['alive'].items())
        print(f'run {run["run_id"]}: {run["state_dir"]}: {alive}')
    if not runs:
        print('runs: none')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

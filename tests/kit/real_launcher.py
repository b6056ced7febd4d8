"""Install, start and stop real Heat 27 and Aodh 23 on loopback.

Standard library only, and no import of vitrage_ds at module level: the
command line tool ``tools/real_services.py`` loads this file by path with a
bare ``python3`` on a fresh machine.

What a run creates, all named after its run id and removed by :func:`stop`:
the PostgreSQL databases ``vds_<run>_heat`` and ``vds_<run>_aodh``, the
RabbitMQ vhost ``vds_<run>`` (so the ``heat`` and ``aodh`` exchanges and
every queue are private to the run), a work directory with the services'
configuration and logs, and these processes, each in a process group of
its own: one Heat engine (one worker), two Heat APIs sharing it (Heat's
default policy, and a policy that allows ``stacks:global_index``) and two
Aodh APIs sharing one database (see :attr:`Coordinates.aodh_composite_url`),
all on free loopback ports, without Keystone.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    'HIDDEN_STACK_TAG',
    'PINS',
    'Coordinates',
    'ServicesUnavailable',
    'install',
    'installed',
    'start',
    'stop',
    'venv_path',
]

#: What the services' virtualenv holds; its cache key is a hash of these.
PINS: tuple[str, ...] = (
    'aodh==23.0.0',
    'openstack-heat==27.0.1',
    'aodhclient',
    'psycopg[binary]',
    'psycopg2-binary',
)

PG_HOST, PG_PORT, PG_USER = '127.0.0.1', 5432, 'postgres'
RABBIT_HOST, RABBIT_PORT = '127.0.0.1', 5672
RABBIT_USER = RABBIT_PASSWORD = 'guest'
HEAT_EXCHANGE, AODH_EXCHANGE, TOPIC = 'heat', 'aodh', 'notifications'
#: Heat's ``[DEFAULT] hidden_stack_tags``: a stack tagged so is listed only
#: with ``show_hidden=true`` (no tag is hidden in Heat 27 by default).
HIDDEN_STACK_TAG = 'vds-hidden'

_ENV_PREFIX = 'VITRAGE_DS_REAL_'
_COMPLETE = '.vitrage_ds-complete'
_SERVE = Path(__file__).with_name('real_serve.py')
_READY_TIMEOUT = 180.0
_STOP_GRACE = 5.0

Log = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(f'[real-services] {msg}', file=sys.stderr, flush=True)


class ServicesUnavailable(RuntimeError):
    """PostgreSQL or RabbitMQ is not there, or the services cannot be installed."""


# -- install -----------------------------------------------------------------

def venv_path(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """Where the services' virtualenv lives for the current :data:`PINS`.

    ``<cache>/vitrage_ds/real-services-<hash>``, with ``<cache>`` being
    ``cache_dir``, ``$XDG_CACHE_HOME`` or ``~/.cache``. The hash covers the
    pins and the Python version, so changing either builds a new one.
    """
    base = Path(cache_dir or os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache')
    key = hashlib.sha256('\n'.join(
        [*PINS, f'python{sys.version_info[0]}.{sys.version_info[1]}']).encode())
    return base / 'vitrage_ds' / f'real-services-{key.hexdigest()[:16]}'


def installed(cache_dir: str | os.PathLike[str] | None = None) -> Path | None:
    """The complete services' virtualenv, or ``None`` when not built yet."""
    path = venv_path(cache_dir)
    return path if (path / _COMPLETE).exists() else None


def install(cache_dir: str | os.PathLike[str] | None = None, log: Log = _stderr) -> Path:
    """Build the services' virtualenv unless it exists; return its path.

    Atomic: the virtualenv is built in a temporary directory beside its
    final place and renamed there only after ``pip install`` and a clean
    ``pip check``, so an interrupted install never leaves a half-built one
    (its leftovers are removed by the next install). Concurrent installs
    wait for each other through a lock file. Nothing in the built
    virtualenv is invoked through its console scripts (their ``#!`` lines
    name the temporary directory): always ``bin/python``.

    :raises ServicesUnavailable: pip failed (no network, a conflict); the
        message carries pip's last lines.
    """
    target = venv_path(cache_dir)
    if (target / _COMPLETE).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f'.{target.name}.lock', 'w') as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (target / _COMPLETE).exists():
            return target
        for stale in target.parent.glob(f'.{target.name}.tmp-*'):
            shutil.rmtree(stale, ignore_errors=True)
        if target.exists():  # built by an older, non-atomic layout
            shutil.rmtree(target)
        tmp = Path(tempfile.mkdtemp(prefix=f'.{target.name}.tmp-', dir=target.parent))
        started = time.monotonic()
        log(f'installing {" ".join(PINS)} into {target} (about a minute)')
        try:
            base_python = getattr(sys, '_base_executable', None) or sys.executable
            _run_checked([base_python, '-m', 'venv', str(tmp)], 'python -m venv')
            pip = [str(tmp / 'bin' / 'python'), '-m', 'pip', '--disable-pip-version-check']
            _run_checked([*pip, 'install', '-q', *PINS], 'pip install')
            _run_checked([*pip, 'check'], 'pip check')
            (tmp / _COMPLETE).write_text('\n'.join(PINS) + '\n')
            os.rename(tmp, target)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    log(f'installed in {time.monotonic() - started:.0f} s')
    return target


def _run_checked(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        tail = '\n'.join(proc.stdout.strip().splitlines()[-15:])
        raise ServicesUnavailable(f'{what} failed (exit {proc.returncode}):\n{tail}')


# -- coordinates ---------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Coordinates:
    """Where one run's services answer; what tests need to reach them.

    Exported to test processes as ``VITRAGE_DS_REAL_*`` environment
    variables (:meth:`to_env` / :meth:`from_env`).

    :ivar run_id: names this run's databases and vhost.
    :ivar heat_url: Heat API root with Heat's default policy
        (``global_tenant=true`` listings answer 403).
    :ivar heat_global_url: Heat API root whose policy allows
        ``stacks:global_index``; same engine and database.
    :ivar aodh_url: Aodh API root (paths start with ``/v2``).
    :ivar aodh_composite_url: a second Aodh API on the same database, to
        create ``composite`` alarms with ``prometheus`` sub-rules: Aodh 23
        refuses those (400 "Unknown attribute ... scope_to_project") once
        its API process has validated any ``prometheus`` alarm, because
        ``PrometheusRule`` keeps ``scope_to_project`` as a class attribute.
        Never send a ``prometheus`` alarm to this one.
    :ivar transport_url: oslo.messaging URL of the run's own vhost.
    :ivar heat_exchange: exchange of Heat's notifications.
    :ivar aodh_exchange: exchange of Aodh's notifications.
    :ivar topic: notification topic of both services.
    :ivar state_dir: the run's work directory (configuration, logs,
        ``state.json``).
    """

    run_id: str
    heat_url: str
    heat_global_url: str
    aodh_url: str
    aodh_composite_url: str
    transport_url: str
    heat_exchange: str = HEAT_EXCHANGE
    aodh_exchange: str = AODH_EXCHANGE
    topic: str = TOPIC
    state_dir: str = ''

    def heat_endpoint(self, project: str, global_policy: bool = False) -> str:
        """The versioned Heat endpoint of ``project`` (``.../v1/<project>``)."""
        root = self.heat_global_url if global_policy else self.heat_url
        return f'{root}/v1/{project}'

    def headers(self, project: str, user: str = 'vds-user',
                roles: str = 'admin') -> dict[str, str]:
        """Identity headers that both services read without Keystone.

        Heat's noauth middleware takes ``X-Auth-Project``/``X-Auth-User``
        and always grants ``admin`` (so Heat ignores ``roles``); Aodh's
        noauth mode takes ``X-Project-Id``/``X-User-Id``/``X-Roles``.
        """
        return {'X-Auth-Project': project, 'X-Auth-User': user,
                'X-Project-Id': project, 'X-User-Id': user, 'X-Roles': roles}

    def to_env(self) -> dict[str, str]:
        """The ``VITRAGE_DS_REAL_*`` variables describing this run."""
        return {_ENV_PREFIX + f.name.upper(): str(getattr(self, f.name))
                for f in dataclasses.fields(self)}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Coordinates | None:
        """The run described by ``environ`` (default ``os.environ``), if any."""
        environ = os.environ if environ is None else environ
        values = {f.name: environ.get(_ENV_PREFIX + f.name.upper())
                  for f in dataclasses.fields(cls)}
        if not all(values[k] for k in ('run_id', 'heat_url', 'heat_global_url', 'aodh_url',
                                       'aodh_composite_url', 'transport_url')):
            return None
        return cls(**{k: v for k, v in values.items() if v is not None})


# -- start ---------------------------------------------------------------------

def check_backends() -> None:
    """Fail fast, with what to do, when PostgreSQL or RabbitMQ is not there.

    :raises ServicesUnavailable: one is unreachable or its tool is missing.
    """
    problems = []
    for name, host, port, hint in (
            ('PostgreSQL', PG_HOST, PG_PORT, 'e.g. `service postgresql start`'),
            ('RabbitMQ', RABBIT_HOST, RABBIT_PORT, 'e.g. `service rabbitmq-server start`')):
        try:
            socket.create_connection((host, port), timeout=3).close()
        except OSError as exc:
            problems.append(f'{name} is not reachable on {host}:{port} '
                            f'({exc.strerror or exc}); start it, {hint}')
    for tool, what in (('psql', 'PostgreSQL client'), ('rabbitmqctl', 'RabbitMQ')):
        if not shutil.which(tool):
            problems.append(f'`{tool}` ({what}) is not on PATH')
    if problems:
        raise ServicesUnavailable('real services need PostgreSQL and RabbitMQ on loopback: '
                                  + '; '.join(problems))


def start(venv: Path | None = None, log: Log = _stderr,
          owner_pid: int | None = None) -> Coordinates:
    """Create a run's databases and vhost, start its services, wait for them.

    Returns once Heat answers a stack listing through its engine (both
    APIs) and Aodh an alarm listing. On any failure everything already
    created is removed again before the exception propagates.

    :param owner_pid: when given, a small guard process stops the run as
        soon as that process is gone (killed, timed out, crashed), so a
        test process that never reaches its cleanup leaks nothing.

    :raises ServicesUnavailable: PostgreSQL or RabbitMQ is missing, or the
        virtualenv cannot be built.
    :raises RuntimeError: a service did not come up; the message carries
        the tail of its log.
    """
    check_backends()
    venv = venv or install(log=log)
    run_id = secrets.token_hex(4)
    state_dir = Path(tempfile.mkdtemp(prefix=f'vitrage_ds-real-{run_id}-'))
    state: dict[str, Any] = {'run_id': run_id, 'state_dir': str(state_dir),
                             'databases': [], 'vhost': None, 'processes': {}}
    started = time.monotonic()
    try:
        if owner_pid is not None:
            state['processes']['guard'] = _guard(owner_pid, state_dir)
        coords = _start(venv, run_id, state_dir, state, log)
    except BaseException:
        _cleanup(state, log)
        raise
    log(f'run {run_id} ready in {time.monotonic() - started:.1f} s '
        f'(heat {coords.heat_url}, aodh {coords.aodh_url})')
    return coords


def _save(state: dict[str, Any]) -> None:
    path = Path(state['state_dir']) / 'state.json'
    tmp = path.with_suffix('.tmp')
    tmp.write_text(json.dumps(state, indent=2))
    os.replace(tmp, path)


def _start(venv: Path, run_id: str, state_dir: Path, state: dict[str, Any],
           log: Log) -> Coordinates:
    vhost = f'vds_{run_id}'
    heat_db, aodh_db = f'vds_{run_id}_heat', f'vds_{run_id}_aodh'
    for db in (heat_db, aodh_db):
        state['databases'].append(db)
        _save(state)
        _psql(f'CREATE DATABASE "{db}"')
    state['vhost'] = vhost
    _save(state)
    _add_vhost(vhost)
    transport_url = (f'rabbit://{RABBIT_USER}:{RABBIT_PASSWORD}@'
                     f'{RABBIT_HOST}:{RABBIT_PORT}/{vhost}')

    sockets = {name: _listen() for name in ('heat-api', 'heat-api-global', 'aodh-api',
                                            'aodh-api-composite')}
    urls = {name: f'http://127.0.0.1:{sock.getsockname()[1]}' for name, sock in sockets.items()}
    state['urls'] = urls
    _write_configs(venv, state_dir, run_id, transport_url, heat_db, aodh_db, urls)

    python = str(venv / 'bin' / 'python')
    syncs = {name: _spawn(python, name, [conf], state_dir)
             for name, conf in (('heat-db-sync', 'heat.conf'), ('aodh-db-sync', 'aodh.conf'))}
    for name, proc in syncs.items():
        if proc.wait() != 0:
            raise RuntimeError(f'{name} failed: {_tail(state_dir, name)}')

    procs: dict[str, subprocess.Popen[bytes]] = {}
    for name, conf in (('heat-engine', 'heat.conf'), ('heat-api', 'heat.conf'),
                       ('heat-api-global', 'heat-global.conf'), ('aodh-api', 'aodh.conf'),
                       ('aodh-api-composite', 'aodh.conf')):
        sock = sockets.get(name)
        args = [conf, str(sock.fileno())] if sock else [conf]
        command = name.replace('-global', '').replace('-composite', '')
        procs[name] = _spawn(python, command, args, state_dir, log_name=name,
                             pass_fds=(sock.fileno(),) if sock else ())
        state['processes'][name] = procs[name].pid
        _save(state)
    for sock in sockets.values():
        sock.close()

    probe = 'vds-probe'
    aodh_headers = {'X-Project-Id': probe, 'X-User-Id': probe, 'X-Roles': 'admin'}
    _wait_ready(procs, state_dir, {
        'heat-api': (f'{urls["heat-api"]}/v1/{probe}/stacks', {'X-Auth-Project': probe}),
        'heat-api-global': (f'{urls["heat-api-global"]}/v1/{probe}/stacks',
                            {'X-Auth-Project': probe}),
        'aodh-api': (f'{urls["aodh-api"]}/v2/alarms', aodh_headers),
        'aodh-api-composite': (f'{urls["aodh-api-composite"]}/v2/alarms', aodh_headers),
    })
    return Coordinates(run_id=run_id, heat_url=urls['heat-api'],
                       heat_global_url=urls['heat-api-global'], aodh_url=urls['aodh-api'],
                       aodh_composite_url=urls['aodh-api-composite'],
                       transport_url=transport_url, state_dir=str(state_dir))


def _guard(owner_pid: int, state_dir: Path) -> int:
    with open(state_dir / 'guard.log', 'ab') as out:
        return subprocess.Popen(
            [sys.executable, '-I', __file__, 'guard', str(owner_pid), str(state_dir)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True).pid


def _guard_main(owner_pid: int, state_dir: Path) -> None:
    """Stop the run in ``state_dir`` once ``owner_pid`` is gone; return
    when the run was stopped by someone else (its directory is gone)."""
    while state_dir.exists():
        try:
            os.kill(owner_pid, 0)
        except ProcessLookupError:
            stop(state_dir)
            return
        except PermissionError:
            pass
        time.sleep(1.0)


def _listen() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(('127.0.0.1', 0))
    sock.listen(64)
    sock.set_inheritable(True)
    return sock


def _spawn(python: str, command: str, args: list[str], state_dir: Path,
           log_name: str | None = None, pass_fds: tuple[int, ...] = ()
           ) -> subprocess.Popen[bytes]:
    with open(state_dir / f'{log_name or command}.log', 'ab') as out:
        # -I: the serve script's own directory must not shadow any module.
        return subprocess.Popen(
            [python, '-I', str(_SERVE), command,
             *[str(state_dir / a) if a.endswith('.conf') else a for a in args]],
            cwd=state_dir, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, pass_fds=pass_fds)


def _wait_ready(procs: Mapping[str, subprocess.Popen[bytes]], state_dir: Path,
                probes: Mapping[str, tuple[str, dict[str, str]]]) -> None:
    pending = dict(probes)
    deadline = time.monotonic() + _READY_TIMEOUT
    while pending:
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise RuntimeError(f'{name} exited with {proc.returncode} while starting: '
                                   f'{_tail(state_dir, name)}')
        for name, (url, headers) in list(pending.items()):
            # Heat's listing goes through the engine: 200 means both are up.
            if _answers(url, headers):
                del pending[name]
        if pending and time.monotonic() > deadline:
            names = ', '.join(pending)
            raise RuntimeError(f'{names} did not answer within {_READY_TIMEOUT:.0f} s: '
                               + '; '.join(_tail(state_dir, n) for n in [*pending, 'heat-engine']))
        if pending:
            time.sleep(0.3)


def _answers(url: str, headers: Mapping[str, str]) -> bool:
    request = urllib.request.Request(url, headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return bool(resp.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _tail(state_dir: Path, name: str, lines: int = 12) -> str:
    path = state_dir / f'{name}.log'
    try:
        text = path.read_text(errors='replace').strip().splitlines()[-lines:]
    except OSError:
        return f'(no log {path})'
    return f'{path}:\n' + '\n'.join(text)


# -- configuration files ---------------------------------------------------------

def _ini(sections: Mapping[str, Mapping[str, str]]) -> str:
    out = []
    for section, values in sections.items():
        out.append(f'[{section}]')
        out.extend(f'{key} = {value}' for key, value in values.items())
        out.append('')
    return '\n'.join(out)


def _write_configs(venv: Path, state_dir: Path, run_id: str, transport_url: str,
                   heat_db: str, aodh_db: str, urls: Mapping[str, str]) -> None:
    notifications = {'driver': 'messagingv2', 'topics': TOPIC}
    policy_defaults = {'enforce_scope': 'false', 'enforce_new_defaults': 'false'}
    heat: dict[str, dict[str, str]] = {
        'DEFAULT': {
            'transport_url': transport_url,
            'host': f'vds-{run_id}',
            'num_engine_workers': '1',
            'rpc_response_timeout': '30',
            'graceful_shutdown_timeout': '3',
            'keystone_backend': ('heat.engine.clients.os.keystone.'
                                 'fake_keystoneclient.FakeKeystoneClient'),
            'stack_user_domain_name': 'vds',
            'stack_domain_admin': 'vds',
            'stack_domain_admin_password': 'vds',
            'hidden_stack_tags': HIDDEN_STACK_TAG,
        },
        'database': {'connection': f'postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{heat_db}'},
        'paste_deploy': {'flavor': 'noauth',
                         'api_paste_config': str(venv / 'etc' / 'heat' / 'api-paste.ini')},
        'noauth': {'token_response': str(state_dir / 'token.json')},
        'oslo_policy': {**policy_defaults,
                        'policy_file': str(state_dir / 'heat-policy-default.yaml')},
        'oslo_messaging_notifications': notifications,
    }
    (state_dir / 'heat.conf').write_text(_ini(heat))
    heat['oslo_policy'] = {**policy_defaults,
                           'policy_file': str(state_dir / 'heat-policy-global.yaml')}
    (state_dir / 'heat-global.conf').write_text(_ini(heat))
    # An empty policy file keeps Heat's defaults and stops oslo.policy from
    # picking up a policy.yaml from a configuration directory.
    (state_dir / 'heat-policy-default.yaml').write_text('{}\n')
    (state_dir / 'heat-policy-global.yaml').write_text(
        '"stacks:global_index": "rule:deny_stack_user"\n')
    (state_dir / 'token.json').write_text(json.dumps(_token(urls['heat-api'])))
    aodh = {
        'DEFAULT': {'transport_url': transport_url},
        'api': {'auth_mode': 'noauth'},
        'database': {'connection': f'postgresql://{PG_USER}@{PG_HOST}:{PG_PORT}/{aodh_db}'},
        'oslo_policy': policy_defaults,
        'oslo_messaging_notifications': notifications,
    }
    (state_dir / 'aodh.conf').write_text(_ini(aodh))


def _token(heat_url: str) -> dict[str, Any]:
    """A Keystone v3 token body for Heat's noauth middleware.

    Heat's engine looks its own endpoint up in this catalog (stack delete
    fails with EndpointNotFound without it).
    """
    domain = {'id': 'default', 'name': 'Default'}
    return {'token': {
        'methods': ['password'],
        'issued_at': '2024-01-01T00:00:00.000000Z',
        'expires_at': '2099-01-01T00:00:00.000000Z',
        'user': {'id': 'admin', 'name': 'admin', 'domain': domain},
        'project': {'id': 'admin', 'name': 'admin', 'domain': domain},
        'roles': [{'id': 'admin', 'name': 'admin'}],
        'catalog': [{
            'type': 'orchestration', 'name': 'heat', 'id': 'heat',
            'endpoints': [{'id': 'heat-public', 'interface': interface,
                           'region': 'RegionOne', 'region_id': 'RegionOne',
                           'url': f'{heat_url}/v1/admin'}
                          for interface in ('public', 'internal', 'admin')],
        }],
    }}


# -- PostgreSQL and RabbitMQ ---------------------------------------------------------

def _psql(sql: str) -> None:
    proc = subprocess.run(
        ['psql', '-h', PG_HOST, '-p', str(PG_PORT), '-U', PG_USER, '-d', 'postgres',
         '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, 'PGCONNECT_TIMEOUT': '5'})
    if proc.returncode != 0:
        raise RuntimeError(f'psql {sql!r} failed: {proc.stdout.strip()}')


def _rabbitmqctl(*args: str) -> None:
    proc = subprocess.run(['rabbitmqctl', '-q', *args], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=60)
    if proc.returncode != 0:
        raise RuntimeError(f'rabbitmqctl {" ".join(args)} failed: {proc.stdout.strip()}')


def _add_vhost(vhost: str) -> None:
    _rabbitmqctl('add_vhost', vhost)
    _rabbitmqctl('set_permissions', '-p', vhost, RABBIT_USER, '.*', '.*', '.*')


def _delete_vhost(vhost: str) -> None:
    _rabbitmqctl('delete_vhost', vhost)


# -- stop ------------------------------------------------------------------------

def stop(state_dir: str | os.PathLike[str], log: Log = _stderr) -> None:
    """Stop a run's processes and drop its databases, vhost and work directory.

    Sends SIGTERM to every process group, SIGKILL to what is left after a
    few seconds. Idempotent; a piece that cannot be removed is logged and
    the rest is still removed.
    """
    path = Path(state_dir) / 'state.json'
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        log(f'no run state in {state_dir}: nothing to stop')
        return
    _cleanup(state, log)


def _cleanup(state: dict[str, Any], log: Log) -> None:
    groups = [pid for name, pid in state.get('processes', {}).items()
              if pid and not (name == 'guard' and pid == os.getpid())]
    _stop_groups(groups, log)
    for db in state.get('databases', []):
        try:
            _psql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        except (RuntimeError, OSError) as exc:
            log(f'could not drop database {db}: {exc}')
    if state.get('vhost'):
        try:
            _delete_vhost(state['vhost'])
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
            log(f'could not delete vhost {state["vhost"]}: {exc}')
    if os.environ.get('VITRAGE_DS_REAL_KEEP_LOGS'):
        log(f'logs kept in {state["state_dir"]}')
    else:
        shutil.rmtree(state['state_dir'], ignore_errors=True)


def _stop_groups(groups: list[int], log: Log) -> None:
    for sig, grace in ((signal.SIGTERM, _STOP_GRACE), (signal.SIGKILL, _STOP_GRACE)):
        alive = [g for g in groups if _group_alive(g)]
        if not alive:
            return
        for group in alive:
            try:
                os.killpg(group, sig)
            except (ProcessLookupError, PermissionError):
                pass
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(_group_alive(g) for g in alive):
            time.sleep(0.1)
    left = [g for g in groups if _group_alive(g)]
    if left:
        log(f'process groups still alive after SIGKILL: {left}')


def _group_alive(pgid: int) -> bool:
    """Whether any process of group ``pgid`` is still running (zombies don't count)."""
    try:
        os.waitpid(pgid, os.WNOHANG)  # reap our own child, if it is one
    except ChildProcessError:
        pass
    proc = Path('/proc')
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return False
        return True
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / 'stat').read_text()
        except OSError:
            continue
        # Fields after the command name: state, ppid, pgrp, ...
        fields = stat[stat.rfind(')') + 2:].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != 'Z':
            return True
    return False


def runs() -> list[dict[str, Any]]:
    """The runs whose work directory is still there (for ``status``)."""
    found = []
    for state_file in sorted(Path(tempfile.gettempdir()).glob('vitrage_ds-real-*/state.json')):
        try:
            state = json.loads(state_file.read_text())
        except (OSError, ValueError):
            continue
        state['alive'] = {name: _group_alive(pid)
                          for name, pid in state.get('processes', {}).items()}
        found.append(state)
    return found


if __name__ == '__main__':
    if sys.argv[1:2] == ['guard']:
        _guard_main(int(sys.argv[2]), Path(sys.argv[3]))

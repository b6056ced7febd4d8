"""Entry points of the real services, run by the services' own interpreter.

This file is executed by path with the Python of the real-services
virtualenv (see :mod:`tests.kit.real`), never imported by
vitrage_ds itself: it uses only the standard library plus Heat and Aodh,
which are imported by name at run time because they are not installed next
to vitrage_ds.

Commands (``python real_serve.py COMMAND CONFIG_FILE [LISTEN_FD]``):

``heat-db-sync``, ``aodh-db-sync``
    Create or upgrade the service's database schema.
``heat-engine``
    Run Heat's engine (it forks its worker; the caller stops the process
    group).
``heat-api``, ``aodh-api``
    Serve the service's WSGI application with a threaded server on the
    already listening socket ``LISTEN_FD`` inherited from the caller, so the
    port is chosen without a race. Each request runs in its own thread:
    Heat's API blocks on engine calls and must not hold up the others.
"""

from __future__ import annotations

import importlib
import socket
import socketserver
import sys
from collections.abc import Callable
from typing import Any
from wsgiref import simple_server


class _ThreadingWSGIServer(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True


class _QuietHandler(simple_server.WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        sys.stderr.write(f'{self.address_string()} {format % args}\n')


def _serve(app: Callable[..., Any], fd: int) -> None:
    sock = socket.socket(fileno=fd)
    server = _ThreadingWSGIServer(sock.getsockname()[:2], _QuietHandler,
                                  bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    server.server_bind = lambda: None  # type: ignore[method-assign]
    host, port = sock.getsockname()[:2]
    server.server_name, server.server_port = str(host), int(port)
    server.setup_environ()
    server.set_app(app)
    sys.stderr.write(f'serving on {host}:{port}\n')
    sys.stderr.flush()
    server.serve_forever()


def _call(module: str, func: str, argv: list[str]) -> Any:
    sys.argv = argv
    return getattr(importlib.import_module(module), func)()


def main(argv: list[str]) -> int:
    command, config_file = argv[0], argv[1]
    if command == 'heat-db-sync':
        _call('heat.cmd.manage', 'main',
              ['heat-manage', '--config-file', config_file, 'db_sync'])
    elif command == 'aodh-db-sync':
        _call('aodh.cmd.storage', 'dbsync',
              ['aodh-dbsync', '--config-file', config_file])
    elif command == 'heat-engine':
        _call('heat.cmd.engine', 'main',
              ['heat-engine', '--config-file', config_file])
    elif command == 'heat-api':
        app = _call('heat.api.openstack.wsgi', 'init_application',
                    ['heat-api', '--config-file', config_file])
        _serve(app, int(argv[2]))
    elif command == 'aodh-api':
        module = importlib.import_module('aodh.api.app')
        _serve(module.build_wsgi_app(argv=['--config-file', config_file]), int(argv[2]))
    else:
        sys.stderr.write(f'unknown command {command!r}\n')
        return 2
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

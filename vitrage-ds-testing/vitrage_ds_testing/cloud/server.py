"""The emulated cloud's HTTP/1.1 server: routing, request log, faults.

One threaded server on ``127.0.0.1`` (an ephemeral port) hosts every
service under its own path prefix, as a single-host deployment behind a
web server does (``/identity``, ``/heat-api``, ``/aodh``). Each connection
is kept alive (HTTP/1.1, every response has a ``Content-Length``) and
served by its own thread, so a request hanging on purpose never holds up
the others.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import socket
import ssl
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from vitrage_ds_testing.cloud.faults import Action, FaultSet
from vitrage_ds_testing.cloud.requestlog import LoggedRequest, RequestLog

__all__ = ['HTTPError', 'Request', 'Response', 'Route', 'Server', 'Service']

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class Request:
    """One request as a service handler sees it.

    :ivar path: the path below the service's prefix (``/v1/P/stacks``).
    :ivar params: the query string as ``(name, value)`` pairs, in order.
    :ivar headers: the request headers, names lower-cased.
    :ivar root_url: the service's root URL (``http://127.0.0.1:P/heat-api``).
    :ivar match: the route's regular-expression match.
    """

    method: str
    service: str
    path: str
    params: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    root_url: str
    route: str = ''
    match: re.Match[str] | None = None

    def param(self, name: str, default: str | None = None) -> str | None:
        """The last value of query parameter ``name``."""
        values = self.params_all(name)
        return values[-1] if values else default

    def params_all(self, name: str) -> list[str]:
        """Every value of query parameter ``name``, in order."""
        return [v for k, v in self.params if k == name]

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    def json(self) -> Any:
        """The decoded JSON body (``None`` when empty).

        :raises ValueError: the body is not JSON.
        """
        if not self.body:
            return None
        return json.loads(self.body)

    @property
    def query_string(self) -> str:
        return urllib.parse.urlencode(self.params)


@dataclasses.dataclass
class Response:
    """What a handler answers: ``body`` is JSON-encoded unless ``raw`` is set."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    raw: bytes | None = None

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        if self.body is None:
            return b''
        return json.dumps(self.body).encode()


class HTTPError(Exception):
    """Raised by a handler to answer with ``response`` (an error body)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


Handler = Callable[[Request], Response]


@dataclasses.dataclass(frozen=True)
class Route:
    """``method`` + a path pattern (matched in full) -> ``handler``."""

    name: str
    method: str
    pattern: re.Pattern[str]
    handler: Handler


class Service:
    """A set of routes under one path prefix, with its own error format."""

    #: Name used in the request log and the fault rules.
    name = ''
    #: Path prefix on the shared server, e.g. ``/heat-api``.
    prefix = ''

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(self, name: str, method: str, pattern: str, handler: Handler) -> None:
        """Serve ``method`` on paths matching ``pattern`` (in full) with ``handler``.

        Routes are tried in the order they were added; the first whose
        pattern and method match answers.
        """
        self.routes.append(Route(name, method, re.compile(pattern), handler))

    def find(self, method: str, path: str) -> tuple[Route | None, re.Match[str] | None, bool]:
        """The route for ``method path``; the flag says the path exists at all."""
        path_known = False
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            path_known = True
            if route.method == method:
                return route, match, True
        return None, None, path_known

    def error(self, status: int, message: str = '') -> Response:
        """An error response in the service's own body format."""
        return Response(status, {'error': {'code': status, 'message': message}})

    def authenticate(self, request: Request) -> None:
        """Check the caller's identity; raise :class:`HTTPError` when refused."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'
    # Headers and body leave in separate writes: with Nagle's algorithm on,
    # the client's delayed ACK would add ~40 ms to every response.
    disable_nagle_algorithm = True
    # Filled by send_response()/send_header() (untyped in the stdlib stubs).
    _headers_buffer: list[bytes]
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        LOG.debug('emulated cloud: ' + format, *args)

    def do_GET(self) -> None:
        self._handle('GET')

    def do_POST(self) -> None:
        self._handle('POST')

    def do_PUT(self) -> None:
        self._handle('PUT')

    def do_PATCH(self) -> None:
        self._handle('PATCH')

    def do_DELETE(self) -> None:
        self._handle('DELETE')

    def do_HEAD(self) -> None:
        self._handle('HEAD')

    def _handle(self, method: str) -> None:
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        self.server.owner.dispatch(self, method, body)

    def send(self, response: Response, body: bytes) -> None:
        """Answer with one write (status line, headers and body together)."""
        self.send_response(response.status)
        headers = {'Content-Type': 'application/json', **response.headers}
        if not body and response.raw is None and response.body is None:
            headers.pop('Content-Type', None)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(body)))
        self._headers_buffer.append(b'\r\n')
        if self.command != 'HEAD':
            self._headers_buffer.append(body)
        self.flush_headers()

    def drop(self) -> None:
        """Close the connection without answering."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's backlog of 5 refuses bursts of connections (a listener
    # with 64 executor threads, a benchmark's fan-out): refusals must come
    # from injected faults only.
    request_queue_size = 1024

    def __init__(self, owner: Server, ssl_context: ssl.SSLContext | None,
                 port: int) -> None:
        self.owner = owner
        self._ssl_context = ssl_context
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        super().__init__(('127.0.0.1', port), _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = super().get_request()
        if self._ssl_context is not None:
            sock = self._ssl_context.wrap_socket(sock, server_side=True,
                                                 do_handshake_on_connect=False)
        with self._lock:
            self._connections.add(sock)
        return sock, addr

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        LOG.debug('emulated cloud: connection from %s ended with an error',
                  client_address)

    def close_all(self) -> None:
        with self._lock:
            conns, self._connections = list(self._connections), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()


class Server:
    """Serves ``services`` on one loopback port, applying ``faults``.

    ``port=0`` picks an ephemeral port; :class:`OSError` if ``port`` is taken.

    Every request is appended to ``log`` before faults and handlers run, so
    tests see the calls a client made even when they failed.
    """

    def __init__(self, services: Iterable[Service], faults: FaultSet, log: RequestLog,
                 *, ssl_context: ssl.SSLContext | None = None, port: int = 0) -> None:
        self.services = sorted(services, key=lambda s: -len(s.prefix))
        self.faults = faults
        self.log = log
        self._stopping = threading.Event()
        self._scheme = 'https' if ssl_context else 'http'
        self._httpd = _HTTPServer(self, ssl_context, port)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        return f'{self._scheme}://127.0.0.1:{self.port}'

    def start(self) -> None:
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        kwargs={'poll_interval': 0.05},
                                        name=f'emulated-cloud-{self.port}', daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving, wake hung requests and close every connection."""
        self._stopping.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._httpd.close_all()
        if self._thread is not None:
            self._thread.join(5)

    # -- dispatch --------------------------------------------------------

    def _service_for(self, path: str) -> tuple[Service | None, str]:
        for service in self.services:
            if path == service.prefix or path.startswith(service.prefix + '/'):
                return service, path[len(service.prefix):] or '/'
        return None, path

    def dispatch(self, handler: _Handler, method: str, body: bytes) -> None:
        url = urllib.parse.urlsplit(handler.path)
        full_path = urllib.parse.unquote(url.path)
        params = urllib.parse.parse_qsl(url.query, keep_blank_values=True)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        service, path = self._service_for(full_path)
        request = Request(method, service.name if service else '', path, params,
                          headers, body,
                          f'{self.base_url}{service.prefix if service else ""}')
        route = match = None
        known = False
        if service is not None:
            route, match, known = service.find(method, path)
            if route is not None:
                request.route, request.match = route.name, match
        self.log.append(_logged(request))
        actions = self.faults.actions(method, request.service, path, request.route)
        self._respond(handler, request, service, route, known, actions)

    def _respond(self, handler: _Handler, request: Request, service: Service | None,
                 route: Route | None, known: bool, actions: list[Action]) -> None:
        for action in actions:
            if action.delay:
                self._wait(action.delay)
        terminal = next((a for a in actions if a.terminal), None)
        if terminal is not None and terminal.kind == 'hang':
            self._wait(terminal.seconds)
            handler.drop()
            return
        if terminal is not None and terminal.kind == 'close':
            handler.drop()
            return
        if terminal is not None and terminal.kind == 'status':
            response = self._fault_response(service, terminal)
        else:
            if any(a.kind == 'repeat_page' for a in actions):
                request.params = [(k, v) for k, v in request.params if k != 'marker']
            response = self._call(request, service, route, known)
        body = response.encode()
        for action in actions:
            if action.kind == 'truncate' and response.status < 300:
                body = body[:max(1, len(body) // 2)]
            elif action.kind == 'malformed' and response.status < 300:
                body = action.body if isinstance(action.body, bytes) else b'{"malformed": '
                response.headers.setdefault('Content-Type', 'application/json')
        try:
            handler.send(response, body)
        except OSError:
            handler.close_connection = True

    def _fault_response(self, service: Service | None, action: Action) -> Response:
        if action.body is not None:
            response = Response(action.status, raw=action.body) if isinstance(
                action.body, bytes) else Response(action.status, action.body)
        elif service is not None:
            response = service.error(action.status, 'injected fault')
        else:
            response = Response(action.status, {'error': 'injected fault'})
        response.headers.update(action.headers)
        return response

    def _call(self, request: Request, service: Service | None, route: Route | None,
              known: bool) -> Response:
        if service is None:
            return Response(404, {'error': {'code': 404, 'message': 'Not Found'}})
        if route is None:
            return service.error(405 if known else 404,
                                 'Method Not Allowed' if known else 'Not Found')
        try:
            return route.handler(request)
        except HTTPError as exc:
            return exc.response
        except Exception:
            LOG.exception('emulated cloud: %s %s failed', request.method, request.path)
            return service.error(500, 'emulator error')

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)


def _logged(request: Request) -> LoggedRequest:
    try:
        body = json.loads(request.body) if request.body else None
    except ValueError:
        body = None
    return LoggedRequest(request.method, request.service, request.route, request.path,
                         tuple(request.params), dict(request.headers), body)


def error_body(status: int, message: str) -> Mapping[str, Any]:
    """A Keystone-style error body (also keystonemiddleware's 401)."""
    return {'error': {'code': status, 'message': message,
                      'title': _TITLES.get(status, 'Error')}}


_TITLES = {
    400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
    405: 'Method Not Allowed', 409: 'Conflict', 429: 'Too Many Requests',
    500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable',
}


def title(status: int) -> str:
    """The HTTP reason phrase webob uses as an error title."""
    return _TITLES.get(status, 'Error')

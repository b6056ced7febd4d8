"""A loopback HTTP server playing the example service, with failures on demand.

``GET /widgets?limit=N&marker=ID`` lists widgets sorted by id (Aodh-style
paging: no next link, a short page ends the listing); ``GET /widgets/ID``
shows one; ``PUT /notes/KEY`` stores a JSON note. Every request is recorded
in :attr:`WidgetServer.requests` as ``(method, path_with_query)``.

Failure modes (:meth:`WidgetServer.break_`): ``down`` (the socket is closed:
connection refused), ``fail_on_page`` (a listing page after the first answers
500), ``malformed`` (every answer is 200 with a body that is not JSON),
``error`` (every answer is 500).
"""

from __future__ import annotations

import http.server
import json
import threading
import urllib.parse
from collections.abc import Iterable
from typing import Any

__all__ = ['WidgetServer']

MODES = ('down', 'fail_on_page', 'malformed', 'error')


class WidgetServer:
    """The example service on ``127.0.0.1`` and a free port.

    :param widgets: the widgets, each a dict with at least ``id``.
    """

    def __init__(self, widgets: Iterable[dict[str, Any]] = ()) -> None:
        self.widgets = {w['id']: dict(w) for w in widgets}
        self.notes: dict[str, Any] = {}
        self.requests: list[tuple[str, str]] = []
        self.mode: str | None = None
        self._lock = threading.Lock()
        self._httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _handler(self))
        self._httpd.daemon_threads = True
        self.url = f'http://127.0.0.1:{self._httpd.server_address[1]}'
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        name='widget-server', daemon=True)
        self._thread.start()
        self._running = True

    def break_(self, mode: str) -> None:
        """Fail in ``mode`` from now on (see the module docstring)."""
        if mode not in MODES:
            raise ValueError(f'unknown mode {mode!r}; modes: {", ".join(MODES)}')
        self.mode = mode
        if mode == 'down':
            self.stop()

    def stop(self) -> None:
        """Close the socket and stop serving. Idempotent."""
        if self._running:
            self._running = False
            self._httpd.shutdown()
            self._httpd.server_close()
            self._thread.join()

    def __enter__(self) -> WidgetServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- request handling, called from the handler threads ---------------

    def answer(self, method: str, raw_path: str, body: bytes) -> tuple[int, bytes]:
        with self._lock:
            self.requests.append((method, raw_path))
            parts = urllib.parse.urlsplit(raw_path)
            query = dict(urllib.parse.parse_qsl(parts.query))
            if self.mode == 'error':
                return 500, b'{"error": "broken on purpose"}'
            if self.mode == 'malformed':
                return 200, b'<html>not json'
            segments = [s for s in parts.path.split('/') if s]
            if method == 'GET' and segments == ['widgets']:
                return self._list(query)
            if method == 'GET' and len(segments) == 2 and segments[0] == 'widgets':
                widget = self.widgets.get(urllib.parse.unquote(segments[1]))
                if widget is None:
                    return 404, b'{"error": "no such widget"}'
                return 200, json.dumps({'widget': widget}).encode()
            if method == 'PUT' and len(segments) == 2 and segments[0] == 'notes':
                try:
                    self.notes[urllib.parse.unquote(segments[1])] = json.loads(body)
                except ValueError:
                    return 400, b'{"error": "body is not JSON"}'
                return 200, body
            return 404, b'{"error": "no such path"}'

    def _list(self, query: dict[str, str]) -> tuple[int, bytes]:
        if 'marker' in query and self.mode == 'fail_on_page':
            return 500, b'{"error": "page failed on purpose"}'
        try:
            limit = int(query.get('limit', '1000'))
        except ValueError:
            return 400, b'{"error": "bad limit"}'
        ids = sorted(self.widgets)
        if 'marker' in query:
            if query['marker'] not in self.widgets:
                return 400, b'{"error": "unknown marker"}'
            ids = [i for i in ids if i > query['marker']]
        page = [self.widgets[i] for i in ids[:limit]]
        return 200, json.dumps({'widgets': page}).encode()


def _handler(server: WidgetServer) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = 'HTTP/1.1'
        wbufsize = -1  # one write per answer: no Nagle / delayed-ACK stall

        def _serve(self) -> None:
            if server.mode == 'down':  # a kept-alive connection outlived the socket
                self.close_connection = True
                return
            length = int(self.headers.get('Content-Length') or 0)
            body = self.rfile.read(length) if length else b''
            status, payload = server.answer(self.command, self.path, body)
            self.send_response(status)
            self.send_header('Content-Type', 'application/json')
            self.send_header('Content-Length', str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_DELETE = _serve  # noqa: N815

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Handler

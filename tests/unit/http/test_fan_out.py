"""fan_out: bounded concurrency, ordered results, the first error wins."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from typing import Any

import testtools
from keystoneauth1 import noauth
from keystoneauth1 import session as ks_session

from tests.unit.http.base import HTTPTestCase, LoopbackServer
from vitrage_ds.errors import BackendError
from vitrage_ds.http.client import Client, RetryPolicy

#: Deadlock guard only; nothing waits this long when the code is right.
GUARD = 10.0


class _InFlightHandler(http.server.BaseHTTPRequestHandler):
    """Answers ``GET /stacks/<id>`` once ``limit`` calls are in flight (or
    every remaining call has started), counting simultaneous calls, so the
    maximum is reached whenever the client allows it."""

    def do_GET(self) -> None:
        state: _InFlight = self.server.state  # type: ignore[attr-defined]
        state.enter()
        body = json.dumps({'id': self.path.rsplit('/', 1)[-1]}).encode()
        self.send_response(200)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class _InFlight:

    def __init__(self, limit: int, total: int) -> None:
        self.limit = limit
        self.total = total
        self.started = 0
        self.now = 0
        self.most = 0
        self._cond = threading.Condition()

    def enter(self) -> None:
        with self._cond:
            self.started += 1
            self.now += 1
            self.most = max(self.most, self.now)
            self._cond.notify_all()
            self._cond.wait_for(lambda: self.now >= self.limit or self.started == self.total,
                                GUARD)
            self.now -= 1


class ConcurrencyTest(testtools.TestCase):
    """Real concurrent connections (requests-mock serialises its callbacks)."""

    def test_at_most_max_parallel_calls_are_in_flight(self) -> None:
        total, limit = 9, 3
        in_flight = _InFlight(limit, total)
        server = self.useFixture(LoopbackServer(_InFlightHandler, in_flight))
        client = Client(ks_session.Session(auth=noauth.NoAuth()), f'{server.url}/v1',
                        max_parallel_calls=limit, retry=RetryPolicy(retries=0))

        results = client.fan_out(lambda i: client.get(f'stacks/s{i}'), range(total))

        self.assertEqual([{'id': f's{i}'} for i in range(total)], results)
        self.assertEqual((limit, total), (in_flight.most, in_flight.started))


class FanOutTest(HTTPTestCase):

    def test_the_first_error_is_raised_and_no_new_call_starts(self) -> None:
        started: list[int] = []
        second_started = threading.Event()
        failed = threading.Event()

        def call(i: int) -> int:
            started.append(i)
            if i == 0:
                second_started.wait(GUARD)
                failed.set()
                raise ValueError('stack 0 failed')
            second_started.set()
            failed.wait(GUARD)
            return i

        client = self.client(max_parallel_calls=2)
        error = self.assertRaises(ValueError, client.fan_out, call, range(10))

        self.assertEqual('stack 0 failed', str(error))
        self.assertEqual([0, 1], sorted(started))

    def test_calls_start_while_the_items_are_still_being_produced(self) -> None:
        first_called = threading.Event()

        def items() -> Iterator[int]:
            yield 0
            # A listing's next page: it comes only once the first call ran.
            if not first_called.wait(GUARD):
                raise AssertionError('no call started before all items were read')
            yield 1

        results = self.client(max_parallel_calls=2).fan_out(
            lambda i: first_called.set() or i * 10, items())

        self.assertEqual([0, 10], results)

    def test_an_error_reading_the_items_stops_the_calls_and_is_raised(self) -> None:
        started: list[int] = []

        def items() -> Iterator[int]:
            yield 0
            raise BackendError('page 2 failed')

        error = self.assertRaises(BackendError, self.client(max_parallel_calls=3).fan_out,
                                  started.append, items())

        self.assertEqual(('page 2 failed', [0]), (str(error), started))

    def test_no_items_no_calls(self) -> None:
        self.assertEqual([], self.client().fan_out(lambda i: i, []))

    def test_one_at_a_time_keeps_the_order_of_calls(self) -> None:
        order: list[int] = []
        results = self.client(max_parallel_calls=1).fan_out(lambda i: order.append(i) or i * 2,
                                                          range(4))
        self.assertEqual(([0, 2, 4, 6], [0, 1, 2, 3]), (results, order))

    def test_max_concurrency_is_the_deprecated_name_of_max_parallel_calls(self) -> None:
        client = self.client(max_concurrency=3)
        self.assertEqual((3, 3), (client.max_parallel_calls, client.max_concurrency))

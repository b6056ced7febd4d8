"""A failure lasting seconds loses no notification.

The listener waits before each requeue (1 s, doubling), so its three
retries span seven seconds: a handler failing for two and a half seconds
still gets every message through, over the real RabbitMQ.
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import testtools

from tests.reliability import figures
from vitrage_ds.bus import Listener, Notification, Publisher, get_transport
from vitrage_ds.config import new_config
from vitrage_ds.notifier import Outcome
from tests.kit import RabbitVhost

MESSAGES = 20
OUTAGE = 2.5
DEADLINE = 60.0


class TestTransientFailure(testtools.TestCase):

    def test_a_handler_failing_for_seconds_loses_nothing(self) -> None:
        vhost = self.useFixture(RabbitVhost())
        transport = get_transport(new_config(), vhost.transport_url)
        self.addCleanup(transport.cleanup)
        run = uuid.uuid4().hex[:8]
        handled: set[Any] = set()
        lock = threading.Lock()
        outage_ends = time.monotonic() + 3600.0

        def handler(note: Notification) -> Outcome:
            if time.monotonic() < outage_ends:
                return Outcome.RETRY  # e.g. the sink or the API is down
            with lock:
                handled.add(note.payload['n'])
            return Outcome.DONE

        listener = Listener(transport, [(f'x-{run}', f't-{run}')], handler, max_retries=3)
        listener.start()
        self.addCleanup(listener.stop, DEADLINE)
        outage_ends = time.monotonic() + OUTAGE
        publisher = Publisher(transport, topic=f't-{run}', exchange=f'x-{run}')
        for n in range(MESSAGES):
            publisher.publish('test.event', {'n': n})
        figures.add(messages_sent=MESSAGES)

        deadline = time.monotonic() + DEADLINE
        while len(handled) < MESSAGES and listener.rejected == 0:
            self.assertLess(time.monotonic(), deadline, 'messages did not come through')
            time.sleep(0.1)
        lost = MESSAGES - len(handled)
        figures.add(messages_processed=len(handled), lost=lost)
        self.assertEqual(0, listener.rejected, 'a message was given up during the outage')
        self.assertEqual(0, lost)
        self.assertGreater(listener.requeued, 0, 'nothing failed: the test proves nothing')

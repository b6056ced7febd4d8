"""A failed delivery waits before it is requeued, so retries span seconds.

Without the wait a transient failure (a sink or API down for a few
seconds) would spend the bounded retries in milliseconds and the message
would then be acknowledged unprocessed: lost.
"""

from __future__ import annotations

from typing import Any

import fixtures
import testtools
from oslo_messaging.notify.dispatcher import NotificationResult  # type: ignore[import-untyped]

from tests.kit import FakeBus
from vitrage_ds.bus import Listener, Notification
from vitrage_ds.notifier import Outcome


class TestRequeueBackoff(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.transport = self.useFixture(FakeBus()).transport
        self.pauses: list[float] = []

    def listener(self, handler: Any, **kwargs: Any) -> Listener:
        listener = Listener(self.transport, [('x', 'topic')], handler, **kwargs)
        self.useFixture(fixtures.MockPatchObject(listener, '_pause', self.pauses.append))
        return listener

    @staticmethod
    def deliver(listener: Listener, message_id: str = 'm-1') -> str:
        return listener._on_message('info', 'test.host', 'test.event', {},
                                    {'message_id': message_id, 'timestamp': 'now'})

    def test_each_requeue_waits_twice_as_long_as_the_one_before(self) -> None:
        listener = self.listener(lambda note: Outcome.RETRY, max_retries=4)
        results = [self.deliver(listener) for _ in range(4)]
        self.assertEqual([NotificationResult.REQUEUE] * 4, results)
        self.assertEqual([1.0, 2.0, 4.0, 8.0], self.pauses)

    def test_the_wait_is_capped(self) -> None:
        listener = self.listener(lambda note: Outcome.RETRY, max_retries=5,
                                 retry_backoff=10.0, retry_backoff_max=25.0)
        for _ in range(4):
            self.deliver(listener)
        self.assertEqual([10.0, 20.0, 25.0, 25.0], self.pauses)

    def test_a_handler_that_raises_waits_too(self) -> None:
        def explode(note: Notification) -> Outcome:
            raise RuntimeError('transient')

        listener = self.listener(explode)
        self.assertEqual(NotificationResult.REQUEUE, self.deliver(listener))
        self.assertEqual([1.0], self.pauses)

    def test_giving_up_does_not_wait(self) -> None:
        listener = self.listener(lambda note: Outcome.RETRY, max_retries=1)
        self.assertEqual([NotificationResult.REQUEUE, NotificationResult.HANDLED],
                         [self.deliver(listener), self.deliver(listener)])
        self.assertEqual([1.0], self.pauses)
        self.assertEqual((1, 1), (listener.requeued, listener.rejected))

    def test_each_message_has_its_own_backoff(self) -> None:
        listener = self.listener(lambda note: Outcome.RETRY)
        self.deliver(listener, 'a')
        self.deliver(listener, 'a')
        self.deliver(listener, 'b')
        self.assertEqual([1.0, 2.0, 1.0], self.pauses)

    def test_success_and_rejection_do_not_wait(self) -> None:
        outcomes = iter([Outcome.DONE, Outcome.REJECT])
        listener = self.listener(lambda note: next(outcomes))
        self.deliver(listener, 'a')
        self.deliver(listener, 'b')
        self.assertEqual([], self.pauses)

    def test_zero_backoff_requeues_at_once(self) -> None:
        listener = self.listener(lambda note: Outcome.RETRY, retry_backoff=0.0)
        self.deliver(listener)
        self.assertEqual([0.0], self.pauses)

    def test_negative_backoff_is_refused(self) -> None:
        self.assertRaises(ValueError, Listener, self.transport, [('x', 'topic')],
                          lambda note: Outcome.DONE, retry_backoff=-1.0)

    def test_stop_ends_a_wait_in_progress(self) -> None:
        listener = Listener(self.transport, [('x', 'topic')], lambda note: Outcome.RETRY,
                            retry_backoff=3600.0)
        listener.start()
        listener.stop(timeout=30.0)
        # After stop the wait returns at once: an hour-long backoff is skipped.
        self.assertEqual(NotificationResult.REQUEUE, self.deliver(listener))

"""A batch's messages are handled in order, a transient failure retried in place.

oslo.messaging acknowledges or requeues a batch only as a whole, so a
message that failed is retried before the batch's next one instead of
being requeued on its own; only a stopping listener requeues (the whole
batch).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import fixtures
import testtools
from oslo_messaging.notify.dispatcher import NotificationResult  # type: ignore[import-untyped]

from tests.kit import FakeBus
from vitrage_ds.bus import Listener, Notification
from vitrage_ds.notifier import Outcome


def batch(*numbers: int) -> list[dict[str, Any]]:
    """Messages as oslo.messaging's batch dispatcher hands them over."""
    return [{'ctxt': {}, 'publisher_id': 'test.host', 'event_type': 'test.event',
             'payload': {'n': n}, 'metadata': {'message_id': f'm-{n}', 'timestamp': 'now'}}
            for n in numbers]


class TestBatches(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.transport = self.useFixture(FakeBus()).transport
        self.seen: list[int] = []
        self.pauses: list[float] = []

    def listener(self, decide: Callable[[int, int], Outcome], **kwargs: Any) -> Listener:
        """A batch listener whose handler answers ``decide(n, times n was seen before)``."""
        def handler(note: Notification) -> Outcome:
            n = note.payload['n']
            before = self.seen.count(n)
            self.seen.append(n)
            return decide(n, before)

        listener = Listener(self.transport, [('x', 'topic')], handler, batch_size=10, **kwargs)
        self.useFixture(fixtures.MockPatchObject(listener, '_pause', self.pauses.append))
        return listener

    def test_messages_are_handled_in_the_order_they_came(self) -> None:
        listener = self.listener(lambda n, before: Outcome.DONE)
        self.assertEqual(NotificationResult.HANDLED, listener._on_batch('info', batch(3, 1, 2)))
        self.assertEqual([3, 1, 2], self.seen)
        self.assertEqual((3, 3, 0), (listener.received, listener.handled, listener.requeued))

    def test_a_transient_failure_is_retried_before_the_next_message(self) -> None:
        listener = self.listener(
            lambda n, before: Outcome.RETRY if n == 2 and before < 2 else Outcome.DONE)
        self.assertEqual(NotificationResult.HANDLED, listener._on_batch('info', batch(1, 2, 3)))
        self.assertEqual([1, 2, 2, 2, 3], self.seen)
        self.assertEqual([1.0, 2.0], self.pauses)  # the requeue backoff, unchanged
        self.assertEqual((5, 3, 2, 0), (listener.received, listener.handled,
                                        listener.requeued, listener.rejected))

    def test_a_poison_message_is_given_up_and_the_batch_goes_on(self) -> None:
        listener = self.listener(lambda n, before: Outcome.RETRY if n == 1 else Outcome.DONE,
                                 max_retries=2)
        self.assertEqual(NotificationResult.HANDLED, listener._on_batch('info', batch(1, 2)))
        self.assertEqual([1, 1, 1, 2], self.seen)
        self.assertEqual((1, 2, 1), (listener.handled, listener.requeued, listener.rejected))

    def test_a_rejected_message_is_not_retried(self) -> None:
        listener = self.listener(lambda n, before: Outcome.REJECT if n == 1 else Outcome.DONE)
        self.assertEqual(NotificationResult.HANDLED, listener._on_batch('info', batch(1, 2)))
        self.assertEqual([1, 2], self.seen)
        self.assertEqual([], self.pauses)

    def test_a_failure_while_stopping_requeues_the_whole_batch(self) -> None:
        listener = self.listener(lambda n, before: Outcome.RETRY if n == 2 else Outcome.DONE)
        listener.start()
        listener.stop(timeout=30.0)  # from now on a retry's wait ends at once
        self.assertEqual(NotificationResult.REQUEUE, listener._on_batch('info', batch(1, 2, 3)))
        self.assertEqual([1, 2], self.seen)  # 3 is left for the next listener
        self.assertEqual((1, 3), (listener.handled, listener.requeued))

    def test_an_unaccountable_envelope_in_a_batch_is_acknowledged(self) -> None:
        listener = self.listener(lambda n, before: Outcome.DONE)
        messages = batch(1, 2)
        messages[0]['metadata'] = {'message_id': ['not', 'a', 'string']}
        self.assertEqual(NotificationResult.HANDLED, listener._on_batch('info', messages))
        self.assertEqual([2], self.seen)
        self.assertEqual((1, 1, 1), (listener.handled, listener.rejected,
                                     listener.unaccountable))

    def test_a_batch_size_below_one_is_refused(self) -> None:
        self.assertRaises(ValueError, Listener, self.transport, [('x', 'topic')],
                          lambda note: Outcome.DONE, batch_size=0)

    def test_batches_need_a_timeout(self) -> None:
        # oslo.messaging would otherwise wait for a full batch, however long.
        self.assertRaises(ValueError, Listener, self.transport, [('x', 'topic')],
                          lambda note: Outcome.DONE, batch_size=10, batch_timeout=0)

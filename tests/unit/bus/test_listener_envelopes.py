"""An envelope the listener cannot account for is acknowledged once, with one log line.

oslo.messaging requeues at once, forever, when the listener's callback
raises: a message whose ``message_id`` is a list (unhashable, so it cannot
key the redelivery bookkeeping) used to loop thousands of times a second.
"""

from __future__ import annotations

import logging
from typing import Any

import fixtures
import testtools
from oslo_messaging.notify.dispatcher import NotificationResult  # type: ignore[import-untyped]

from tests.kit import FakeBus
from vitrage_ds.bus import Listener, Notification
from vitrage_ds.bus.listener import MAX_MESSAGE_ID_LENGTH
from vitrage_ds.notifier import Outcome


class TestUnaccountableEnvelopes(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.transport = self.useFixture(FakeBus()).transport
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.INFO,
                                                        format='%(levelname)s %(message)s'))
        self.seen: list[Notification] = []

    def listener(self, outcome: Outcome = Outcome.DONE, **kwargs: Any) -> Listener:
        def handler(note: Notification) -> Outcome:
            self.seen.append(note)
            return outcome
        listener = Listener(self.transport, [('x', 'topic')], handler, **kwargs)
        self.useFixture(fixtures.MockPatchObject(listener, '_pause', lambda seconds: None))
        return listener

    def deliver(self, listener: Listener, *, message_id: Any = 'm-1',
                event_type: Any = 'test.event', publisher_id: Any = 'test.host',
                metadata: Any = None) -> str:
        if metadata is None:
            metadata = {'message_id': message_id, 'timestamp': 'now'}
        return listener._on_message('info', publisher_id, event_type, {}, metadata)

    def assert_acknowledged_once_unhandled(self, listener: Listener, result: str) -> None:
        self.assertEqual(NotificationResult.HANDLED, result)
        self.assertEqual([], self.seen)
        self.assertEqual(1, listener.rejected)
        lines = self.logs.output.splitlines()
        self.assertEqual(1, len(lines), lines)
        self.assertTrue(lines[0].startswith('ERROR '), lines)
        self.assertIn('acknowledged', lines[0])

    def test_a_list_message_id_is_acknowledged_without_the_handler(self) -> None:
        listener = self.listener()
        self.assert_acknowledged_once_unhandled(
            listener, self.deliver(listener, message_id=['a', 'b']))
        self.assertIn('message_id is a list', self.logs.output)
        self.assertEqual(1, listener.unaccountable)

    def test_a_mapping_message_id_is_acknowledged_even_when_retries_are_unlimited(
            self) -> None:
        listener = self.listener(Outcome.RETRY, max_retries=None)
        self.assert_acknowledged_once_unhandled(
            listener, self.deliver(listener, message_id={'id': 1}))

    def test_an_overlong_message_id_is_acknowledged(self) -> None:
        listener = self.listener()
        self.assert_acknowledged_once_unhandled(
            listener, self.deliver(listener, message_id='m' * (MAX_MESSAGE_ID_LENGTH + 1)))

    def test_an_event_type_that_is_not_a_string_is_acknowledged(self) -> None:
        listener = self.listener()
        self.assert_acknowledged_once_unhandled(
            listener, self.deliver(listener, event_type=['orchestration.stack.create.end']))

    def test_a_publisher_id_that_is_not_a_string_is_acknowledged(self) -> None:
        listener = self.listener()
        self.assert_acknowledged_once_unhandled(
            listener, self.deliver(listener, publisher_id=7))

    def test_bookkeeping_that_fails_acknowledges_instead_of_raising(self) -> None:
        listener = self.listener()
        result = self.deliver(listener, metadata=['not', 'a', 'mapping'])
        self.assertEqual(NotificationResult.HANDLED, result)
        self.assertEqual(1, listener.rejected)
        self.assertEqual(1, len(self.logs.output.splitlines()), self.logs.output)
        self.assertIn('could not account for', self.logs.output)

    def test_the_logged_values_cannot_forge_a_line(self) -> None:
        listener = self.listener()
        self.deliver(listener, message_id=['x\nCRITICAL forged'],
                     event_type='e\nCRITICAL forged')
        self.assertEqual(1, len(self.logs.output.splitlines()), self.logs.output)

    def test_a_good_message_after_a_poisoned_one_is_handled(self) -> None:
        listener = self.listener()
        self.deliver(listener, message_id=[1])
        self.assertEqual(NotificationResult.HANDLED, self.deliver(listener, message_id='m-2'))
        self.assertEqual(['m-2'], [n.metadata['message_id'] for n in self.seen])
        self.assertEqual(1, listener.handled)


class TestUnlimitedRetries(testtools.TestCase):
    """``max_retries=None``: a transient failure is retried as often as it lasts."""

    def test_a_failing_message_is_requeued_every_time_with_a_capped_wait(self) -> None:
        transport = self.useFixture(FakeBus()).transport
        listener = Listener(transport, [('x', 'topic')], lambda note: Outcome.RETRY,
                            max_retries=None, retry_backoff=1.0, retry_backoff_max=8.0)
        pauses: list[float] = []
        self.useFixture(fixtures.MockPatchObject(listener, '_pause', pauses.append))
        results = [listener._on_message('info', 'h', 'e', {}, {'message_id': 'm-1'})
                   for _ in range(50)]
        self.assertEqual([NotificationResult.REQUEUE] * 50, results)
        self.assertEqual([1.0, 2.0, 4.0] + [8.0] * 47, pauses)
        self.assertEqual(0, listener.rejected)

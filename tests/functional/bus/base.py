"""The bus behaviour every transport must show, run on fake:// and RabbitMQ.

:class:`BusBehaviour` holds the tests; a subclass per transport supplies
:meth:`BusBehaviour.transport_url`. Every test uses exchange and topic
names of its own, so runs never see each other's messages.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

import testtools

from vitrage_ds.bus import (PRIORITIES, Listener, Notification, Publisher, get_transport,
                            register_opts)
from vitrage_ds.config import new_config
from vitrage_ds.notifier import Outcome
from vitrage_ds_testing import wait_until

#: Deadline for anything the bus should do "soon"; never a measured time.
DEADLINE = 15.0


class Recorder:
    """A handler that records every delivery and answers with ``decide``."""

    def __init__(self, decide: Callable[[Notification], Outcome] | None = None) -> None:
        self.seen: list[Notification] = []
        self._decide = decide or (lambda note: Outcome.DONE)
        self._cond = threading.Condition()

    def __call__(self, note: Notification) -> Outcome:
        with self._cond:
            self.seen.append(note)
            self._cond.notify_all()
        return self._decide(note)

    def ids(self) -> list[Any]:
        with self._cond:
            return [n.payload['n'] for n in self.seen]

    def wait_for(self, predicate: Callable[[], bool], what: str) -> None:
        """Block until ``predicate()`` holds; fail the test after DEADLINE."""
        deadline = time.monotonic() + DEADLINE
        with self._cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f'timed out waiting for {what}; saw '
                                         f'{[(n.event_type, n.payload) for n in self.seen]}')
                self._cond.wait(min(left, 0.1))


# A mixin for the loader (only its subclasses are test cases), a TestCase for
# the type checker.
_Base = testtools.TestCase if TYPE_CHECKING else object


class BusBehaviour(_Base):
    """Listener and Publisher behaviour; subclasses (also deriving from
    ``testtools.TestCase``) choose the transport."""

    #: Options every listener of the test gets (batches, for instance).
    listener_options: ClassVar[dict[str, Any]] = {}

    def transport_url(self) -> str:
        raise NotImplementedError

    def configure(self, conf: Any) -> None:
        """Transport-specific options, set before the transport is built."""

    def setUp(self) -> None:
        super().setUp()
        self.conf = new_config()
        url = self.transport_url()
        register_opts(self.conf)
        self.configure(self.conf)
        self.transport = get_transport(self.conf, url)
        self.addCleanup(self.transport.cleanup)
        run = uuid.uuid4().hex[:10]
        self.exchange = f'vds-test-{run}'
        self.topic = f'topic-{run}'

    # -- helpers ---------------------------------------------------------

    def listen(self, handler: Recorder, *, exchange: str | None = None,
               topic: str | None = None, **kwargs: Any) -> Listener:
        listener = Listener(self.transport,
                            [(exchange or self.exchange, topic or self.topic)],
                            handler, **{**self.listener_options, **kwargs})
        listener.start()
        self.addCleanup(listener.stop, DEADLINE)
        return listener

    def publisher(self, *, exchange: str | None = None, topic: str | None = None) -> Publisher:
        publisher = Publisher(self.transport, exchange=exchange or self.exchange,
                              topic=topic or self.topic, publisher_id='test.host')
        self.addCleanup(publisher.close)
        return publisher

    # -- tests -----------------------------------------------------------

    def test_every_priority_is_received(self) -> None:
        recorder = Recorder()
        self.listen(recorder)
        publisher = self.publisher()
        for n, priority in enumerate(PRIORITIES):
            publisher.publish('test.event', {'n': n}, priority=priority)

        recorder.wait_for(lambda: len(recorder.seen) == len(PRIORITIES), 'all priorities')
        by_priority = {note.priority: note for note in recorder.seen}
        self.assertEqual(sorted(PRIORITIES), sorted(by_priority))
        error = by_priority['error']
        self.assertEqual(('test.event', {'n': PRIORITIES.index('error')}, 'test.host'),
                         (error.event_type, error.payload, error.publisher_id))
        self.assertTrue(error.metadata['message_id'])
        self.assertTrue(error.metadata['timestamp'])

    def test_priority_is_case_insensitive_and_warning_means_warn(self) -> None:
        recorder = Recorder()
        self.listen(recorder)
        self.publisher().publish('test.event', {'n': 1}, priority='WARNING')
        recorder.wait_for(lambda: bool(recorder.seen), 'the message')
        self.assertEqual('warn', recorder.seen[0].priority)

    def test_transient_failure_is_requeued_then_handled(self) -> None:
        failed: set[Any] = set()

        def fail_once(note: Notification) -> Outcome:
            if note.payload['n'] in failed:
                return Outcome.DONE
            failed.add(note.payload['n'])
            return Outcome.RETRY

        recorder = Recorder(fail_once)
        listener = self.listen(recorder)
        publisher = self.publisher()
        publisher.publish('test.event', {'n': 1})
        publisher.publish('test.event', {'n': 2})

        recorder.wait_for(lambda: listener.handled == 2, 'both handled after a retry')
        self.assertEqual([1, 1, 2, 2], sorted(recorder.ids()))
        self.assertEqual((4, 2, 2, 0), (listener.received, listener.handled,
                                        listener.requeued, listener.rejected))

    def _assert_poison_given_up(self, decide: Callable[[Notification], Outcome]) -> None:
        recorder = Recorder(lambda note: decide(note) if note.payload['n'] == 'poison'
                            else Outcome.DONE)
        listener = self.listen(recorder, max_retries=2)
        publisher = self.publisher()
        publisher.publish('test.event', {'n': 'poison'})
        recorder.wait_for(lambda: listener.rejected == 1, 'the poison message given up')
        # Anything still coming back would arrive before a later message is done.
        publisher.publish('test.event', {'n': 'after'})
        recorder.wait_for(lambda: 'after' in recorder.ids(), 'the next message')

        self.assertEqual(['poison'] * 3 + ['after'], recorder.ids())
        self.assertEqual((4, 1, 2, 1), (listener.received, listener.handled,
                                        listener.requeued, listener.rejected))

    def test_poison_message_is_acknowledged_after_bounded_retries(self) -> None:
        self._assert_poison_given_up(lambda note: Outcome.RETRY)

    def test_handler_that_raises_is_retried_bounded_then_acknowledged(self) -> None:
        def explode(note: Notification) -> Outcome:
            raise RuntimeError('handler bug')

        self._assert_poison_given_up(explode)

    def test_rejected_message_is_acknowledged_once(self) -> None:
        recorder = Recorder(lambda note: Outcome.REJECT if note.payload['n'] == 1
                            else Outcome.DONE)
        listener = self.listen(recorder)
        publisher = self.publisher()
        publisher.publish('test.event', {'n': 1})
        publisher.publish('test.event', {'n': 2})
        recorder.wait_for(lambda: 2 in recorder.ids(), 'the next message')
        recorder.wait_for(lambda: listener.rejected == 1, 'the rejection')

        self.assertEqual([1, 2], sorted(recorder.ids()))
        self.assertEqual((2, 1, 0, 1), (listener.received, listener.handled,
                                        listener.requeued, listener.rejected))

    def test_stop_loses_nothing_in_flight(self) -> None:
        count = 6
        release = threading.Event()
        started: list[Any] = []
        finished: list[Any] = []

        def slow(note: Notification) -> Outcome:
            started.append(note.payload['n'])
            release.wait(DEADLINE)
            finished.append(note.payload['n'])
            return Outcome.DONE

        publisher = self.publisher()
        # The queue exists once a pool listener declared it; publish after.
        first = self.listen(Recorder(slow))
        for n in range(count):
            publisher.publish('test.event', {'n': n})
        wait_until(lambda: bool(started), 'a message in flight', DEADLINE, 0.02)

        stopped: list[bool] = []
        stopper = threading.Thread(target=lambda: stopped.append(first.stop(DEADLINE)))
        stopper.start()
        release.set()
        stopper.join(DEADLINE)
        self.assertEqual([True], stopped)
        self.assertEqual(sorted(started), sorted(finished))

        second = Recorder()
        self.listen(second)
        second.wait_for(lambda: sorted(set(finished) | set(second.ids())) == list(range(count)),
                        'every message handled by one listener or the next')

    def test_two_listeners_in_one_pool_share_messages_without_duplicates(self) -> None:
        count = 20
        one, two = Recorder(), Recorder()
        listeners = [self.listen(one), self.listen(two)]
        publisher = self.publisher()
        # One at a time, so whichever listener is ready takes it.
        for n in range(count):
            publisher.publish('test.event', {'n': n})
            one.wait_for(lambda n=n: n in one.ids() + two.ids(), f'message {n}')
        for listener in listeners:
            self.assertTrue(listener.stop(DEADLINE))

        self.assertEqual(list(range(count)), sorted(one.ids() + two.ids()))
        self.assertNotEqual([], one.ids())
        self.assertNotEqual([], two.ids())

    def test_publisher_on_a_named_exchange_reaches_only_that_exchange(self) -> None:
        other_exchange = f'{self.exchange}-other'
        here, there = Recorder(), Recorder()
        self.listen(here)
        self.listen(there, exchange=other_exchange)

        self.publisher().publish('test.event', {'n': 'here'})
        here.wait_for(lambda: here.ids() == ['here'], 'the message on its exchange')
        self.publisher(exchange=other_exchange).publish('test.event', {'n': 'there'})
        there.wait_for(lambda: bool(there.seen), 'the message on the other exchange')

        self.assertEqual(['here'], here.ids())
        self.assertEqual(['there'], there.ids())

    def test_without_an_exchange_both_sides_use_the_control_exchange(self) -> None:
        recorder = Recorder()
        listener = Listener(self.transport, [(None, self.topic)], recorder,
                            **self.listener_options)
        listener.start()
        self.addCleanup(listener.stop, DEADLINE)
        publisher = Publisher(self.transport, topic=self.topic)
        self.addCleanup(publisher.close)

        publisher.publish('test.event', {'n': 1})

        recorder.wait_for(lambda: recorder.ids() == [1], 'the message')

    def test_one_pool_on_two_topics_keeps_their_messages_apart(self) -> None:
        other_topic = f'{self.topic}-other'
        here, there = Recorder(), Recorder()
        self.listen(here)
        self.listen(there, topic=other_topic)

        self.publisher().publish('test.event', {'n': 'here'})
        self.publisher(topic=other_topic).publish('test.event', {'n': 'there'})
        here.wait_for(lambda: bool(here.seen), 'the first topic')
        there.wait_for(lambda: bool(there.seen), 'the second topic')

        self.assertEqual(['here'], here.ids())
        self.assertEqual(['there'], there.ids())

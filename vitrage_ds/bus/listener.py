"""Consuming notifications: every priority, bounded requeue, draining stop."""

from __future__ import annotations

import collections
import dataclasses
import functools
import logging
import threading
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import oslo_messaging  # type: ignore[import-untyped]
from oslo_messaging.notify.dispatcher import NotificationResult  # type: ignore[import-untyped]

from vitrage_ds._logsafe import safe
from vitrage_ds.bus._servers import batch_notification_server, notification_server
from vitrage_ds.bus.publisher import PRIORITIES
from vitrage_ds.bus.transport import register_opts
from vitrage_ds.outcome import Outcome

__all__ = ['MAX_MESSAGE_ID_LENGTH', 'Handler', 'Listener', 'Notification', 'why_unaccountable']

LOG = logging.getLogger(__name__)

#: Most message ids whose redeliveries a listener remembers at once.
_MAX_TRACKED = 10_000
#: Longest message id a listener keeps track of (a UUID has 36 characters).
MAX_MESSAGE_ID_LENGTH = 255


@dataclasses.dataclass(frozen=True)
class Notification:
    """One notification as the bus delivered it.

    :ivar event_type: e.g. ``orchestration.stack.create.end``.
    :ivar payload: the decoded body, as sent.
    :ivar metadata: the envelope: ``message_id`` and ``timestamp``
        (read-only).
    :ivar priority: lower case, one of :data:`~vitrage_ds.bus.PRIORITIES`.
    :ivar publisher_id: e.g. ``orchestration.host1``.
    """

    event_type: str
    payload: Any
    metadata: Mapping[str, Any]
    priority: str
    publisher_id: str


#: What a :class:`Listener` calls for each notification.
Handler = Callable[[Notification], Outcome]


def trackable(message_id: object) -> bool:
    """Whether ``message_id`` can key bookkeeping: a string of bounded length."""
    return isinstance(message_id, str) and len(message_id) <= MAX_MESSAGE_ID_LENGTH


def why_unaccountable(event_type: object, message_id: object, publisher_id: object) -> str:
    """Why an envelope cannot be accounted for, or ``''`` when it can.

    Whoever can publish on the bus chooses these fields; oslo.messaging
    hands them over as they came. A message id (when there is one) must
    be a string of at most :data:`MAX_MESSAGE_ID_LENGTH` characters, the
    event type a non-empty string and the publisher id, when there is one,
    a string.
    """
    if message_id is not None and not trackable(message_id):
        if isinstance(message_id, str):
            return f'its message_id is longer than {MAX_MESSAGE_ID_LENGTH} characters'
        return f'its message_id is a {type(message_id).__name__}, not a string'
    if not isinstance(event_type, str) or not event_type:
        return 'its event_type is not a non-empty string'
    if publisher_id is not None and not isinstance(publisher_id, str):
        return f'its publisher_id is a {type(publisher_id).__name__}, not a string'
    return ''


class _Redeliveries:
    """How many times each message was requeued, for the newest ids.

    Bounded (:data:`_MAX_TRACKED` ids); an id that is not
    :func:`trackable` is never stored, and nothing here raises.
    """

    def __init__(self) -> None:
        self._counts: collections.OrderedDict[str, int] = collections.OrderedDict()
        self._lock = threading.Lock()

    def bump(self, message_id: object) -> int:
        """Count one more failed delivery of ``message_id``; return the total
        (1 for an id that cannot be tracked)."""
        if not isinstance(message_id, str) or not trackable(message_id):
            return 1
        with self._lock:
            count = self._counts.pop(message_id, 0) + 1
            self._counts[message_id] = count
            while len(self._counts) > _MAX_TRACKED:
                self._counts.popitem(last=False)
            return count

    def forget(self, message_id: object) -> None:
        if isinstance(message_id, str) and trackable(message_id):
            with self._lock:
                self._counts.pop(message_id, None)


class _Endpoint:
    """An oslo.messaging endpoint with a method for every priority.

    oslo.messaging subscribes only to the priorities its endpoints have a
    method for: leaving one out would silently drop, e.g., Heat's
    ``*.error`` notifications (sent at ERROR). Each method calls
    ``receive`` with the priority first, then what oslo.messaging passed.
    """

    def __init__(self, receive: Callable[..., str]) -> None:
        for priority in PRIORITIES:
            setattr(self, priority, functools.partial(receive, priority))


class Listener:
    """Consumes notifications of every priority and hands them to ``handler``.

    For each ``(exchange, topic)`` target the listener subscribes to
    ``<topic>.<priority>`` on ``exchange`` (``None``: the transport's
    ``control_exchange``) for every priority in
    :data:`~vitrage_ds.bus.PRIORITIES`.

    What becomes of a message is decided only after ``handler`` returned:

    * :attr:`Outcome.DONE`: acknowledged.
    * :attr:`Outcome.RETRY`, or the handler raised (logged with its
      traceback): requeued, so this or another listener of the pool gets it
      again. With ``max_retries=None`` it is requeued as often as it fails;
      otherwise once the same ``message_id`` has been requeued
      ``max_retries`` times by this listener, the next failure is logged
      and the message acknowledged (a poison message never loops forever).
      Each requeue waits first -- ``retry_backoff`` seconds, doubling with
      every failure of that message, at most ``retry_backoff_max`` -- so a
      failure is never retried in a hot loop (with the defaults, three
      retries span seven seconds). The wait holds one handler thread and
      the unacknowledged message (so the messages waiting at once are at
      most ``[DEFAULT] executor_thread_pool_size``, and the others keep
      flowing on the other threads); :meth:`stop` cuts it short (the
      message is requeued at once, for the next listener).
    * :attr:`Outcome.REJECT`, or anything that is not an :class:`Outcome`:
      logged and acknowledged.
    * An envelope that cannot be accounted for (see :func:`why_unaccountable`:
      a ``message_id`` that is not a string, an event type that is not one;
      a priority that is not a known one, checked before oslo.messaging's
      dispatcher reads it) is acknowledged at once with one error line,
      without calling the handler. Nothing the bus sends makes this listener raise into
      oslo.messaging (which would requeue the message at once, forever).

    Delivery is at least once: a message whose acknowledgement was lost
    (connection dropped, process killed) comes again. The handler is
    called from a pool of threads (``[DEFAULT] executor_thread_pool_size``)
    and must be thread-safe; no order is kept between messages.

    Batches (``batch_size`` above 1): oslo.messaging hands over up to
    ``batch_size`` messages at once, waiting at most ``batch_timeout``
    seconds for a batch to fill, and one handler thread handles a batch's
    messages of each priority one after another, in the order they came
    (one thread hand-off per batch instead of one per message). A batch is
    acknowledged or requeued only as a whole, so a transient failure is
    retried in place instead of requeued: after the same backoff, before
    the batch's next message, with the same bound (each retry counts in
    :attr:`requeued`). If the listener stops meanwhile, the whole batch is
    requeued at once, and the messages of it already handled come again.

    Pools: listeners with the same ``pool`` and the same target share that
    target's messages, each message going to one of them. On RabbitMQ the
    pool's queue of a target is named ``<pool>.<exchange>.<topic>`` so that
    listeners of one pool on different targets never receive each other's
    messages (oslo.messaging alone would bind every target to one queue
    named ``<pool>``). ``pool=None`` uses the default ``<topic>.<priority>``
    queues shared with every other pool-less consumer (Ceilometer, ...).
    A pool's queue exists from the first :meth:`start` on: notifications
    sent before it went only to the queues that existed then. Queue
    durability follows ``[oslo_messaging_rabbit] amqp_durable_queues`` or
    ``rabbit_quorum_queue`` (publishers must use the same setting: RabbitMQ
    refuses to redeclare an exchange with another durability). The retry
    bound is per listener: with several listeners in a pool a poison
    message may come to each of them ``max_retries + 1`` times.

    :param transport: from :func:`~vitrage_ds.bus.get_transport`; the
        caller keeps owning it.
    :param targets: ``(exchange, topic)`` pairs, at least one.
    :param handler: called once per delivery.
    :param pool: the listener pool (see above).
    :param max_retries: requeues of one message before it is given up;
        ``None``: no limit.
    :param retry_backoff: seconds before the first requeue of a message.
    :param retry_backoff_max: most seconds before any requeue.
    :param executor: oslo.messaging's executor.
    :param batch_size: most messages handed over at once (1: one by one).
    :param batch_timeout: most seconds to wait for a batch to fill (the
        most a message waits when the bus is quiet); with batches only.
    """

    def __init__(self, transport: oslo_messaging.Transport,
                 targets: Sequence[tuple[str | None, str]],
                 handler: Handler, *,
                 pool: str | None = 'vitrage_ds',
                 max_retries: int | None = 3,
                 retry_backoff: float = 1.0,
                 retry_backoff_max: float = 30.0,
                 executor: str = 'threading',
                 batch_size: int = 1,
                 batch_timeout: float = 0.1) -> None:
        if not targets:
            raise ValueError('a Listener needs at least one (exchange, topic) target')
        if max_retries is not None and max_retries < 0:
            raise ValueError('max_retries must be >= 0 or None')
        if retry_backoff < 0 or retry_backoff_max < 0:
            raise ValueError('retry_backoff and retry_backoff_max must be >= 0')
        if batch_size < 1:
            raise ValueError('batch_size must be >= 1')
        if batch_size > 1 and not batch_timeout > 0:
            # oslo.messaging would wait for a full batch however long it takes.
            raise ValueError('batch_timeout must be > 0')
        register_opts(transport.conf)
        self.targets = [(exchange, topic) for exchange, topic in targets]
        self.pool = pool
        self.max_retries = max_retries
        self.retry_backoff = retry_backoff
        self.retry_backoff_max = retry_backoff_max
        self._handler = handler
        self._stop_requested = threading.Event()
        self._redeliveries = _Redeliveries()
        self._counts = collections.Counter[str]()
        self._counts_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._started = False
        self._stopping = False
        self._drained = threading.Event()
        self.batch_size = batch_size
        self.batch_timeout = batch_timeout
        default_exchange = transport.conf.control_exchange

        def server(exchange: str | None, topic: str) -> Any:
            target = [oslo_messaging.Target(exchange=exchange, topic=topic)]
            queue = _queue_name(pool, exchange or default_exchange, topic)
            if batch_size == 1:
                return notification_server(transport, target, [_Endpoint(self._on_delivery)],
                                           self._refuse, executor=executor, pool=queue)
            return batch_notification_server(
                transport, target, [_Endpoint(self._on_batch)], self._refuse,
                executor=executor, pool=queue, batch_size=batch_size,
                batch_timeout=batch_timeout)

        self._servers = [server(exchange, topic) for exchange, topic in self.targets]

    # -- counters --------------------------------------------------------

    @property
    def received(self) -> int:
        """Deliveries handed to the handler (a redelivery counts again)."""
        return self._count('received')

    @property
    def handled(self) -> int:
        """Deliveries acknowledged after :attr:`Outcome.DONE`."""
        return self._count('handled')

    @property
    def requeued(self) -> int:
        """Deliveries requeued after a transient failure (in batches: retried
        in place, or requeued with their batch by :meth:`stop`)."""
        return self._count('requeued')

    @property
    def rejected(self) -> int:
        """Deliveries acknowledged without success (rejected, retries spent
        or unaccountable)."""
        return self._count('rejected')

    @property
    def unaccountable(self) -> int:
        """Deliveries acknowledged unhandled because their envelope could
        not be accounted for (also counted in :attr:`rejected`)."""
        return self._count('unaccountable')

    def _count(self, name: str) -> int:
        with self._counts_lock:
            return self._counts[name]

    def _bump(self, name: str) -> None:
        with self._counts_lock:
            self._counts[name] += 1

    # -- lifecycle -------------------------------------------------------

    def start(self) -> None:
        """Declare the queues and start consuming. Idempotent.

        :raises oslo_messaging.MessagingException: the broker refused
            (nothing is left consuming).
        """
        with self._state_lock:
            if self._started:
                return
            if self._stopping:
                raise RuntimeError('a stopped Listener cannot start again')
            started = []
            try:
                for server in self._servers:
                    server.start()
                    started.append(server)
            except Exception:
                for server in started:
                    server.stop()
                    server.wait()
                raise
            self._started = True

    def stop(self, timeout: float | None = None) -> bool:
        """Stop consuming, let in-flight messages finish, then return.

        Messages already delivered to this process are handled (and
        acknowledged or requeued) before the connection closes; messages
        not yet delivered stay in the queue for the next listener.
        Idempotent; a listener that never started stops at once. Not to be
        called from the handler, which the drain waits for.

        :param timeout: the most seconds to wait for in-flight handlers;
            ``None`` waits as long as they take.
        :returns: whether everything drained within ``timeout``. When not,
            draining carries on in the background and nothing is lost.
        """
        with self._state_lock:
            if not self._started:
                self._stopping = True
                self._drained.set()
                return True
            if not self._stopping:
                self._stopping = True
                self._stop_requested.set()  # ends requeue backoffs
                for server in self._servers:
                    server.stop()
                threading.Thread(target=self._drain, daemon=True,
                                 name='vitrage_ds-listener-drain').start()
        return self._drained.wait(timeout)

    def _drain(self) -> None:
        # In parallel: each server's executor takes up to a second to wind
        # down its idle threads.
        waiters = [threading.Thread(target=server.wait, daemon=True,
                                    name='vitrage_ds-listener-wait')
                   for server in self._servers]
        try:
            for waiter in waiters:
                waiter.start()
            for waiter in waiters:
                waiter.join()
        finally:
            self._drained.set()

    def wait(self) -> None:
        """Block until :meth:`stop` (called from another thread) has drained."""
        self._drained.wait()

    # -- dispatch --------------------------------------------------------

    def _on_delivery(self, priority: str, ctxt: Any, publisher_id: Any, event_type: Any,
                     payload: Any, metadata: Any) -> str:
        """One message, as oslo.messaging hands it over (its request context
        is of no use here)."""
        return self._on_message(priority, publisher_id, event_type, payload, metadata)

    def _refuse(self, envelope: Mapping[str, Any], reason: str) -> None:
        """An envelope oslo.messaging cannot dispatch (see :mod:`vitrage_ds.bus._servers`)."""
        LOG.error('unaccountable notification (event_type %s, message_id %s, priority %s): '
                  '%s; acknowledged', safe(envelope.get('event_type')),
                  safe(envelope.get('message_id')), safe(envelope.get('priority')), reason)
        for count in ('received', 'unaccountable', 'rejected'):
            self._bump(count)

    def _on_message(self, priority: str, publisher_id: Any, event_type: Any,
                    payload: Any, metadata: Any) -> str:
        """Run the handler on one delivery; never raises into oslo.messaging."""
        try:
            return self._dispatch(priority, publisher_id, event_type, payload, metadata)
        except Exception as exc:
            # The bookkeeping itself failed (the handler's failures are
            # caught inside): oslo.messaging would requeue at once, forever.
            message_id = metadata.get('message_id') if isinstance(metadata, Mapping) else None
            LOG.error('could not account for %s notification %s (%s: %s); acknowledged',
                      safe(event_type), safe(message_id), type(exc).__name__, safe(exc))
            self._bump('rejected')
            return NotificationResult.HANDLED

    def _on_batch(self, priority: str, messages: Sequence[Mapping[str, Any]]) -> str:
        """Run the handler on a batch's messages in order, retrying each
        in place; never raises into oslo.messaging."""
        for message in messages:
            fields = (message.get('publisher_id'), message.get('event_type'),
                      message.get('payload'), message.get('metadata'))
            while self._on_message(priority, *fields) == NotificationResult.REQUEUE:
                if self._stop_requested.is_set():
                    # (the failed message's requeue is counted already)
                    with self._counts_lock:
                        self._counts['requeued'] += len(messages) - 1
                    return NotificationResult.REQUEUE
        return NotificationResult.HANDLED

    def _dispatch(self, priority: str, publisher_id: Any, event_type: Any,
                  payload: Any, metadata: Mapping[str, Any]) -> str:
        message_id = metadata.get('message_id')
        self._bump('received')
        reason = why_unaccountable(event_type, message_id, publisher_id)
        if reason:
            LOG.error('unaccountable %s notification (event_type %s, message_id %s, '
                      'publisher %s): %s; acknowledged', priority, safe(event_type),
                      safe(message_id), safe(publisher_id), reason)
            self._bump('unaccountable')
            self._bump('rejected')
            return NotificationResult.HANDLED
        note = Notification(event_type=event_type, payload=payload,
                            metadata=types.MappingProxyType(dict(metadata)),
                            priority=priority, publisher_id=publisher_id or '')
        try:
            outcome: Any = self._handler(note)
        except Exception:
            LOG.exception('handler failed on %s notification %s (%s); '
                          'treating it as a transient failure',
                          safe(event_type), safe(message_id), priority)
            outcome = Outcome.RETRY
        if outcome is Outcome.DONE:
            self._redeliveries.forget(message_id)
            self._bump('handled')
            return NotificationResult.HANDLED
        if outcome is Outcome.RETRY:
            return self._retry(event_type, message_id)
        if outcome is Outcome.REJECT:
            LOG.warning('rejected %s notification %s; acknowledged',
                        safe(event_type), safe(message_id))
        else:
            LOG.error('handler returned %s, not an Outcome, for %s notification '
                      '%s; acknowledged as rejected', safe(repr(outcome)), safe(event_type),
                      safe(message_id))
        self._redeliveries.forget(message_id)
        self._bump('rejected')
        return NotificationResult.HANDLED

    def _retry(self, event_type: str, message_id: str | None) -> str:
        if message_id is None and self.max_retries is not None:
            LOG.error('%s notification without message_id cannot be retried '
                      'a bounded number of times; acknowledged', safe(event_type))
            self._bump('rejected')
            return NotificationResult.HANDLED
        # Without an id to count by, an unbounded retry waits the longest.
        failures = (self._redeliveries.bump(message_id) if message_id is not None
                    else 31)
        if self.max_retries is not None and failures > self.max_retries:
            LOG.error('giving up on %s notification %s after %d retries; '
                      'acknowledged', safe(event_type), safe(message_id), self.max_retries)
            self._redeliveries.forget(message_id)
            self._bump('rejected')
            return NotificationResult.HANDLED
        delay = min(self.retry_backoff * 2 ** min(failures - 1, 30), self.retry_backoff_max)
        LOG.info('requeueing %s notification %s in %.1f s (retry %d/%s)',
                 safe(event_type), safe(message_id), delay, failures,
                 'unlimited' if self.max_retries is None else self.max_retries)
        self._pause(delay)
        self._bump('requeued')
        return NotificationResult.REQUEUE

    def _pause(self, seconds: float) -> None:
        """Wait before a requeue; :meth:`stop` ends the wait at once."""
        if seconds > 0:
            self._stop_requested.wait(seconds)


def _queue_name(pool: str | None, exchange: str, topic: str) -> str | None:
    return None if pool is None else f'{pool}.{exchange}.{topic}'

"""Where the collector delivers events: a callable, a queue, JSON lines, a bus topic.

A sink receives batches: every event one poll or one notification
produced, in order. ``deliver`` returning means the batch is delivered;
raising means it is not (the collector then keeps its cache as it was and
retries: a poll is retried with backoff, a notification is requeued). A
batch may thus arrive more than once, never partially acknowledged:
delivery is at least once. The collector calls a sink from one thread at a
time, so sinks need not be thread-safe for the collector's sake.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from collections.abc import Callable, Sequence
from typing import IO, Any, Protocol, runtime_checkable

from vitrage_ds.collector._appendfile import AppendFile
from vitrage_ds.errors import ConfigurationError
from vitrage_ds.event import Event

__all__ = [
    'BUS_EVENT_TYPE',
    'BusSink',
    'CallbackSink',
    'JsonLinesSink',
    'QueueSink',
    'Sink',
    'as_sink',
    'json_lines',
    'sink_from_spec',
]

LOG = logging.getLogger(__name__)

#: Event type of the notifications :class:`BusSink` publishes.
BUS_EVENT_TYPE = 'vitrage_ds.event'


@runtime_checkable
class Sink(Protocol):
    """Receives the events the collector emits."""

    def deliver(self, events: Sequence[Event]) -> None:
        """Deliver one batch, in order; raise if it was not delivered."""

    def close(self) -> None:
        """Flush and release; called once when the collector stops."""


class _Putter(Protocol):
    def put(self, item: Any, block: bool = ..., timeout: float | None = ...) -> None: ...


class CallbackSink:
    """Calls ``callback(event)`` for each event.

    A callback that raises fails the batch (events before it in the batch
    were already seen by the callback and will be seen again on retry).
    """

    def __init__(self, callback: Callable[[Event], object]) -> None:
        self.callback = callback

    def deliver(self, events: Sequence[Event]) -> None:
        for event in events:
            self.callback(event)

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f'CallbackSink({self.callback!r})'


class QueueSink:
    """Puts each event on a :class:`queue.Queue` (or anything with ``put``).

    With a bounded queue the collector waits for room (backpressure); with
    ``timeout`` set, a queue still full after that many seconds fails the
    batch (``queue.Full``), which the collector retries.
    """

    def __init__(self, queue: _Putter, *, timeout: float | None = None) -> None:
        self.queue = queue
        self.timeout = timeout

    def deliver(self, events: Sequence[Event]) -> None:
        for event in events:
            self.queue.put(event, True, self.timeout)

    def close(self) -> None:
        """Nothing to release: the queue is the caller's."""

    def __repr__(self) -> str:
        return f'QueueSink({self.queue!r})'


def _json_default(value: object) -> str:
    return str(value)


#: Characters written as JSON escapes (``\uXXXX``) although JSON allows them
#: raw in a string: those that common line readers (Python's
#: ``str.splitlines``, JavaScript) take as line breaks, and surrogates (a
#: payload's lone ``"\ud800"``), which have no UTF-8 form.
_ESCAPED = re.compile('[\x85\u2028\u2029\ud800-\udfff]')


def _escape(match: re.Match[str]) -> str:
    return f'\\u{ord(match.group()):04x}'


def json_lines(events: Sequence[Event]) -> str:
    """``events`` as JSON lines, one :meth:`Event.to_dict` per line.

    Non-ASCII text is kept as it is, except U+0085, U+2028 and U+2029,
    which are escaped so that no reader splits a line inside a value, and
    surrogates (U+D800 to U+DFFF), escaped so that the text always encodes
    to UTF-8. A JSON reader gets every string back as it was (but for two
    surrogates in a row that form a pair: they read as the one character
    they encode).
    """
    text = ''.join(json.dumps(e.to_dict(), ensure_ascii=False, separators=(',', ':'),
                              default=_json_default) + '\n' for e in events)
    if not text.isascii():
        text = _ESCAPED.sub(_escape, text)
    return text


class JsonLinesSink:
    """Writes each event as one line of JSON (:func:`json_lines`).

    :param target: ``'-'`` for standard output, a path (opened for append,
        created if missing) or an open text stream (left open at close).
    :param fsync: also ``fsync`` a file after each batch, so a delivered
        batch survives a machine crash, not only a process crash.

    Each batch is written then flushed before :meth:`deliver` returns.
    To a path (the ``file:`` sink), a batch lands whole or not at all: a
    write that fails (a full disk) is undone before the error is raised,
    so the retry adds no half line and no duplicate; and the sink follows
    log rotation, reopening the path when it no longer names the open file
    (see ``AppendFile``). A stream
    gets neither: what a failed write left in it stays.
    """

    def __init__(self, target: str | os.PathLike[str] | IO[str] = '-', *,
                 fsync: bool = False) -> None:
        self.fsync = fsync
        self._file: AppendFile | None = None
        self._stream: IO[str] | None = None
        if target == '-':
            self._stream = sys.stdout
            self.name = '<stdout>'
        elif isinstance(target, (str, os.PathLike)):
            self.name = os.fspath(target)
            self._file = AppendFile(self.name, fsync=fsync)
        else:
            self._stream = target
            self.name = getattr(target, 'name', repr(target))
        self._lock = threading.Lock()

    @property
    def reopened(self) -> int:
        """How many times the file was reopened after a rotation (0 for a stream)."""
        return self._file.reopened if self._file is not None else 0

    def deliver(self, events: Sequence[Event]) -> None:
        text = json_lines(events)
        with self._lock:
            if self._file is not None:
                self._file.append(text.encode('utf-8'))
                return
            assert self._stream is not None
            self._stream.write(text)
            self._stream.flush()

    def close(self) -> None:
        """Flush; close the file if this sink opened it. Idempotent."""
        with self._lock:
            if self._file is not None:
                self._file.close()
            elif self._stream is not None:
                try:
                    self._stream.flush()
                except (OSError, ValueError):
                    pass

    def __repr__(self) -> str:
        return f'JsonLinesSink({self.name!r})'


class BusSink:
    """Publishes each event as a notification, for a graph in another process.

    Event type :data:`BUS_EVENT_TYPE`, priority ``info``, payload
    :meth:`Event.to_dict` (rebuild it with :meth:`Event.from_dict`).
    Messages of one batch keep their order. oslo.messaging retries a send
    while the broker is unreachable (``[oslo_messaging_notifications]
    retry``, -1 = forever, so the batch waits for the broker); a send it
    gives up on with a finite ``retry`` is only logged by oslo.messaging
    (see :class:`vitrage_ds.bus.Publisher`), so keep ``retry = -1``.

    :param publisher: a :class:`vitrage_ds.bus.Publisher`; closed with
        the sink when ``owned``.
    """

    def __init__(self, publisher: Any, *, event_type: str = BUS_EVENT_TYPE,
                 owned: bool = False) -> None:
        self.publisher = publisher
        self.event_type = event_type
        self._owned = owned

    def deliver(self, events: Sequence[Event]) -> None:
        for event in events:
            self.publisher.publish(self.event_type, event.to_dict(), 'info')

    def close(self) -> None:
        if self._owned:
            self.publisher.close()

    def __repr__(self) -> str:
        return f'BusSink(topic={getattr(self.publisher, "topic", "?")!r})'


def as_sink(obj: object) -> Sink:
    """A sink from what a library user passes.

    A :class:`Sink` is used as is; an object with ``put`` (a queue)
    becomes a :class:`QueueSink`; a callable a :class:`CallbackSink`.

    :raises TypeError: ``obj`` is none of these.
    """
    if isinstance(obj, Sink):
        return obj
    if callable(getattr(obj, 'put', None)):
        return QueueSink(obj)  # type: ignore[arg-type]
    if callable(obj):
        return CallbackSink(obj)
    raise TypeError(f'not a sink, queue or callable: {obj!r}')


def sink_from_spec(spec: str, publisher_factory: Callable[[str, str | None], Any]
                   ) -> Sink:
    """A sink from one item of ``[collector] sinks``.

    ``stdout``; ``file:PATH`` (JSON lines appended to PATH); ``bus:TOPIC``
    or ``bus:EXCHANGE/TOPIC`` (published with a publisher that
    ``publisher_factory(topic, exchange)`` builds).

    :raises ConfigurationError: the spec is none of these.
    """
    kind, _, rest = spec.strip().partition(':')
    kind = kind.lower()
    if kind in ('stdout', '-') and not rest:
        return JsonLinesSink('-')
    if kind == 'file' and rest:
        path = rest[2:] if rest.startswith('//') else rest
        if path:
            return JsonLinesSink(os.path.expanduser(path))
    if kind == 'bus' and rest:
        exchange, _, topic = rest.rpartition('/')
        if topic:
            return BusSink(publisher_factory(topic, exchange or None), owned=True)
    raise ConfigurationError(
        f'[collector] sinks: {spec!r} is not stdout, file:PATH, bus:TOPIC '
        f'or bus:EXCHANGE/TOPIC')

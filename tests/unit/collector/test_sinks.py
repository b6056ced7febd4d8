"""Sinks: callable, queue, JSON lines, bus topic; building them from configuration."""

from __future__ import annotations

import io
import json
import os
import queue
import resource
import threading
from typing import Any

import fixtures
import testtools

from vitrage_ds.bus import Listener, Notification, Publisher, get_transport
from vitrage_ds.collector.sinks import (BUS_EVENT_TYPE, BusSink, CallbackSink, JsonLinesSink,
                                        QueueSink, Sink, as_sink, json_lines, sink_from_spec)
from vitrage_ds.config import new_config
from vitrage_ds.errors import ConfigurationError
from vitrage_ds.event import Action, Event
from vitrage_ds.notifier import Outcome
from vitrage_ds_testing.collector import RecordingSink, entity

EVENTS = [entity('a', source=1.0, observed=2.0, status='ok', tags=['x']),
          entity('b', source=1.0, observed=2.0, deleted=True, action=Action.UPDATE,
                 name='caf\u00e9')]


class TestCallbackAndQueue(testtools.TestCase):

    def test_callback_sees_each_event_in_order(self) -> None:
        seen: list[Event] = []
        CallbackSink(seen.append).deliver(EVENTS)
        self.assertEqual(EVENTS, seen)

    def test_a_raising_callback_fails_the_batch(self) -> None:
        def broken(event: Event) -> None:
            raise ValueError('consumer bug')
        self.assertRaises(ValueError, CallbackSink(broken).deliver, EVENTS)

    def test_queue_gets_each_event_in_order(self) -> None:
        q: queue.Queue[Event] = queue.Queue()
        QueueSink(q).deliver(EVENTS)
        self.assertEqual(EVENTS, [q.get_nowait(), q.get_nowait()])

    def test_a_full_queue_fails_the_batch_after_the_timeout(self) -> None:
        q: queue.Queue[Event] = queue.Queue(maxsize=1)
        self.assertRaises(queue.Full, QueueSink(q, timeout=0.0).deliver, EVENTS)


class TestJsonLines(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'events.jsonl')

    def _lines(self) -> list[dict[str, Any]]:
        with open(self.path, encoding='utf-8') as f:
            return [json.loads(line) for line in f]

    def test_writes_one_flat_event_per_line(self) -> None:
        sink = JsonLinesSink(self.path)
        sink.deliver(EVENTS)
        self.assertEqual([e.to_dict() for e in EVENTS], self._lines())

    def test_lines_rebuild_the_events(self) -> None:
        sink = JsonLinesSink(self.path)
        sink.deliver(EVENTS)
        self.assertEqual(EVENTS, [Event.from_dict(d) for d in self._lines()])

    def test_a_batch_is_on_disk_when_deliver_returns(self) -> None:
        sink = JsonLinesSink(self.path)
        self.addCleanup(sink.close)
        sink.deliver(EVENTS[:1])
        self.assertEqual(1, len(self._lines()))

    def test_appends_to_an_existing_file(self) -> None:
        first = JsonLinesSink(self.path)
        first.deliver(EVENTS[:1])
        first.close()
        second = JsonLinesSink(self.path, fsync=True)
        second.deliver(EVENTS[1:])
        second.close()
        self.assertEqual(['a', 'b'], [d['vitrage_ds_entity_id'] for d in self._lines()])

    def test_a_stream_is_written_and_left_open(self) -> None:
        stream = io.StringIO()
        sink = JsonLinesSink(stream)
        sink.deliver(EVENTS)
        sink.close()
        self.assertFalse(stream.closed)
        self.assertEqual(2, len(stream.getvalue().splitlines()))

    def test_non_ascii_text_is_kept_as_is(self) -> None:
        stream = io.StringIO()
        JsonLinesSink(stream).deliver(EVENTS[1:])
        self.assertIn('caf\u00e9', stream.getvalue())

    def test_line_and_paragraph_separators_are_escaped(self) -> None:
        name = 'one\u2028two\u2029three\x85four'
        sink = JsonLinesSink(self.path)
        self.addCleanup(sink.close)
        sink.deliver([entity('a', name=name), entity('b', name='x')])
        with open(self.path, encoding='utf-8') as f:
            text = f.read()
        self.assertEqual(2, len(text.splitlines()))
        self.assertEqual(name, json.loads(text.splitlines()[0])['name'])

    def test_a_lone_surrogate_is_written_as_a_json_escape(self) -> None:
        name = json.loads('"x\\ud800y"')
        sink = JsonLinesSink(self.path)
        self.addCleanup(sink.close)
        sink.deliver([entity('a', name=name)])
        with open(self.path, 'rb') as f:
            line = f.read().decode('utf-8')
        self.assertIn('x\\ud800y', line)
        self.assertEqual(name, json.loads(line)['name'])

    def test_a_lone_surrogate_reaches_a_strict_utf8_stream(self) -> None:
        raw = io.BytesIO()
        stream = io.TextIOWrapper(raw, encoding='utf-8', errors='strict', write_through=True)
        JsonLinesSink(stream).deliver([entity('a', name=json.loads('"\\udfff"'))])
        self.assertEqual('\udfff', json.loads(raw.getvalue().decode('utf-8'))['name'])

    def test_a_lone_surrogate_in_a_key_is_escaped_too(self) -> None:
        key = json.loads('"k\\udc80"')
        lines = json_lines([entity('a', **{key: 1})]).encode('utf-8').decode('utf-8')
        self.assertEqual(1, json.loads(lines)[key])

    def test_dash_means_standard_output(self) -> None:
        out = self.useFixture(fixtures.StringStream('stdout'))
        self.useFixture(fixtures.MonkeyPatch('sys.stdout', out.stream))
        sink = JsonLinesSink('-')
        sink.deliver(EVENTS[:1])
        sink.close()
        out.stream.seek(0)
        self.assertEqual('a', json.loads(out.stream.read())['vitrage_ds_entity_id'])


class _FileSizeLimit(fixtures.Fixture):
    """A real write failure: this process may not grow a file beyond ``size`` bytes.

    Python ignores SIGXFSZ, so a write past the limit fails with EFBIG,
    as on a full disk; the limit is lifted at clean-up.
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def _setUp(self) -> None:
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        self.addCleanup(resource.setrlimit, resource.RLIMIT_FSIZE, (soft, hard))
        resource.setrlimit(resource.RLIMIT_FSIZE, (self.size, hard))


class TestJsonLinesFile(testtools.TestCase):
    """The file: sink: whole batches, rotation."""

    def setUp(self) -> None:
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.path = os.path.join(self.dir, 'events.jsonl')
        self.sink = JsonLinesSink(self.path)
        self.addCleanup(self.sink.close)

    def ids(self, path: str | None = None) -> list[str]:
        with open(path or self.path, encoding='utf-8') as f:
            return [json.loads(line)['vitrage_ds_entity_id'] for line in f]

    def test_a_batch_that_does_not_fit_leaves_the_file_as_it_was(self) -> None:
        self.sink.deliver([entity('a')])
        size = os.path.getsize(self.path)
        batch = [entity(f'b{n}', description='x' * 200) for n in range(20)]
        with _FileSizeLimit(size + 1000):
            self.assertRaises(OSError, self.sink.deliver, batch)
        self.assertEqual(size, os.path.getsize(self.path))

    def test_the_retry_after_a_failed_write_adds_the_batch_once(self) -> None:
        self.sink.deliver([entity('a')])
        batch = [entity(f'b{n}', description='x' * 200) for n in range(20)]
        with _FileSizeLimit(os.path.getsize(self.path) + 1000):
            self.assertRaises(OSError, self.sink.deliver, batch)
        self.sink.deliver(batch)
        self.assertEqual(['a'] + [f'b{n}' for n in range(20)], self.ids())

    def test_after_the_file_is_moved_the_next_batch_goes_to_a_new_file(self) -> None:
        self.sink.deliver([entity('a')])
        os.rename(self.path, self.path + '.1')
        self.sink.deliver([entity('b')])
        self.assertEqual((['a'], ['b'], 1),
                         (self.ids(self.path + '.1'), self.ids(), self.sink.reopened))

    def test_after_the_file_is_deleted_it_is_created_again(self) -> None:
        self.sink.deliver([entity('a')])
        os.unlink(self.path)
        self.sink.deliver([entity('b')])
        self.assertEqual(['b'], self.ids())

    def test_a_truncated_file_is_appended_to_from_its_new_end(self) -> None:
        self.sink.deliver([entity('a')])
        os.truncate(self.path, 0)  # logrotate's copytruncate
        self.sink.deliver([entity('b')])
        self.assertEqual((['b'], 0), (self.ids(), self.sink.reopened))

    def test_the_same_file_is_not_reopened(self) -> None:
        self.sink.deliver([entity('a')])
        self.sink.deliver([entity('b')])
        self.assertEqual(0, self.sink.reopened)

    def test_a_closed_sink_refuses_a_batch(self) -> None:
        self.sink.close()
        self.assertRaises(ValueError, self.sink.deliver, [entity('a')])


class TestAsSink(testtools.TestCase):

    def test_a_sink_is_used_as_is(self) -> None:
        sink = RecordingSink()
        self.assertIs(sink, as_sink(sink))

    def test_a_queue_becomes_a_queue_sink(self) -> None:
        self.assertIsInstance(as_sink(queue.Queue()), QueueSink)

    def test_a_callable_becomes_a_callback_sink(self) -> None:
        self.assertIsInstance(as_sink(print), CallbackSink)

    def test_anything_else_is_refused(self) -> None:
        self.assertRaises(TypeError, as_sink, 42)

    def test_every_sink_class_satisfies_the_protocol(self) -> None:
        for sink in (CallbackSink(print), QueueSink(queue.Queue()), JsonLinesSink(io.StringIO()),
                     BusSink(object())):
            self.assertIsInstance(sink, Sink)


class _Publishers:
    def __init__(self) -> None:
        self.made: list[tuple[str, str | None]] = []

    def __call__(self, topic: str, exchange: str | None) -> Any:
        self.made.append((topic, exchange))
        return object()


class TestSinkFromSpec(testtools.TestCase):

    def test_stdout(self) -> None:
        self.assertEqual('<stdout>', sink_from_spec('stdout', _Publishers()).name)  # type: ignore[attr-defined]

    def test_file_path(self) -> None:
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'e.jsonl')
        sink = sink_from_spec(f'file:{path}', _Publishers())
        self.addCleanup(sink.close)
        self.assertEqual(path, sink.name)  # type: ignore[attr-defined]

    def test_file_url(self) -> None:
        path = os.path.join(self.useFixture(fixtures.TempDir()).path, 'e.jsonl')
        sink = sink_from_spec(f'file://{path}', _Publishers())
        self.addCleanup(sink.close)
        self.assertEqual(path, sink.name)  # type: ignore[attr-defined]

    def test_bus_topic_on_the_default_exchange(self) -> None:
        publishers = _Publishers()
        self.assertIsInstance(sink_from_spec('bus:vitrage_ds.events', publishers), BusSink)
        self.assertEqual([('vitrage_ds.events', None)], publishers.made)

    def test_bus_exchange_and_topic(self) -> None:
        publishers = _Publishers()
        sink_from_spec('bus:vitrage/vitrage_ds.events', publishers)
        self.assertEqual([('vitrage_ds.events', 'vitrage')], publishers.made)

    def test_anything_else_is_a_configuration_error(self) -> None:
        for spec in ('', 'kafka:x', 'file:', 'bus:', 'bus:ex/', 'stdout:x'):
            self.assertRaises(ConfigurationError, sink_from_spec, spec, _Publishers())


class TestBusSink(testtools.TestCase):

    def test_events_arrive_as_notifications_that_rebuild_them(self) -> None:
        conf = new_config()
        conf([])
        transport = get_transport(conf, 'fake://')
        self.addCleanup(transport.cleanup)
        received: list[Notification] = []
        done = threading.Event()

        def handler(note: Notification) -> Outcome:
            received.append(note)
            if len(received) == len(EVENTS):
                done.set()
            return Outcome.DONE

        listener = Listener(transport, [('vitrage', 'graph_events')], handler)
        listener.start()
        self.addCleanup(listener.stop, 10)
        sink = BusSink(Publisher(transport, topic='graph_events', exchange='vitrage'), owned=True)
        sink.deliver(EVENTS)
        sink.close()
        self.assertTrue(done.wait(30))
        self.assertEqual([BUS_EVENT_TYPE] * 2, [n.event_type for n in received])
        self.assertEqual(EVENTS, [Event.from_dict(n.payload) for n in received])

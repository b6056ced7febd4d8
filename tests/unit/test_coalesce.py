"""Shared reads: callers asking for one key at once share a read that started after them."""

from __future__ import annotations

import threading
from collections.abc import Callable

import testtools

from vitrage_ds._coalesce import SharedReads
from vitrage_ds_testing import wait_until


class GatedRead:
    """A read that counts itself and waits for a gate while ``hold`` is set."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = 0
        self.ended = 0
        self.log: list[str] = []
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            self.started += 1
            n = self.started
            self.log.append(f'start {n}')
        self.gate.wait(30)
        with self._lock:
            self.ended += 1
            self.log.append(f'end {n}')
        return f'read {n}'


class TestSharedReads(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.reads: SharedReads[str] = SharedReads()
        self.results: dict[str, str] = {}

    def call(self, name: str, key: str, fn: Callable[[], str]) -> threading.Thread:
        def run() -> None:
            self.results[name] = self.reads.read(key, fn)
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.addCleanup(thread.join, 30)
        return thread

    def test_a_lone_caller_reads_at_once(self) -> None:
        self.assertEqual('x', self.reads.read('stack', lambda: 'x'))
        self.assertEqual(1, self.reads.reads)

    def test_callers_arriving_during_a_read_share_one_read_that_starts_after_it(self) -> None:
        read = GatedRead()
        first = self.call('first', 'stack', read)
        wait_until(lambda: read.started == 1, 'the first read running')
        later = [self.call(f'later {i}', 'stack', read) for i in range(5)]
        wait_until(lambda: self.reads.calls == 6, 'every caller waiting')
        read.gate.set()
        for thread in [first, *later]:
            thread.join(30)
        self.assertEqual('read 1', self.results['first'])
        self.assertEqual({'read 2'}, {self.results[f'later {i}'] for i in range(5)})
        self.assertEqual(['start 1', 'end 1', 'start 2', 'end 2'], read.log)

    def test_reads_of_different_keys_do_not_wait_for_each_other(self) -> None:
        read = GatedRead()
        self.call('held', 'stack A', read)
        wait_until(lambda: read.started == 1, 'the read of A running')
        self.assertEqual('B', self.reads.read('stack B', lambda: 'B'))
        read.gate.set()

    def test_a_failed_read_fails_every_caller_sharing_it(self) -> None:
        read = GatedRead()
        errors: list[BaseException] = []

        def failing() -> str:
            read()
            raise RuntimeError('Heat said no')

        def run() -> None:
            try:
                self.reads.read('stack', failing)
            except RuntimeError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run, daemon=True) for _ in range(3)]
        threads[0].start()
        wait_until(lambda: read.started == 1, 'the first read running')
        for thread in threads[1:]:
            thread.start()
        wait_until(lambda: self.reads.calls == 3, 'every caller waiting')
        read.gate.set()
        for thread in threads:
            thread.join(30)
        self.assertEqual(3, len(errors))
        self.assertEqual(2, self.reads.reads)

    def test_a_key_is_forgotten_once_its_reads_ended(self) -> None:
        self.reads.read('stack', lambda: 'x')
        self.assertEqual('y', self.reads.read('stack', lambda: 'y'))
        self.assertEqual(2, self.reads.reads)

"""Guard: time-limited calls into plugin code."""

from __future__ import annotations

import threading

import testtools

from vitrage_ds._guard import Guard, PluginTimeout


class TestGuard(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.release = threading.Event()
        self.addCleanup(self.release.set)

    def hang(self) -> str:
        self.release.wait()
        return 'late'

    def test_a_call_in_time_returns_its_result(self) -> None:
        self.assertEqual(3, Guard('p', 5.0, 2).call('add', lambda a, b: a + b, 1, 2))

    def test_a_call_that_raises_raises_the_same(self) -> None:
        def boom() -> None:
            raise KeyError('x')
        self.assertRaises(KeyError, Guard('p', 5.0, 2).call, 'boom', boom)

    def test_a_call_that_overstays_is_abandoned(self) -> None:
        guard = Guard('plugin x', 0.05, 2)
        error = self.assertRaises(PluginTimeout, guard.call, 'get_all()', self.hang)
        self.assertEqual('plugin x: get_all() did not return within 0.05 s; abandoned',
                         str(error))
        self.assertEqual(1, guard.stuck)

    def test_when_every_thread_is_stuck_calls_fail_at_once(self) -> None:
        guard = Guard('p', 0.05, 1)
        self.assertRaises(PluginTimeout, guard.call, 'first', self.hang)
        called: list[int] = []
        error = self.assertRaises(PluginTimeout, guard.call, 'second', called.append, 1)
        self.assertIn('not called', str(error))
        self.assertEqual([], called)

    def test_a_stuck_call_that_returns_frees_its_thread(self) -> None:
        guard = Guard('p', 0.05, 1)
        self.assertRaises(PluginTimeout, guard.call, 'first', self.hang)
        self.release.set()
        for _ in range(200):
            if not guard.stuck:
                break
            threading.Event().wait(0.05)
        self.assertEqual(0, guard.stuck)
        self.assertEqual('ok', guard.call('second', lambda: 'ok'))

    def test_no_timeout_calls_on_the_callers_thread(self) -> None:
        guard = Guard('p', 0, 1)
        self.assertIs(threading.current_thread(), guard.call('who', threading.current_thread))

    def test_threads_are_reused_from_call_to_call(self) -> None:
        guard = Guard('p', 5.0, 4)
        idents = {guard.call('who', threading.get_ident) for _ in range(20)}
        self.assertEqual(1, len(idents))

    def test_concurrent_calls_each_get_a_thread(self) -> None:
        guard = Guard('p', 5.0, 3)
        barrier = threading.Barrier(3, timeout=5.0)
        results: list[int] = []

        def caller() -> None:
            results.append(guard.call('meet', barrier.wait))

        callers = [threading.Thread(target=caller) for _ in range(3)]
        for thread in callers:
            thread.start()
        for thread in callers:
            thread.join(10.0)
        self.assertEqual([0, 1, 2], sorted(results))

    def test_a_thread_without_calls_exits(self) -> None:
        guard = Guard('idle-test', 5.0, 2, idle_seconds=0.05)
        guard.call('one', lambda: None)
        for _ in range(200):
            if not [t for t in threading.enumerate() if t.name == 'vitrage_ds-idle-test']:
                break
            threading.Event().wait(0.02)
        self.assertEqual([], [t for t in threading.enumerate()
                              if t.name == 'vitrage_ds-idle-test'])
        self.assertEqual('again', guard.call('two', lambda: 'again'))

"""Per-job polling: delays, capped exponential backoff, rate-limited failure logging."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import fixtures
import testtools

from vitrage_ds.collector.scheduler import MIN_RETRY_DELAY, Job, Scheduler, Timing
from vitrage_ds.errors import BackendError


def _steps(*delays: float) -> Callable[[], float]:
    values = list(delays)
    return lambda: values.pop(0) if len(values) > 1 else values[0]


class TestTiming(testtools.TestCase):

    def test_first_run_waits_only_a_jitter_bounded_by_five_seconds(self) -> None:
        self.assertEqual(5.0, Timing(600.0, jitter=0.1, rand=lambda: 1.0).first())
        self.assertEqual(2.5, Timing(60.0, jitter=0.1, rand=lambda: 0.5).first())
        self.assertEqual(0.0, Timing(60.0, jitter=0.1, rand=lambda: 0.0).first())

    def test_after_success_the_interval_counts_from_the_run_start(self) -> None:
        self.assertEqual(50.0, Timing(60.0, jitter=0.1, rand=lambda: 0.0).after_success(10.0))

    def test_a_run_longer_than_the_interval_is_followed_at_once(self) -> None:
        self.assertEqual(0.0, Timing(60.0, jitter=0.1, rand=lambda: 0.0).after_success(90.0))

    def test_jitter_adds_up_to_its_fraction_of_the_interval(self) -> None:
        self.assertEqual(56.0, Timing(60.0, jitter=0.1, rand=lambda: 1.0).after_success(10.0))

    def test_failures_back_off_exponentially_up_to_the_cap(self) -> None:
        timing = Timing(3600.0, jitter=0.0, initial=5.0, maximum=60.0)
        self.assertEqual([5.0, 10.0, 20.0, 40.0, 60.0, 60.0],
                         [timing.after_failure(n) for n in range(1, 7)])

    def test_backoff_never_exceeds_the_poll_interval(self) -> None:
        timing = Timing(30.0, jitter=0.0, initial=5.0, maximum=300.0)
        self.assertEqual(30.0, timing.after_failure(10))

    def test_a_very_long_failure_streak_does_not_overflow(self) -> None:
        timing = Timing(60.0, jitter=0.0, initial=5.0, maximum=300.0)
        self.assertEqual(60.0, timing.after_failure(10_000))

    def test_a_zero_backoff_given_in_code_still_waits_the_floor(self) -> None:
        timing = Timing(60.0, jitter=0.0, initial=0.0, maximum=0.0)
        self.assertEqual([MIN_RETRY_DELAY] * 3, [timing.after_failure(n) for n in (1, 2, 50)])

    def test_the_cap_is_never_below_the_floor(self) -> None:
        self.assertEqual(MIN_RETRY_DELAY, Timing(0.01, initial=0.0, maximum=0.0).cap)

    def test_backoff_has_jitter_too(self) -> None:
        timing = Timing(3600.0, jitter=0.5, initial=4.0, maximum=60.0, rand=lambda: 1.0)
        self.assertEqual(6.0, timing.after_failure(1))


class _Driven:
    """Drives one job's loop: records each requested delay, stops after ``runs`` waits."""

    def __init__(self, waits: int) -> None:
        self.delays: list[float] = []
        self.waits = waits

    def __call__(self, seconds: float) -> bool:
        self.delays.append(seconds)
        return len(self.delays) > self.waits


class _Clocked(_Driven):
    """A :class:`_Driven` whose waits move a clock on (the scheduler's ``clock``)."""

    def __init__(self, waits: int) -> None:
        super().__init__(waits)
        self.now = 0.0

    def __call__(self, seconds: float) -> bool:
        self.now += seconds
        return super().__call__(seconds)

    def clock(self) -> float:
        return self.now


class TestRunJob(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(
            name='vitrage_ds.collector.scheduler', level=logging.DEBUG,
            format='%(levelname)s %(message)s'))

    def _run(self, outcomes: list[Exception | None], *, interval: float = 600.0
             ) -> tuple[_Driven, list[int], Scheduler]:
        calls: list[int] = []

        def job() -> None:
            calls.append(1)
            outcome = outcomes[len(calls) - 1] if len(calls) <= len(outcomes) else None
            if outcome is not None:
                raise outcome

        sleep = _Driven(waits=len(outcomes))
        scheduler = Scheduler([Job('heat.stack', interval, job)], jitter=0.0,
                              backoff_initial=5.0, backoff_max=60.0, sleep=sleep,
                              clock=_steps(0.0), rand=lambda: 0.0)
        scheduler.run_job(Job('heat.stack', interval, job))
        return sleep, calls, scheduler

    def test_failed_runs_are_retried_with_backoff_then_the_interval_resumes(self) -> None:
        down = BackendError('heat unreachable')
        sleep, calls, _ = self._run([down, down, down, None, None])
        self.assertEqual([0.0, 5.0, 10.0, 20.0, 600.0, 600.0], sleep.delays)
        self.assertEqual(5, len(calls))

    def test_the_first_failure_is_a_warning_and_repeats_are_debug(self) -> None:
        down = BackendError('heat unreachable')
        self._run([down, down, down])
        lines = self.log.output.splitlines()
        self.assertEqual(1, sum(line.startswith('WARNING') for line in lines))
        self.assertEqual(2, sum(line.startswith('DEBUG') for line in lines))
        self.assertIn('heat unreachable', lines[0])

    def _run_clocked(self, outcomes: list[Exception | None]) -> list[str]:
        """Run with time passing as the job waits; the log lines above DEBUG."""
        sleep = _Clocked(waits=len(outcomes))
        calls: list[int] = []

        def job() -> None:
            calls.append(1)
            outcome = outcomes[len(calls) - 1] if len(calls) <= len(outcomes) else None
            if outcome is not None:
                raise outcome

        scheduler = Scheduler([Job('heat.stack', 600.0, job)], jitter=0.0,
                              backoff_initial=5.0, backoff_max=60.0, sleep=sleep,
                              clock=sleep.clock, rand=lambda: 0.0)
        scheduler.run_job(Job('heat.stack', 600.0, job))
        return [line for line in self.log.output.splitlines()
                if not line.startswith('DEBUG')]

    def test_a_job_that_keeps_failing_warns_again_once_per_backoff_cap(self) -> None:
        # Failures at 0, 5, 15, 35, 75, 135 and 195 s; the cap is 60 s.
        lines = self._run_clocked([BackendError('bad credentials')] * 7)
        self.assertEqual(
            ['WARNING poll heat.stack failed: BackendError: bad credentials; retrying with '
             'backoff (first in 5.0 s; a warning at most every 60 s while it keeps failing)',
             'WARNING poll heat.stack still failing: 5 attempts in a row over 75 s (4 since '
             'the last warning), the last: BackendError: bad credentials; next try in 60.0 s',
             'WARNING poll heat.stack still failing: 6 attempts in a row over 135 s (1 since '
             'the last warning), the last: BackendError: bad credentials; next try in 60.0 s',
             'WARNING poll heat.stack still failing: 7 attempts in a row over 195 s (1 since '
             'the last warning), the last: BackendError: bad credentials; next try in 60.0 s'],
            lines)

    def test_each_failing_episode_starts_with_a_warning(self) -> None:
        down = BackendError('heat unreachable')
        lines = self._run_clocked([down, down, None, down])
        self.assertEqual(['WARNING', 'INFO', 'WARNING'], [line.split()[0] for line in lines])

    def test_a_failure_message_is_one_bounded_line(self) -> None:
        lines = self._run_clocked([BackendError('forged\nCRITICAL line' + 'x' * 5000)])
        self.assertEqual(1, len(lines))
        self.assertLess(len(lines[0]), 1300)

    def test_recovery_is_logged_once(self) -> None:
        down = BackendError('heat unreachable')
        lines = self._run_clocked([down, down, None, None])
        recovered = [line for line in lines if line.startswith('INFO')]
        self.assertEqual(['INFO poll heat.stack recovered after 2 failed attempt(s) in 15 s'],
                         recovered)

    def test_job_state_tracks_failures_and_recovery(self) -> None:
        down = BackendError('heat unreachable')
        _, _, scheduler = self._run([down, down])
        state = scheduler.states['heat.stack']
        self.assertEqual((0, 2, 'BackendError: heat unreachable'),
                         (state.runs, state.failures, state.last_error))
        _, _, scheduler = self._run([down, None])
        state = scheduler.states['heat.stack']
        self.assertEqual((1, 0, None), (state.runs, state.failures, state.last_error))

    def test_an_unexpected_exception_is_retried_like_a_backend_error(self) -> None:
        sleep, _calls, _ = self._run([KeyError('bug'), None])
        self.assertEqual([0.0, 5.0, 600.0], sleep.delays)

    def test_an_unexpected_exception_is_logged_with_its_traceback(self) -> None:
        self._run([KeyError('bug')])
        self.assertIn('Traceback', self.log.output)

    def test_a_zero_backoff_given_in_code_does_not_retry_in_a_hot_loop(self) -> None:
        sleep = _Clocked(waits=20)

        def job() -> None:
            raise BackendError('down')

        scheduler = Scheduler([Job('heat.stack', 600.0, job)], jitter=0.0, backoff_initial=0.0,
                              backoff_max=0.0, sleep=sleep, clock=sleep.clock,
                              rand=lambda: 0.0)
        scheduler.run_job(Job('heat.stack', 600.0, job))
        self.assertEqual(20 * [MIN_RETRY_DELAY], sleep.delays[1:])

    def test_a_stopped_scheduler_runs_nothing(self) -> None:
        calls: list[int] = []
        scheduler = Scheduler([Job('a', 60.0, lambda: calls.append(1))],
                              sleep=lambda s: False)
        scheduler.stop()
        scheduler.run_job(Job('a', 60.0, lambda: calls.append(1)))
        self.assertEqual([], calls)


class TestParallelJobs(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.log = self.useFixture(fixtures.FakeLogger(name='vitrage_ds.collector.scheduler'))

    def test_a_hanging_job_does_not_delay_another(self) -> None:
        gate = threading.Event()
        fast_runs: list[int] = []
        three = threading.Event()

        def slow() -> None:
            gate.wait()

        def fast() -> None:
            fast_runs.append(1)
            if len(fast_runs) >= 3:
                three.set()

        scheduler = Scheduler([Job('slow', 1.0, slow), Job('fast', 1.0, fast)],
                              sleep=lambda s: False, rand=lambda: 0.0)
        self.addCleanup(gate.set)
        scheduler.start()
        self.assertTrue(three.wait(30), 'the fast job was held up by the slow one')
        gate.set()
        self.assertTrue(scheduler.stop(30))

    def test_a_failing_job_does_not_stop_another(self) -> None:
        ok_runs = threading.Event()
        count = [0]

        def ok() -> None:
            count[0] += 1
            if count[0] >= 3:
                ok_runs.set()

        def bad() -> None:
            raise BackendError('down')

        scheduler = Scheduler([Job('bad', 1.0, bad), Job('ok', 1.0, ok)],
                              sleep=lambda s: False, backoff_initial=0.0)
        scheduler.start()
        self.addCleanup(scheduler.stop, 30)
        self.assertTrue(ok_runs.wait(30))
        self.assertGreater(scheduler.states['bad'].failures, 0)

    def test_stop_waits_for_the_run_in_progress(self) -> None:
        started = threading.Event()
        release = threading.Event()
        finished: list[bool] = []

        def job() -> None:
            started.set()
            release.wait()
            finished.append(True)

        scheduler = Scheduler([Job('a', 600.0, job)], rand=lambda: 0.0)
        scheduler.start()
        self.assertTrue(started.wait(30))
        threading.Timer(0.05, release.set).start()
        self.assertTrue(scheduler.stop(30))
        self.assertEqual([True], finished)

    def test_stop_gives_up_on_a_hanging_run_after_the_timeout(self) -> None:
        started = threading.Event()
        hang = threading.Event()
        self.addCleanup(hang.set)

        def job() -> None:
            started.set()
            hang.wait()

        scheduler = Scheduler([Job('a', 600.0, job)], rand=lambda: 0.0)
        scheduler.start()
        self.assertTrue(started.wait(30))
        self.assertFalse(scheduler.stop(0.01))

    def test_job_names_must_be_unique(self) -> None:
        self.assertRaises(ValueError, Scheduler,
                          [Job('a', 1.0, lambda: None), Job('a', 1.0, lambda: None)])

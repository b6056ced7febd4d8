"""Running each driver's poll on its own interval, in its own thread.

Every job (one per driver) gets a thread of its own, so a slow, hanging or
failing poll never delays another driver's. The timing of one job is a
:class:`Backoff`-driven :class:`Timing`: the first poll right after start
(within a small jitter), then one every ``interval`` seconds counted from
the start of the previous poll (plus jitter); after a failure, retries
after ``initial``, ``2 * initial``, ... seconds, capped at ``maximum`` and
never later than the regular interval.

Logging: every failing episode is visible at WARNING, and bounded. Its
first failure is a warning; a later one is a warning again once the
backoff cap (``maximum``, never above ``interval``) has passed since the
last warning of that job, saying how many attempts failed meanwhile; the
attempts in between are logged at debug level. So a job that keeps failing
writes one warning per backoff cap (at most one per retry at the cap),
never one per attempt, and never goes quiet. Recovery is logged at INFO
with the number of failed attempts and how long the episode lasted.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections.abc import Callable, Sequence

from vitrage_ds._logsafe import safe
from vitrage_ds.errors import VitrageDSError

__all__ = ['MIN_RETRY_DELAY', 'Job', 'JobState', 'Scheduler', 'Timing']

LOG = logging.getLogger(__name__)

#: The shortest retry delay and backoff cap, in seconds, whatever a
#: :class:`Timing` was given: a failing job never retries in a busy loop.
#: Also the least ``[collector] retry_backoff`` and ``retry_backoff_max``.
MIN_RETRY_DELAY = 0.1

#: Waits up to the given seconds; returns True if the scheduler is stopping.
Sleep = Callable[[float], bool]


@dataclasses.dataclass(frozen=True)
class Job:
    """One periodic task.

    :ivar name: names the job in logs and its thread.
    :ivar interval: seconds between the starts of two successful runs.
    :ivar run: the task; raising means it failed and will be retried.
    :ivar timing: when it runs; by default a :class:`Timing` of ``interval``
        with the scheduler's jitter and backoff.
    """

    name: str
    interval: float
    run: Callable[[], object]
    timing: Timing | None = None


@dataclasses.dataclass
class JobState:
    """What is known about a job, for status reports.

    :ivar runs: successful runs.
    :ivar failures: consecutive failures since the last success.
    :ivar last_error: the last failure's message, ``None`` once recovered.
    :ivar last_success: wall-clock time the last success ended.
    :ivar next_delay: seconds the job waits before its next run.
    """

    runs: int = 0
    failures: int = 0
    last_error: str | None = None
    last_success: float | None = None
    next_delay: float = 0.0


class Timing:
    """Delays between the runs of one job; pure arithmetic, no clock.

    :param interval: seconds between successful runs.
    :param jitter: fraction of a delay added at random (0.1: up to +10 %).
    :param initial: first retry delay after a failure.
    :param maximum: cap of a retry delay (and never above ``interval``).
    :param rand: uniform random numbers in ``[0, 1)``.

    A retry delay and the cap are never below :data:`MIN_RETRY_DELAY`,
    whatever ``initial``, ``maximum`` and ``interval`` say.
    """

    def __init__(self, interval: float, *, jitter: float = 0.1,
                 initial: float = 5.0, maximum: float = 300.0,
                 rand: Callable[[], float] = random.random) -> None:
        self.interval = interval
        self.jitter = jitter
        self.initial = initial
        self.maximum = maximum
        self._rand = rand

    def first(self) -> float:
        """Delay before the first run: the jitter only (at most a few seconds)."""
        return min(self.interval * self.jitter, 5.0) * self._rand()

    def after_success(self, elapsed: float) -> float:
        """Delay after a run that took ``elapsed`` seconds and succeeded."""
        return max(0.0, self.interval - elapsed) + self._spread(self.interval)

    def after_failure(self, failures: int) -> float:
        """Delay after the ``failures``-th consecutive failure (1, 2, ...); never
        below :data:`MIN_RETRY_DELAY`."""
        cap = self.cap
        exponent = min(failures - 1, 62)
        base = max(MIN_RETRY_DELAY, min(cap, self.initial * (2 ** exponent)))
        return base + self._spread(base)

    @property
    def cap(self) -> float:
        """The longest retry delay, jitter aside: ``maximum``, never above
        ``interval``, never below :data:`MIN_RETRY_DELAY`."""
        return max(MIN_RETRY_DELAY, min(self.maximum, self.interval))

    def _spread(self, delay: float) -> float:
        return delay * self.jitter * self._rand()


@dataclasses.dataclass
class _Episode:
    """One job's run of consecutive failures, for rate-limited warnings."""

    began: float = 0.0
    warned: float = 0.0
    unreported: int = 0


class Scheduler:
    """Runs :class:`Job` s periodically, each in its own thread.

    Guarantees: a job never runs concurrently with itself; jobs never wait
    for one another; a job that raises is retried with backoff and never
    stops the scheduler; :meth:`stop` lets a run in progress finish (up to
    ``timeout``) and starts no new one.

    :param jobs: the jobs, names unique.
    :param jitter: see :class:`Timing`.
    :param backoff_initial: see :class:`Timing`.
    :param backoff_max: see :class:`Timing`.
    :param sleep: waits between runs; returns True when the scheduler is
        stopping. By default waits on the scheduler's stop event; tests
        inject their own to drive time.
    :param clock: monotonic seconds, to measure how long a run took.
    :param wallclock: POSIX seconds, for :attr:`JobState.last_success`.
    :param rand: uniform random numbers in ``[0, 1)`` for the jitter.
    """

    def __init__(self, jobs: Sequence[Job], *, jitter: float = 0.1,
                 backoff_initial: float = 5.0, backoff_max: float = 300.0,
                 sleep: Sleep | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wallclock: Callable[[], float] = time.time,
                 rand: Callable[[], float] = random.random) -> None:
        names = [job.name for job in jobs]
        if len(set(names)) != len(names):
            raise ValueError(f'job names must be unique: {names}')
        self._jobs = list(jobs)
        self._timings = {job.name: job.timing or Timing(job.interval, jitter=jitter,
                                                        initial=backoff_initial,
                                                        maximum=backoff_max, rand=rand)
                         for job in jobs}
        self._stopping = threading.Event()
        self._sleep: Sleep = sleep or self._stopping.wait
        self._clock = clock
        self._wallclock = wallclock
        self._threads: list[threading.Thread] = []
        self._states = {job.name: JobState() for job in jobs}
        self._lock = threading.Lock()

    @property
    def states(self) -> dict[str, JobState]:
        """A copy of every job's state, by name."""
        with self._lock:
            return {name: dataclasses.replace(s) for name, s in self._states.items()}

    def start(self) -> None:
        """Start one thread per job. Not restartable after :meth:`stop`."""
        if self._threads:
            return
        if self._stopping.is_set():
            raise RuntimeError('a stopped Scheduler cannot start again')
        for job in self._jobs:
            thread = threading.Thread(target=self.run_job, args=(job,), daemon=True,
                                      name=f'vitrage_ds-poll-{job.name}')
            self._threads.append(thread)
            thread.start()

    def stop(self, timeout: float | None = None) -> bool:
        """Start no new run and wait for runs in progress.

        :param timeout: the most seconds to wait in all; ``None``: as long
            as the runs take.
        :returns: whether every job thread ended in time. A run still going
            is abandoned (its thread is a daemon and ends with the process).
        """
        self._stopping.set()
        deadline = None if timeout is None else self._clock() + timeout
        done = True
        for thread in self._threads:
            left = None if deadline is None else max(0.0, deadline - self._clock())
            thread.join(left)
            if thread.is_alive():
                LOG.warning('poll %s still running at stop; abandoned',
                            thread.name.removeprefix('vitrage_ds-poll-'))
                done = False
        return done

    @property
    def stopping(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._stopping.is_set()

    def run_job(self, job: Job) -> None:
        """The loop of one job (what each thread runs); returns when stopping."""
        timing = self._timings[job.name]
        episode = _Episode()
        delay = timing.first()
        while True:
            self._set(job.name, next_delay=delay)
            if self._stopping.is_set() or self._sleep(delay) or self._stopping.is_set():
                return
            start = self._clock()
            try:
                job.run()
            except Exception as exc:
                delay = self._failed(job, timing, exc, episode)
            else:
                delay = self._succeeded(job, timing, self._clock() - start, episode)

    def _succeeded(self, job: Job, timing: Timing, elapsed: float,
                   episode: _Episode) -> float:
        with self._lock:
            state = self._states[job.name]
            failures = state.failures
            state.runs += 1
            state.failures = 0
            state.last_error = None
            state.last_success = self._wallclock()
        if failures:
            LOG.info('poll %s recovered after %d failed attempt(s) in %.0f s',
                     job.name, failures, self._clock() - episode.began)
        return timing.after_success(elapsed)

    def _failed(self, job: Job, timing: Timing, exc: Exception, episode: _Episode) -> float:
        reason = safe(f'{type(exc).__name__}: {exc}', _REASON_LIMIT)
        now = self._clock()
        with self._lock:
            state = self._states[job.name]
            state.failures += 1
            state.last_error = reason
            failures = state.failures
        delay = timing.after_failure(failures)
        if failures == 1:
            episode.began = episode.warned = now
            episode.unreported = 0
            LOG.warning('poll %s failed: %s; retrying with backoff (first in %.1f s; '
                        'a warning at most every %g s while it keeps failing)',
                        job.name, reason, delay, timing.cap, exc_info=not _expected(exc))
        elif now - episode.warned >= timing.cap:
            LOG.warning('poll %s still failing: %d attempts in a row over %.0f s (%d since '
                        'the last warning), the last: %s; next try in %.1f s', job.name,
                        failures, now - episode.began, episode.unreported + 1, reason, delay)
            episode.warned = now
            episode.unreported = 0
        else:
            episode.unreported += 1
            LOG.debug('poll %s failed again (%d in a row): %s; next try in %.1f s',
                      job.name, failures, reason, delay)
        return delay

    def _set(self, name: str, *, next_delay: float) -> None:
        with self._lock:
            self._states[name].next_delay = next_delay


#: Most characters of a failure's message in a log line or a job's state.
_REASON_LIMIT = 1000


def _expected(exc: Exception) -> bool:
    """Whether ``exc`` is an anticipated backend failure (no traceback needed)."""
    return isinstance(exc, VitrageDSError)

"""The collector: drivers polled and listened to, reconciled, delivered to sinks.

Embedding it in a service takes a configuration and a sink::

    import queue
    from vitrage_ds import Collector
    from vitrage_ds.config import load_config

    events = queue.Queue()
    with Collector(load_config(['--config-file', 'vitrage_ds.conf']), events):
        while True:
            graph.apply(events.get())        # vitrage_ds.Event objects
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from oslo_config import cfg

from vitrage_ds import _gc, registry
from vitrage_ds._guard import Guard, PluginTimeout
from vitrage_ds._logsafe import safe
from vitrage_ds.collector import coordination, options
from vitrage_ds.collector._throttle import Throttle
from vitrage_ds.collector.cache import EntityCache, Stats
from vitrage_ds.collector.limits import MAX_DEPTH, FieldLimits
from vitrage_ds.collector.scheduler import Job, JobState, Scheduler
from vitrage_ds.collector.sinks import Sink, as_sink, sink_from_spec
from vitrage_ds.driver import Driver
from vitrage_ds.errors import BackendError, ConfigurationError
from vitrage_ds.event import Action, Event, envelope_time
from vitrage_ds.notifier import Outcome
from vitrage_ds.plugin import ClientFactory

if TYPE_CHECKING:
    import oslo_messaging  # type: ignore[import-untyped]

    from vitrage_ds.bus import Listener, Notification

__all__ = ['Collector', 'CollectorStopped', 'Listeners']

LOG = logging.getLogger(__name__)


class CollectorStopped(RuntimeError):
    """Events reached a collector whose sinks are already closed."""


class Collector:
    """Runs the drivers and delivers their reconciled events to sinks.

    * **Polls.** Each driver's ``get_all()`` runs in a thread of its own,
      every ``[driver.NAME] poll_interval`` seconds plus jitter; a failed
      poll is retried with capped exponential backoff and changes nothing.
      A poll longer than ``[collector] poll_timeout`` is abandoned and
      counts as failed; one that returns something other than events fails
      too (a garbled snapshot must not read as deletions).
      The first complete poll of a driver is emitted as ``init_snapshot``,
      later ones as ``snapshot``.
    * **Several collectors.** With ``[coordination] backend_url`` set, the
      collectors sharing ``[collector] coordination_group`` poll each driver
      once per interval between them: only the member holding the driver's
      lock polls it, at the same wall-clock slots everywhere (see
      :mod:`vitrage_ds.collector.coordination`). Without it, no tooz.
    * **Notifications.** With ``[collector] listen``, a pooled listener on
      every ``(exchange, topic)`` pair a driver declares (its
      :attr:`~vitrage_ds.driver.Driver.exchanges` and
      :attr:`~vitrage_ds.driver.Driver.topics`, each replaced for every
      driver by ``[collector] exchanges`` or ``topics`` when set) hands each
      notification to the drivers that declared the pair it came on and
      whose :meth:`~vitrage_ds.driver.Driver.handles` matches its event
      type; the events are emitted as ``update``. A notification is acknowledged only after
      its events were delivered; if a sink fails it is requeued
      (``[collector] max_retries`` times). A driver that raises, returns
      garbage or takes longer than ``[collector] notification_timeout`` on
      a notification is logged and skipped for it; the others still get it.
    * **Reconciliation.** One :class:`~vitrage_ds.collector.EntityCache`
      per driver owns the entity state (versions, tombstones, ``full`` or
      ``diff`` emission: see :mod:`vitrage_ds.collector.cache`); drivers
      read it through ``lookup``.
    * **Delivery.** Every sink receives every batch, in order, one batch
      at a time. Delivery is at least once.

    :param conf: the configuration (``[collector]`` is registered if needed).
    :param sinks: a sink, queue or callable, or a list of them (see
        :func:`~vitrage_ds.collector.as_sink`); by default the sinks
        ``[collector] sinks`` names.
    :param drivers: the drivers by name; by default the ``[DEFAULT]
        drivers`` loaded from their entry points (and closed at stop).
    :param transport: the bus transport; by default one from
        ``[DEFAULT] transport_url``, cleaned up at stop.
    :param client_factory: passed to the drivers loaded by default.
    :param sleep: see :class:`~vitrage_ds.collector.Scheduler` (tests).
    :param rand: see :class:`~vitrage_ds.collector.Scheduler` (tests).
    :param clock: monotonic seconds for tombstones and poll timing (tests).
    :param wallclock: POSIX seconds for poll start times (tests).
    :raises ConfigurationError: no driver could be loaded, or a sink spec
        is wrong.
    """

    def __init__(self, conf: cfg.ConfigOpts, sinks: Any = None, *,
                 drivers: Mapping[str, Driver] | None = None,
                 transport: oslo_messaging.Transport | None = None,
                 client_factory: ClientFactory | None = None,
                 sleep: Callable[[float], bool] | None = None,
                 rand: Callable[[], float] | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 wallclock: Callable[[], float] = time.time) -> None:
        options.register_opts(conf)
        self.conf = conf
        self._opts = conf[options.GROUP]
        self._wallclock = wallclock
        self._owns_drivers = drivers is None
        if drivers is None:
            loaded = registry.load_drivers(conf, client_factory=client_factory)
            if not loaded.plugins:
                raise ConfigurationError(
                    'no driver could be loaded: '
                    + '; '.join(f'{n}: {r}' for n, r in loaded.failures.items()))
            drivers = loaded.plugins
        if not drivers:
            raise ConfigurationError('the collector needs at least one driver')
        self._drivers: dict[str, Driver] = dict(drivers)
        self._pairs = {name: _pairs(driver, self._opts.exchanges, self._opts.topics)
                       for name, driver in self._drivers.items()}
        self._caches = {
            name: EntityCache(name, mode=self._opts.mode,
                              tombstone_ttl=self._opts.tombstone_ttl,
                              tombstone_limit=self._opts.tombstone_limit, clock=clock,
                              notification_only=driver.notification_only_fields,
                              max_clock_skew=self._opts.max_clock_skew,
                              wallclock=wallclock, pause_gc=self._opts.pause_gc)
            for name, driver in self._drivers.items()}
        self._limits = FieldLimits(self._opts.max_field_length)
        self._bounded = {name: Throttle(60.0, clock=clock) for name in self._drivers}
        self._poll_locks = {name: threading.Lock() for name in self._drivers}
        self._poll_guards = {
            name: Guard(f'driver {name}', self._opts.poll_timeout or _interval(driver), 1)
            for name, driver in self._drivers.items()}
        self._note_guards = {
            name: Guard(f'driver {name}', self._opts.notification_timeout, _NOTE_WORKERS)
            for name in self._drivers}
        self._initialized: set[str] = set()
        self._transport = transport
        self._owns_transport = False
        self._sink_lock = threading.Lock()
        self._closed = False
        self._sinks = self._make_sinks(sinks)
        self._coordination = self._make_coordination()
        self._scheduler = Scheduler(
            [self._job(name, driver) for name, driver in self._drivers.items()],
            jitter=self._opts.jitter, backoff_initial=self._opts.retry_backoff,
            backoff_max=self._opts.retry_backoff_max, sleep=sleep, clock=clock,
            wallclock=wallclock, rand=rand or random.random)
        self._listener: Listeners | None = None
        self._state_lock = threading.Lock()
        self._started = False
        self._stopped = threading.Event()

    # -- public API ---------------------------------------------------------

    @property
    def drivers(self) -> Mapping[str, Driver]:
        """The drivers, by name."""
        return dict(self._drivers)

    @property
    def sinks(self) -> list[Sink]:
        """The sinks, in delivery order."""
        return list(self._sinks)

    @property
    def targets(self) -> list[tuple[str, str]]:
        """The ``(exchange, topic)`` pairs the collector listens to (maybe none).

        Without ``[collector] listen``, none; otherwise every pair some
        driver listens to (see :meth:`pairs`), each once, in driver order.
        """
        if not self._opts.listen:
            return []
        return list(dict.fromkeys(pair for pairs in self._pairs.values() for pair in pairs))

    def pairs(self, driver: str) -> list[tuple[str, str]]:
        """The ``(exchange, topic)`` pairs whose notifications ``driver`` gets.

        Every exchange of ``[collector] exchanges`` (when set) or else of
        the driver's :attr:`~vitrage_ds.driver.Driver.exchanges`, with every
        topic of ``[collector] topics`` (when set) or else of its
        :attr:`~vitrage_ds.driver.Driver.topics`. Listened to only with
        ``[collector] listen``.
        """
        return list(self._pairs[driver])

    @property
    def listener(self) -> Listeners | None:
        """The bus listeners once started, if listening."""
        return self._listener

    def cache(self, driver: str) -> EntityCache:
        """The reconciliation cache of ``driver`` (read it, do not feed it)."""
        return self._caches[driver]

    def lookup(self, driver: str, entity_type: str, entity_id: str
               ) -> Mapping[str, Any] | None:
        """What the collector last delivered about an entity of ``driver``."""
        return self._caches[driver].lookup(entity_type, entity_id)

    @property
    def poll_states(self) -> dict[str, JobState]:
        """Each driver's poll state (runs, consecutive failures, last error)."""
        return self._scheduler.states

    def start(self) -> None:
        """Start listening (if configured), then every driver's polling.

        :raises oslo_messaging.MessagingException: the bus refused; nothing
            is left running.
        """
        with self._state_lock:
            if self._started:
                return
            if self._stopped.is_set():
                raise RuntimeError('a stopped Collector cannot start again')
            targets = self.targets
            if targets:
                from vitrage_ds.bus import Listener
                # One listener per pair, so that each notification is known
                # by the pair it came on (the drivers that get it).
                listener = Listeners([
                    Listener(self._bus(), [target], _bind_target(self._on_notification, target),
                             pool=self._opts.listener_pool or None,
                             max_retries=self._opts.max_retries,
                             batch_size=self._opts.batch_size,
                             batch_timeout=self._opts.batch_timeout)
                    for target in targets])
                listener.start()
                self._listener = listener
                LOG.info('listening on %s (pool %s)',
                         ', '.join(f'{ex}/{topic}' for ex, topic in targets),
                         self._opts.listener_pool or '(none)')
            if self._coordination is not None:
                try:
                    self._coordination.start()
                except BaseException:
                    if self._listener is not None:
                        self._listener.stop(0)
                    raise
            self._scheduler.start()
            self._started = True
            LOG.info('collector started: drivers %s, mode %s, sinks %s',
                     ', '.join(self._drivers), self._opts.mode,
                     ', '.join(map(repr, self._sinks)))

    def stop(self, timeout: float | None = None) -> bool:
        """Drain and stop. Idempotent.

        Order: stop consuming and finish the notifications in flight (each
        acknowledged or requeued), then let polls in progress finish (no new
        one starts), then close the sinks, the drivers the collector
        loaded and the transport it created. Messages never handed to the
        collector stay on the bus.

        :param timeout: seconds for draining notifications and polls and
            for a delivery in progress to end, shared; ``None`` waits as
            long as they take. Past it, what is still running is abandoned:
            a notification still being handled is neither acknowledged nor
            requeued by this process (the broker redelivers it once the
            process's connection closes), a poll still running changes
            nothing, and sinks still in use are left to close with the
            process.
        :returns: whether everything drained in time.
        """
        with self._state_lock:
            if self._stopped.is_set():
                return True
            deadline = None if timeout is None else time.monotonic() + timeout
            drained = True
            if self._listener is not None:
                drained = self._listener.stop(_left(deadline)) and drained
            drained = self._scheduler.stop(_left(deadline)) and drained
            if self._coordination is not None:
                self._coordination.stop()
            self._closed = True  # a delivery not yet begun now fails (and is retried)
            left = _left(deadline)
            if self._sink_lock.acquire(timeout=-1 if left is None else left):
                try:
                    for sink in self._sinks:
                        _quietly(sink.close, f'closing sink {sink!r}')
                finally:
                    self._sink_lock.release()
            else:
                LOG.warning('a delivery to the sinks was still in progress at the stop; '
                            'the sinks were left to close with the process')
                drained = False
            if self._owns_drivers:
                for driver in self._drivers.values():
                    _quietly(driver.close, f'closing driver {driver!r}')
            if self._owns_transport and self._transport is not None:
                _quietly(self._transport.cleanup, 'closing the bus transport')
            self._stopped.set()
            LOG.info('collector stopped%s', '' if drained else ' (not fully drained)')
            return drained

    def wait(self, timeout: float | None = None) -> bool:
        """Block until :meth:`stop` finished; returns whether it did."""
        return self._stopped.wait(timeout)

    def __enter__(self) -> Collector:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop(self._opts.stop_timeout)

    def poll(self, driver: str) -> Stats:
        """Poll ``driver`` once now, reconcile and deliver; what the scheduler runs.

        Runs of one driver never overlap (a second call waits for the
        first). Works without :meth:`start`, e.g. for a one-shot snapshot.

        :raises vitrage_ds.errors.BackendError: the poll failed or returned
            something that is not a list of events; nothing changed.
        :raises vitrage_ds.errors.VitrageDSError: the poll took longer than
            ``[collector] poll_timeout`` (abandoned); nothing changed.
        :raises Exception: a sink failed; nothing changed.
        """
        the_driver = self._drivers[driver]
        cache = self._caches[driver]
        with self._poll_locks[driver]:
            token = cache.begin_poll(self._wallclock())
            try:
                with _gc.paused(self._opts.pause_gc):  # [collector] pause_gc
                    polled = self._poll_guards[driver].call('get_all()', the_driver.get_all)
                events = self._bound(driver, _snapshot(driver, polled))
                action = (Action.SNAPSHOT if driver in self._initialized
                          else Action.INIT_SNAPSHOT)
                stats = cache.apply_snapshot(token, events, action, self._deliver)
            except BaseException:
                cache.cancel_poll(token)
                raise
            self._initialized.add(driver)
        LOG.info('%s %s: %d entities seen; %s', driver, action.value, len(events), stats)
        return stats

    def handle(self, event_type: str, payload: Any,
               metadata: Mapping[str, Any] | None = None, *,
               target: tuple[str, str] | None = None) -> Outcome:
        """Process one notification as the listener does; for other listeners.

        Every driver whose ``handles(event_type)`` is true turns it into
        events, which are reconciled and delivered; with ``target``, only
        among the drivers whose :meth:`pairs` include it.

        :param target: the ``(exchange, topic)`` the notification came on;
            ``None``: unknown, every driver may get it.

        :returns: :attr:`Outcome.DONE` once every resulting event was
            delivered (or there was none), :attr:`Outcome.RETRY` when a sink
            failed or the collector is stopped (the message should come
            again). A driver's events that fail before delivery is attempted
            (they cannot be bounded or reconciled) are logged and dropped
            for that driver: they would fail again. Never raises.
        """
        metadata = metadata or {}
        observed = envelope_time(metadata, self._wallclock)
        for name, driver in self._drivers.items():
            if target is not None and target not in self._pairs[name]:
                continue
            try:
                if not driver.handles(event_type):
                    continue
                events = _checked(name, self._note_guards[name].call(
                    f'notifications({event_type!r:.100})', driver.notifications,
                    event_type, payload, metadata, self._caches[name].lookup))
            except PluginTimeout as exc:
                LOG.error('%s; the %s notification was dropped for it', safe(str(exc), 500),
                          safe(event_type))
                continue
            except Exception:
                LOG.exception('driver %s raised on a %s notification (a driver '
                              'must not); notification dropped for it', name,
                              safe(event_type))
                continue
            if not events:
                continue
            delivery = _Delivery(self._deliver)
            try:
                events = self._bound(name, events)
                self._caches[name].apply_updates(events, observed, delivery)
            except CollectorStopped:
                return Outcome.RETRY
            except Exception as exc:
                if not delivery.attempted:
                    LOG.error('driver %s: could not reconcile %d event(s) of a %s '
                              'notification (%s); dropped them', name, len(events),
                              safe(event_type), safe(f'{type(exc).__name__}: {exc}'))
                    continue
                LOG.warning('delivering %d event(s) of a %s notification failed '
                            '(%s: %s); the notification will come again',
                            len(events), safe(event_type), type(exc).__name__, safe(exc))
                return Outcome.RETRY
        return Outcome.DONE

    # -- internals ----------------------------------------------------------

    def _make_coordination(self) -> coordination.Coordination | None:
        url = coordination.backend_url(self.conf)
        if url is None:
            return None
        return coordination.Coordination(url, self._opts.coordination_group, self._drivers)

    def _job(self, name: str, driver: Driver) -> Job:
        """The scheduler's job for ``driver``: every interval, or every slot when coordinated."""
        interval = _interval(driver)
        if self._coordination is None:
            return Job(name, interval, _bind(self.poll, name))
        timing = coordination.SlotTiming(
            interval, coordination.slot_offset(name, interval), wallclock=self._wallclock,
            initial=self._opts.retry_backoff, maximum=self._opts.retry_backoff_max)
        return Job(name, interval, _bind(self._poll_if_held, name), timing)

    def _poll_if_held(self, driver: str) -> Stats | None:
        """A scheduled poll under coordination: only by the member holding ``driver``."""
        assert self._coordination is not None
        if not self._coordination.holds(driver):
            return None
        return self.poll(driver)

    def _bound(self, driver: str, events: list[Event]) -> list[Event]:
        """``events`` with field types, sizes and depths bounded; a warning a minute at most."""
        bounded = self._limits.apply(events)
        if bounded.changed:
            due = self._bounded[driver].add(bounded.changed)
            if due:
                LOG.warning('driver %s: %d field value(s) of the wrong type, over '
                            '[collector] max_field_length (%d) or nested more than %d '
                            'levels dropped or cut since the last such warning; for one: %s',
                            driver, due, self._limits.max_length, MAX_DEPTH,
                            safe(bounded.first, 300))
        return bounded.events

    def _on_notification(self, target: tuple[str, str], note: Notification) -> Outcome:
        return self.handle(note.event_type, note.payload, note.metadata, target=target)

    def _deliver(self, events: Sequence[Event]) -> None:
        with self._sink_lock:
            if self._closed:
                raise CollectorStopped('the collector is stopped')
            for sink in self._sinks:
                sink.deliver(events)

    def _bus(self) -> oslo_messaging.Transport:
        if self._transport is None:
            from vitrage_ds.bus import get_transport
            self._transport = get_transport(self.conf)
            self._owns_transport = True
        return self._transport

    def _publisher(self, topic: str, exchange: str | None) -> Any:
        from vitrage_ds.bus import Publisher
        return Publisher(self._bus(), topic=topic, exchange=exchange,
                         publisher_id='vitrage_ds.collector')

    def _make_sinks(self, sinks: Any) -> list[Sink]:
        if sinks is None:
            return [sink_from_spec(spec, self._publisher) for spec in self._opts.sinks]
        many = isinstance(sinks, (list, tuple))
        made = [as_sink(s) for s in sinks] if many else [as_sink(sinks)]
        if not made:
            raise ConfigurationError('the collector needs at least one sink')
        return made


class Listeners:
    """The collector's bus listeners, one per ``(exchange, topic)``, as one.

    Counters are the sums of the listeners'; see
    :class:`~vitrage_ds.bus.Listener` for what each counts and for the
    delivery guarantees, which hold per listener.
    """

    def __init__(self, listeners: Sequence[Listener]) -> None:
        self.listeners = tuple(listeners)

    @property
    def targets(self) -> list[tuple[str | None, str]]:
        """Every listener's targets, in order."""
        return [t for listener in self.listeners for t in listener.targets]

    @property
    def received(self) -> int:
        """Deliveries handed to the collector (a redelivery counts again)."""
        return sum(listener.received for listener in self.listeners)

    @property
    def handled(self) -> int:
        """Deliveries acknowledged after success."""
        return sum(listener.handled for listener in self.listeners)

    @property
    def requeued(self) -> int:
        """Deliveries requeued after a transient failure."""
        return sum(listener.requeued for listener in self.listeners)

    @property
    def rejected(self) -> int:
        """Deliveries acknowledged without success."""
        return sum(listener.rejected for listener in self.listeners)

    @property
    def unaccountable(self) -> int:
        """Deliveries acknowledged unhandled for their envelope."""
        return sum(listener.unaccountable for listener in self.listeners)

    def start(self) -> None:
        """Start every listener; if one fails, none is left consuming.

        :raises oslo_messaging.MessagingException: the broker refused.
        """
        started: list[Listener] = []
        try:
            for listener in self.listeners:
                listener.start()
                started.append(listener)
        except BaseException:
            for listener in started:
                listener.stop(0)
            raise

    def stop(self, timeout: float | None = None) -> bool:
        """Stop every listener at once and let them drain, together within ``timeout``.

        :returns: whether all drained in time.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        for listener in self.listeners:
            listener.stop(0)  # stops consuming; draining goes on in the background
        drained = True
        for listener in self.listeners:
            drained = listener.stop(_left(deadline)) and drained
        return drained


class _Delivery:
    """Delivers to the sinks and records whether it was asked to.

    What failed before it was (bounding, reconciling) is not the sinks'
    failure and would fail again.
    """

    __slots__ = ('_deliver', 'attempted')

    def __init__(self, deliver: Callable[[Sequence[Event]], None]) -> None:
        self._deliver = deliver
        self.attempted = False

    def __call__(self, events: Sequence[Event]) -> None:
        self.attempted = True
        self._deliver(events)


def _pairs(driver: Driver, exchanges: Sequence[str] | None,
           topics: Sequence[str] | None) -> tuple[tuple[str, str], ...]:
    """``driver``'s ``(exchange, topic)`` pairs, the configured lists replacing its own."""
    return tuple(dict.fromkeys(
        (exchange, topic) for exchange in (exchanges or driver.exchanges)
        for topic in (topics or driver.topics)))


def _bind_target(handle: Callable[[tuple[str, str], Notification], Outcome],
                 target: tuple[str, str]) -> Callable[[Notification], Outcome]:
    return lambda note: handle(target, note)


def _bind(poll: Callable[[str], object], name: str) -> Callable[[], object]:
    return lambda: poll(name)


def _interval(driver: Driver) -> float:
    try:
        value = driver.conf.poll_interval
    except (cfg.NoSuchOptError, AttributeError, KeyError):
        value = None
    return float(value if value else driver.default_poll_interval)


#: Most notification calls into one driver in flight at once, stuck ones included.
_NOTE_WORKERS = 64


def _snapshot(name: str, events: Any) -> list[Event]:
    """A poll's events; anything else fails the poll rather than delete entities.

    :raises BackendError: ``events`` is not a list or tuple of events.
    """
    if not isinstance(events, (list, tuple)):
        raise BackendError(f'driver {name} returned a {type(events).__name__} from '
                           f'get_all(), not a list of events; the poll counts as failed')
    bad = [e for e in events if not isinstance(e, Event)]
    if bad:
        raise BackendError(f'driver {name} returned {len(bad)} object(s) that are not '
                           f'events (the first a {type(bad[0]).__name__}); the poll '
                           f'counts as failed')
    return list(events)


def _checked(name: str, events: Iterable[Any]) -> list[Event]:
    """The events a driver returned, without anything that is not an Event."""
    if isinstance(events, (str, bytes)) or not isinstance(events, Iterable):
        LOG.error('driver %s returned a %s, not a list of events; dropped it',
                  name, type(events).__name__)
        return []
    items = events if isinstance(events, list) else list(events)
    good = [e for e in items if isinstance(e, Event)]
    if len(good) != len(items):
        LOG.error('driver %s returned %d object(s) that are not events; dropped them',
                  name, len(items) - len(good))
    return good


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def _quietly(action: Callable[[], object], what: str) -> None:
    try:
        action()
    except Exception:
        LOG.exception('%s failed', what)

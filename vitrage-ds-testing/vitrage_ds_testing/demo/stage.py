"""The demo's stage: the whole job wired together in one process.

An emulated cloud (Keystone, Heat, Aodh on a loopback port), one ``fake://``
transport shared by everything, the collector (both drivers, loaded
through the registry, diff mode, listening) and the notifier service with
the Aodh notifier. What happens on it is recorded, in order, on a
:class:`Feed`: every notification a service publishes (:class:`Sent`) and
every batch the collector delivers (:class:`Emitted`).
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from oslo_config import cfg

from vitrage_ds import bus, config, registry
from vitrage_ds.collector import Collector
from vitrage_ds.errors import ConfigurationError
from vitrage_ds.event import Event
from vitrage_ds.notifier import NotifierPlugin
from vitrage_ds.notifier_service import options as notifier_options

if TYPE_CHECKING:
    import oslo_messaging  # type: ignore[import-untyped]

    from vitrage_ds.notifier_service import DeducedAlarmPublisher, NotifierService
    from vitrage_ds_testing.cloud import EmulatedCloud

__all__ = ['Emitted', 'Feed', 'Sent', 'Stage']

LOG = logging.getLogger(__name__)

#: Seconds each service gets to drain when the stage stops.
STOP_TIMEOUT = 5.0

#: The topic the emulated services publish on (as Heat's and Aodh's default).
SERVICE_TOPIC = 'notifications'


@dataclasses.dataclass(frozen=True)
class Sent:
    """A notification a service published, recorded just before the bus got it.

    :ivar exchange: ``heat``, ``aodh`` or ``vitrage``.
    :ivar topic: the topic; the routing key is ``<topic>.<priority>``.
    :ivar priority: lower case.
    :ivar at: ``time.monotonic()`` when it was recorded.
    """

    exchange: str
    topic: str
    event_type: str
    priority: str
    publisher_id: str
    payload: Mapping[str, Any]
    at: float


@dataclasses.dataclass(frozen=True)
class Emitted:
    """One batch the collector delivered to its sink, in delivery order."""

    events: tuple[Event, ...]
    at: float


class Feed:
    """The demo's timeline: :class:`Sent` and :class:`Emitted`, in arrival order.

    Thread-safe; the collector's sink and the services put, the demo's
    main thread takes.
    """

    def __init__(self) -> None:
        self._items: queue.Queue[Sent | Emitted] = queue.Queue()

    def put(self, item: Sent | Emitted) -> None:
        self._items.put(item)

    def get(self, timeout: float) -> Sent | Emitted | None:
        """The next item, or ``None`` when none came within ``timeout`` seconds."""
        try:
            return self._items.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None


class _FeedSink:
    """A collector sink putting each batch on the feed as one item."""

    def __init__(self, feed: Feed) -> None:
        self._feed = feed

    def deliver(self, events: Sequence[Event]) -> None:
        self._feed.put(Emitted(tuple(events), time.monotonic()))

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return 'demo timeline'


def _emulated_cloud(seed: int) -> EmulatedCloud:
    try:
        from vitrage_ds_testing.cloud import EmulatedCloud
    except ImportError as exc:  # the test kit's dependencies are not installed
        raise ConfigurationError(
            f'the demo runs on the emulated cloud of vitrage_ds_testing, which needs '
            f'the test requirements ({exc}); run it with "python3 tools/dev.py demo" '
            f'or "pip install -r test-requirements.txt"') from exc
    return EmulatedCloud(seed, global_index_allowed=True)


class Stage:
    """Everything the demo runs, started and stopped in the right order.

    Use as a context manager: entering starts the emulated cloud and the
    bus (seed the cloud then), :meth:`go` starts the notifier service and
    the collector, leaving stops everything, collector first. Once
    :meth:`stop` returned nothing runs any more (the emulated server's
    daemon connection threads end moments later, as their sockets close).

    :param seed: the emulated cloud's seed (ids and names).
    :param feed: where the timeline goes.
    """

    def __init__(self, seed: int, feed: Feed) -> None:
        self.feed = feed
        self.cloud = _emulated_cloud(seed)
        self.conf: cfg.ConfigOpts | None = None
        self.transport: oslo_messaging.Transport | None = None
        self.collector: Collector | None = None
        self.notifier: NotifierService | None = None
        self.notifiers: dict[str, NotifierPlugin] = {}
        self.publisher: DeducedAlarmPublisher | None = None
        #: Whether every service drained in time when the stage stopped.
        self.stopped_cleanly = False
        self._stopped = False

    def __enter__(self) -> Stage:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        """Start the cloud and the bus; record the services' notifications."""
        self.cloud.start()
        self.conf = self.cloud.make_conf('password', overrides={
            # diff: after the first snapshot only changes are emitted, so every
            # line the demo prints is one change.
            # jitter 0: the first polls start at once rather than within 5 s.
            'collector': {'mode': 'diff', 'jitter': 0.0, 'retry_backoff': 1.0},
            'http': {'retries': 1}})
        self.transport = bus.get_transport(self.conf)
        # Recorded before the bus publishers are connected, so a notification
        # is on the feed before the collector can see it.
        self.cloud.notifications.connect_raw('orchestration', self._record_service)
        self.cloud.notifications.connect_raw('alarming', self._record_service)
        self.cloud.connect_bus(self.transport, topic=SERVICE_TOPIC)

    def go(self) -> None:
        """Start the notifier service and the collector (its first polls begin).

        :raises ConfigurationError: a plugin did not load.
        """
        from vitrage_ds.notifier_service import DeducedAlarmPublisher, NotifierService

        conf, transport = self._running()
        # One notifier process: no other can reorder its writes, so closing
        # need not wait out the production reorder window (10 s).
        config.register_plugin_opts(conf, 'notifier', 'aodh',
                                    registry.plugin_class(registry.NOTIFIERS, 'aodh'))
        conf.set_override('reorder_window', 0.5, 'notifier.aodh')
        loaded = registry.load_notifiers(conf)
        self.notifiers = loaded.plugins
        if loaded.failures:
            raise ConfigurationError('notifier plugins did not load: ' + '; '.join(
                f'{name}: {why}' for name, why in loaded.failures.items()))
        self.notifier = NotifierService.from_conf(conf, self.notifiers, transport)
        self.publisher = DeducedAlarmPublisher.from_conf(conf, transport)
        self.collector = Collector(conf, _FeedSink(self.feed), transport=transport)
        self.notifier.start()
        self.collector.start()

    @property
    def graph_exchange(self) -> str:
        """The exchange deduced alarms are published on (``[notifier] exchange``)."""
        return str(self._running()[0][notifier_options.GROUP].exchange or '')

    @property
    def graph_topic(self) -> str:
        """The topic deduced alarms are published on (``[notifier] topic``)."""
        return str(self._running()[0][notifier_options.GROUP].topic)

    def stop(self) -> None:
        """Stop the collector, the notifier service, the cloud, then the bus. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        drained = True
        if self.collector is not None:
            drained = self.collector.stop(STOP_TIMEOUT) and drained
        if self.notifier is not None:
            drained = self.notifier.stop(STOP_TIMEOUT) and drained
        if self.publisher is not None:
            self.publisher.close()
        for plugin in self.notifiers.values():
            plugin.close()
        self.cloud.notifications.disconnect_all()
        self.cloud.stop()
        if self.transport is not None:
            self.transport.cleanup()
            self.transport = None
        self.stopped_cleanly = drained

    def _running(self) -> tuple[cfg.ConfigOpts, oslo_messaging.Transport]:
        if self.conf is None or self.transport is None:
            raise RuntimeError('the stage is not started')
        return self.conf, self.transport

    def _record_service(self, note: Any) -> None:
        from vitrage_ds_testing.cloud.notifications import SERVICES

        self.feed.put(Sent(SERVICES[note.service]['exchange'], SERVICE_TOPIC,
                           note.event_type, note.priority, note.publisher_id,
                           note.payload, time.monotonic()))

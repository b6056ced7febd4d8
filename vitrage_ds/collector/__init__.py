"""The collector: drivers polled and listened to, reconciled, delivered to sinks.

:class:`Collector` is the service (and the library call other services
embed); :class:`EntityCache` the per-driver reconciliation; the sinks are
where events go; :class:`Scheduler` runs the polls.
"""

from vitrage_ds.collector.cache import EntityCache, Mode, PollToken, Stats
from vitrage_ds.collector.scheduler import Job, JobState, Scheduler, Timing
from vitrage_ds.collector.service import Collector, CollectorStopped
from vitrage_ds.collector.sinks import (BUS_EVENT_TYPE, BusSink, CallbackSink,
                                        JsonLinesSink, QueueSink, Sink, as_sink,
                                        sink_from_spec)

__all__ = [
    'BUS_EVENT_TYPE',
    'BusSink',
    'CallbackSink',
    'Collector',
    'CollectorStopped',
    'EntityCache',
    'Job',
    'JobState',
    'JsonLinesSink',
    'Mode',
    'PollToken',
    'QueueSink',
    'Scheduler',
    'Sink',
    'Stats',
    'Timing',
    'as_sink',
    'sink_from_spec',
]

"""vitrage_ds: datasources and notifiers for OpenStack root-cause analysis.

The public surface is re-exported here; modules not listed are
implementation details.
"""

from vitrage_ds.collector import (BusSink, CallbackSink, Collector, JsonLinesSink,
                                  QueueSink, Sink)
from vitrage_ds.deduced import DeducedAlarm, DeducedAlarmActivate, DeducedAlarmDeactivate
from vitrage_ds.driver import Driver, Lookup, no_lookup
from vitrage_ds.errors import (APIError, BackendError, ConfigurationError,
                               ConnectionFailed, DeliveryFailed, InvalidMessage,
                               MalformedResponse, PageLoopError,
                               PluginLoadError, PluginNotFound, RequestTimeout,
                               VitrageDSError)
from vitrage_ds.event import DELETE_ENTITY, Action, Event, Phase, Version
from vitrage_ds.notifier import Message, NotifierPlugin
from vitrage_ds.outcome import Outcome
from vitrage_ds.plugin import Plugin, PluginContext
from vitrage_ds.registry import Loaded, installed, load_drivers, load_notifiers

__all__ = [
    'APIError',
    'Action',
    'BackendError',
    'BusSink',
    'CallbackSink',
    'Collector',
    'ConfigurationError',
    'ConnectionFailed',
    'DELETE_ENTITY',
    'DeliveryFailed',
    'DeducedAlarm',
    'DeducedAlarmActivate',
    'DeducedAlarmDeactivate',
    'Driver',
    'Event',
    'InvalidMessage',
    'JsonLinesSink',
    'Loaded',
    'Lookup',
    'MalformedResponse',
    'Message',
    'NotifierPlugin',
    'Outcome',
    'PageLoopError',
    'Phase',
    'Plugin',
    'PluginContext',
    'PluginLoadError',
    'PluginNotFound',
    'QueueSink',
    'RequestTimeout',
    'Sink',
    'Version',
    'VitrageDSError',
    'installed',
    'load_drivers',
    'load_notifiers',
    'no_lookup',
]

"""vitrage_ds: datasources and notifiers for OpenStack root-cause analysis.

The public surface is the names re-exported here and these modules, the
ones the documentation tells plugin authors and hosts to import:
``vitrage_ds.bus``, ``vitrage_ds.collector``, ``vitrage_ds.config``,
``vitrage_ds.deduced``, ``vitrage_ds.driver``, ``vitrage_ds.errors``,
``vitrage_ds.event``, ``vitrage_ds.http`` (with ``vitrage_ds.http.paging``
and ``vitrage_ds.http.fanout``), ``vitrage_ds.notifier``,
``vitrage_ds.notifier_service``, ``vitrage_ds.opts``,
``vitrage_ds.outcome``, ``vitrage_ds.plugin``, ``vitrage_ds.registry``, the
built-in plugins' ``vitrage_ds.drivers.heat`` (with
``vitrage_ds.drivers.heat.tables`` and ``vitrage_ds.drivers.heat.search``)
and ``vitrage_ds.notifiers.aodh``, and ``vitrage_ds.vitrage`` for Vitrage's
own slots. Every other module is an implementation detail.

The test kit for plugins is the separate distribution ``vitrage-ds-testing``
(``import vitrage_ds_testing``).
"""

from vitrage_ds.collector import (BusSink, CallbackSink, Collector, JsonLinesSink,
                                  QueueSink, Sink)
from vitrage_ds.config import load_config, register_opts
from vitrage_ds.deduced import DeducedAlarm, DeducedAlarmActivate, DeducedAlarmDeactivate
from vitrage_ds.driver import Driver, Lookup, no_lookup
from vitrage_ds.errors import (APIError, BackendError, ConfigurationError,
                               ConnectionFailed, DeliveryFailed, InvalidMessage,
                               MalformedResponse, PageLoopError,
                               PluginLoadError, PluginNotFound, RequestTimeout,
                               VitrageDSError)
from vitrage_ds.event import DELETE_ENTITY, Action, Event, Phase, Version
from vitrage_ds.http.client import Client
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
    'Client',
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
    'load_config',
    'load_drivers',
    'load_notifiers',
    'no_lookup',
    'register_opts',
]

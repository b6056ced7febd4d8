"""The Aodh notifier plugin: one deduced-alarm message in, one :class:`Outcome` out.

:meth:`AodhNotifier.notify` takes the deduced-alarm event types
(:data:`vitrage_ds.deduced.EVENT_TYPES`); any other event type on the topic
(``vitrage.alarm.*``, ``vitrage.mark_down.*``, ...) is acknowledged
(:attr:`Outcome.DONE`) with one debug line. A deduced-alarm message is
parsed (:func:`vitrage_ds.deduced.from_message`, every shape a real sender
uses), dated (its :class:`~vitrage_ds.deduced.Order`), and applied by the
:class:`~vitrage_ds.notifiers.aodh.mirror.Mirror` while its deduced alarm's
lock is held, so messages about one deduced alarm are handled one at a
time. The writes are then checked by the
:class:`~vitrage_ds.notifiers.aodh.verifier.Verifier`.

Outcomes:

* A malformed message answers :attr:`Outcome.REJECT` without a request.
* A message dated more than ``max_clock_skew`` ahead of this host's clock
  answers :attr:`Outcome.REJECT` (logged): applied, it would make every
  genuine message about its deduced alarm until that date look older.
* Transient failures (connection, timeout, 429, 5xx, after the HTTP
  layer's retries) and an alarm that kept vanishing under the message
  answer :attr:`Outcome.RETRY`. A 4xx that can never succeed is logged with
  Aodh's message and answers :attr:`Outcome.REJECT`; anything else answers
  :attr:`Outcome.DONE`.
* A message is acknowledged once written, before it is verified.
* ``notify`` never raises: a bug is logged and answers :attr:`Outcome.RETRY`.

Thread-safe.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import ClassVar

from oslo_config import cfg

from vitrage_ds import aodh_api, deduced
from vitrage_ds._logsafe import safe
from vitrage_ds.errors import APIError, BackendError, ConfigurationError, InvalidMessage
from vitrage_ds.http.client import Client
from vitrage_ds.notifier import Message, NotifierPlugin, Outcome
from vitrage_ds.notifiers.aodh.alarms import AodhAlarms, Vanished
from vitrage_ds.notifiers.aodh.mirror import Mirror
from vitrage_ds.notifiers.aodh.store import AlarmStore
from vitrage_ds.notifiers.aodh.verifier import Verifier
from vitrage_ds.notifiers.aodh.watchlist import Watchlist
from vitrage_ds.plugin import Lazy, PluginContext

__all__ = ['AodhNotifier', 'AODH_SEVERITIES', 'DEFAULT_SEVERITY_MAP', 'VITRAGE_SEVERITIES']

LOG = logging.getLogger(__name__)

#: Aodh's severities.
AODH_SEVERITIES = ('low', 'moderate', 'critical')

#: Vitrage severity (lower case) -> Aodh severity; anything else is ``low``.
#: As Vitrage 15's own Aodh notifier maps its operational severities.
DEFAULT_SEVERITY_MAP: Mapping[str, str] = {
    'critical': 'critical',
    'severe': 'moderate',
    'warning': 'low',
}

#: Vitrage's other operational severities (lower case): ``low`` without a warning.
VITRAGE_SEVERITIES = ('ok', 'n/a')


class AodhNotifier(NotifierPlugin):
    """Mirrors deduced alarms as Aodh event alarms, exactly once and in order.

    See :mod:`vitrage_ds.notifiers.aodh` for the behaviour and its guarantees.

    :param sleep: waits (after a create, and in :meth:`close`).
    :param clock: the time in seconds since the epoch, compared with the
        messages' times.
    :param verify_in_background: whether a thread verifies writes; without
        it only :meth:`verify` and :meth:`close` do.
    """

    name: ClassVar[str] = 'aodh'
    service_type: ClassVar[str | None] = aodh_api.SERVICE_TYPE
    options: ClassVar[list[cfg.Opt]] = [
        cfg.StrOpt('deactivate_action', default='ok', choices=['ok', 'delete'],
                   help='What a deactivate does to the Aodh alarm: set its '
                        'state to ok (and keep it), or delete it. With '
                        'delete, an activate delivered after a newer '
                        'deactivate by another notifier process can raise '
                        'the alarm again; ok keeps the order everywhere.'),
        cfg.DictOpt('severity_map', default=dict(DEFAULT_SEVERITY_MAP),
                    help='Vitrage severity to Aodh severity (low, moderate, '
                         'critical), matched in any letter case. The default '
                         'is Vitrage\'s own Aodh notifier\'s. A severity not '
                         'listed becomes low; with a warning unless it is one '
                         'of Vitrage\'s (OK, N/A).'),
        cfg.StrOpt('event_type', default='*',
                   help='The event type of the created event alarms\' rule.'),
        cfg.IntOpt('cache_size', default=10_000, min=1,
                   help='Deduced alarms whose Aodh alarm and newest applied '
                        'message this process remembers; also the most '
                        'written alarms waiting for verification.'),
        cfg.IntOpt('max_connections', default=64, min=1,
                   deprecated_name='max_concurrency',
                   help='Connections to Aodh kept open for reuse: the most '
                        'messages the notifier service hands this plugin at '
                        'once ([DEFAULT] executor_thread_pool_size, 64 by '
                        'default). Past it, a connection is closed after its '
                        'call and urllib3 warns "Connection pool is full". '
                        'At least [http] max_parallel_calls + 1.'),
        cfg.FloatOpt('verify_delay', default=0.1, min=0.0,
                     help='Seconds to wait after creating an alarm before '
                          'listing by name again to delete a duplicate '
                          'created at the same time by another notifier '
                          'process.'),
        cfg.FloatOpt('verify_interval', default=1.0, min=0.01,
                     help='Least seconds between two verification rounds '
                          '(and between a write and its first check). Each '
                          'round lists the project\'s event alarms once (or '
                          'by name, when fewer alarms are due than pages), '
                          'deletes duplicates and writes again a state '
                          'older than this process wrote.'),
        cfg.FloatOpt('reorder_window', default=10.0, min=0.0,
                     help='Seconds after its time during which a message about '
                          'a known alarm is written without reading the '
                          'alarm first; an older message is read first. '
                          'Each write is checked once more after its '
                          'message\'s time plus this (plus verify_interval), '
                          'and close() waits for those checks. Clock skew '
                          'between notifier hosts must stay well below '
                          'verify_interval.'),
        cfg.FloatOpt('max_clock_skew', default=300.0, min=0.0,
                     help='Seconds a message\'s time may be ahead of this '
                          'host\'s clock. A message dated later is rejected '
                          '(logged): applied, it would make every genuine '
                          'message about its deduced alarm until that date '
                          'look older, so change nothing.'),
    ]

    def __init__(self, context: PluginContext,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.time,
                 verify_in_background: bool = True) -> None:
        super().__init__(context)
        self._clock = clock
        self._max_skew = float(self.conf.max_clock_skew)
        self._severities = self._load_severity_map()
        self._client = Lazy(lambda: self.context.client(aodh_api.SERVICE_TYPE))
        alarms = AodhAlarms(self._client)
        self._store = AlarmStore(alarms, cache_size=self.conf.cache_size,
                                 max_clock_skew=self._max_skew, severity=self.aodh_severity,
                                 clock=clock)
        interval = float(self.conf.verify_interval)
        window = float(self.conf.reorder_window)
        watchlist = Watchlist(self.conf.cache_size, interval, window)
        self._verifier = Verifier(self._store, alarms, watchlist, interval=interval,
                                  window=window, name=f'{self.context.group} verifier',
                                  background=verify_in_background, clock=clock, sleep=sleep)
        self._mirror = Mirror(self._store, alarms, watchlist, self.conf,
                              watched=self._verifier.watched, clock=clock, sleep=sleep)

    def _load_severity_map(self) -> dict[str, str]:
        mapping: dict[str, str] = {}
        for vitrage, aodh in (self.conf.severity_map or {}).items():
            target = str(aodh).strip().lower()
            if target not in AODH_SEVERITIES:
                raise ConfigurationError(
                    f'[{self.context.group}] severity_map: {vitrage!r} maps to '
                    f'{aodh!r}, not one of {", ".join(AODH_SEVERITIES)}')
            mapping[str(vitrage).strip().lower()] = target
        return mapping

    @property
    def client(self) -> Client:
        """The Aodh API client (service type ``alarming``), built on first use."""
        return self._client()

    def aodh_severity(self, severity: str) -> str:
        """Aodh's severity for a Vitrage one: mapped in any case, else ``low``.

        A severity neither mapped nor one of :data:`VITRAGE_SEVERITIES` is
        logged.
        """
        folded = severity.strip().lower()
        mapped = self._severities.get(folded)
        if mapped is None:
            if folded not in VITRAGE_SEVERITIES:
                LOG.warning('deduced alarm severity %r is not in [%s] severity_map; '
                            'using low', safe(severity), self.context.group)
            return 'low'
        return mapped

    # -- the contract ----------------------------------------------------

    def notify(self, msg: Message) -> Outcome:
        """Apply one deduced-alarm message to Aodh; see the module docstring."""
        metadata = msg.metadata if isinstance(msg.metadata, Mapping) else {}
        if msg.event_type not in deduced.EVENT_TYPES:
            LOG.debug('%s %s: not a deduced-alarm message; acknowledged',
                      safe(msg.event_type), safe(metadata.get('message_id', '')))
            return Outcome.DONE
        invalid: str | None = None
        try:
            alarm = deduced.from_message(msg.event_type, msg.payload)
            order = alarm.order(metadata.get('timestamp'))
        except InvalidMessage as exc:
            invalid = str(exc)
        if invalid is not None:
            # Logged outside the except block: oslo.log would append the
            # exception, unescaped, to the line.
            LOG.warning('%s %s rejected: %s', safe(msg.event_type),
                        safe(metadata.get('message_id', '')), safe(invalid, 400))
            return Outcome.REJECT
        latest = self._clock() + self._max_skew
        if order.micros / 1_000_000 > latest:
            LOG.warning('%s %s for deduced alarm %s rejected: dated %s, more than '
                        'max_clock_skew (%g s) ahead of this host\'s clock',
                        alarm.event_type, safe(metadata.get('message_id', '')),
                        safe(alarm.key), order.timestamp, self._max_skew)
            return Outcome.REJECT
        try:
            with self._store.locks.hold(alarm.key):
                return self._apply(alarm, order)
        except Exception:  # a bug must not escape into the bus listener
            LOG.exception('%s for deduced alarm %s failed unexpectedly',
                          alarm.event_type, safe(alarm.key))
            return Outcome.RETRY

    def _apply(self, msg: deduced.DeducedAlarm, order: deduced.Order) -> Outcome:
        try:
            self._mirror.apply(msg, order)
        except Vanished:
            LOG.warning('the Aodh alarm of deduced alarm %s kept vanishing; will retry',
                        safe(msg.key))
            return Outcome.RETRY
        except APIError as exc:
            if exc.transient:
                LOG.warning('%s for %s not applied, will retry: %s',
                            msg.event_type, safe(msg.key), safe(str(exc), 500))
                return Outcome.RETRY
            LOG.error('Aodh refused %s for deduced alarm %s: %s',
                      msg.event_type, safe(msg.key), safe(str(exc), 500))
            return Outcome.REJECT
        except BackendError as exc:
            LOG.warning('%s for %s not applied, will retry: %s',
                        msg.event_type, safe(msg.key), safe(str(exc), 500))
            return Outcome.RETRY
        return Outcome.DONE

    def verify(self) -> bool:
        """Run one verification round now (see
        :meth:`~vitrage_ds.notifiers.aodh.verifier.Verifier.verify`)."""
        return self._verifier.verify()

    def close(self) -> None:
        """Stop verifying after the final checks of every write (see
        :meth:`~vitrage_ds.notifiers.aodh.verifier.Verifier.close`): at most
        ``reorder_window + 2 * verify_interval``, a few ``verify_interval``
        more while Aodh fails. Idempotent; a later ``notify`` starts
        verifying again."""
        self._verifier.close()

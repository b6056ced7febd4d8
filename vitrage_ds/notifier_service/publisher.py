"""The graph side: posting deduced-alarm messages for the notifier service."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import oslo_messaging  # type: ignore[import-untyped]
from oslo_config import cfg

from vitrage_ds.bus import Publisher
from vitrage_ds.deduced import (DeducedAlarm, DeducedAlarmActivate,
                                DeducedAlarmDeactivate, format_time)
from vitrage_ds.notifier_service import options

__all__ = ['DeducedAlarmPublisher']

_A = TypeVar('_A', bound=DeducedAlarm)


class DeducedAlarmPublisher:
    """Posts ``vitrage.deduced_alarm.activate`` / ``.deactivate`` on the graph topic.

    Every message is validated before it is sent: an invalid one raises
    :class:`~vitrage_ds.errors.InvalidMessage` naming the wrong field and
    nothing reaches the bus. Every message gets a ``timestamp`` (now, unless
    the caller gives the time the graph changed the alarm) and a
    ``sequence``; within one publisher the pair strictly increases from one
    message to the next, even if the clock steps back, so consumers can
    tell which of two messages about one deduced alarm is newer.

    Messages keep their order per thread; while the broker is unreachable a
    send waits (``[oslo_messaging_notifications] retry = -1``, the default;
    with a finite ``retry`` a message oslo.messaging gives up on is only
    logged: see :class:`vitrage_ds.bus.Publisher`).
    Thread-safe.

    :param transport: from :func:`vitrage_ds.bus.get_transport`; the caller
        keeps owning it.
    :param topic: the topic (``[notifier] topic``).
    :param exchange: the exchange (``[notifier] exchange``).
    :param publisher_id: the envelope's ``publisher_id``.
    :param clock: seconds since the epoch (tests pass their own).
    """

    def __init__(self, transport: oslo_messaging.Transport, *,
                 topic: str = options.DEFAULT_TOPIC,
                 exchange: str | None = options.DEFAULT_EXCHANGE,
                 publisher_id: str = 'vitrage.graph',
                 clock: Callable[[], float] = time.time) -> None:
        self._publisher = Publisher(transport, topic=topic, exchange=exchange,
                                    publisher_id=publisher_id)
        self._clock = clock
        self._lock = threading.Lock()
        self._last_micros = 0
        self._sequence = 0

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts,
                  transport: oslo_messaging.Transport) -> DeducedAlarmPublisher:
        """A publisher on ``[notifier] topic`` / ``exchange`` / ``publisher_id``."""
        options.register_opts(conf)
        group = conf[options.GROUP]
        return cls(transport, topic=group.topic, exchange=group.exchange,
                   publisher_id=group.publisher_id)

    def activate(self, *, vitrage_id: str, name: str, severity: str,
                 affected_resource_id: str, aodh_alarm_id: str | None = None,
                 timestamp: str | None = None) -> DeducedAlarmActivate:
        """Post that the deduced alarm is raised; return the message sent.

        :raises InvalidMessage: a field is wrong; nothing was sent.
        """
        alarm = self._stamped(DeducedAlarmActivate, timestamp, vitrage_id=vitrage_id,
                              name=name, severity=severity,
                              affected_resource_id=affected_resource_id,
                              aodh_alarm_id=aodh_alarm_id)
        self._send(alarm)
        return alarm

    def deactivate(self, *, vitrage_id: str, aodh_alarm_id: str | None = None,
                   name: str | None = None, affected_resource_id: str | None = None,
                   timestamp: str | None = None) -> DeducedAlarmDeactivate:
        """Post that the deduced alarm is cleared; return the message sent.

        Give ``aodh_alarm_id`` when known, and ``name`` with
        ``affected_resource_id`` so the Aodh alarm can be found without it.

        :raises InvalidMessage: a field is wrong; nothing was sent.
        """
        alarm = self._stamped(DeducedAlarmDeactivate, timestamp, vitrage_id=vitrage_id,
                              aodh_alarm_id=aodh_alarm_id, name=name,
                              affected_resource_id=affected_resource_id)
        self._send(alarm)
        return alarm

    def publish(self, alarm: DeducedAlarm) -> DeducedAlarm:
        """Post a message built by the caller, as it is (already validated).

        A message without a ``timestamp`` is stamped first; the message
        sent is returned.
        """
        if alarm.timestamp is None:
            alarm = self._stamp(alarm)
        self._send(alarm)
        return alarm

    def close(self) -> None:
        """Refuse further messages. Idempotent; the transport stays open."""
        self._publisher.close()

    # -- private ---------------------------------------------------------

    def _stamped(self, cls: type[_A], timestamp: str | None, **fields: Any) -> _A:
        # Validate before taking a sequence number: a refused message uses none.
        alarm = cls(timestamp=timestamp, **fields)
        return self._stamp(alarm, keep_time=timestamp is not None)

    def _stamp(self, alarm: _A, keep_time: bool = False) -> _A:
        with self._lock:
            micros = max(round(self._clock() * 1_000_000), self._last_micros)
            self._last_micros = micros
            self._sequence += 1
            timestamp = alarm.timestamp if keep_time else format_time(micros)
            return alarm.replace(timestamp=timestamp, sequence=self._sequence)

    def _send(self, alarm: DeducedAlarm) -> None:
        self._publisher.publish(alarm.event_type, alarm.to_payload(), 'info')

"""Deduced-alarm messages: what the graph posts on the ``vitrage.graph`` topic.

Two event types, with these payloads (JSON objects)::

    vitrage.deduced_alarm.activate
        vitrage_id            the deduced alarm's own id            required
        name                  its name in Vitrage                   required
        severity              its Vitrage severity (any string)     required
        affected_resource_id  the resource it was raised on         required
        aodh_alarm_id         the Aodh alarm, when already known    optional
        timestamp             when the graph changed it (ISO 8601)  see below
        sequence              tie-breaker, an integer >= 0          optional

    vitrage.deduced_alarm.deactivate
        vitrage_id            the deduced alarm's own id            required
        id                    the Aodh alarm id (the seed's field)  optional
        name                  its name in Vitrage                   required without id
        affected_resource_id  the resource it was raised on         required without id
        timestamp, sequence   as above

Ordering: two messages about one deduced alarm are ordered by
:attr:`DeducedAlarm.order` -- the ``timestamp`` (the bus envelope's
``timestamp`` when the payload has none), then ``sequence``. A consumer
applies a message only when it is newer than the last one applied, so
duplicates, redeliveries and reordering converge on the state of the newest
message. :class:`~vitrage_ds.notifier_service.DeducedAlarmPublisher` stamps
both, never going backwards within one publisher.

Validation is the same on both sides: the publisher refuses a message
before it reaches the bus and the notifier rejects it on arrival, with
:class:`~vitrage_ds.errors.InvalidMessage` naming the wrong field. Strings
must be non-empty, at most :data:`MAX_LENGTH` characters and free of control
characters; any other character (quotes, ``&``, ``=``, ...) is allowed.
Unknown payload fields are ignored, so newer publishers can add fields.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple, TypeVar

from vitrage_ds.errors import InvalidMessage
from vitrage_ds.event import parse_time

__all__ = [
    'ACTIVATE',
    'DEACTIVATE',
    'EVENT_TYPES',
    'MAX_LENGTH',
    'DeducedAlarm',
    'DeducedAlarmActivate',
    'DeducedAlarmDeactivate',
    'Order',
    'from_message',
    'format_time',
]

ACTIVATE = 'vitrage.deduced_alarm.activate'
DEACTIVATE = 'vitrage.deduced_alarm.deactivate'
#: The event types this module models.
EVENT_TYPES = (ACTIVATE, DEACTIVATE)

#: The longest name, resource id or vitrage id accepted.
MAX_LENGTH = 255
_MAX_SEVERITY = 64
_CONTROL = re.compile(r'[\x00-\x1f\x7f]')
# Aodh alarm ids are UUIDs; anything path-like ("/", "..", "?") is refused.
_AODH_ID = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,127}')
_MICROS = datetime.timedelta(microseconds=1)
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


class Order(NamedTuple):
    """Where a message stands among those about one deduced alarm; larger is newer."""

    micros: int
    """The message's time, in microseconds since the epoch (UTC)."""
    sequence: int = 0
    """The tie-breaker between messages with the same time."""

    @property
    def timestamp(self) -> str:
        """The time part as ISO 8601 UTC with microseconds (see :func:`format_time`)."""
        return format_time(self.micros)


def format_time(micros: int) -> str:
    """``micros`` since the epoch as ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    moment = _EPOCH + datetime.timedelta(microseconds=micros)
    return moment.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def _to_micros(value: object) -> int | None:
    seconds = parse_time(value)
    if seconds is None:
        return None
    return round(seconds * 1_000_000)


def _text(field: str, value: object, *, limit: int = MAX_LENGTH) -> str:
    if not isinstance(value, str):
        raise InvalidMessage(field, f'a string is required, not {type(value).__name__}')
    if not value.strip():
        raise InvalidMessage(field, 'must not be empty')
    if len(value) > limit:
        raise InvalidMessage(field, f'{len(value)} characters; at most {limit} are allowed')
    if _CONTROL.search(value):
        raise InvalidMessage(field, 'must not contain control characters')
    return value


def _optional_text(field: str, value: object, *, limit: int = MAX_LENGTH) -> str | None:
    return None if value is None else _text(field, value, limit=limit)


_D = TypeVar('_D', bound='DeducedAlarm')


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DeducedAlarm:
    """One deduced-alarm message; construct a subclass. Immutable.

    Constructing one validates it.

    :ivar vitrage_id: the deduced alarm's id in the graph.
    :ivar name: its Vitrage name.
    :ivar affected_resource_id: the id of the resource it was raised on.
    :ivar aodh_alarm_id: the Aodh alarm mirroring it, when known.
    :ivar timestamp: when the graph changed the alarm, ISO 8601; ``None``
        leaves ordering to the bus envelope's timestamp.
    :ivar sequence: orders messages that share a timestamp.
    :raises InvalidMessage: a field is missing or wrong; ``field`` names it.
    """

    event_type: ClassVar[str] = ''

    vitrage_id: str
    name: str | None = None
    affected_resource_id: str | None = None
    aodh_alarm_id: str | None = None
    timestamp: str | None = None
    sequence: int = 0

    def __post_init__(self) -> None:
        _text('vitrage_id', self.vitrage_id)
        _optional_text('name', self.name)
        _optional_text('affected_resource_id', self.affected_resource_id)
        if self.aodh_alarm_id is not None:
            field = self._aodh_id_field
            _text(field, self.aodh_alarm_id, limit=128)
            if not _AODH_ID.fullmatch(self.aodh_alarm_id):
                raise InvalidMessage(field, 'not an Aodh alarm id (letters, digits, '
                                            '"-", "_" and "." only)')
        if self.timestamp is not None and _to_micros(self.timestamp) is None:
            raise InvalidMessage('timestamp', f'not an ISO 8601 time: {self.timestamp!r:.80}')
        if (not isinstance(self.sequence, int) or isinstance(self.sequence, bool)
                or self.sequence < 0):
            raise InvalidMessage('sequence', 'an integer >= 0 is required')

    _aodh_id_field: ClassVar[str] = 'aodh_alarm_id'

    @property
    def aodh_name(self) -> str | None:
        """The Aodh alarm's name, ``<name>_<affected_resource_id>``, when both are known."""
        if self.name is None or self.affected_resource_id is None:
            return None
        return f'{self.name}_{self.affected_resource_id}'

    def order(self, envelope_timestamp: object = None) -> Order:
        """This message's place among the messages about the same deduced alarm.

        :param envelope_timestamp: the bus envelope's ``timestamp``, used
            when the payload has none.
        :raises InvalidMessage: neither time is there (field ``timestamp``).
        """
        micros = _to_micros(self.timestamp)
        if micros is None:
            micros = _to_micros(envelope_timestamp)
        if micros is None:
            raise InvalidMessage('timestamp', 'required, in the payload or the bus envelope')
        return Order(micros, self.sequence)

    def to_payload(self) -> dict[str, Any]:
        """The message body, as sent on the bus (absent optional fields left out)."""
        payload: dict[str, Any] = {'vitrage_id': self.vitrage_id}
        for key in ('name', 'affected_resource_id'):
            if getattr(self, key) is not None:
                payload[key] = getattr(self, key)
        if self.aodh_alarm_id is not None:
            payload[self._aodh_id_field] = self.aodh_alarm_id
        if self.timestamp is not None:
            payload['timestamp'] = self.timestamp
        payload['sequence'] = self.sequence
        return payload

    def replace(self: _D, **changes: Any) -> _D:
        """A validated copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DeducedAlarmActivate(DeducedAlarm):
    """``vitrage.deduced_alarm.activate``: the deduced alarm is raised.

    :ivar severity: Vitrage's severity; the Aodh notifier maps it.
    """

    event_type: ClassVar[str] = ACTIVATE

    severity: str

    def __post_init__(self) -> None:
        for field in ('name', 'affected_resource_id'):
            if getattr(self, field) is None:
                raise InvalidMessage(field, 'required')
        super(DeducedAlarmActivate, self).__post_init__()
        _text('severity', self.severity, limit=_MAX_SEVERITY)

    def to_payload(self) -> dict[str, Any]:
        payload = super(DeducedAlarmActivate, self).to_payload()
        payload['severity'] = self.severity
        return payload


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DeducedAlarmDeactivate(DeducedAlarm):
    """``vitrage.deduced_alarm.deactivate``: the deduced alarm is cleared.

    On the bus the Aodh alarm id is the field ``id`` (as the blueprint has
    it). Without it, ``name`` and ``affected_resource_id`` are required so
    the Aodh alarm can be found by name.
    """

    event_type: ClassVar[str] = DEACTIVATE
    _aodh_id_field: ClassVar[str] = 'id'

    def __post_init__(self) -> None:
        if self.aodh_alarm_id is None:
            for field in ('name', 'affected_resource_id'):
                if getattr(self, field) is None:
                    raise InvalidMessage(field, 'required when id is not given')
        super(DeducedAlarmDeactivate, self).__post_init__()


_CLASSES: dict[str, type[DeducedAlarm]] = {
    ACTIVATE: DeducedAlarmActivate,
    DEACTIVATE: DeducedAlarmDeactivate,
}


def from_message(event_type: object, payload: object) -> DeducedAlarm:
    """Parse one bus message into a :class:`DeducedAlarm`.

    :raises InvalidMessage: the event type is not a deduced-alarm one
        (field ``event_type``), the payload is not an object (``payload``),
        or a field is wrong (named).
    """
    cls = _CLASSES.get(event_type) if isinstance(event_type, str) else None
    if cls is None:
        raise InvalidMessage('event_type', f'not one of {", ".join(EVENT_TYPES)}: '
                                           f'{event_type!r:.80}')
    if not isinstance(payload, Mapping):
        raise InvalidMessage('payload', f'an object is required, not {type(payload).__name__}')
    fields: dict[str, Any] = {
        'vitrage_id': payload.get('vitrage_id'),
        'name': payload.get('name'),
        'affected_resource_id': payload.get('affected_resource_id'),
        'aodh_alarm_id': payload.get(cls._aodh_id_field),
        'timestamp': payload.get('timestamp'),
        'sequence': payload.get('sequence', 0),
    }
    if fields['sequence'] is None:
        fields['sequence'] = 0
    if cls is DeducedAlarmActivate:
        fields['severity'] = payload.get('severity')
        if fields['severity'] is None:
            raise InvalidMessage('severity', 'required')
    if fields['vitrage_id'] is None:
        raise InvalidMessage('vitrage_id', 'required')
    if fields['timestamp'] is not None and not isinstance(fields['timestamp'], str):
        raise InvalidMessage('timestamp', 'an ISO 8601 string is required')
    return cls(**fields)

"""Deduced-alarm messages: what the graph posts on the ``vitrage.graph`` topic.

Two event types. Their payloads come in three shapes, all parsed by
:func:`from_message` into the same :class:`DeducedAlarm`:

vitrage_ds's own (:class:`~vitrage_ds.notifier_service.DeducedAlarmPublisher`)::

    vitrage.deduced_alarm.activate
        vitrage_id            the deduced alarm's own id            see below
        name                  its name in Vitrage                   required
        severity              its Vitrage severity (any string)     required
        affected_resource_id  the resource it was raised on         required
        aodh_alarm_id         the Aodh alarm, when already known    optional
        timestamp             when the graph changed it (ISO 8601)  see below
        sequence              tie-breaker, an integer >= 0          optional

    vitrage.deduced_alarm.deactivate
        the same fields; severity is not needed, and the Aodh alarm id may
        be ``id`` (the seed's field) instead of ``aodh_alarm_id``

The seed's (the blueprint of Vitrage's Aodh notifier): an activate with
``name``, ``severity`` and ``affected_resource_id`` (``vitrage_id`` and an
Aodh id ``id`` optional); a deactivate with only ``id``, the Aodh alarm id.

A Vitrage 15 graph's (``GraphNotifier``): the deduced-alarm vertex's
properties -- ``vitrage_id`` (a UUID), ``name``, ``severity`` (the
template's, usually an operational severity name: ``CRITICAL``,
``SEVERE``, ``WARNING``, ``OK``, ``N/A``), ``state`` (``Active`` /
``Inactive``), ``vitrage_is_deleted``, ``vitrage_category`` ``ALARM``,
``vitrage_type`` ``vitrage``, ``resource_id`` (the *Vitrage* id of the
target, not used), ``update_timestamp`` and ``vitrage_sample_timestamp``
(both ``%Y-%m-%dT%H:%M:%SZ``, whole seconds) -- plus ``resource``, the
resource vertex's properties, whose ``id`` is the OpenStack id of the
affected resource. Vitrage 15 builds a deduced-alarm vertex without an
``id`` (``graph.utils.create_vertex`` drops an unset ``entity_id``), so
such a message names no Aodh alarm; the event type alone says activate or
deactivate (``state`` and ``vitrage_is_deleted`` agree with it and are not
read).

Field by field: ``affected_resource_id`` is the payload's, else
``resource.id``; the Aodh alarm id is ``aodh_alarm_id``, else ``id`` (it
must look like an Aodh alarm id: letters, digits, ``-``, ``_``, ``.``).
Every message needs something that names its alarm: ``name`` and
``affected_resource_id`` (always, for an activate), or an Aodh id.

Identity: :attr:`DeducedAlarm.key` is the ``vitrage_id`` when there is one.
Without it, the key is ``name:<name>_<affected_resource_id>`` (the Aodh
name: a Vitrage graph has one deduced alarm per name and resource), else
``aodh:<Aodh alarm id>``. The Aodh notifier serialises, caches and
deduplicates by this key, so exactly-once holds for every shape.

Ordering: two messages about one deduced alarm are ordered by
:attr:`DeducedAlarm.order` -- a time, then ``sequence``. The time is the
first of: the payload's ``timestamp``; the bus envelope's ``timestamp``
(oslo.messaging stamps it, in microseconds, when the message is sent: for
Vitrage, in the order its graph changed); the payload's
``update_timestamp`` or ``vitrage_sample_timestamp``, whichever is later
(Vitrage's; used last, as they often have whole seconds only: Vitrage 15
sends an activate and its deactivate within one second with the same
``update_timestamp``; only marking the vertex deleted stamps
``vitrage_sample_timestamp`` with microseconds). A consumer applies a
message only when it is newer than the last one applied, so duplicates,
redeliveries and reordering converge on the state of the newest message.
``DeducedAlarmPublisher`` stamps ``timestamp`` and ``sequence``, never going
backwards within one publisher.
Every time must be before :data:`LATEST_TIME` (year 9999 cannot be
formatted once a window is added to it).

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
    'LATEST_TIME',
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
#: Every message time must be before this (ISO 8601, UTC).
LATEST_TIME = '9999-01-01T00:00:00Z'
_MAX_SEVERITY = 64
_CONTROL = re.compile(r'[\x00-\x1f\x7f]')
# Aodh alarm ids are UUIDs; anything path-like ("/", "..", "?") is refused.
_AODH_ID = re.compile(r'[A-Za-z0-9][A-Za-z0-9_.-]{0,127}')
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_LATEST_MICROS = (datetime.datetime(9999, 1, 1, tzinfo=datetime.timezone.utc)
                  - _EPOCH) // datetime.timedelta(microseconds=1)
# Vitrage's own times on a graph message, best first (see the module docstring).
_GRAPH_TIMES = ('update_timestamp', 'vitrage_sample_timestamp')


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
    """``value``'s time in microseconds; ``None`` when it is not a time
    before :data:`LATEST_TIME`."""
    seconds = parse_time(value)
    if seconds is None:
        return None
    micros = round(seconds * 1_000_000)
    return micros if micros < _LATEST_MICROS else None


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

    :ivar vitrage_id: the deduced alarm's id in the graph, when the message
        carries it.
    :ivar name: its Vitrage name.
    :ivar affected_resource_id: the OpenStack id of the resource it was
        raised on.
    :ivar aodh_alarm_id: the Aodh alarm mirroring it, when known.
    :ivar timestamp: when the graph changed the alarm, ISO 8601; ``None``
        leaves ordering to the bus envelope's timestamp.
    :ivar graph_timestamp: Vitrage's own time of the change
        (``update_timestamp`` or ``vitrage_sample_timestamp``), the last
        resort for ordering.
    :ivar sequence: orders messages that share a timestamp.
    :raises InvalidMessage: a field is missing or wrong; ``field`` names it.
    """

    event_type: ClassVar[str] = ''

    vitrage_id: str | None = None
    name: str | None = None
    affected_resource_id: str | None = None
    aodh_alarm_id: str | None = None
    timestamp: str | None = None
    graph_timestamp: str | None = None
    sequence: int = 0

    def __post_init__(self) -> None:
        _optional_text('vitrage_id', self.vitrage_id)
        _optional_text('name', self.name)
        _optional_text('affected_resource_id', self.affected_resource_id)
        if self.aodh_alarm_id is not None:
            field = self._aodh_id_field
            _text(field, self.aodh_alarm_id, limit=128)
            if not _AODH_ID.fullmatch(self.aodh_alarm_id):
                raise InvalidMessage(field, 'not an Aodh alarm id (letters, digits, '
                                            '"-", "_" and "." only)')
        if self.aodh_alarm_id is None:
            for field in ('name', 'affected_resource_id'):
                if getattr(self, field) is None:
                    raise InvalidMessage(field, 'required when no Aodh alarm id is given')
        for field in ('timestamp', 'graph_timestamp'):
            value = getattr(self, field)
            if value is not None and _to_micros(value) is None:
                raise InvalidMessage(field, f'not an ISO 8601 time before {LATEST_TIME}: '
                                            f'{value!r:.80}')
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

    @property
    def key(self) -> str:
        """What identifies the deduced alarm: ``vitrage_id``, else
        ``name:<aodh_name>``, else ``aodh:<aodh_alarm_id>``."""
        if self.vitrage_id is not None:
            return self.vitrage_id
        if self.aodh_name is not None:
            return f'name:{self.aodh_name}'
        return f'aodh:{self.aodh_alarm_id}'

    def order(self, envelope_timestamp: object = None) -> Order:
        """This message's place among the messages about the same deduced alarm.

        :param envelope_timestamp: the bus envelope's ``timestamp``, used
            when the payload has no ``timestamp``.
        :raises InvalidMessage: no time is there (field ``timestamp``); an
            envelope time that is not one (or not before :data:`LATEST_TIME`)
            counts as none.
        """
        for value in (self.timestamp, envelope_timestamp, self.graph_timestamp):
            micros = _to_micros(value)
            if micros is not None:
                return Order(micros, self.sequence)
        raise InvalidMessage('timestamp', 'required, in the payload or the bus envelope')

    def to_payload(self) -> dict[str, Any]:
        """The message body, as sent on the bus (absent optional fields left out)."""
        payload: dict[str, Any] = {}
        for key in ('vitrage_id', 'name', 'affected_resource_id'):
            if getattr(self, key) is not None:
                payload[key] = getattr(self, key)
        if self.aodh_alarm_id is not None:
            payload[self._aodh_id_field] = self.aodh_alarm_id
        if self.timestamp is not None:
            payload['timestamp'] = self.timestamp
        if self.graph_timestamp is not None:
            payload['update_timestamp'] = self.graph_timestamp
        payload['sequence'] = self.sequence
        return payload

    def replace(self: _D, **changes: Any) -> _D:
        """A validated copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class DeducedAlarmActivate(DeducedAlarm):
    """``vitrage.deduced_alarm.activate``: the deduced alarm is raised.

    ``name`` and ``affected_resource_id`` are required (they name the Aodh
    alarm to create).

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


_CLASSES: dict[str, type[DeducedAlarm]] = {
    ACTIVATE: DeducedAlarmActivate,
    DEACTIVATE: DeducedAlarmDeactivate,
}


def _graph_time(payload: Mapping[str, Any]) -> str | None:
    """Vitrage's own time of the change: the later of :data:`_GRAPH_TIMES`.

    The later one, because marking a vertex deleted stamps only
    ``vitrage_sample_timestamp`` (with microseconds), leaving
    ``update_timestamp`` where the activation put it.

    :raises InvalidMessage: one is a string but not a time before
        :data:`LATEST_TIME` (named).
    """
    best: tuple[int, str] | None = None
    for field in _GRAPH_TIMES:
        value = payload.get(field)
        if not isinstance(value, str):
            continue
        micros = _to_micros(value)
        if micros is None:
            raise InvalidMessage(field, f'not an ISO 8601 time before {LATEST_TIME}: '
                                        f'{value!r:.80}')
        if best is None or micros > best[0]:
            best = (micros, value)
    return None if best is None else best[1]


def from_message(event_type: object, payload: object) -> DeducedAlarm:
    """Parse one bus message, in any of the shapes of the module docstring.

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
    resource_id = payload.get('affected_resource_id')
    resource = payload.get('resource')
    if resource_id is None and isinstance(resource, Mapping):
        resource_id = resource.get('id')
    aodh_id = payload.get('aodh_alarm_id')
    if aodh_id is None:
        aodh_id = payload.get('id')
    fields: dict[str, Any] = {
        'vitrage_id': payload.get('vitrage_id'),
        'name': payload.get('name'),
        'affected_resource_id': resource_id,
        'aodh_alarm_id': aodh_id,
        'timestamp': payload.get('timestamp'),
        'graph_timestamp': _graph_time(payload),
        'sequence': payload.get('sequence', 0),
    }
    if fields['sequence'] is None:
        fields['sequence'] = 0
    if cls is DeducedAlarmActivate:
        fields['severity'] = payload.get('severity')
        if fields['severity'] is None:
            raise InvalidMessage('severity', 'required')
    if fields['timestamp'] is not None and not isinstance(fields['timestamp'], str):
        raise InvalidMessage('timestamp', 'an ISO 8601 string is required')
    return cls(**fields)

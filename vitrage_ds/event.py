"""The event model: one entity state, as drivers produce and sinks receive it.

An :class:`Event` is immutable. Serialised with :meth:`Event.to_dict` it is a
flat JSON-safe dict: the driver's own fields, with the seed's field names
(``stack_id``, ``name``, ``status``...; ``alarm_id``, ``sync_type``...), plus
the metadata keys below. That is vitrage_ds's own format: the metadata keys
borrow Vitrage's names (``vitrage_entity_type``, ``vitrage_datasource_action``,
``vitrage_event_type``, ``vitrage_sample_date``), but a Vitrage graph does not
read these events as it reads its own datasources' (Vitrage's transformers
read each service's raw keys). Vitrage consumes vitrage_ds through the
adapters of :mod:`vitrage_ds.vitrage`, which give its transformers the dicts
they read; see ``doc/source/running-with-vitrage.rst``.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import time
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

__all__ = [
    'Action',
    'DELETE_ENTITY',
    'Event',
    'Phase',
    'Version',
    'LATEST',
    'METADATA_KEYS',
    'envelope_time',
    'parse_time',
    'utcnow_iso',
]

#: ``vitrage_event_type`` of an event that says the entity is gone.
DELETE_ENTITY = 'delete_entity'

DATASOURCE_NAME = 'vitrage_datasource_name'
ENTITY_TYPE = 'vitrage_entity_type'
DATASOURCE_ACTION = 'vitrage_datasource_action'
EVENT_TYPE = 'vitrage_event_type'
SAMPLE_DATE = 'vitrage_sample_date'
ENTITY_ID = 'vitrage_ds_entity_id'
VERSION = 'vitrage_ds_version'

#: The metadata keys every serialised event carries.
METADATA_KEYS = (DATASOURCE_NAME, ENTITY_TYPE, DATASOURCE_ACTION, EVENT_TYPE,
                 SAMPLE_DATE, ENTITY_ID, VERSION)


class Action(str, enum.Enum):
    """How the event was obtained (Vitrage's ``vitrage_datasource_action``)."""

    INIT_SNAPSHOT = 'init_snapshot'
    """From the first complete poll after the collector started."""
    SNAPSHOT = 'snapshot'
    """From a later complete poll."""
    UPDATE = 'update'
    """From a notification."""


class Phase(enum.IntEnum):
    """Rank of an operation's phase, the last tie-breaker between versions."""

    START = 0
    END = 1


class Version(NamedTuple):
    """Orders the states of one entity; a larger version is newer.

    Compared field by field: the source's own time (Heat ``updated_at`` or
    ``create_at``, Aodh ``timestamp``/``state_timestamp``), then when the
    collector learnt it (bus envelope timestamp or poll start), then the
    phase rank, because Heat's ``create.start`` and ``create.end`` carry the
    same source times. Times are POSIX seconds, UTC.
    """

    source: float = 0.0
    observed: float = 0.0
    phase: int = Phase.END


_FORMATS = ('%Y-%m-%dT%H:%M:%S.%f', '%Y-%m-%dT%H:%M:%S', '%Y-%m-%d %H:%M:%S.%f',
            '%Y-%m-%d %H:%M:%S')
_EPOCH = datetime.datetime(1970, 1, 1)
#: The first time :func:`parse_time` refuses: 9999-01-01T00:00:00Z. Every
#: time it returns can be shifted by months and formatted back as a date.
LATEST = (datetime.datetime(9999, 1, 1) - _EPOCH).total_seconds()


def parse_time(value: object) -> float | None:
    """Parse the timestamps OpenStack services send, as POSIX seconds UTC.

    Accepts ISO 8601 with ``T`` or a space, with or without fractions, ``Z``
    or an offset; a naive time is taken as UTC (as every OpenStack service
    writes it). Returns ``None`` for ``None``, ``''``, an unparsable value or
    a time at or after :data:`LATEST` (year 9999, which no service writes and
    whose neighbourhood cannot be formatted as a date): callers decide what a
    missing time means.
    """
    if not isinstance(value, str) or not value:
        return None
    try:
        # What the services send parses here at once; a poll parses two
        # times per entity, so the lenient path is only the fallback.
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        lenient = _parse_lenient(value)
        if lenient is None:
            return None
        parsed = lenient
    try:
        seconds = ((parsed - _EPOCH).total_seconds() if parsed.tzinfo is None
                   else parsed.timestamp())
    except (OverflowError, ValueError):
        return None
    return seconds if seconds < LATEST else None


def envelope_time(metadata: object, now: Callable[[], float] = time.time) -> float:
    """When a bus notification was sent, as POSIX seconds: its envelope's
    ``timestamp`` (``metadata['timestamp']``), else ``now()`` when the
    envelope has none, an unparsable one or one not after the epoch."""
    stamp = metadata.get('timestamp') if isinstance(metadata, Mapping) else None
    seconds = parse_time(stamp)
    return seconds if seconds is not None and seconds > 0 else now()


def _parse_lenient(value: str) -> datetime.datetime | None:
    """Padding, ``Z`` (before Python 3.11) and the strptime formats."""
    text = value.strip()
    if text.endswith('Z'):
        text = text[:-1] + '+00:00'
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        pass
    for fmt in _FORMATS:
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def utcnow_iso() -> str:
    """The current time as ISO 8601 UTC with microseconds and no offset."""
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """One state of one entity.

    :ivar datasource: the driver's name (``heat.stack``, ``aodh``, ...).
    :ivar entity_type: the entity's type; a driver may emit several
        (``heat.stack`` and ``heat.resource``).
    :ivar entity_id: unique within ``(datasource, entity_type)``.
    :ivar fields: the entity's fields, JSON-safe, named as the blueprints
        name them.
    :ivar action: how the state was obtained; drivers emit ``SNAPSHOT`` from
        ``get_all()`` and ``UPDATE`` from notifications, and the collector
        turns the first complete poll into ``INIT_SNAPSHOT``.
    :ivar event_type: the bus event type for updates, :data:`DELETE_ENTITY`
        when the entity is gone, ``None`` for a plain snapshot entry.
    :ivar sample_date: when the state was sampled, ISO 8601 UTC.
    :ivar version: orders the states of this entity (see :class:`Version`).
    """

    datasource: str
    entity_type: str
    entity_id: str
    fields: Mapping[str, Any]
    action: Action = Action.SNAPSHOT
    event_type: str | None = None
    sample_date: str = dataclasses.field(default_factory=utcnow_iso)
    version: Version = Version()

    @property
    def key(self) -> tuple[str, str]:
        """The entity's identity within a datasource: ``(entity_type, entity_id)``."""
        return (self.entity_type, self.entity_id)

    @property
    def deleted(self) -> bool:
        """Whether this event says the entity no longer exists."""
        return self.event_type == DELETE_ENTITY

    def replace(self, **changes: Any) -> Event:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """The flat, JSON-safe form: the fields plus :data:`METADATA_KEYS`.

        Metadata wins over a field of the same name, so a payload cannot
        forge an event's identity.
        """
        flat = dict(self.fields)
        flat[DATASOURCE_NAME] = self.datasource
        flat[ENTITY_TYPE] = self.entity_type
        flat[ENTITY_ID] = self.entity_id
        flat[DATASOURCE_ACTION] = self.action.value
        flat[EVENT_TYPE] = self.event_type
        flat[SAMPLE_DATE] = self.sample_date
        flat[VERSION] = list(self.version)
        return flat

    @classmethod
    def from_dict(cls, flat: Mapping[str, Any]) -> Event:
        """Rebuild an event from :meth:`to_dict` output.

        :raises KeyError: a metadata key is missing.
        :raises ValueError: the action or version is not valid.
        """
        fields = {k: v for k, v in flat.items() if k not in METADATA_KEYS}
        source, observed, phase = flat[VERSION]
        return cls(datasource=flat[DATASOURCE_NAME],
                   entity_type=flat[ENTITY_TYPE],
                   entity_id=flat[ENTITY_ID],
                   fields=fields,
                   action=Action(flat[DATASOURCE_ACTION]),
                   event_type=flat[EVENT_TYPE],
                   sample_date=flat[SAMPLE_DATE],
                   version=Version(float(source), float(observed), int(phase)))

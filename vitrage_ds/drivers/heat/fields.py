"""How Heat's bodies become event fields: one declarative table per source.

Each table lists, for every field an event carries, the key (or keys, first
present wins) it comes from and how the value is checked and normalised.
The stack tables of the listing and of the notification payload produce the
same field names, normalised the same way, so that the same stack state
reads the same whichever way it arrived.

Normalisation: times become ISO 8601 UTC (``2024-05-01T12:00:00Z``, with
microseconds only when the source had them); an empty string where Heat
means "none" (physical id, description) becomes ``None``; tags and
``required_by`` are always lists. A value of the wrong type becomes
``None`` and is reported by :func:`map_fields`; a wrong required value makes
the whole mapping fail.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from vitrage_ds.event import parse_time

__all__ = [
    'Field',
    'FieldError',
    'RESOURCE_FROM_LISTING',
    'STACK_FIELDS',
    'STACK_FROM_LISTING',
    'STACK_FROM_NOTIFICATION',
    'RESOURCE_FIELDS',
    'iso_time',
    'map_fields',
]

#: Longest identifier or name accepted (Heat's own limit is 255).
MAX_NAME = 255


class FieldError(ValueError):
    """A source value has the wrong type or shape."""


Converter = Callable[[Any], Any]


def text(value: Any) -> str | None:
    """A string, or ``None`` when absent."""
    if value is None or isinstance(value, str):
        return value
    raise FieldError(f'expected a string, got {type(value).__name__}')


def optional_text(value: Any) -> str | None:
    """A string, with ``''`` read as absent (Heat's "no value")."""
    return text(value) or None


def identifier(value: Any) -> str | None:
    """A non-empty id or name of at most :data:`MAX_NAME` characters."""
    checked = text(value)
    if checked is None:
        return None
    if not checked or len(checked) > MAX_NAME:
        raise FieldError(f'expected an identifier of 1 to {MAX_NAME} characters, '
                         f'got {len(checked)}')
    return checked


def iso_time(seconds: float) -> str:
    """POSIX seconds as ISO 8601 UTC with a ``Z``."""
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.isoformat().replace('+00:00', 'Z')


#: Heat's own ``isotime`` format, already normal: kept as it is (fast path).
_NORMAL_TIME = re.compile(r'\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T'
                          r'([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ')


def timestamp(value: Any) -> str | None:
    """Any time Heat writes, normalised by :func:`iso_time`; ``None`` when absent."""
    if value is None or value == '':
        return None
    if isinstance(value, str) and _NORMAL_TIME.fullmatch(value):
        return value
    seconds = parse_time(value)
    if seconds is None:
        raise FieldError('expected an ISO 8601 time')
    return iso_time(seconds)


def names(value: Any) -> list[str]:
    """A list of strings (tags, ``required_by``); ``[]`` when absent.

    Also takes the comma-separated string form Heat accepts for tags.
    """
    if value is None:
        return []
    if isinstance(value, str):
        return [part for part in value.split(',') if part]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return list(value)
    raise FieldError('expected a list of strings')


def absent(value: Any) -> None:
    """A field this source never carries."""
    return None


@dataclasses.dataclass(frozen=True)
class Field:
    """One event field: where it comes from and how it is read.

    :ivar name: the event field.
    :ivar keys: source keys tried in order; the first one present is used.
        Empty for a field this source never has (always ``None``).
    :ivar convert: checks and normalises the value; raises
        :class:`FieldError` on a wrong one.
    :ivar required: a missing or wrong value fails the whole mapping.
    """

    name: str
    keys: tuple[str, ...] = ()
    convert: Converter = text
    required: bool = False


def _field(name: str, *keys: str, convert: Converter = text,
           required: bool = False) -> Field:
    return Field(name, tuple(keys), convert if keys else absent, required)


#: ``heat.stack`` from one item of ``GET /v1/{project}/stacks``.
#: ``description`` is always ``''`` in Heat's listing (only notifications
#: carry it); ``owner`` (a user id) is in no API body; ``user_project_id``
#: is ``project``, present in all-projects listings (the driver falls back
#: to the project in the stack's link).
STACK_FROM_LISTING: Sequence[Field] = (
    _field('stack_id', 'id', convert=identifier, required=True),
    _field('name', 'stack_name', convert=identifier),
    _field('description', 'description', convert=optional_text),
    _field('user_project_id', 'project', convert=optional_text),
    _field('owner'),
    _field('owner_name', 'stack_owner', convert=optional_text),
    _field('status', 'stack_status'),
    _field('status_reason', 'stack_status_reason'),
    _field('parent', 'parent', convert=optional_text),
    _field('creation_time', 'creation_time', convert=timestamp),
    _field('updated_time', 'updated_time', convert=timestamp),
    _field('tags', 'tags', convert=names),
)

#: ``heat.stack`` from the payload of ``orchestration.stack.*`` and
#: ``orchestration.autoscaling.*``. ``tenant_id`` is the project of the
#: request that changed the stack (the stack's own for every normal
#: request); ``user_identity`` is that request's user id and ``username``
#: its name (``user_id`` is the name too, on old Heat only). The payload
#: never names the parent stack: the driver takes it from the lookup.
STACK_FROM_NOTIFICATION: Sequence[Field] = (
    _field('stack_id', 'stack_identity', convert=identifier, required=True),
    _field('name', 'stack_name', convert=identifier),
    _field('description', 'description', convert=optional_text),
    _field('user_project_id', 'tenant_id', convert=optional_text),
    _field('owner', 'user_identity', convert=optional_text),
    _field('owner_name', 'username', 'user_id', convert=optional_text),
    _field('status', 'state'),
    _field('status_reason', 'state_reason'),
    _field('parent'),
    _field('creation_time', 'create_at', convert=timestamp),
    _field('updated_time', 'updated_at', convert=timestamp),
    _field('tags', 'tags', convert=names),
)

#: ``heat.resource`` from one item of
#: ``GET /v1/{project}/stacks/{name}/{id}/resources``. Its stack, the nested
#: stack it owns and its parent resource come from the item's ``links`` and
#: the stack it was listed for (see :mod:`vitrage_ds.drivers.heat.links`).
RESOURCE_FROM_LISTING: Sequence[Field] = (
    _field('resource_name', 'resource_name', 'logical_resource_id',
           convert=identifier, required=True),
    _field('physical_resource_id', 'physical_resource_id', convert=optional_text),
    _field('resource_type', 'resource_type'),
    _field('status', 'resource_status'),
    _field('status_reason', 'resource_status_reason'),
    _field('parent_resource', 'parent_resource', convert=optional_text),
    _field('required_by', 'required_by', convert=names),
    _field('creation_time', 'creation_time', convert=timestamp),
    _field('updated_time', 'updated_time', convert=timestamp),
)

#: Every field of a ``heat.stack`` event, in documentation order
#: (``scope`` is added by the driver).
STACK_FIELDS: tuple[str, ...] = (*(f.name for f in STACK_FROM_LISTING), 'scope')

#: Every field of a ``heat.resource`` event (the last six added by the driver).
RESOURCE_FIELDS: tuple[str, ...] = (
    *(f.name for f in RESOURCE_FROM_LISTING),
    'stack_id', 'stack_name', 'nested_stack_id', 'parent_resource_id',
    'user_project_id', 'scope')


def map_fields(table: Sequence[Field], source: Mapping[str, Any]
               ) -> tuple[dict[str, Any], list[str]]:
    """Read ``source`` through ``table``.

    :returns: the fields (every field of the table, ``None`` when absent or
        wrong) and a list of problems, one short line per wrong value,
        naming the key and the type found but never the value.
    :raises FieldError: a required field is missing or wrong.
    """
    fields: dict[str, Any] = {}
    problems: list[str] = []
    for field in table:
        key: str | None = None
        raw: Any = None
        for candidate in field.keys:
            if candidate in source:
                key, raw = candidate, source[candidate]
                break
        try:
            value = field.convert(raw)
        except FieldError as exc:
            if field.required:
                raise FieldError(f'{key}: {exc}') from None
            problems.append(f'{key}: {exc}')
            value = field.convert(None)
        if field.required and value is None:
            wanted = ' or '.join(field.keys)
            raise FieldError(f'{wanted}: missing')
        fields[field.name] = value
    return fields, problems

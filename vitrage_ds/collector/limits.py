"""Field types, sizes and depths of the events the collector accepts.

Drivers build events from payloads anyone on the bus (or a broken or
hostile API) can shape. Before an event reaches the cache and the sinks,
the collector bounds it:

* **Types.** A field of :data:`TEXT_FIELDS` (the contract's names: ids,
  names, states, severities, reasons, times) holds a string or ``None``.
  Anything else there (a list as an alarm name, an integer severity) is
  dropped: the field becomes ``None``. Dropping rather than coercing,
  because ``str([...])`` or ``'3'`` would reach a graph as a plausible
  but false value, while ``None`` reads as "unknown". A float that is not
  finite (not JSON) is dropped too, in any field.
* **Sizes.** A string longer than ``max_length`` characters is cut to
  ``max_length``; a list or dict whose JSON form would exceed
  ``max_length`` characters is dropped (a structure cut anywhere could
  read as complete). So one event holds at most about ``max_length``
  characters per field, whatever the payload carried.
* **Depth.** A list or dict nested more than ``MAX_DEPTH`` (64) levels deep
  is dropped, whatever its size: ``[[[...]]]`` 600 levels deep is a
  1,200-character payload that the cache's and the sinks' recursive walks
  could not handle. The depth is measured without recursion.

Every such change is counted and logged as a warning, at most one a minute
per driver with the count since the last (see :class:`FieldLimits`). The
event's identity (datasource, type, id) and version are never changed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from vitrage_ds.event import Event

__all__ = ['MAX_DEPTH', 'TEXT_FIELDS', 'Bounded', 'FieldLimits']

#: Most levels of lists and mappings one field value may nest (the value
#: itself is the first); a deeper value is dropped. The cache, the sinks and
#: JSON readers walk values recursively, and a payload of a few kilobytes
#: can nest deeper than Python's recursion limit (1,000 frames).
MAX_DEPTH = 64

#: Fields that hold text (or ``None``) in every driver's events.
TEXT_FIELDS = frozenset({
    'alarm_id', 'creation_time', 'description', 'name', 'nested_stack_id', 'owner',
    'owner_name', 'parent', 'parent_resource', 'parent_resource_id', 'physical_resource_id',
    'project_id', 'resource_id', 'resource_name', 'resource_type', 'severity', 'stack_id',
    'stack_name', 'state', 'state_reason', 'state_timestamp', 'status', 'status_reason',
    'sync_type', 'timestamp', 'type', 'updated_time', 'user_id', 'user_project_id',
    'vitrage_id'})

_SCALARS = frozenset({int, bool, type(None)})


class Bounded:
    """What :meth:`FieldLimits.apply` did to one batch.

    :ivar events: the events, each bounded (the same objects when nothing
        was changed).
    :ivar changed: how many field values were dropped or cut.
    :ivar first: a description of the first change, for the log.
    """

    __slots__ = ('changed', 'events', 'first')

    def __init__(self, events: list[Event], changed: int, first: str | None) -> None:
        self.events = events
        self.changed = changed
        self.first = first


class FieldLimits:
    """Bounds the types, sizes and depths of event fields (see the module documentation).

    :param max_length: most characters of one field value; 0: no size limit.
    :param text_fields: the fields that must hold text or ``None``.
    """

    def __init__(self, max_length: int = 65_536, *,
                 text_fields: Iterable[str] = TEXT_FIELDS) -> None:
        if max_length < 0:
            raise ValueError('max_length must be >= 0')
        self.max_length = max_length
        self.text_fields = frozenset(text_fields)

    def apply(self, events: Iterable[Event]) -> Bounded:
        """The events with every field within bounds; never raises."""
        out: list[Event] = []
        changed = 0
        first: str | None = None
        limit = self.max_length or math.inf
        text = self.text_fields
        for event in events:
            fields = event.fields
            problems: dict[str, tuple[Any, str]] | None = None
            for name, value in fields.items():
                # Inline fast path: most values are short strings or None.
                kind = type(value)
                if (kind is str and len(value) <= limit) or value is None or (
                        kind in _SCALARS and name not in text):
                    continue
                fixed = self._check(name, value)
                if fixed is not None:
                    if problems is None:
                        problems = {}
                    problems[name] = fixed
            if problems is None:
                out.append(event)
                continue
            changed += len(problems)
            if first is None:
                name, (_value, why) = next(iter(problems.items()))
                first = f'{event.entity_type} {event.entity_id!r:.100} field {name!r:.100}: {why}'
            bounded = dict(fields)
            for name, (value, _why) in problems.items():
                bounded[name] = value
            out.append(event.replace(fields=bounded))
        return Bounded(out, changed, first)

    def _check(self, name: str, value: Any) -> tuple[Any, str] | None:
        """``(replacement, why)`` when ``value`` is out of bounds, else ``None``."""
        kind = type(value)
        limit = self.max_length
        if kind is str:
            if limit and len(value) > limit:
                return value[:limit], f'{len(value)} characters, cut to {limit}'
            return None
        if value is None:
            return None
        if name in self.text_fields:
            return None, f'a {kind.__name__}, not text: dropped'
        if kind in _SCALARS:
            return None
        if kind is float:
            return None if math.isfinite(value) else (None, f'{value!r}: dropped')
        if isinstance(value, (list, tuple, Mapping)):
            excess = _excess(value, limit or math.inf)
            if excess == _DEEP:
                return None, (f'a {kind.__name__} nested more than {MAX_DEPTH} levels '
                              f'deep: dropped')
            if excess == _LARGE:
                return None, f'a {kind.__name__} of more than {limit} characters: dropped'
            return None
        return None


_LARGE = 'large'
_DEEP = 'deep'


def _excess(value: Any, budget: float) -> str | None:
    """``_DEEP`` when ``value`` nests more than ``MAX_DEPTH`` levels,
    ``_LARGE`` when its JSON form is longer than ``budget`` characters
    (about), else ``None``.

    Iterative and stops as soon as either bound is passed, so a huge or
    deeply nested value costs no more than about ``budget`` steps (one per
    item when ``budget`` is infinite) and never recurses.
    """
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        kind = type(item)
        if kind is str:
            budget -= len(item) + 2
        elif kind is list or kind is tuple:
            if depth > MAX_DEPTH:
                return _DEEP
            budget -= 2 + len(item)
            if budget >= 0:
                depth += 1
                stack.extend([(inner, depth) for inner in item])
        elif isinstance(item, Mapping):
            if depth > MAX_DEPTH:
                return _DEEP
            budget -= 2 + len(item)
            depth += 1
            for key, inner in item.items():
                budget -= len(str(key)) + 3
                if budget < 0:
                    break
                stack.append((inner, depth))
        else:
            budget -= 8
        if budget < 0:
            return _LARGE
    return None

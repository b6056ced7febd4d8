"""The Aodh side of a deduced alarm: request bodies, ownership and bookkeeping.

An Aodh alarm mirrors a deduced alarm (:func:`is_mirror`) when it is an
``event`` alarm and

* the message has a ``vitrage_id``: the event rule's query has the item
  ``vitrage_id == <the deduced alarm's id>``;
* else the message has a name and resource: the alarm was created by this
  notifier (its description ends as below), is named
  ``<name>_<affected_resource_id>`` and its query has no ``vitrage_id``
  item;
* else (an Aodh id only): the alarm of that id, when created by this
  notifier.

Aodh cannot search inside a rule, so such alarms are found by their
deterministic name, ``<name>_<affected_resource_id>``, and then matched.

Aodh has no conditional update, so the notifier keeps what it needs for
ordering in the alarm itself, in the last sentence of its description::

    Created 2024-05-01T12:00:00.000000Z; last change: activate at
    2024-05-01T12:00:03.250000Z, sequence 7.

``Created`` is when the notifier created the alarm (never changed later: it
decides which of two duplicates survives); ``last change`` is the
:class:`~vitrage_ds.deduced.Order` of the newest message applied. Both are
written with the state in one ``PUT``, so a reader never sees a state
without the order that produced it.

Aodh records each create and each ``PUT`` in the alarm's history with what
changed (the description, so the order, always does), so the history keeps
every order an alarm ever held, also those written over since
(:func:`newest_recorded`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from vitrage_ds.deduced import DeducedAlarm, Order, format_time
from vitrage_ds.event import parse_time

__all__ = [
    'ALARM_STATE',
    'OK_STATE',
    'AlarmRecord',
    'Recorded',
    'alarm_id',
    'applied_order',
    'create_body',
    'is_mirror',
    'key_of',
    'newest_recorded',
    'recorded_in',
    'restore_body',
    'survivor',
    'update_body',
]

ALARM_STATE = 'alarm'
OK_STATE = 'ok'

_TAIL = re.compile(
    r'Created (?P<created>\S+); last change: (?P<kind>activate|deactivate) '
    r'at (?P<at>\S+), sequence (?P<seq>\d+)\.\Z')

#: What a full ``PUT /v2/alarms/{id}`` carries over from the alarm as read.
_PUT_FIELDS = ('name', 'type', 'description', 'severity', 'state', 'enabled',
               'repeat_actions', 'ok_actions', 'alarm_actions',
               'insufficient_data_actions', 'time_constraints', 'event_rule')

AlarmRecord = Mapping[str, Any]


class Recorded(NamedTuple):
    """A state this notifier wrote to an alarm, as the alarm's history keeps it."""

    order: Order
    """The order of the message applied."""
    description: str
    """The description written with it (its last sentence holds ``order``)."""
    state: str
    """The state it set: ``alarm`` for an activate, ``ok`` for a deactivate."""
    severity: str | None
    """The alarm's severity after that change, when the history read says."""


def _micros(value: object) -> int | None:
    seconds = parse_time(value)
    return None if seconds is None else round(seconds * 1_000_000)


def alarm_id(alarm: AlarmRecord) -> str:
    """The alarm's id (the caller has checked the record has one)."""
    return str(alarm['alarm_id'])


def is_mirror(alarm: AlarmRecord, msg: DeducedAlarm) -> bool:
    """Whether ``alarm`` is the Aodh alarm of the deduced alarm of ``msg``."""
    if alarm.get('type') != 'event':
        return False
    rule = alarm.get('event_rule')
    query = rule.get('query') if isinstance(rule, Mapping) else None
    if not isinstance(query, list):
        return False
    if msg.vitrage_id is not None:
        return any(isinstance(item, Mapping) and item.get('field') == 'vitrage_id'
                   and item.get('value') == msg.vitrage_id for item in query)
    if _tail(alarm) is None:
        return False  # not created by this notifier
    if msg.aodh_name is not None:
        return (alarm.get('name') == msg.aodh_name
                and _query_value(alarm, 'vitrage_id') is None)
    return alarm.get('alarm_id') == msg.aodh_alarm_id


def key_of(alarm: AlarmRecord) -> str | None:
    """The :attr:`~vitrage_ds.deduced.DeducedAlarm.key` of the deduced alarm
    ``alarm`` mirrors (by ``vitrage_id`` or by name); ``None`` if none."""
    if alarm.get('type') != 'event':
        return None
    vitrage_id = _query_value(alarm, 'vitrage_id')
    if vitrage_id is not None:
        return vitrage_id
    if _tail(alarm) is not None and alarm.get('name'):
        return f'name:{alarm["name"]}'
    return None


def _tail(alarm: AlarmRecord) -> re.Match[str] | None:
    description = alarm.get('description')
    return _TAIL.search(description) if isinstance(description, str) else None


def applied_order(alarm: AlarmRecord) -> Order | None:
    """The order of the newest message applied to ``alarm``; ``None`` if unknown."""
    tail = _tail(alarm)
    if tail is None:
        return None
    micros = _micros(tail['at'])
    return None if micros is None else Order(micros, int(tail['seq']))


def _created(alarm: AlarmRecord) -> int:
    tail = _tail(alarm)
    micros = _micros(tail['created']) if tail else None
    if micros is None:  # an edited description: Aodh's own (less stable) time
        micros = _micros(alarm.get('timestamp'))
    return micros if micros is not None else 0


def survivor(alarms: list[AlarmRecord]) -> AlarmRecord:
    """The one of several duplicates to keep: the oldest, then the smallest id.

    Age is the creation time the notifier wrote in the description (falling
    back to Aodh's ``timestamp``), which no later update changes, so every
    process picks the same survivor however the duplicates change meanwhile.
    """
    return min(alarms, key=lambda a: (_created(a), alarm_id(a)))


def _description(msg: DeducedAlarm, name: str, resource_id: str, created: int,
                 order: Order, vitrage_id: str | None) -> str:
    kind = msg.event_type.rsplit('.', 1)[-1]
    of = f' (vitrage_id {vitrage_id})' if vitrage_id is not None else ''
    return (f'Deduced by Vitrage from alarm "{name}" on resource {resource_id}{of}. '
            f'Created {format_time(created)}; last change: {kind} at {order.timestamp}, '
            f'sequence {order.sequence}.')


def create_body(msg: DeducedAlarm, order: Order, *, state: str, severity: str,
                created: int, event_type: str) -> dict[str, Any]:
    """The body of ``POST /v2/alarms`` for the deduced alarm ``msg``.

    ``msg`` must carry ``name`` and ``affected_resource_id``. The query
    holds ``resource_id`` and, when the message has one, ``vitrage_id``.
    Every query item has its ``type``: Aodh refuses event rule items
    without one.
    """
    assert msg.name is not None and msg.affected_resource_id is not None
    query = [{'field': 'resource_id', 'op': 'eq', 'type': 'string',
              'value': msg.affected_resource_id}]
    if msg.vitrage_id is not None:
        query.append({'field': 'vitrage_id', 'op': 'eq', 'type': 'string',
                      'value': msg.vitrage_id})
    return {
        'name': msg.aodh_name,
        'type': 'event',
        'description': _description(msg, msg.name, msg.affected_resource_id,
                                    created, order, msg.vitrage_id),
        'severity': severity,
        'state': state,
        'enabled': True,
        'repeat_actions': False,
        'event_rule': {
            'event_type': event_type,
            'query': query,
        },
    }


def _query_value(alarm: AlarmRecord, field: str) -> str | None:
    rule = alarm.get('event_rule')
    for item in (rule.get('query') or []) if isinstance(rule, Mapping) else []:
        if isinstance(item, Mapping) and item.get('field') == field:
            value = item.get('value')
            return None if value is None else str(value)
    return None


def update_body(alarm: AlarmRecord, msg: DeducedAlarm, order: Order, *, state: str,
                severity: str | None) -> dict[str, Any]:
    """The body of ``PUT /v2/alarms/{id}``: ``alarm`` as read, with the new
    state, the new order in its description and, when given, the new severity.

    Aodh's PUT replaces the whole alarm, so every writable field is carried
    over; ``project_id`` and ``user_id`` are left out and Aodh keeps them.
    """
    body = {k: alarm[k] for k in _PUT_FIELDS if alarm.get(k) is not None}
    tail = _tail(alarm)
    created = _micros(tail['created']) if tail else None
    if created is None:
        created = _created(alarm)
    name = msg.name or _name_from(alarm, msg)
    resource_id = (msg.affected_resource_id or _query_value(alarm, 'resource_id')
                   or 'unknown')
    vitrage_id = msg.vitrage_id or _query_value(alarm, 'vitrage_id')
    body['description'] = _description(msg, name, resource_id, created, order, vitrage_id)
    body['state'] = state
    if severity is not None:
        body['severity'] = severity
    return body


def newest_recorded(changes: Iterable[AlarmRecord]) -> dict[str, Recorded]:
    """The newest order each alarm's history records, by alarm id.

    ``changes`` are entries of Aodh's alarm history, in any order: a
    ``creation`` (``detail``: the whole alarm) or a ``rule change``
    (``detail``: what the ``PUT`` changed) whose description holds this
    notifier's bookkeeping records the order written; other entries only
    carry the severity forward. The severity of a recorded state is the one
    the alarm had right after that change, when ``changes`` go back far
    enough to say (else ``None``).
    """
    by_alarm: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for change in changes:
        detail = change.get('detail')
        if isinstance(detail, str):
            try:
                detail = json.loads(detail)
            except ValueError:
                continue
        if not isinstance(detail, dict) or not change.get('alarm_id'):
            continue
        by_alarm.setdefault(str(change['alarm_id']), []).append(
            (str(change.get('timestamp') or ''), str(change.get('event_id') or ''), detail))
    newest: dict[str, Recorded] = {}
    for the_id, entries in by_alarm.items():
        severity: str | None = None
        for _when, _event, detail in sorted(entries, key=lambda e: (e[0], e[1])):
            if isinstance(detail.get('severity'), str):
                severity = detail['severity']
            description = detail.get('description')
            tail = _TAIL.search(description) if isinstance(description, str) else None
            order = applied_order({'description': description}) if tail else None
            if tail is None or order is None:
                continue
            best = newest.get(the_id)
            if best is None or order > best.order:
                state = ALARM_STATE if tail['kind'] == 'activate' else OK_STATE
                assert isinstance(description, str)
                newest[the_id] = Recorded(order, description, state, severity)
    return newest


def recorded_in(alarm: AlarmRecord) -> Recorded | None:
    """The state ``alarm`` holds as this notifier wrote it; ``None`` when its
    description has no bookkeeping."""
    tail, order = _tail(alarm), applied_order(alarm)
    if tail is None or order is None:
        return None
    severity = alarm.get('severity')
    return Recorded(order, str(alarm['description']),
                    ALARM_STATE if tail['kind'] == 'activate' else OK_STATE,
                    severity if isinstance(severity, str) else None)


def restore_body(alarm: AlarmRecord, recorded: Recorded) -> dict[str, Any]:
    """The body of ``PUT /v2/alarms/{id}``: ``alarm`` as read, back in the
    ``recorded`` state, with its order and (when known) severity.

    The description is the recorded one, with the creation time ``alarm``
    holds now, so the survivor of duplicates stays the same.
    """
    body = {k: alarm[k] for k in _PUT_FIELDS if alarm.get(k) is not None}
    description = recorded.description
    recorded_tail = _TAIL.search(description)
    if recorded_tail is not None:
        start, end = recorded_tail.span('created')
        created = format_time(_created(alarm))
        description = description[:start] + created + description[end:]
    body['description'] = description
    body['state'] = recorded.state
    if recorded.severity is not None:
        body['severity'] = recorded.severity
    return body


def _name_from(alarm: AlarmRecord, msg: DeducedAlarm) -> str:
    """The Vitrage name, recovered from the Aodh name when the message lacks it."""
    aodh_name = str(alarm.get('name') or '')
    resource_id = _query_value(alarm, 'resource_id')
    if resource_id and aodh_name.endswith(f'_{resource_id}'):
        return aodh_name[:-len(resource_id) - 1]
    return aodh_name or msg.key

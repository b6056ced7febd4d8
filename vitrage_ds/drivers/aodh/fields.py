"""The alarm mapping: an Aodh alarm (API shape) to the fields of one event.

Every alarm gets the generic fields; its type's row in
:data:`vitrage_ds.drivers.aodh.alarm_types.TYPES` adds the rule and the
fields derived from it. An alarm of a type not in the table still gets
every generic field (``resource_id`` is then ``None``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from typing import Any

from vitrage_ds.drivers.aodh.alarm_types import TYPES
from vitrage_ds.drivers.aodh.resources import rule_get
from vitrage_ds.event import Phase, Version, parse_time

__all__ = [
    'DERIVED',
    'ENTITY_TYPE',
    'GENERIC',
    'SEVERITIES',
    'STATES',
    'SYNC_TYPE',
    'alarm_fields',
    'TIME_FORMAT',
    'alarm_version',
    'now_in_aodh_format',
    'rule_key_of',
]

#: The entity type of every event of this driver: Vitrage's own name for an
#: Aodh alarm, so a Vitrage graph and its templates take these events as they
#: take Vitrage's aodh datasource's.
ENTITY_TYPE = 'aodh'

#: The constant ``sync_type`` of every alarm (the blueprint's "source").
SYNC_TYPE = 'aodh'

#: Aodh's alarm states and severities.
STATES = ('ok', 'alarm', 'insufficient data')
SEVERITIES = ('low', 'moderate', 'critical')

#: How Aodh's API writes times: naive UTC with microseconds (Vitrage's Aodh
#: transformer parses ``timestamp`` with exactly this format).
TIME_FORMAT = '%Y-%m-%dT%H:%M:%S.%f'

#: Fields copied as they are from the alarm, for every type.
GENERIC = ('alarm_id', 'name', 'description', 'enabled', 'project_id',
           'repeat_actions', 'severity', 'state', 'state_reason',
           'time_constraints', 'type', 'user_id', 'timestamp',
           'state_timestamp')

#: Fields computed for every type: the resource, the deduced-alarm marks and
#: the constant source.
DERIVED = ('resource_id', 'vitrage_id', 'vitrage_deduced', 'sync_type')


def rule_key_of(alarm_type: object) -> str | None:
    """The key holding the rule of an alarm of ``alarm_type``, if known."""
    row = TYPES.get(alarm_type) if isinstance(alarm_type, str) else None
    return row.rule_key if row is not None else None


def alarm_fields(alarm: Mapping[str, Any],
                 on_unknown_type: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The event fields of one alarm.

    :param alarm: the alarm as ``GET /v2/alarms`` gives it (the rule under
        ``<type>_rule``); keys it lacks become ``None``.
    :param on_unknown_type: called with the type when it is not in the
        table; not when the alarm has no type at all (the deletion of an
        alarm nobody saw: Aodh's deletion payload names no type), which is
        not an unknown type but an unknown alarm.
    :returns: :data:`GENERIC` and :data:`DERIVED` fields, plus the type's
        rule under its key and the rule keys it copies. ``timestamp`` is the
        current time, in Aodh's :data:`TIME_FORMAT`, when the alarm has none.
        Never raises.
    """
    get = alarm.get
    fields: dict[str, Any] = {key: get(key) for key in GENERIC}
    if not fields['timestamp']:
        fields['timestamp'] = now_in_aodh_format()
    alarm_type = fields['type']
    row = TYPES.get(alarm_type) if isinstance(alarm_type, str) else None
    resource_id = vitrage_id = None
    if row is not None:
        rule = row.rule(alarm)
        fields[row.rule_key] = rule
        for key in row.copied:
            fields[key] = rule_get(rule, key)
        resource_id = row.resource(rule)
        vitrage_id = row.vitrage_id(rule)
    elif on_unknown_type is not None and alarm_type is not None:
        on_unknown_type(str(alarm_type))
    fields['resource_id'] = resource_id
    fields['vitrage_id'] = vitrage_id
    fields['vitrage_deduced'] = vitrage_id is not None
    fields['sync_type'] = SYNC_TYPE
    return fields


def now_in_aodh_format() -> str:
    """The current UTC time as Aodh's API writes times (:data:`TIME_FORMAT`)."""
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    return now.strftime(TIME_FORMAT)


def alarm_version(alarm: Mapping[str, Any], observed: float) -> Version:
    """The version of one alarm state.

    The source time is the later of the alarm's ``timestamp`` (definition
    change) and ``state_timestamp`` (state change), 0 when it has neither.
    """
    changed = alarm.get('timestamp')
    source = parse_time(changed)
    state_changed = alarm.get('state_timestamp')
    if state_changed != changed:  # often the same text: parsed once
        other = parse_time(state_changed)
        if other is not None and (source is None or other > source):
            source = other
    return Version(source or 0.0, observed, Phase.END)

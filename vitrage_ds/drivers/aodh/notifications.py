"""Reading Aodh's alarm notifications and applying them to a known alarm.

Aodh publishes on exchange ``aodh``, at INFO priority:

* from the API (``aodh.api.controllers.v2.alarms``: ``_record_creation``,
  ``AlarmController._record_change``, ``_record_delete``, all through
  ``_send_notification``): ``alarm.creation`` (``detail`` is the whole
  alarm, its rule under ``rule``), ``alarm.rule_change`` (``detail`` holds
  only what changed, ``state`` and ``state_reason`` included when a PUT
  changed the state), ``alarm.state_transition`` (``PUT .../state``:
  ``{"state", "state_reason"}``) and ``alarm.deletion`` (``{"state"}``);
  ``detail`` is a dict;
* from the evaluators (``aodh.evaluator.Evaluator._record_change``):
  ``alarm.state_transition`` whose ``detail`` is a JSON *string*
  ``{"state", "transition_reason"}``. Aodh does not move the alarm's stored
  ``state_timestamp`` on such a transition, so neither does this module.

Every payload also has ``alarm_id``, ``type`` (the kind of change, e.g.
``state transition``, never the alarm type), ``timestamp`` (when the change
was made), ``severity`` (``null`` unless the change carried one, the
alarm's own for evaluator transitions and deletions), ``on_behalf_of`` (the
alarm's project, except on ``alarm.creation`` and ``alarm.deletion``, where
Aodh sets it to the caller's: the created alarm's project is ``detail``'s
``project_id``; a deletion does not say the alarm's) and
``project_id``/``user_id`` (the caller's).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from vitrage_ds.drivers.aodh.fields import SEVERITIES, STATES, rule_key_of
from vitrage_ds.event import parse_time

__all__ = [
    'CHANGE_KINDS',
    'AlarmChange',
    'BadNotification',
    'apply_change',
    'parse_change',
]

#: Event type -> the payload ``type`` Aodh gives that change.
CHANGE_KINDS = {
    'alarm.creation': 'creation',
    'alarm.rule_change': 'rule change',
    'alarm.state_transition': 'state transition',
    'alarm.deletion': 'deletion',
}

#: Aodh alarm ids are UUIDs; anything much longer is not one.
_MAX_ID = 255

#: What a creation's detail must hold to stand alone, without a lookup.
_COMPLETE = ('name', 'type', 'state')


class BadNotification(ValueError):
    """A notification that can never become an event; the message says why."""


@dataclasses.dataclass(frozen=True)
class AlarmChange:
    """One alarm notification, checked and normalised.

    :ivar event_type: the bus event type (``alarm.creation``, ...).
    :ivar alarm_id: the alarm changed.
    :ivar detail: what changed, in the API's alarm keys: ``rule`` is still
        ``rule`` (its key depends on the type) and an evaluator's
        ``transition_reason`` is ``state_reason``.
    :ivar evaluator: the change came from an evaluator (string ``detail``).
    :ivar timestamp: when Aodh made the change, as Aodh wrote it.
    :ivar severity: the payload's severity when it is a valid one.
    :ivar project_id: the alarm's project: a creation's ``detail`` project,
        none for a deletion, else the payload's ``on_behalf_of``.
    """

    event_type: str
    alarm_id: str
    detail: dict[str, Any]
    evaluator: bool
    timestamp: str | None
    severity: str | None
    project_id: str | None

    @property
    def kind(self) -> str:
        """The change kind: ``creation``, ``rule change``, ..."""
        return CHANGE_KINDS[self.event_type]

    @property
    def time(self) -> float | None:
        """:attr:`timestamp` as POSIX seconds, ``None`` when absent or unparsable."""
        return parse_time(self.timestamp)

    @property
    def standalone(self) -> bool:
        """Whether the detail alone describes the alarm (a full creation)."""
        return (self.event_type == 'alarm.creation'
                and all(self.detail.get(k) is not None for k in _COMPLETE))


def parse_change(event_type: str, payload: Any) -> AlarmChange:
    """Check one notification and normalise it.

    :raises BadNotification: the event type is not an alarm change, the
        payload is not an object, ``alarm_id`` is missing, ``detail`` is
        neither an object nor a JSON string of one, or it names a state Aodh
        does not have (a state transition must name one).
    """
    if not isinstance(event_type, str) or event_type not in CHANGE_KINDS:
        raise BadNotification(f'{event_type!r:.80} is not an Aodh alarm change')
    if not isinstance(payload, Mapping):
        raise BadNotification(f'the payload is a {type(payload).__name__}, not an object')
    alarm_id = payload.get('alarm_id')
    if alarm_id is None or alarm_id == '':
        raise BadNotification('the payload has no alarm_id')
    if not isinstance(alarm_id, str) or len(alarm_id) > _MAX_ID:
        raise BadNotification(f'alarm_id {alarm_id!r:.80} is not an Aodh alarm id')
    raw = payload.get('detail')
    evaluator = isinstance(raw, str)
    detail = _detail(raw)
    if 'transition_reason' in detail:
        evaluator = True
        detail.setdefault('state_reason', detail.pop('transition_reason'))
    state = detail.get('state', None)
    if 'state' in detail and state not in STATES:
        raise BadNotification(f'unknown alarm state {state!r}')
    if event_type == 'alarm.state_transition' and state is None:
        raise BadNotification('the state transition names no state')
    severity = payload.get('severity')
    on_behalf_of = payload.get('on_behalf_of')
    if event_type == 'alarm.creation' and isinstance(detail.get('project_id'), str):
        # An admin creating an alarm for another project is on_behalf_of here.
        on_behalf_of = detail['project_id']
    elif event_type == 'alarm.deletion':
        on_behalf_of = None  # the deleting caller's project (Aodh's _record_delete)
    timestamp = payload.get('timestamp')
    return AlarmChange(
        event_type=event_type,
        alarm_id=alarm_id,
        detail=detail,
        evaluator=evaluator,
        timestamp=timestamp if isinstance(timestamp, str) else None,
        severity=severity if severity in SEVERITIES else None,
        project_id=on_behalf_of if isinstance(on_behalf_of, str) else None)


def _detail(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise BadNotification(f'detail is not valid JSON: {exc}') from None
        except RecursionError:
            raise BadNotification('detail nests too deep to read') from None
    if not isinstance(raw, Mapping):
        raise BadNotification(f'detail is a {type(raw).__name__}, not an object')
    return dict(raw)


def apply_change(change: AlarmChange, known: Mapping[str, Any] | None) -> dict[str, Any]:
    """The alarm (API shape) after ``change``, starting from ``known``.

    ``known`` is the alarm as last seen (the fields this driver emitted, or
    an API body); it may be ``None`` only when the change is
    :attr:`~AlarmChange.standalone` or a deletion. Times move as Aodh moves
    them in its database: a creation or rule change sets ``timestamp``, an
    API state change sets ``state_timestamp``, an evaluator's does not.
    """
    alarm: dict[str, Any] = dict(known or {})
    detail = dict(change.detail)
    rule = detail.pop('rule', None)
    alarm.update(detail)
    alarm['alarm_id'] = change.alarm_id
    rule_key = rule_key_of(alarm.get('type'))
    if rule is not None and rule_key is not None:
        alarm[rule_key] = rule
    if change.project_id and not alarm.get('project_id'):
        alarm['project_id'] = change.project_id
    if change.severity is not None and 'severity' not in detail:
        alarm['severity'] = change.severity
    if change.timestamp:
        if change.event_type == 'alarm.creation':
            alarm.setdefault('timestamp', change.timestamp)
            alarm.setdefault('state_timestamp', change.timestamp)
        elif change.event_type == 'alarm.rule_change':
            alarm['timestamp'] = change.timestamp
            if 'state' in detail:
                alarm['state_timestamp'] = change.timestamp
        elif change.event_type == 'alarm.state_transition' and not change.evaluator:
            alarm['state_timestamp'] = change.timestamp
    return alarm

"""vitrage_ds's events as the dicts Vitrage 15's transformers read.

Pure functions, without Vitrage: the adapters (:mod:`vitrage_ds.vitrage.heat`,
:mod:`vitrage_ds.vitrage.aodh`) call them and add Vitrage's own metadata with
Vitrage's ``DriverBase.make_pickleable``.

Heat (``HeatStackTransformer``): one dict per top-level stack, with the keys
of Heat's stack listing (``id``, ``stack_name``, ``stack_status``,
``creation_time``, ``project``...) and ``resources``: the resources of the
stack and of every stack nested in it, with the keys of Heat's resource
listing, restricted to the types the transformer maps
(:data:`HEAT_RESOURCE_TYPES`) whose Vitrage datasource is enabled and that
have a physical id (the transformer links each to the vertex of that id).

Aodh (``AodhTransformer``): one dict per alarm with the keys of Vitrage's own
Aodh driver, ``timestamp`` and ``state_timestamp`` in Aodh's
:data:`~vitrage_ds.drivers.aodh.fields.TIME_FORMAT`.
"""

from __future__ import annotations

import datetime
import threading
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from vitrage_ds.drivers.aodh.fields import TIME_FORMAT, now_in_aodh_format
from vitrage_ds.event import Event, parse_time

__all__ = [
    'AODH_KEYS',
    'AlarmStates',
    'HEAT_RESOURCE_TYPES',
    'StackTree',
    'aodh_alarm',
    'aodh_time',
    'heat_resource',
    'heat_stack',
]

#: Heat resource type -> the Vitrage datasource of what it creates: the
#: types Vitrage 15's Heat transformer links a stack to (any other type
#: makes it raise ``KeyError``).
HEAT_RESOURCE_TYPES: Mapping[str, str] = {
    'OS::Nova::Server': 'nova.instance',
    'OS::Cinder::Volume': 'cinder.volume',
    'OS::Neutron::Net': 'neutron.network',
    'OS::Neutron::Port': 'neutron.port',
}

_STACK = 'heat.stack'
_RESOURCE = 'heat.resource'

#: Stack fields (vitrage_ds's names) -> Heat's stack listing keys.
_STACK_KEYS = (('stack_id', 'id'), ('name', 'stack_name'), ('description', 'description'),
               ('status', 'stack_status'), ('status_reason', 'stack_status_reason'),
               ('creation_time', 'creation_time'), ('updated_time', 'updated_time'),
               ('owner_name', 'stack_owner'), ('parent', 'parent'), ('tags', 'tags'),
               ('user_project_id', 'project'))

#: Resource fields -> Heat's resource listing keys.
_RESOURCE_KEYS = (('resource_name', 'resource_name'), ('resource_name', 'logical_resource_id'),
                  ('physical_resource_id', 'physical_resource_id'),
                  ('resource_type', 'resource_type'), ('status', 'resource_status'),
                  ('status_reason', 'resource_status_reason'),
                  ('creation_time', 'creation_time'), ('updated_time', 'updated_time'),
                  ('required_by', 'required_by'), ('parent_resource', 'parent_resource'))

#: The keys of an alarm dict, as Vitrage's own Aodh driver builds them.
AODH_KEYS = ('alarm_id', 'user_id', 'project_id', 'severity', 'timestamp', 'description',
             'enabled', 'name', 'state', 'repeat_actions', 'type', 'state_timestamp',
             'state_reason', 'resource_id')


def heat_stack(fields: Mapping[str, Any], resources: list[dict[str, Any]]) -> dict[str, Any]:
    """A ``heat.stack`` event's fields as one item of Heat's stack listing,
    with ``resources``."""
    stack = {key: fields.get(name) for name, key in _STACK_KEYS}
    # As Heat lists them: no tags is null, and the description is always ''.
    stack['tags'] = stack['tags'] or None
    stack['description'] = stack['description'] or ''
    stack['resources'] = resources
    return stack


def heat_resource(fields: Mapping[str, Any]) -> dict[str, Any]:
    """A ``heat.resource`` event's fields as one item of Heat's resource listing."""
    return {key: fields.get(name) for name, key in _RESOURCE_KEYS}


class StackTree:
    """Which stack each stack is nested in, learnt from events.

    A stack's ``parent`` field (nested stacks listed with ``show_nested``)
    and a resource's ``nested_stack_id`` (a resources call with
    ``nested_depth``) both say it. Remembers what the last poll and the
    notifications since said, bounded by the stacks the cloud has.
    """

    def __init__(self) -> None:
        self._parents: dict[str, str] = {}

    def learn(self, events: Iterable[Event], *, complete: bool = False) -> None:
        """Note the nesting ``events`` show; ``complete`` (a poll) forgets the rest."""
        parents: dict[str, str] = {}
        for event in events:
            fields = event.fields
            if event.entity_type == _STACK and event.deleted:
                self._parents.pop(event.entity_id, None)
            elif event.entity_type == _STACK and isinstance(fields.get('parent'), str):
                parents[event.entity_id] = fields['parent']
            elif event.entity_type == _RESOURCE and fields.get('nested_stack_id'):
                parents[fields['nested_stack_id']] = fields['stack_id']
        if complete:
            self._parents = parents
        else:
            self._parents.update(parents)

    def nested(self, stack_id: str) -> bool:
        """Whether ``stack_id`` is known to be nested in another stack."""
        return stack_id in self._parents

    def top(self, stack_id: str) -> str:
        """The top-level stack ``stack_id`` is (nested) in; itself when none is known."""
        seen = {stack_id}
        while stack_id in self._parents:
            stack_id = self._parents[stack_id]
            if stack_id in seen:  # a loop in garbage input: stop where it closes
                break
            seen.add(stack_id)
        return stack_id


def heat_stacks(events: Iterable[Event], tree: StackTree,
                datasources: Collection[str]) -> list[tuple[dict[str, Any], bool]]:
    """The top-level stacks of ``events``, each with the linkable resources of
    its whole tree, and whether it is deleted.

    ``tree`` must have learnt ``events`` already. Nested stacks are not
    stacks of their own: their resources are their top-level stack's.
    Resources of stacks being deleted are left out, as Heat has none to list.
    """
    events = list(events)
    stacks: dict[str, tuple[Mapping[str, Any], bool]] = {}
    resources: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        if event.entity_type == _STACK and not tree.nested(event.entity_id):
            stacks[event.entity_id] = (event.fields, event.deleted)
    for event in events:
        if event.entity_type == _RESOURCE and _linkable(event.fields, datasources):
            resources.setdefault(tree.top(event.fields['stack_id']), []).append(
                heat_resource(event.fields))
    return [(heat_stack(fields, [] if deleted else resources.get(stack_id, [])), deleted)
            for stack_id, (fields, deleted) in stacks.items()]


def _linkable(fields: Mapping[str, Any], datasources: Collection[str]) -> bool:
    resource_type = fields.get('resource_type')
    kind = HEAT_RESOURCE_TYPES.get(resource_type) if isinstance(resource_type, str) else None
    return kind is not None and kind in datasources and bool(fields.get('physical_resource_id'))


def aodh_time(value: object) -> str:
    """``value`` (any time OpenStack writes) in Aodh's :data:`TIME_FORMAT`;
    now when it is missing or unparsable."""
    if isinstance(value, str):
        try:
            datetime.datetime.strptime(value, TIME_FORMAT)
            return value
        except ValueError:
            pass
    seconds = parse_time(value)
    if seconds is None:
        return now_in_aodh_format()
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.replace(tzinfo=None).strftime(TIME_FORMAT)


def aodh_alarm(fields: Mapping[str, Any]) -> dict[str, Any]:
    """An ``aodh`` event's fields as Vitrage's own Aodh driver builds an alarm.

    :data:`AODH_KEYS`, plus ``event_type`` for event alarms and
    ``vitrage_id`` for the alarms a notifier made for a deduced alarm (which
    Vitrage merges into the deduced alarm's vertex).
    """
    alarm = {key: fields.get(key) for key in AODH_KEYS}
    alarm['timestamp'] = aodh_time(alarm['timestamp'])
    alarm['state_timestamp'] = aodh_time(alarm['state_timestamp'])
    if alarm['type'] == 'event':
        alarm['event_type'] = fields.get('event_type')
    if fields.get('vitrage_id'):
        alarm['vitrage_id'] = fields['vitrage_id']
    return alarm


_ALARM = 'alarm'
_DELETE_ENTITY = 'delete_entity'


class AlarmStates:
    """What the Aodh adapter sends Vitrage, as Vitrage's own Aodh driver chooses.

    Vitrage's transformer makes a vertex of every alarm it is given, so only
    alarms in state ``alarm`` are sent, plus those that were and no longer
    are (the transformer deletes their vertex) and, as deletes, those that
    were and are gone. Remembers the last fields of every alarm (bounded by
    what Aodh has: a poll replaces them all), to complete notifications and
    to send deletes. Thread-safe: polls and notifications may interleave.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, Mapping[str, Any]] = {}
        self._raised: set[str] = set()

    def polled(self, events: Iterable[Event], *, changes_only: bool = False
               ) -> list[dict[str, Any]]:
        """The alarms to send after a complete poll.

        :param changes_only: only alarms whose state changed since the last
            poll, new alarms in state ``alarm``, and deletes (Vitrage's
            ``get_changes``); else every alarm in state ``alarm`` too
            (``get_all``).
        """
        sent: list[dict[str, Any]] = []
        with self._lock:
            known, raised = self._known, self._raised
            self._known, self._raised = {}, set()
            for event in events:
                fields = event.fields
                self._known[event.entity_id] = fields
                now_raised = fields.get('state') == _ALARM
                if now_raised:
                    self._raised.add(event.entity_id)
                before = known.get(event.entity_id)
                changed = before is None or before.get('state') != fields.get('state')
                if ((now_raised or event.entity_id in raised)
                        and (changed or not changes_only)):
                    sent.append(aodh_alarm(fields))
            for alarm_id in sorted(raised - self._known.keys()):
                gone = aodh_alarm(known[alarm_id])
                gone['vitrage_event_type'] = _DELETE_ENTITY
                sent.append(gone)
        return sent

    def notified(self, event: Event, event_type: str) -> dict[str, Any] | None:
        """The alarm to send after a notification's ``event``, or ``None``.

        ``None`` when the alarm neither is nor was in state ``alarm`` (a
        deletion of an alarm never sent among them: Vitrage has no vertex
        for it).
        """
        with self._lock:
            was_raised = event.entity_id in self._raised
            now_raised = not event.deleted and event.fields.get('state') == _ALARM
            if event.deleted:
                self._known.pop(event.entity_id, None)
            else:
                self._known[event.entity_id] = event.fields
            if now_raised:
                self._raised.add(event.entity_id)
            else:
                self._raised.discard(event.entity_id)
        if not (now_raised or was_raised):
            return None
        alarm = aodh_alarm(event.fields)
        alarm['vitrage_event_type'] = _DELETE_ENTITY if event.deleted else event_type
        return alarm

    def lookup(self, entity_id: str) -> Mapping[str, Any] | None:
        """The fields last seen of alarm ``entity_id``."""
        with self._lock:
            return self._known.get(entity_id)

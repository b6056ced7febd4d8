"""Turning mapped Heat fields into events: identities, deletes and versions.

Entity ids:

* ``heat.stack``: the stack id (a UUID).
* ``heat.resource``: ``<stack_id>/<resource_name>``, the id of the stack
  the resource belongs to (the nested stack for a resource of a nested
  stack) and its logical name. Unlike the physical id it exists before the
  resource is created, never changes when Heat replaces the resource, and
  is unique; the physical id is a field, to link the resource to what it
  created.

A stack whose status is ``DELETE_IN_PROGRESS`` or ``DELETE_COMPLETE`` is
gone as far as the graph is concerned: its event is a delete.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from vitrage_ds.drivers.heat import links
from vitrage_ds.drivers.heat.fields import (RESOURCE_FROM_LISTING, FieldError,
                                            iso_time, map_fields)
from vitrage_ds.event import DELETE_ENTITY, Action, Event, Phase, Version, parse_time

__all__ = [
    'DELETED_STATUSES',
    'RESOURCE',
    'STACK',
    'Observation',
    'StackInfo',
    'resource_events',
    'resource_id',
    'stack_event',
]

LOG = logging.getLogger(__name__)

STACK = 'heat.stack'
RESOURCE = 'heat.resource'

#: Stack statuses that make the stack's event a delete.
DELETED_STATUSES = frozenset({'DELETE_IN_PROGRESS', 'DELETE_COMPLETE'})


@dataclasses.dataclass(frozen=True)
class Observation:
    """When and how the driver saw a state: shared by the events of one poll
    or one notification.

    :ivar observed: POSIX seconds: the poll's start or the bus envelope's
        timestamp (the second part of every version).
    :ivar action: ``SNAPSHOT`` for polls, ``UPDATE`` for notifications.
    :ivar event_type: the bus event type, ``None`` for polls.
    :ivar phase: ``START`` for ``*.start`` notifications, else ``END``.
    :ivar datasource: the driver's name.
    :ivar sample_date: ``observed`` as ISO 8601 UTC.
    """

    observed: float
    action: Action
    event_type: str | None
    phase: Phase
    datasource: str
    sample_date: str = dataclasses.field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, 'sample_date', iso_time(self.observed))


class StackInfo(NamedTuple):
    """What a stack's resources inherit from it."""

    id: str
    name: str | None
    project: str | None
    parent: str | None
    scope: str


def resource_id(stack_id: str, resource_name: str) -> str:
    """The entity id of a ``heat.resource``."""
    return f'{stack_id}/{resource_name}'


def _source_time(fields: Mapping[str, Any]) -> float:
    return (parse_time(fields.get('updated_time'))
            or parse_time(fields.get('creation_time')) or 0.0)


def _event(entity_type: str, entity_id: str, fields: Mapping[str, Any],
           obs: Observation, deleted: bool) -> Event:
    return Event(datasource=obs.datasource,
                 entity_type=entity_type,
                 entity_id=entity_id,
                 fields=fields,
                 action=obs.action,
                 event_type=DELETE_ENTITY if deleted else obs.event_type,
                 sample_date=obs.sample_date,
                 version=Version(_source_time(fields), obs.observed, obs.phase))


def stack_event(fields: Mapping[str, Any], obs: Observation,
                deleted: bool | None = None) -> Event:
    """The event of one stack; a delete when ``deleted`` is true or, when it
    is ``None``, when the status is one of :data:`DELETED_STATUSES`.

    Its version is the stack's ``updated_time`` (or ``creation_time``),
    then ``obs.observed``, then ``obs.phase``.
    """
    if deleted is None:
        deleted = fields.get('status') in DELETED_STATUSES
    return _event(STACK, fields['stack_id'], fields, obs, deleted)


def resource_events(items: Iterable[Any], listed: StackInfo,
                    obs: Observation) -> list[Event]:
    """The events of the resources Heat listed for the stack ``listed``.

    With ``nested_depth`` the listing also holds the resources of nested
    stacks: each names its own stack in its ``rel=stack`` link, and its
    parent resource is the resource of the same listing whose ``rel=nested``
    link names that stack. A resource of ``listed`` itself has the parent
    resource ``<listed.parent>/<parent_resource>`` when ``listed`` is nested.

    :raises FieldError: an item is not an object or has no usable name.
    """
    rows: list[tuple[dict[str, Any], links.StackRef, links.StackRef | None]] = []
    owners: dict[str, str] = {}
    # The resources of one stack share its href: read each href once.
    stacks: dict[str | None, links.StackRef | None] = {}
    for item in items:
        if not isinstance(item, Mapping):
            raise FieldError(f'a resource is a {type(item).__name__}, not an object')
        fields, problems = map_fields(RESOURCE_FROM_LISTING, item)
        if problems:
            LOG.warning('resource %s of stack %s: wrong values read as none: %s',
                        fields['resource_name'], listed.id, '; '.join(problems))
        refs = links.hrefs(item)
        href = refs.get('stack')
        if href not in stacks:
            stacks[href] = links.stack_in(href)
        own = stacks[href] or links.StackRef(listed.name or '', listed.id)
        nested = links.stack_in(refs.get('nested'))
        if nested is not None:
            owners[nested.id] = resource_id(own.id, fields['resource_name'])
        rows.append((fields, own, nested))

    events = []
    for fields, own, nested in rows:
        if own.id == listed.id:
            parent_resource_id = (
                resource_id(listed.parent, fields['parent_resource'])
                if listed.parent and fields['parent_resource'] else None)
        else:
            parent_resource_id = owners.get(own.id)
        fields.update(
            stack_id=own.id,
            stack_name=own.name or None,
            nested_stack_id=nested.id if nested else None,
            parent_resource_id=parent_resource_id,
            user_project_id=listed.project,
            scope=listed.scope,
        )
        events.append(_event(RESOURCE, resource_id(own.id, fields['resource_name']),
                             fields, obs, deleted=False))
    return events

"""Finding stacks: by name, status, project, tag, or what their nested tree holds.

Heat's notifications never carry a stack's template or resources, so the
search reads them from the API. What Heat can filter itself is sent to it;
the rest is matched here:

==================  ===============================================  ================
filter              sent to Heat                                     matched here
==================  ===============================================  ================
name                ``name=`` when it has no glob characters         the glob
status              ``status=`` (``COMPLETE`` or ``CREATE_COMPLETE``,  the exact status
                    not both kinds at once)
project             ``tenant=``                                      the stack's project
tag (repeatable)    ``tags=a,b`` alone, ``tags_any=a,b`` with other  all of them
                    filters (see below)
resource type       ``type=`` when it has no glob characters         the glob
resource name       ``name=`` when it has no glob characters         the glob
==================  ===============================================  ================

Heat 27 answers 500 to ``tags`` combined with any other filter (its tag
join loses the stack columns), while ``tags_any`` combines fine: with other
filters the tags go as ``tags_any`` (stacks with any of them) and all of
them are checked here.

The API calls, on ``.../v1/{project_id}``:

1. ``GET stacks?global_tenant=true&<stack filters>&limit=N`` and its
   ``rel=next`` pages (the credentials' project after Heat's default-policy
   403, as the driver does: one
   :meth:`~vitrage_ds.drivers.heat.api.HeatAPI.list_stacks`);
   ``show_nested=true`` only when nested stacks are results too.
2. With a resource filter, for each listed stack (not being deleted):
   ``GET stacks/{name}/{id}/resources?nested_depth=D&<resource filters>``,
   which Heat answers with the matching resources anywhere in the stack's
   nested tree down to ``D`` levels (Heat caps it at its
   ``max_nested_stack_depth``, 5 by default).
3. With ``with_template``, for each found stack: one
   ``GET stacks/{name}/{id}/resources?nested_depth=D`` to find its nested
   stacks, then ``GET stacks/{name}/{id}/template`` for it and each of them.

Each step is one bounded :meth:`~vitrage_ds.http.client.Client.fan_out`.
A failed call raises :class:`~vitrage_ds.errors.BackendError`: a search
never answers with the results of part of the stacks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fnmatch
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from vitrage_ds.drivers.heat import links
from vitrage_ds.drivers.heat.api import HeatAPI
from vitrage_ds.drivers.heat.driver import HeatStackDriver
from vitrage_ds.drivers.heat.events import DELETED_STATUSES
from vitrage_ds.errors import BackendError, MalformedResponse

if TYPE_CHECKING:
    from oslo_config import cfg

    from vitrage_ds.http.client import Client
    from vitrage_ds.plugin import ClientFactory

__all__ = ['MAX_DEPTH', 'FoundStack', 'NestedTemplate', 'StackQuery', 'StackSearch',
           'is_glob']

#: Heat's default ``max_nested_stack_depth``: deeper ``nested_depth`` is capped.
MAX_DEPTH = 5

_STATUSES = ('COMPLETE', 'FAILED', 'IN_PROGRESS')


def is_glob(pattern: str) -> bool:
    """Whether ``pattern`` has shell-glob characters (``*``, ``?``, ``[``)."""
    return any(c in pattern for c in '*?[')


@dataclasses.dataclass(frozen=True)
class StackQuery:
    """What to look for; every given filter must match.

    :ivar name: the stack name, a shell glob (``web-*``).
    :ivar status: any of these statuses: a whole one (``CREATE_FAILED``) or
        its last part (``FAILED``, ``COMPLETE``, ``IN_PROGRESS``).
    :ivar project: the owning project's id.
    :ivar tags: every one of these tags.
    :ivar resource_type: a resource of this type (glob) somewhere in the
        stack's nested tree.
    :ivar resource_name: a resource of this name (glob) there; with
        ``resource_type``, the same resource must match both.
    :ivar nested: nested stacks are results too (their own trees searched).
    :ivar depth: how many levels of nested stacks the tree search covers.
    """

    name: str | None = None
    status: Sequence[str] = ()
    project: str | None = None
    tags: Sequence[str] = ()
    resource_type: str | None = None
    resource_name: str | None = None
    nested: bool = False
    depth: int = MAX_DEPTH

    def __post_init__(self) -> None:
        for status in self.status:
            if not status.endswith(_STATUSES):
                raise ValueError(f'status {status!r} must be COMPLETE, FAILED, IN_PROGRESS '
                                 f'or ACTION_STATUS such as CREATE_FAILED')
        if self.depth < 0:
            raise ValueError('depth must be 0 or more')
        for tag in self.tags:
            if not tag or ',' in tag:
                raise ValueError(f'tag {tag!r} must be non-empty and without a comma')

    @property
    def by_resource(self) -> bool:
        """Whether the stacks' trees must be searched."""
        return self.resource_type is not None or self.resource_name is not None

    def stack_params(self) -> list[tuple[str, str]]:
        """The stack-listing filters Heat applies itself."""
        params: list[tuple[str, str]] = []
        if self.name is not None and not is_glob(self.name):
            params.append(('name', self.name))
        bare = [s in _STATUSES for s in self.status]
        if all(bare) or not any(bare):
            # Heat turns CREATE_FAILED into action=CREATE and status=FAILED
            # for the whole listing: mixed with a bare FAILED, that action
            # would leave out UPDATE_FAILED stacks. Mixed ones are matched here only.
            params.extend(('status', s) for s in self.status)
        if self.project is not None:
            params.append(('tenant', self.project))
        if self.tags:
            # Heat 27 fails "tags" with any other filter; "tags_any" works.
            params.append(('tags_any' if params else 'tags', ','.join(self.tags)))
        if self.nested:
            params.append(('show_nested', 'true'))
        return params

    def resource_params(self) -> dict[str, Any]:
        """The resource-listing filters Heat applies itself (with ``nested_depth``)."""
        params: dict[str, Any] = {'nested_depth': self.depth}
        if self.resource_type is not None and not is_glob(self.resource_type):
            params['type'] = self.resource_type
        if self.resource_name is not None and not is_glob(self.resource_name):
            params['name'] = self.resource_name
        return params

    def matches_stack(self, stack: Mapping[str, Any]) -> bool:
        """Whether a listing item passes the stack filters."""
        name = stack.get('stack_name')
        if self.name is not None and not (
                isinstance(name, str) and fnmatch.fnmatchcase(name, self.name)):
            return False
        status = stack.get('stack_status')
        if self.status and not (isinstance(status, str) and any(
                status == s or status.endswith(f'_{s}') for s in self.status)):
            return False
        if self.project is not None and _project(stack) != self.project:
            return False
        tags = stack.get('tags') or []
        return set(self.tags) <= set(tags if isinstance(tags, list) else [])

    def matches_resource(self, resource: Mapping[str, Any]) -> bool:
        """Whether a resource passes the resource filters."""
        for pattern, key in ((self.resource_type, 'resource_type'),
                             (self.resource_name, 'resource_name')):
            value = resource.get(key)
            if pattern is not None and not (
                    isinstance(value, str) and fnmatch.fnmatchcase(value, pattern)):
                return False
        return True


@dataclasses.dataclass
class NestedTemplate:
    """The template of one stack of a found stack's nested tree.

    :ivar stack_id: the nested stack.
    :ivar stack_name: its name.
    :ivar parent_id: the stack whose resource made it.
    :ivar resource_name: that resource.
    :ivar template: the nested stack's own template.
    """

    stack_id: str
    stack_name: str
    parent_id: str | None
    resource_name: str | None
    template: Any = None


@dataclasses.dataclass
class FoundStack:
    """One search result.

    :ivar stack: the stack's listing item, as Heat gave it.
    :ivar matches: the resources that matched the resource filters (none
        without such a filter).
    :ivar template: the stack's template (with ``with_template``).
    :ivar nested_templates: its nested stacks' templates, tree order.
    """

    stack: Mapping[str, Any]
    matches: list[Mapping[str, Any]] = dataclasses.field(default_factory=list)
    template: Any = None
    nested_templates: list[NestedTemplate] = dataclasses.field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.stack['id'])

    @property
    def name(self) -> str:
        return str(self.stack.get('stack_name'))

    def as_dict(self, with_template: bool = False) -> dict[str, Any]:
        """A flat view: the stack's fields, the matched resources, the templates."""
        tags = self.stack.get('tags')
        row: dict[str, Any] = {
            'id': self.id,
            'name': self.stack.get('stack_name'),
            'project': _project(self.stack),
            'status': self.stack.get('stack_status'),
            'tags': list(tags) if isinstance(tags, list) else [],
            'parent': self.stack.get('parent'),
            'matches': [_match(r) for r in self.matches],
        }
        if with_template:
            row['template'] = self.template
            row['nested_templates'] = [dataclasses.asdict(n) for n in self.nested_templates]
        return row


class StackSearch:
    """Searches Heat's stacks through one API client.

    :param client: the orchestration client (``.../v1/{project_id}``).
    :param all_projects: search every project's stacks when Heat's policy
        allows it (see :meth:`~vitrage_ds.drivers.heat.api.HeatAPI.list_stacks`).
    :param page_size: stacks per page of the listing; 0: one response.
    """

    def __init__(self, client: Client, *, all_projects: bool = True,
                 page_size: int = 1000) -> None:
        self.client = client
        self.api = HeatAPI(client, all_projects=all_projects, page_size=page_size)
        self.all_projects = all_projects
        self.page_size = page_size

    @classmethod
    def from_config(cls, conf: cfg.ConfigOpts,
                    client_factory: ClientFactory | None = None) -> StackSearch:
        """A search with the ``heat.stack`` driver's client and options
        (``endpoint_override``, ``all_projects``, ``page_size``,
        ``max_parallel_calls``); see :meth:`HeatTables.from_config
        <vitrage_ds.drivers.heat.tables.HeatTables.from_config>`."""
        heat, options = HeatStackDriver.api_from_config(conf, client_factory)
        return cls(heat.client, all_projects=options.all_projects, page_size=options.page_size)

    def search(self, query: StackQuery, with_template: bool = False) -> list[FoundStack]:
        """The stacks matching ``query``, in Heat's listing order (newest first).

        :param with_template: add each found stack's template and its nested
            stacks' templates.
        :raises BackendError: a call failed (nothing partial is returned).
        """
        listing, _scope = self.api.list_stacks(_merged(query.stack_params()))
        with contextlib.closing(listing):
            found = [FoundStack(item) for item in listing
                     if isinstance(item, Mapping) and query.matches_stack(item)]
        if query.by_resource:
            found = self._by_resource(found, query)
        if with_template:
            self._add_templates(found, query.depth)
        return found

    def _by_resource(self, found: list[FoundStack], query: StackQuery) -> list[FoundStack]:
        alive = [f for f in found if f.stack.get('stack_status') not in DELETED_STATUSES]
        params = query.resource_params()
        trees = self.client.fan_out(lambda f: self._resources(f.stack, params), alive)
        kept = []
        for result, resources in zip(alive, trees):
            result.matches = [r for r in resources if query.matches_resource(r)]
            if result.matches:
                kept.append(result)
        return kept

    def _add_templates(self, found: list[FoundStack], depth: int) -> None:
        alive = [f for f in found if f.stack.get('stack_status') not in DELETED_STATUSES]
        trees = self.client.fan_out(
            lambda f: self._resources(f.stack, {'nested_depth': depth}), alive)
        jobs: list[tuple[FoundStack, NestedTemplate | None, str, str]] = []
        for result, resources in zip(alive, trees):
            jobs.append((result, None, result.name, result.id))
            for resource in resources:
                nested = links.nested_stack(resource)
                if nested is None:
                    continue
                owner = links.stack(resource, 'stack')
                tree = NestedTemplate(nested.id, nested.name, owner.id if owner else None,
                                      resource.get('resource_name'))
                result.nested_templates.append(tree)
                jobs.append((result, tree, nested.name, nested.id))
        templates = self.client.fan_out(lambda job: self._template(job[2], job[3]), jobs)
        for (result, entry, _, _), template in zip(jobs, templates):
            if entry is None:
                result.template = template
            else:
                entry.template = template

    def _resources(self, stack: Mapping[str, Any], params: Mapping[str, Any]
                   ) -> list[Mapping[str, Any]]:
        name, stack_id = _identity(stack)
        try:
            items = self.api.resources(name, stack_id, params)
        except MalformedResponse:
            raise  # its message names the stack's URL already
        except BackendError as exc:
            raise BackendError(f'resources of stack {name} ({stack_id}) could not be '
                               f'read: {exc}') from exc
        return [item for item in items if isinstance(item, Mapping)]

    def _template(self, name: str, stack_id: str) -> Any:
        try:
            return self.api.template(name, stack_id)
        except BackendError as exc:
            raise BackendError(f'template of stack {name} ({stack_id}) could not be read: '
                               f'{exc}') from exc


def _identity(stack: Mapping[str, Any]) -> tuple[str, str]:
    name, stack_id = stack.get('stack_name'), stack.get('id')
    if not isinstance(name, str) or not isinstance(stack_id, str):
        raise MalformedResponse('GET', 'stacks', 'a stack has no stack_name or id')
    return name, stack_id


def _project(stack: Mapping[str, Any]) -> str | None:
    project = stack.get('project')
    return project if isinstance(project, str) and project else links.project(stack)


def _match(resource: Mapping[str, Any]) -> dict[str, Any]:
    owner = links.stack(resource, 'stack')
    return {'resource_name': resource.get('resource_name'),
            'resource_type': resource.get('resource_type'),
            'physical_resource_id': resource.get('physical_resource_id'),
            'stack_id': owner.id if owner else None,
            'stack_name': owner.name if owner else None}


def _merged(params: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Query pairs as a dict, repeated names as lists (requests sends each)."""
    merged: dict[str, Any] = {}
    for key, value in params:
        if key in merged:
            previous = merged[key]
            merged[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            merged[key] = value
    return merged

"""Heat's state in the emulated cloud: stacks, their resources, and changes.

Stacks are small slotted records; a stack's resources are generated from
``(seed, stack id, index)`` when first asked for and only stored once they
change, so 10,000 stacks of 10 resources cost a few megabytes.

Every change goes through :class:`HeatStore` methods, which follow Heat's
state machine (``<ACTION>_IN_PROGRESS`` -> ``<ACTION>_COMPLETE`` or
``<ACTION>_FAILED``) and, when ``notify`` is true, publish the notification
Heat's engine sends at each step (see :func:`notification_payload`).
"""

from __future__ import annotations

import datetime
import string
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from vitrage_ds_testing.cloud import notifications
from vitrage_ds_testing.cloud.keystone import Identity
from vitrage_ds_testing.cloud.seed import EPOCH, Ids, derived_uuid, heat_time, utcnow

__all__ = ['ACTIONS', 'HeatStore', 'ResourceRecord', 'StackRecord', 'nested_type',
           'notification_payload']

#: Heat's stack actions.
ACTIONS = ('CREATE', 'DELETE', 'UPDATE', 'ROLLBACK', 'SUSPEND', 'RESUME', 'ADOPT',
           'SNAPSHOT', 'CHECK', 'RESTORE')
_PHASE_STATUS = {'start': 'IN_PROGRESS', 'end': 'COMPLETE', 'error': 'FAILED'}

_RESOURCE_TYPES = (
    ('server', 'OS::Nova::Server'), ('port', 'OS::Neutron::Port'),
    ('net', 'OS::Neutron::Net'), ('subnet', 'OS::Neutron::Subnet'),
    ('volume', 'OS::Cinder::Volume'), ('attachment', 'OS::Cinder::VolumeAttachment'),
    ('secgroup', 'OS::Neutron::SecurityGroup'), ('fip', 'OS::Neutron::FloatingIP'),
    ('password', 'OS::Heat::RandomString'), ('marker', 'OS::Heat::None'),
)


def nested_type(resource_name: str) -> str:
    """The type of resource ``resource_name`` owning a nested stack.

    A template resource named after its file (``child.yaml``), as real Heat
    shows one. Not ``OS::Heat::Stack``: that type makes a *remote* stack
    through Heat's API, with no parent and no ``nested`` link.
    """
    return f'{resource_name}.yaml'


class ResourceRecord:
    """One resource of a stack, in Heat's own terms."""

    __slots__ = ('name', 'type', 'physical_id', 'action', 'status', 'reason', 'created',
                 'updated', 'required_by', 'nested_id', 'description')

    def __init__(self, name: str, type_: str, physical_id: str, action: str, status: str,
                 reason: str, created: datetime.datetime, updated: datetime.datetime | None,
                 required_by: list[str], nested_id: str | None = None,
                 description: str = '') -> None:
        self.name = name
        self.type = type_
        self.physical_id = physical_id
        self.action = action
        self.status = status
        self.reason = reason
        self.created = created
        self.updated = updated
        self.required_by = required_by
        self.nested_id = nested_id
        self.description = description


class StackRecord:
    """One stack, in Heat's own terms (``action`` and ``status`` apart)."""

    __slots__ = ('id', 'name', 'project_id', 'user_id', 'user_name', 'action', 'status',
                 'reason', 'created', 'updated', 'deleted', 'description', 'tags', 'parent',
                 'parent_resource', 'stack_user_project_id', 'resource_count', 'resources',
                 'nested', 'timeout_mins', 'disable_rollback')

    def __init__(self, id: str, name: str, project_id: str,  # noqa: A002
                 user_id: str, user_name: str,
                 created: datetime.datetime, *, action: str = 'CREATE',
                 status: str = 'COMPLETE', reason: str = '', description: str = '',
                 tags: Sequence[str] = (), parent: str | None = None,
                 parent_resource: str | None = None, stack_user_project_id: str = '',
                 resource_count: int = 0) -> None:
        self.id = id
        self.name = name
        self.project_id = project_id
        self.user_id = user_id
        self.user_name = user_name
        self.action = action
        self.status = status
        self.reason = reason or _reason(action, status)
        self.created = created
        self.updated: datetime.datetime | None = None
        self.deleted: datetime.datetime | None = None
        self.description = description
        self.tags = tuple(tags)
        self.parent = parent
        self.parent_resource = parent_resource
        self.stack_user_project_id = stack_user_project_id
        self.resource_count = resource_count
        #: Materialised resources once one changed; ``None``: generated.
        self.resources: list[ResourceRecord] | None = None
        #: Index of a generated resource -> id of its nested stack.
        self.nested: dict[int, str] = {}
        self.timeout_mins: int | None = None
        self.disable_rollback = True

    @property
    def stack_status(self) -> str:
        return f'{self.action}_{self.status}'

    @property
    def is_deleted(self) -> bool:
        return self.action == 'DELETE' and self.status == 'COMPLETE'


def _reason(action: str, status: str) -> str:
    if status == 'IN_PROGRESS':
        return f'Stack {action} started'
    if status == 'COMPLETE':
        return f'Stack {action} completed successfully'
    return f'Resource {action} failed: emulated failure'


def notification_payload(stack: StackRecord) -> dict[str, Any]:
    """The payload Heat's engine sends for ``stack`` in its current state.

    Keys as Heat's ``format_notification_body``: ``user_id`` carries the
    user NAME (deprecated), ``user_identity`` the user id; ``create_at``
    (sic); ``stack_identity`` is the stack id.
    """
    return {
        'tenant_id': stack.project_id,
        'user_id': stack.user_name,
        'user_identity': stack.user_id,
        'username': stack.user_name,
        'stack_identity': stack.id,
        'stack_name': stack.name,
        'state': stack.stack_status,
        'state_reason': stack.reason,
        'create_at': heat_time(stack.created),
        'tags': list(stack.tags),
        'updated_at': heat_time(stack.updated),
        'description': stack.description,
    }


class HeatStore:
    """Every stack of the emulated Heat; thread-safe.

    :param seed: makes generated ids, names and times reproducible.
    :param identity: users and projects (owners of the stacks).
    :param bus: where notifications go.
    """

    def __init__(self, seed: int, identity: Identity, bus: notifications.NotificationBus,
                 default_project: str, default_user: str) -> None:
        self.seed = seed
        self.identity = identity
        self.bus = bus
        self.default_project = default_project
        self.default_user = default_user
        self.publisher_id = notifications.SERVICES[notifications.HEAT]['publisher_id']
        self.stacks: dict[str, StackRecord] = {}
        self.lock = threading.RLock()
        self._ids = Ids(seed, 'heat')
        self._order: list[StackRecord] | None = None
        self._serial = 0
        #: Makes ``n`` projects for ``populate(projects=n)``.
        self.project_factory: Callable[[int], list[str]] | None = None
        #: Heat's ``[DEFAULT] hidden_stack_tags`` (none by default): stacks
        #: with one of these tags are listed only with ``show_hidden=true``.
        self.hidden_tags: frozenset[str] = frozenset()

    # -- reading ---------------------------------------------------------

    def __len__(self) -> int:
        with self.lock:
            return len(self.stacks)

    def get(self, stack_id: str) -> StackRecord:
        """The stack ``stack_id``. :raises KeyError: no such stack."""
        with self.lock:
            return self.stacks[stack_id]

    def by_name(self, name: str, project_id: str | None = None) -> StackRecord | None:
        """The live stack named ``name`` (in ``project_id``), if any."""
        with self.lock:
            for stack in self.stacks.values():
                if stack.name == name and not stack.is_deleted and (
                        project_id is None or stack.project_id == project_id):
                    return stack
        return None

    def ordered(self) -> list[StackRecord]:
        """Every stack, newest first (Heat's default order), ties by id."""
        with self.lock:
            if self._order is None:
                self._order = sorted(self.stacks.values(),
                                     key=lambda s: (s.created, s.id), reverse=True)
            return self._order

    def children(self, stack_id: str) -> list[StackRecord]:
        with self.lock:
            return [s for s in self.stacks.values() if s.parent == stack_id]

    def resources(self, stack: StackRecord) -> list[ResourceRecord]:
        """``stack``'s resources, in template order."""
        with self.lock:
            if stack.resources is not None:
                return list(stack.resources)
            return [self._generate(stack, i) for i in range(stack.resource_count)]

    def _generate(self, stack: StackRecord, index: int) -> ResourceRecord:
        nested_id = stack.nested.get(index)
        if nested_id is not None:
            name = f'nested_{index}'
            type_ = nested_type(name)
            physical = nested_id
        else:
            short, type_ = _RESOURCE_TYPES[index % len(_RESOURCE_TYPES)]
            name = f'{short}_{index}'
            physical = derived_uuid(self.seed, stack.id, index)
        status = stack.status
        reason = 'state changed'
        if stack.status == 'FAILED':
            status, reason = (('FAILED', stack.reason) if index == 0 else ('COMPLETE', reason))
        created = stack.created + datetime.timedelta(seconds=1)
        # Every other resource is a dependency of the first one.
        first = f'{_RESOURCE_TYPES[0][0]}_0' if 0 not in stack.nested else 'nested_0'
        return ResourceRecord(name, type_, physical, stack.action, status, reason, created,
                              stack.updated, [first] if index else [], nested_id)

    def _materialise(self, stack: StackRecord) -> list[ResourceRecord]:
        if stack.resources is None:
            stack.resources = [self._generate(stack, i) for i in range(stack.resource_count)]
        return stack.resources

    # -- seeding ---------------------------------------------------------

    def populate(self, stacks: int = 100, resources_per_stack: int = 10, *,
                 projects: Sequence[str] | int | None = None, nested: int = 0,
                 failed: float = 0.0, tags: Sequence[str] = ('emulated',)) -> list[StackRecord]:
        """Add ``stacks`` top-level stacks, deterministically from the seed.

        :param projects: project ids to spread the stacks over, or how many
            projects to create (``project-0``...); default: the admin project.
        :param nested: how many of the new stacks get one nested child
            stack (attached to a template resource, see
            :func:`nested_type`), counted
            from the oldest.
        :param failed: the fraction of stacks left in ``CREATE_FAILED``.
        :param tags: tags of every stack (some stacks also get ``odd``).
        :returns: the new top-level stacks, oldest first. No notification
            is sent: this is the state before the test starts.
        """
        project_ids = self._project_ids(projects)
        users = self._users_for(project_ids)
        made: list[StackRecord] = []
        with self.lock:
            rng = self._ids.rng
            for _ in range(stacks):
                self._serial += 1
                project = project_ids[self._serial % len(project_ids)]
                user_id, user_name = users[project][self._serial % len(users[project])]
                stack_tags = list(tags) + (['odd'] if self._serial % 2 else [])
                bad = failed > 0 and rng.random() < failed
                stack = StackRecord(
                    self._ids.uuid(), f'stack-{self._serial:05d}', project, user_id, user_name,
                    EPOCH + datetime.timedelta(seconds=self._serial),
                    status='FAILED' if bad else 'COMPLETE',
                    description=f'Emulated stack {self._serial}', tags=stack_tags,
                    stack_user_project_id=self._ids.hex(), resource_count=resources_per_stack)
                self.stacks[stack.id] = stack
                made.append(stack)
            for parent in made[:nested]:
                index = max(parent.resource_count - 1, 0)
                if parent.resource_count == 0:
                    parent.resource_count = 1
                child = self._new_child(parent, f'nested_{index}', resources_per_stack,
                                        parent.created + datetime.timedelta(milliseconds=500))
                parent.nested[index] = child.id
            self._order = None
        return made

    def _new_child(self, parent: StackRecord, resource_name: str, resource_count: int,
                   created: datetime.datetime) -> StackRecord:
        suffix = ''.join(self._ids.rng.choice(string.ascii_lowercase + string.digits)
                         for _ in range(12))
        child = StackRecord(
            self._ids.uuid(), f'{parent.name}-{resource_name}-{suffix}', parent.project_id,
            parent.user_id, parent.user_name, created, action=parent.action,
            status=parent.status, description='', tags=(), parent=parent.id,
            parent_resource=resource_name, stack_user_project_id=self._ids.hex(),
            resource_count=resource_count)
        self.stacks[child.id] = child
        return child

    def _project_ids(self, projects: Sequence[str] | int | None) -> list[str]:
        if projects is None:
            return [self.default_project]
        if isinstance(projects, int):
            if self.project_factory is None:
                raise ValueError('a project count needs a project factory')
            return self.project_factory(projects)
        return list(projects)

    def _users_for(self, project_ids: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        """Two owners per project: its seeded users, or the default user."""
        result: dict[str, list[tuple[str, str]]] = {}
        for pid in project_ids:
            owners = [(u.id, u.name) for u in self.identity.users.values()
                      if u.projects is not None and pid in u.projects]
            if not owners:
                user = self.identity.users[self.default_user]
                owners = [(user.id, user.name)]
            result[pid] = owners
        return result

    # -- changes ---------------------------------------------------------

    def create_stack(self, name: str, *, project_id: str | None = None,
                     user_id: str | None = None, resources: int = 3,
                     description: str = '', tags: Sequence[str] = (),
                     parent: str | None = None, parent_resource: str | None = None,
                     complete: bool = True, notify: bool = True) -> StackRecord:
        """Create a stack as Heat does: ``CREATE_IN_PROGRESS``, then complete.

        Publishes ``orchestration.stack.create.start`` and, when
        ``complete``, ``orchestration.stack.create.end``; with
        ``complete=False`` the stack stays in progress (finish it with
        :meth:`complete` or :meth:`fail`).

        :param parent: makes a nested stack of stack ``parent`` (which gets an
            template resource ``parent_resource`` pointing to it, see
            :func:`nested_type`).
        """
        with self.lock:
            owner = self.identity.users[user_id or self.default_user]
            now = utcnow()
            if parent is not None:
                mother = self.stacks[parent]
                resource_name = parent_resource or f'nested_{len(self.resources(mother))}'
                stack = self._new_child(mother, resource_name, resources, now)
                stack.action, stack.status = 'CREATE', 'IN_PROGRESS'
                stack.reason = _reason('CREATE', 'IN_PROGRESS')
                if name:
                    stack.name = name
                self._attach(mother, resource_name, stack.id)
            else:
                stack = StackRecord(
                    self._ids.uuid(), name, project_id or self.default_project, owner.id,
                    owner.name, now, status='IN_PROGRESS', description=description,
                    tags=tags, stack_user_project_id=self._ids.hex(), resource_count=resources)
                self.stacks[stack.id] = stack
            stack.description = description
            stack.tags = tuple(tags)
            self._order = None
            self._notify(stack, 'CREATE', 'start', notify)
            if complete:
                self._finish(stack, 'end', None, notify)
            return stack

    def _attach(self, parent: StackRecord, resource_name: str, child_id: str) -> None:
        resources = self._materialise(parent)
        for res in resources:
            if res.name == resource_name:
                res.type, res.physical_id = nested_type(resource_name), child_id
                res.nested_id = child_id
                return
        resources.append(ResourceRecord(
            resource_name, nested_type(resource_name), child_id, 'CREATE', 'COMPLETE',
            'state changed', utcnow(), None, [], child_id))
        parent.resource_count = len(resources)

    def begin(self, stack_id: str, action: str, *, notify: bool = True) -> StackRecord:
        """Start ``action`` on a stack: ``<ACTION>_IN_PROGRESS`` and ``.start``."""
        action = action.upper()
        if action not in ACTIONS:
            raise ValueError(f'unknown Heat action {action!r}')
        with self.lock:
            stack = self.stacks[stack_id]
            stack.action = action
            if action != 'CREATE':
                stack.updated = utcnow()
            self._notify(stack, action, 'start', notify)
            return stack

    def complete(self, stack_id: str, *, notify: bool = True) -> StackRecord:
        """Finish the stack's action: ``<ACTION>_COMPLETE`` and ``.end``."""
        with self.lock:
            stack = self.stacks[stack_id]
            self._finish(stack, 'end', None, notify)
            return stack

    def fail(self, stack_id: str, reason: str | None = None, *, action: str | None = None,
             notify: bool = True) -> StackRecord:
        """Fail the stack's action in progress (or start ``action`` and fail it).

        The stack becomes ``<ACTION>_FAILED`` with ``reason`` (default
        ``Resource <ACTION> failed: emulated failure``), its first resource
        too, and ``orchestration.stack.<action>.error`` goes out at ERROR
        priority. With ``action``, a ``.start`` comes first unless that
        action is already in progress.
        """
        with self.lock:
            stack = self.stacks[stack_id]
            if action is not None and (action.upper() != stack.action
                                       or stack.status != 'IN_PROGRESS'):
                self.begin(stack_id, action, notify=notify)
            self._finish(stack, 'error',
                         reason or f'Resource {stack.action} failed: emulated failure', notify)
            return stack

    def update_stack(self, stack_id: str, *, description: str | None = None,
                     tags: Sequence[str] | None = None, complete: bool = True,
                     notify: bool = True) -> StackRecord:
        """Update a stack: ``UPDATE_IN_PROGRESS`` then, if ``complete``, done."""
        with self.lock:
            stack = self.stacks[stack_id]
            if description is not None:
                stack.description = description
            if tags is not None:
                stack.tags = tuple(tags)
            self.begin(stack_id, 'UPDATE', notify=notify)
            if complete:
                self._finish(stack, 'end', None, notify)
            return stack

    def delete_stack(self, stack_id: str, *, complete: bool = True,
                     notify: bool = True) -> StackRecord:
        """Delete a stack (and its nested stacks first, as Heat does).

        ``DELETE_COMPLETE`` stacks are hidden from listings unless
        ``show_deleted=true``, and still shown by id.
        """
        with self.lock:
            for child in self.children(stack_id):
                if not child.is_deleted:
                    self.delete_stack(child.id, complete=complete, notify=notify)
            self.begin(stack_id, 'DELETE', notify=notify)
            stack = self.stacks[stack_id]
            if complete:
                self._finish(stack, 'end', None, notify)
            return stack

    def _finish(self, stack: StackRecord, phase: str, reason: str | None,
                notify: bool) -> None:
        status = _PHASE_STATUS[phase]
        stack.status = status
        stack.reason = reason or _reason(stack.action, status)
        if stack.action != 'CREATE':
            stack.updated = utcnow()
        if stack.is_deleted:
            stack.deleted = utcnow()
        if stack.resources is not None:
            for i, res in enumerate(stack.resources):
                res.action = stack.action
                res.status = 'FAILED' if status == 'FAILED' and i == 0 else (
                    'COMPLETE' if status == 'FAILED' else status)
                res.reason = stack.reason if res.status == 'FAILED' else 'state changed'
                res.updated = stack.updated
        self._notify(stack, stack.action, phase, notify)

    def _notify(self, stack: StackRecord, action: str, phase: str, notify: bool) -> None:
        stack.action = action
        if phase == 'start':
            stack.status = 'IN_PROGRESS'
            stack.reason = _reason(action, 'IN_PROGRESS')
            if stack.resources is not None:
                for res in stack.resources:
                    res.action, res.status = action, 'IN_PROGRESS'
        if not notify:
            return
        self.bus.emit(notifications.Notification(
            notifications.HEAT, self.publisher_id,
            f'orchestration.stack.{action.lower()}.{phase}',
            'error' if phase == 'error' else 'info', notification_payload(stack)))

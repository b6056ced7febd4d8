"""More of Heat's state in the emulated cloud: what stacks have besides resources.

:class:`HeatExtras` adds to a :class:`~vitrage_ds_testing.cloud.heat.HeatStore`
the templates, outputs, events, snapshots, resource metadata and attributes
of its stacks, and the project-level software configs and deployments. Like
the store's resources, all of it is generated from ``(seed, stack id)``
when first asked for, so a seeded cloud answers the same on every run, and
only what a test sets or creates is stored:

* template: ``heat_template_version: 2018-08-31``, the stack's description,
  one snippet per resource (a resource owning a nested stack is a template
  resource, ``type: <resource>.yaml``, as Heat stores it: the nested
  template is that stack's own ``GET .../template``), and the outputs;
* outputs: ``<resource>_id`` (``get_resource``) for the first two
  resources, ``<resource>_value`` (``get_attr``) for each
  ``OS::Heat::RandomString``;
* attributes: a random string's ``value``, a server's ``name`` and
  ``first_address``; metadata: a server's ``role``;
* events: rebuilt from the current state (Heat keeps a history; the
  emulator shows the create and the latest action): the stack's and each
  resource's ``CREATE_IN_PROGRESS`` and final create status, then the
  latest action's, newest first as Heat lists them; an event's detail
  carries its resource's properties (its template snippet's, or what
  ``set_properties`` set), ``{}`` for the stack's own events and, as in
  Heat 27, for an ``OS::Heat::None``;
* snapshots: one for about every fourth top-level stack that did not fail;
* software: for about every third top-level stack with a server as its
  first resource, one ``script`` config and one deployment of it to that
  server, ``COMPLETE`` with its output values (``FAILED`` with status code 1
  when the stack failed).

Reach it with :func:`extras_of` (``extras_of(cloud.heat)``); the routes are
in :mod:`~vitrage_ds_testing.cloud.heat_extra_api`. :func:`nested_tree`
builds a stack with nested stacks several levels deep.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
import threading
import weakref
from collections.abc import Mapping, Sequence
from typing import Any

from vitrage_ds_testing.cloud.heat import HeatStore, ResourceRecord, StackRecord
from vitrage_ds_testing.cloud.seed import Ids, derived_uuid, utcnow

__all__ = ['HOT_VERSION', 'RESOURCE_TYPES', 'ConfigRecord', 'DeploymentRecord',
           'EventRecord', 'HeatExtras', 'SnapshotRecord', 'extras_of', 'nested_tree']

HOT_VERSION = '2018-08-31'

#: What ``GET /resource_types`` lists: real Heat 27's types without other
#: services, plus the types the emulator's generated resources have.
RESOURCE_TYPES = tuple(sorted({
    'AWS::AutoScaling::AutoScalingGroup', 'AWS::AutoScaling::LaunchConfiguration',
    'AWS::AutoScaling::ScalingPolicy', 'AWS::CloudFormation::Stack',
    'AWS::CloudFormation::WaitCondition', 'AWS::CloudFormation::WaitConditionHandle',
    'AWS::EC2::InternetGateway', 'AWS::EC2::SecurityGroup', 'AWS::IAM::AccessKey',
    'AWS::IAM::User', 'AWS::ElasticLoadBalancing::LoadBalancer',
    'OS::Heat::AccessPolicy', 'OS::Heat::AutoScalingGroup', 'OS::Heat::CloudConfig',
    'OS::Heat::Delay', 'OS::Heat::DeployedServer', 'OS::Heat::InstanceGroup',
    'OS::Heat::MultipartMime', 'OS::Heat::None', 'OS::Heat::RandomString',
    'OS::Heat::ResourceChain', 'OS::Heat::ResourceGroup', 'OS::Heat::ScalingPolicy',
    'OS::Heat::SoftwareComponent', 'OS::Heat::SoftwareConfig',
    'OS::Heat::SoftwareDeployment', 'OS::Heat::SoftwareDeploymentGroup', 'OS::Heat::Stack',
    'OS::Heat::StructuredConfig', 'OS::Heat::StructuredDeployment',
    'OS::Heat::StructuredDeploymentGroup', 'OS::Heat::TestResource', 'OS::Heat::Value',
    'OS::Heat::WaitCondition', 'OS::Heat::WaitConditionHandle',
    'OS::Heat::UpdateWaitConditionHandle', 'OS::Nova::Server', 'OS::Neutron::Port',
    'OS::Neutron::Net', 'OS::Neutron::Subnet', 'OS::Neutron::SecurityGroup',
    'OS::Neutron::FloatingIP', 'OS::Cinder::Volume', 'OS::Cinder::VolumeAttachment',
}))

_SERVER = 'OS::Nova::Server'
#: The type Heat gives a stack's own events.
_STACK_EVENT_TYPE = 'OS::Heat::Stack'
_RANDOM = 'OS::Heat::RandomString'
_NONE = 'OS::Heat::None'
_ROLES = ('web', 'db', 'cache')


def _pick(*parts: object) -> int:
    """A number that is a pure function of ``parts``."""
    return int.from_bytes(hashlib.blake2b(':'.join(map(str, parts)).encode(),
                                          digest_size=8).digest(), 'big')


@dataclasses.dataclass
class EventRecord:
    """One event of a stack, in Heat's own terms (``seq`` orders equal times)."""

    id: str
    seq: int
    time: datetime.datetime
    resource_name: str
    physical_id: str
    resource_type: str
    action: str
    status: str
    reason: str


@dataclasses.dataclass
class SnapshotRecord:
    """One stack snapshot."""

    id: str
    stack_id: str
    name: str | None
    created: datetime.datetime
    data: dict[str, Any]
    action: str = 'CREATE'
    status: str = 'COMPLETE'
    reason: str = 'Stack SNAPSHOT completed successfully'


@dataclasses.dataclass
class ConfigRecord:
    """One software config; ``stack_id`` names the stack a seeded one came with."""

    id: str
    name: str | None
    group: str
    config: Any
    inputs: list[dict[str, Any]]
    outputs: list[dict[str, Any]]
    options: Any
    project_id: str
    created: datetime.datetime
    stack_id: str | None = None


@dataclasses.dataclass
class DeploymentRecord:
    """One software deployment; ``stack_id`` as for :class:`ConfigRecord`."""

    id: str
    config_id: str
    server_id: str
    input_values: Any
    output_values: Any
    action: str | None
    status: str | None
    reason: str | None
    project_id: str
    created: datetime.datetime
    updated: datetime.datetime | None = None
    stack_id: str | None = None


class HeatExtras:
    """Templates, outputs, events, snapshots, metadata, attributes and
    software of one :class:`~vitrage_ds_testing.cloud.heat.HeatStore`.

    Thread-safe: every method holds the store's lock.
    """

    def __init__(self, store: HeatStore) -> None:
        self.store = store
        self.seed = store.seed
        self.lock = store.lock
        self._templates: dict[str, dict[str, Any]] = {}
        self._outputs: dict[str, dict[str, tuple[Any, str]]] = {}
        self._metadata: dict[tuple[str, str], dict[str, Any]] = {}
        self._attributes: dict[tuple[str, str], dict[str, Any]] = {}
        self._properties: dict[tuple[str, str], dict[str, Any]] = {}
        self._snapshots: dict[str, list[SnapshotRecord]] = {}
        self._configs: dict[str, ConfigRecord] = {}
        self._deployments: dict[str, DeploymentRecord] = {}
        self._software_seen: set[str] = set()
        self._ids = Ids(store.seed, 'heat-extra')

    # -- templates and outputs -------------------------------------------

    def template(self, stack: StackRecord) -> dict[str, Any]:
        """The stack's template (set or generated)."""
        with self.lock:
            if stack.id in self._templates:
                return json.loads(json.dumps(self._templates[stack.id]))
            resources: dict[str, Any] = {}
            for res in self.store.resources(stack):
                resources[res.name] = self._snippet(stack, res)
            template: dict[str, Any] = {'heat_template_version': HOT_VERSION}
            if stack.description:
                template['description'] = stack.description
            template['resources'] = resources
            outputs = {key: {'value': definition, 'description': description}
                       for key, (definition, description, _value) in self._outputs_of(stack)}
            if outputs:
                template['outputs'] = outputs
            return template

    def _snippet(self, stack: StackRecord, res: ResourceRecord) -> dict[str, Any]:
        snippet: dict[str, Any] = {'type': res.type}
        if res.type == _SERVER:
            snippet['properties'] = {'image': 'cirros', 'flavor': 'm1.tiny'}
        elif res.type == _RANDOM:
            snippet['properties'] = {'length': 16}
        metadata = self.metadata(stack, res)
        if metadata:
            snippet['metadata'] = metadata
        return snippet

    def set_template(self, stack_id: str, template: Mapping[str, Any]) -> None:
        """Make ``GET .../template`` answer ``template`` for this stack."""
        with self.lock:
            self._templates[stack_id] = json.loads(json.dumps(template))

    def set_outputs(self, stack_id: str, outputs: Mapping[str, Any],
                    descriptions: Mapping[str, str] | None = None) -> None:
        """Replace the stack's outputs by ``{key: resolved value}``."""
        with self.lock:
            self._outputs[stack_id] = {
                key: (value, (descriptions or {}).get(key, 'No description given'))
                for key, value in outputs.items()}

    def outputs(self, stack: StackRecord) -> list[dict[str, Any]]:
        """The stack's outputs as Heat's show answers them (resolved)."""
        with self.lock:
            return [{'output_key': key, 'description': description, 'output_value': value}
                    for key, (_definition, description, value) in self._outputs_of(stack)]

    def _outputs_of(self, stack: StackRecord) -> list[tuple[str, tuple[Any, str, Any]]]:
        """``(key, (template definition, description, resolved value))``."""
        if stack.id in self._outputs:
            return [(key, (value, description, value))
                    for key, (value, description) in self._outputs[stack.id].items()]
        found: list[tuple[str, tuple[Any, str, Any]]] = []
        for index, res in enumerate(self.store.resources(stack)):
            if index < 2:
                found.append((f'{res.name}_id', ({'get_resource': res.name},
                                                 f'The id of {res.name}', res.physical_id)))
            if res.type == _RANDOM:
                found.append((f'{res.name}_value', (
                    {'get_attr': [res.name, 'value']}, f'The value of {res.name}',
                    self.attributes(stack, res).get('value'))))
        return found

    # -- resource metadata and attributes --------------------------------

    def metadata(self, stack: StackRecord, res: ResourceRecord) -> dict[str, Any]:
        """The resource's metadata (``GET .../resources/<name>/metadata``)."""
        with self.lock:
            known = self._metadata.get((stack.id, res.name))
            if known is not None:
                return dict(known)
            if res.type == _SERVER:
                return {'role': _ROLES[_pick(self.seed, stack.id, res.name, 'role') % 3]}
            return {}

    def set_metadata(self, stack_id: str, resource_name: str,
                     metadata: Mapping[str, Any]) -> None:
        with self.lock:
            self._metadata[(stack_id, resource_name)] = dict(metadata)

    def attributes(self, stack: StackRecord, res: ResourceRecord) -> dict[str, Any]:
        """The resource's resolved attributes (``with_detail``, resource show)."""
        with self.lock:
            known = self._attributes.get((stack.id, res.name))
            if known is not None:
                return dict(known)
            if res.type == _RANDOM:
                return {'value': derived_uuid(self.seed, stack.id, res.name)
                        .replace('-', '')[:16]}
            if res.type == _SERVER:
                number = _pick(self.seed, stack.id, res.name, 'address')
                return {'name': f'{stack.name}-{res.name}',
                        'first_address': f'10.{number % 256}.{number // 256 % 256}.'
                                         f'{number // 65536 % 254 + 1}'}
            return {}

    def set_attributes(self, stack_id: str, resource_name: str,
                       attributes: Mapping[str, Any]) -> None:
        with self.lock:
            self._attributes[(stack_id, resource_name)] = dict(attributes)

    def resource(self, stack: StackRecord, name: str) -> ResourceRecord | None:
        """The stack's resource ``name``, if it has one."""
        with self.lock:
            return next((r for r in self.store.resources(stack) if r.name == name), None)

    def properties(self, stack: StackRecord, res: ResourceRecord) -> dict[str, Any]:
        """The resource's properties as its events' details carry them: those
        set, else its template snippet's (``{}`` without any). Real Heat
        resolves intrinsic functions in them; a set template's are as given."""
        with self.lock:
            if res.type == _NONE:  # Heat 27 stores none for it, whatever it was given
                return {}
            known = self._properties.get((stack.id, res.name))
            if known is not None:
                return json.loads(json.dumps(known))
            snippet = self.template(stack).get('resources', {}).get(res.name)
            found = snippet.get('properties') if isinstance(snippet, Mapping) else None
            return dict(found) if isinstance(found, Mapping) else {}

    def set_properties(self, stack_id: str, resource_name: str,
                       properties: Mapping[str, Any]) -> None:
        """Make the resource's events carry ``properties`` (resolved values)."""
        with self.lock:
            self._properties[(stack_id, resource_name)] = json.loads(json.dumps(properties))

    # -- events ----------------------------------------------------------

    def event_properties(self, stack: StackRecord, event: EventRecord) -> dict[str, Any]:
        """``resource_properties`` of an event's detail: its resource's
        properties; ``{}`` for the stack's own events (Heat stores none)."""
        with self.lock:
            res = None if event.resource_type == _STACK_EVENT_TYPE else self.resource(
                stack, event.resource_name)
            return {} if res is None else self.properties(stack, res)

    def events(self, stack: StackRecord) -> list[EventRecord]:
        """The stack's events, newest first (ties: latest made first)."""
        with self.lock:
            made: list[EventRecord] = []

            def add(name: str, physical: str, type_: str, action: str, status: str,
                    reason: str, when: datetime.datetime) -> None:
                seq = len(made)
                made.append(EventRecord(
                    derived_uuid(self.seed, stack.id, 'event', seq, name, action, status),
                    seq, when, name, physical, type_, action, status, reason))

            resources = self.store.resources(stack)
            add(stack.name, stack.id, _STACK_EVENT_TYPE, 'CREATE', 'IN_PROGRESS',
                'Stack CREATE started', stack.created)
            for res in resources:
                add(res.name, '', res.type, 'CREATE', 'IN_PROGRESS', 'state changed',
                    res.created)
                created = res.status if res.action == 'CREATE' else 'COMPLETE'
                if created != 'IN_PROGRESS':
                    add(res.name, res.physical_id, res.type, 'CREATE', created,
                        res.reason if created == 'FAILED' else 'state changed', res.created)
            first_status = stack.status if stack.action == 'CREATE' else 'COMPLETE'
            ended = max([stack.created, *(r.created for r in resources)])
            if first_status != 'IN_PROGRESS':
                add(stack.name, stack.id, _STACK_EVENT_TYPE, 'CREATE', first_status,
                    stack.reason if stack.action == 'CREATE'
                    else 'Stack CREATE completed successfully', ended)
            if stack.action != 'CREATE':
                when = stack.updated or ended
                add(stack.name, stack.id, _STACK_EVENT_TYPE, stack.action, 'IN_PROGRESS',
                    f'Stack {stack.action} started', when)
                for res in resources:
                    if res.action == stack.action:
                        add(res.name, res.physical_id, res.type, res.action, 'IN_PROGRESS',
                            'state changed', res.updated or when)
                        if res.status != 'IN_PROGRESS':
                            add(res.name, res.physical_id, res.type, res.action, res.status,
                                res.reason, res.updated or when)
                if stack.status != 'IN_PROGRESS':
                    add(stack.name, stack.id, _STACK_EVENT_TYPE, stack.action, stack.status,
                        stack.reason, when)
            return sorted(made, key=lambda e: (e.time, e.seq), reverse=True)

    # -- snapshots -------------------------------------------------------

    def snapshots(self, stack: StackRecord) -> list[SnapshotRecord]:
        """The stack's snapshots, oldest first."""
        with self.lock:
            return list(self._snapshot_list(stack))

    def _snapshot_list(self, stack: StackRecord) -> list[SnapshotRecord]:
        if stack.id not in self._snapshots:
            seeded: list[SnapshotRecord] = []
            if (stack.parent is None and stack.status != 'FAILED'
                    and _pick(self.seed, stack.id, 'snapshot') % 4 == 0):
                seeded.append(SnapshotRecord(
                    derived_uuid(self.seed, stack.id, 'snapshot'), stack.id,
                    f'{stack.name}-snapshot', stack.created + datetime.timedelta(minutes=1),
                    self._snapshot_data(stack)))
            self._snapshots[stack.id] = seeded
        return self._snapshots[stack.id]

    def create_snapshot(self, stack_id: str, name: str | None = None, *,
                        notify: bool = True) -> SnapshotRecord:
        """Snapshot a stack as Heat does: ``SNAPSHOT_IN_PROGRESS``, then complete.

        :raises KeyError: no such stack.
        """
        with self.lock:
            stack = self.store.get(stack_id)
            snapshots = self._snapshot_list(stack)
            self.store.begin(stack_id, 'SNAPSHOT', notify=notify)
            record = SnapshotRecord(self._ids.uuid(), stack_id, name, utcnow(),
                                    self._snapshot_data(stack))
            snapshots.append(record)
            self.store.complete(stack_id, notify=notify)
            return record

    def delete_snapshot(self, stack_id: str, snapshot_id: str) -> None:
        """:raises KeyError: no such stack or snapshot."""
        with self.lock:
            snapshots = self._snapshot_list(self.store.get(stack_id))
            for index, record in enumerate(snapshots):
                if record.id == snapshot_id:
                    del snapshots[index]
                    return
            raise KeyError(snapshot_id)

    def _snapshot_data(self, stack: StackRecord) -> dict[str, Any]:
        return {
            'name': stack.name, 'id': stack.id, 'action': 'SNAPSHOT', 'status': 'COMPLETE',
            'template': self.template(stack), 'environment': {
                'parameters': {}, 'parameter_defaults': {}, 'resource_registry': {
                    'resources': {}}, 'event_sinks': []},
            'files': {}, 'project_id': stack.project_id,
            'stack_user_project_id': stack.stack_user_project_id, 'tags': list(stack.tags),
            'resources': {res.name: {
                'name': res.name, 'resource_id': res.physical_id, 'type': res.type,
                'action': 'SNAPSHOT', 'status': 'COMPLETE',
                'metadata': self.metadata(stack, res),
                'resource_data': self.attributes(stack, res) if res.type == _RANDOM else {}}
                for res in self.store.resources(stack)},
        }

    # -- software configs and deployments --------------------------------

    def configs(self) -> list[ConfigRecord]:
        """Every software config of a live stack or created, newest first."""
        with self.lock:
            self._seed_software()
            return sorted((c for c in self._configs.values() if self._live(c.stack_id)),
                          key=lambda c: (c.created, c.id), reverse=True)

    def deployments(self) -> list[DeploymentRecord]:
        """Every software deployment of a live stack or created, oldest first."""
        with self.lock:
            self._seed_software()
            return sorted((d for d in self._deployments.values() if self._live(d.stack_id)),
                          key=lambda d: (d.created, d.id))

    def config(self, config_id: str) -> ConfigRecord:
        """:raises KeyError: no such config."""
        with self.lock:
            self._seed_software()
            record = self._configs[config_id]
            if not self._live(record.stack_id):
                raise KeyError(config_id)
            return record

    def deployment(self, deployment_id: str) -> DeploymentRecord:
        """:raises KeyError: no such deployment."""
        with self.lock:
            self._seed_software()
            record = self._deployments[deployment_id]
            if not self._live(record.stack_id):
                raise KeyError(deployment_id)
            return record

    def create_config(self, project_id: str, *, name: str | None = None,
                      group: str = 'Heat::Ungrouped', config: Any = '',
                      inputs: Sequence[Mapping[str, Any]] = (),
                      outputs: Sequence[Mapping[str, Any]] = (),
                      options: Any = None) -> ConfigRecord:
        """Create a software config, with Heat's defaults for the io definitions.

        :raises ValueError: an input or output has no name.
        """
        record = ConfigRecord(self._new_id(), name, group, config,
                              [_io(i, output=False) for i in inputs],
                              [_io(o, output=True) for o in outputs], options, project_id,
                              utcnow())
        with self.lock:
            self._configs[record.id] = record
        return record

    def create_deployment(self, project_id: str, config_id: str, server_id: str, *,
                          input_values: Any = None, action: str | None = 'INIT',
                          status: str | None = 'COMPLETE',
                          status_reason: str | None = '') -> DeploymentRecord:
        """Create a software deployment of config ``config_id``.

        :raises KeyError: no such config.
        """
        with self.lock:
            self.config(config_id)
            record = DeploymentRecord(self._new_id(), config_id, server_id,
                                      input_values or {}, None, action, status,
                                      status_reason, project_id, utcnow())
            self._deployments[record.id] = record
            return record

    def update_deployment(self, deployment_id: str, **changes: Any) -> DeploymentRecord:
        """Change a deployment as Heat's PUT does: only the given, non-null values.

        Keys: ``config_id``, ``input_values``, ``output_values``, ``action``,
        ``status``, ``status_reason``. :raises KeyError: no such deployment.
        """
        fields = {'config_id': 'config_id', 'input_values': 'input_values',
                  'output_values': 'output_values', 'action': 'action',
                  'status': 'status', 'status_reason': 'reason'}
        with self.lock:
            record = self.deployment(deployment_id)
            for key, value in changes.items():
                if key not in fields:
                    raise TypeError(f'unknown deployment field {key!r}')
                if value is not None:
                    setattr(record, fields[key], value)
            record.updated = utcnow()
            return record

    def _new_id(self) -> str:
        with self.lock:
            return self._ids.uuid()

    def _live(self, stack_id: str | None) -> bool:
        if stack_id is None:
            return True
        stack = self.store.stacks.get(stack_id)
        return stack is not None and not stack.is_deleted

    def _seed_software(self) -> None:
        for stack in list(self.store.stacks.values()):
            if stack.id in self._software_seen:
                continue
            self._software_seen.add(stack.id)
            if (stack.parent is not None or stack.resource_count == 0
                    or _pick(self.seed, stack.id, 'software') % 3):
                continue
            resources = self.store.resources(stack)
            if not resources or resources[0].type != _SERVER:
                continue
            self._seed_stack_software(stack, resources[0])

    def _seed_stack_software(self, stack: StackRecord, server: ResourceRecord) -> None:
        failed = stack.status == 'FAILED'
        config = ConfigRecord(
            derived_uuid(self.seed, stack.id, 'config'), f'{stack.name}-config', 'script',
            '#!/bin/sh\necho configured', [_io({'name': 'role'}, output=False)],
            [_io({'name': 'result'}, output=True)], {}, stack.project_id,
            stack.created + datetime.timedelta(seconds=2), stack.id)
        role = self.metadata(stack, server).get('role', 'web')
        deployment = DeploymentRecord(
            derived_uuid(self.seed, stack.id, 'deployment'), config.id, server.physical_id,
            {'role': role},
            {'deploy_stdout': f'configured {role}', 'deploy_stderr': 'boom' if failed else '',
             'deploy_status_code': 1 if failed else 0, 'result': None if failed else 'ok'},
            'CREATE', 'FAILED' if failed else 'COMPLETE',
            'Deployment exited with non-zero status code: 1' if failed else 'Outputs received',
            stack.project_id, stack.created + datetime.timedelta(seconds=3),
            stack.created + datetime.timedelta(seconds=5), stack.id)
        self._configs[config.id] = config
        self._deployments[deployment.id] = deployment


def _io(spec: Mapping[str, Any], *, output: bool) -> dict[str, Any]:
    """A config input or output as Heat stores it (type default ``String``)."""
    if not isinstance(spec, Mapping) or not isinstance(spec.get('name'), str):
        raise ValueError('each input and output needs a name')
    io: dict[str, Any] = {'name': spec['name'], 'type': spec.get('type', 'String')}
    for key in ('description', 'default', 'replace_on_change'):
        if key in spec:
            io[key] = spec[key]
    if output:
        io['error_output'] = bool(spec.get('error_output', False))
    return io


_EXTRAS: weakref.WeakKeyDictionary[HeatStore, HeatExtras] = weakref.WeakKeyDictionary()
_EXTRAS_LOCK = threading.Lock()


def extras_of(store: HeatStore) -> HeatExtras:
    """The :class:`HeatExtras` of ``store`` (made on first use, one per store)."""
    with _EXTRAS_LOCK:
        extras = _EXTRAS.get(store)
        if extras is None:
            extras = _EXTRAS[store] = HeatExtras(store)
        return extras


def nested_tree(store: HeatStore, name: str, depth: int = 3, *, resources: int = 3,
                leaf_resources: int = 10, project_id: str | None = None,
                tags: Sequence[str] = (), notify: bool = False) -> list[StackRecord]:
    """A stack with a chain of ``depth`` nested stacks below it, root first.

    Each stack has ``resources`` generated resources plus a template
    resource ``level_<n>`` (type ``level_<n>.yaml``) owning the next one; the
    deepest has ``leaf_resources`` (10 or more give it the only
    ``OS::Heat::None`` and ``OS::Heat::RandomString`` resources of the tree
    when the others have fewer than 9). The root has ``tags``.
    """
    root = store.create_stack(name, project_id=project_id, resources=resources, tags=tags,
                              notify=notify)
    chain = [root]
    for level in range(1, depth + 1):
        chain.append(store.create_stack(
            '', parent=chain[-1].id, parent_resource=f'level_{level}',
            resources=leaf_resources if level == depth else resources, notify=notify))
    return chain

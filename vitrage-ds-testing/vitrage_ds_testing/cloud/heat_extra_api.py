"""More of Heat's v1 REST API over :class:`~vitrage_ds_testing.cloud.heat_extra.HeatExtras`.

:func:`install` adds these routes to a
:class:`~vitrage_ds_testing.cloud.heat_api.HeatService` (``S`` is
``/v1/<project>/stacks/<name>/<id>``)::

    GET  /v1/<p>/resource_types                heat.resource_types.list
    GET  S/template                            heat.stacks.template
    GET  S/outputs, S/outputs/<key>            heat.outputs.list, heat.outputs.show
    GET  S/events                              heat.events.list
    GET  S/resources/<r>/events[/<event>]      heat.events.resource, heat.events.show
    GET  S/resources/<r>/metadata              heat.resources.metadata
    GET|POST S/snapshots                       heat.snapshots.list, .create
    GET|DELETE S/snapshots/<id>                heat.snapshots.show, .delete
    GET|POST /v1/<p>/software_configs          heat.software_configs.list, .create
    GET  /v1/<p>/software_configs/<id>         heat.software_configs.show
    GET|POST /v1/<p>/software_deployments      heat.software_deployments.list, .create
    GET|PUT /v1/<p>/software_deployments/<id>  heat.software_deployments.show, .update

and fills what the base routes leave empty: the resolved ``outputs`` of a
stack show, the ``attributes`` of a resource show and of a
``with_detail=true`` resource listing. Shapes follow Heat 27's API layer
(checked against a real one): event summaries carry the summary keys only,
an event's detail adds ``resource_type`` and the ``resource_properties`` its
resource had (``{}`` for the stack's own events),
``resource_status`` joins action and status, a snapshot POST answers the
snapshot itself (``IN_PROGRESS``), lists of outputs have no values, software
configs are listed without their body (with ``project`` for admins),
deployments oldest first, configs and events newest first.
"""

from __future__ import annotations

import dataclasses
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from vitrage_ds_testing.cloud.heat import StackRecord
from vitrage_ds_testing.cloud.heat_api import HeatService, heat_error
from vitrage_ds_testing.cloud.heat_extra import (RESOURCE_TYPES, ConfigRecord,
                                                 DeploymentRecord, EventRecord, HeatExtras,
                                                 SnapshotRecord, extras_of)
from vitrage_ds_testing.cloud.keystone import Caller
from vitrage_ds_testing.cloud.seed import heat_time
from vitrage_ds_testing.cloud.server import HTTPError, Request, Response

__all__ = ['EXTRA_ROUTES', 'install']

#: The route names :func:`install` adds (fault rules and the request log use them).
EXTRA_ROUTES = (
    'heat.resource_types.list', 'heat.stacks.template', 'heat.outputs.list',
    'heat.outputs.show', 'heat.events.list', 'heat.events.resource', 'heat.events.show',
    'heat.resources.metadata', 'heat.snapshots.list', 'heat.snapshots.create',
    'heat.snapshots.show', 'heat.snapshots.delete', 'heat.software_configs.list',
    'heat.software_configs.create', 'heat.software_configs.show',
    'heat.software_deployments.list', 'heat.software_deployments.create',
    'heat.software_deployments.show', 'heat.software_deployments.update',
)

_TRUE = {'true', '1', 'on', 'yes', 'y', 't'}
_FALSE = {'false', '0', 'off', 'no', 'n', 'f'}
_SUPPORT_STATUSES = ('UNKNOWN', 'SUPPORTED', 'DEPRECATED', 'UNSUPPORTED', 'HIDDEN')


def install(service: HeatService) -> HeatExtras:
    """Add the routes to ``service``; return the extras its answers come from."""
    extras = extras_of(service.store)
    _Routes(service, extras)
    return extras


def _error(status: int, message: str, type_: str) -> HTTPError:
    return HTTPError(heat_error(status, message, type_))


def _flag(request: Request, name: str) -> bool:
    value = (request.param(name) or 'false').strip().lower()
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    raise _error(400, f'Unrecognized value "{value}" for "{name}", acceptable values are: '
                      'true, false.', 'HTTPBadRequest')


def _int(request: Request, name: str) -> int | None:
    raw = request.param(name)
    if raw is None or raw == '':
        return None
    try:
        value = int(raw)
    except ValueError:
        raise _error(400, f"Only integer is acceptable by '{name}'.",
                     'HTTPBadRequest') from None
    if value < 0:
        raise _error(400, f"Value must be a non-negative integer: '{name}'", 'HTTPBadRequest')
    return value


def _page(items: list[Any], request: Request, id_of: Callable[[Any], str]) -> list[Any]:
    """``marker`` (unknown: from the start, as Heat's queries do) then ``limit``."""
    marker = request.param('marker')
    if marker:
        position = next((i for i, item in enumerate(items) if id_of(item) == marker), None)
        if position is not None:
            items = items[position + 1:]
    limit = _int(request, 'limit')
    return items if limit is None else items[:limit]


def _body(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError:
        raise _error(400, 'The server could not comply with the request since it is either '
                          'malformed or otherwise incorrect.', 'HTTPBadRequest') from None
    if not isinstance(body, dict):
        raise _error(400, 'The request body must be a JSON object.', 'HTTPBadRequest')
    return body


class _Routes:
    """The handlers, bound to one service and its extras."""

    def __init__(self, service: HeatService, extras: HeatExtras) -> None:
        self.service = service
        self.extras = extras
        p = r'/v1/(?P<project>[^/]+)'
        s = p + r'/stacks/(?P<name>[^/]+)/(?P<id>[^/]+)'
        r = s + r'/resources/(?P<res>[^/]+)'
        for name, method, pattern, handler in (
                ('heat.resource_types.list', 'GET', p + r'/resource_types/?',
                 self._resource_types),
                ('heat.stacks.template', 'GET', s + r'/template/?', self._template),
                ('heat.outputs.list', 'GET', s + r'/outputs/?', self._outputs),
                ('heat.outputs.show', 'GET', s + r'/outputs/(?P<key>[^/]+)/?', self._output),
                ('heat.events.list', 'GET', s + r'/events/?', self._events),
                ('heat.events.resource', 'GET', r + r'/events/?', self._events),
                ('heat.events.show', 'GET', r + r'/events/(?P<event>[^/]+)/?', self._event),
                ('heat.resources.metadata', 'GET', r + r'/metadata/?', self._metadata),
                ('heat.snapshots.list', 'GET', s + r'/snapshots/?', self._snapshots),
                ('heat.snapshots.create', 'POST', s + r'/snapshots/?', self._snapshot_create),
                ('heat.snapshots.show', 'GET', s + r'/snapshots/(?P<snapshot>[^/]+)/?',
                 self._snapshot),
                ('heat.snapshots.delete', 'DELETE', s + r'/snapshots/(?P<snapshot>[^/]+)/?',
                 self._snapshot_delete),
                ('heat.software_configs.list', 'GET', p + r'/software_configs/?',
                 self._configs),
                ('heat.software_configs.create', 'POST', p + r'/software_configs/?',
                 self._config_create),
                ('heat.software_configs.show', 'GET',
                 p + r'/software_configs/(?P<config>[^/]+)/?', self._config),
                ('heat.software_deployments.list', 'GET', p + r'/software_deployments/?',
                 self._deployments),
                ('heat.software_deployments.create', 'POST', p + r'/software_deployments/?',
                 self._deployment_create),
                ('heat.software_deployments.show', 'GET',
                 p + r'/software_deployments/(?P<deployment>[^/]+)/?', self._deployment),
                ('heat.software_deployments.update', 'PUT',
                 p + r'/software_deployments/(?P<deployment>[^/]+)/?',
                 self._deployment_update)):
            service.route(name, method, pattern, handler)
        self._decorate('heat.stacks.show', self._with_outputs)
        self._decorate('heat.resources.list', self._with_attributes)
        self._decorate('heat.resources.show', self._with_attributes)

    def _decorate(self, route_name: str,
                  after: Callable[[Request, Response], None]) -> None:
        """Let ``after`` complete the successful answers of a base route."""
        for index, route in enumerate(self.service.routes):
            if route.name != route_name:
                continue
            handler = route.handler

            def wrapped(request: Request, handler: Callable[[Request], Response] = handler
                        ) -> Response:
                response = handler(request)
                if response.status == 200:
                    after(request, response)
                return response
            self.service.routes[index] = dataclasses.replace(route, handler=wrapped)
            return
        raise LookupError(f'the Heat service has no route {route_name}')

    # -- helpers ---------------------------------------------------------

    def _stack(self, request: Request, *, live: bool = False) -> tuple[Caller, StackRecord]:
        caller = self.service.caller(request)
        stack = self.service.stack_for(request, caller)
        if live and stack.is_deleted:
            raise _error(404, f'The Stack ({stack.name}) could not be found.',
                         'EntityNotFound')
        return caller, stack

    def _url(self, request: Request, stack: StackRecord) -> str:
        return self.service.stack_url(request, stack)

    @staticmethod
    def _group(request: Request, name: str) -> str:
        assert request.match is not None
        return request.match.group(name)

    # -- decorations -----------------------------------------------------

    def _with_outputs(self, request: Request, response: Response) -> None:
        body = response.body.get('stack') if isinstance(response.body, dict) else None
        if isinstance(body, dict) and 'outputs' in body:
            body['outputs'] = self.extras.outputs(self.extras.store.get(body['id']))

    def _with_attributes(self, request: Request, response: Response) -> None:
        body = response.body if isinstance(response.body, dict) else {}
        items = body.get('resources') or ([body['resource']] if 'resource' in body else [])
        for item in items:
            if 'attributes' not in item:
                continue
            stack_link = next(link['href'] for link in item['links'] if link['rel'] == 'stack')
            stack = self.extras.store.get(stack_link.rstrip('/').rsplit('/', 1)[1])
            res = self.extras.resource(stack, item['resource_name'])
            item['attributes'] = self.extras.attributes(stack, res) if res else {}

    # -- resource types, templates, outputs, metadata --------------------

    def _resource_types(self, request: Request) -> Response:
        self.service.caller(request)
        support = request.param('support_status')
        if support is not None and support not in _SUPPORT_STATUSES:
            raise _error(400, f'Invalid support status and should be one of '
                              f'{_SUPPORT_STATUSES}', 'Invalid')
        names: list[str] = list(RESOURCE_TYPES)
        pattern = request.param('name')
        if pattern is not None:
            try:
                expression = re.compile(pattern)
            except re.error:
                names = []
            else:
                names = [n for n in names if expression.match(n)]
        if support not in (None, 'SUPPORTED') or request.param('version') is not None:
            names = []
        if _flag(request, 'with_description'):
            return Response(200, {'resource_types': [
                {'resource_type': n, 'description': f'A {n} resource.'} for n in names]})
        return Response(200, {'resource_types': names})

    def _template(self, request: Request) -> Response:
        _caller, stack = self._stack(request)
        return Response(200, self.extras.template(stack))

    def _outputs(self, request: Request) -> Response:
        _caller, stack = self._stack(request, live=True)
        return Response(200, {'outputs': [
            {'output_key': o['output_key'], 'description': o['description']}
            for o in self.extras.outputs(stack)]})

    def _output(self, request: Request) -> Response:
        _caller, stack = self._stack(request, live=True)
        key = self._group(request, 'key')
        for output in self.extras.outputs(stack):
            if output['output_key'] == key:
                return Response(200, {'output': output})
        raise _error(404, f'Specified output key {key} not found.', 'NotFound')

    def _metadata(self, request: Request) -> Response:
        _caller, stack = self._stack(request)
        name = self._group(request, 'res')
        res = self.extras.resource(stack, name)
        if res is None:
            raise _error(404, f'The Resource ({name}) could not be found in Stack '
                              f'{stack.name}.', 'ResourceNotFound')
        return Response(200, {'metadata': self.extras.metadata(stack, res)})

    # -- events ------------------------------------------------------------

    def _events(self, request: Request) -> Response:
        _caller, stack = self._stack(request)
        assert request.match is not None
        resource = request.match.groupdict().get('res')
        depth = _int(request, 'nested_depth') or 0
        sort_dir = request.param('sort_dir') or 'desc'
        if sort_dir not in ('asc', 'desc'):
            raise _error(400, "Unknown sort direction, must be 'desc' or 'asc'",
                         'HTTPBadRequest')
        filters = {key: request.params_all(key) for key in
                   ('resource_status', 'resource_action', 'resource_name', 'resource_type')
                   if request.params_all(key)}
        if resource is not None:
            filters['resource_name'] = [resource]
        found = [(owner, event) for owner, event in self._stack_events(stack, depth)
                 if _event_matches(event, filters)]
        if sort_dir == 'asc':
            found.reverse()
        found = _page(found, request, lambda pair: pair[1].id)
        if not found and resource is not None:
            raise _error(404, f'No events found for resource {resource}', 'HTTPNotFound')
        root = self._url(request, stack) if depth else None
        return Response(200, {'events': [self._event_body(request, owner, event, False, root)
                                         for owner, event in found]})

    def _stack_events(self, stack: StackRecord, depth: int
                      ) -> list[tuple[StackRecord, EventRecord]]:
        """The events of ``stack`` and its nested stacks down to ``depth``, newest first."""
        found = [(stack, event) for event in self.extras.events(stack)]
        if depth > 0:
            for child in self.extras.store.children(stack.id):
                found.extend(self._stack_events(child, depth - 1))
            found.sort(key=lambda pair: (pair[1].time, pair[1].seq), reverse=True)
        return found

    def _event(self, request: Request) -> Response:
        _caller, stack = self._stack(request)
        name, event_id = self._group(request, 'res'), self._group(request, 'event')
        for event in self.extras.events(stack):
            if event.id == event_id and event.resource_name == name:
                return Response(200, {'event': self._event_body(request, stack, event,
                                                                True, None)})
        raise _error(404, f'No event {event_id} found', 'HTTPNotFound')

    def _event_body(self, request: Request, stack: StackRecord, event: EventRecord,
                    detail: bool, root: str | None) -> dict[str, Any]:
        stack_url = self._url(request, stack)
        resource_url = f'{stack_url}/resources/{urllib.parse.quote(event.resource_name, safe="")}'
        links = [{'href': f'{resource_url}/events/{event.id}', 'rel': 'self'},
                 {'href': resource_url, 'rel': 'resource'},
                 {'href': stack_url, 'rel': 'stack'}]
        if root is not None:
            links.append({'href': root, 'rel': 'root_stack'})
        body: dict[str, Any] = {
            'id': event.id, 'links': links, 'event_time': heat_time(event.time),
            'logical_resource_id': event.resource_name, 'resource_name': event.resource_name,
            'physical_resource_id': event.physical_id,
            'resource_status': f'{event.action}_{event.status}',
            'resource_status_reason': event.reason,
        }
        if detail:
            body['resource_type'] = event.resource_type
            body['resource_properties'] = self.extras.event_properties(stack, event)
        return body

    # -- snapshots -------------------------------------------------------

    def _snapshots(self, request: Request) -> Response:
        _caller, stack = self._stack(request, live=True)
        return Response(200, {'snapshots': [_snapshot_body(s)
                                            for s in self.extras.snapshots(stack)]})

    def _snapshot_create(self, request: Request) -> Response:
        _caller, stack = self._stack(request, live=True)
        if stack.status == 'IN_PROGRESS':
            raise _error(409, f'Stack {stack.name} already has an action ({stack.action}) in '
                              'progress.', 'ActionInProgress')
        name = _body(request).get('name') if request.body else None
        record = self.extras.create_snapshot(stack.id, name if isinstance(name, str) else None)
        body = _snapshot_body(record)
        body.update(status='IN_PROGRESS', status_reason=None)
        return Response(200, body)

    def _find_snapshot(self, request: Request) -> tuple[StackRecord, SnapshotRecord]:
        _caller, stack = self._stack(request, live=True)
        snapshot_id = self._group(request, 'snapshot')
        for record in self.extras.snapshots(stack):
            if record.id == snapshot_id:
                return stack, record
        raise _error(404, f'The Snapshot ({snapshot_id}) could not be found.',
                     'EntityNotFound')

    def _snapshot(self, request: Request) -> Response:
        _stack, record = self._find_snapshot(request)
        return Response(200, {'snapshot': _snapshot_body(record)})

    def _snapshot_delete(self, request: Request) -> Response:
        stack, record = self._find_snapshot(request)
        self.extras.delete_snapshot(stack.id, record.id)
        return Response(204)

    # -- software configs and deployments --------------------------------

    def _configs(self, request: Request) -> Response:
        caller = self.service.caller(request)
        visible = [c for c in self.extras.configs()
                   if caller.is_admin or c.project_id == caller.project_id]
        page = _page(visible, request, lambda c: c.id)
        return Response(200, {'software_configs': [
            _config_body(c, detail=False, project=caller.is_admin) for c in page]})

    def _visible_config(self, request: Request) -> ConfigRecord:
        caller = self.service.caller(request)
        config_id = self._group(request, 'config')
        try:
            record = self.extras.config(config_id)
        except KeyError:
            record = None
        if record is None or not (caller.is_admin or record.project_id == caller.project_id):
            raise _error(404, f'The Software Config ({config_id}) could not be found.',
                         'EntityNotFound')
        return record

    def _config(self, request: Request) -> Response:
        return Response(200, {'software_config': _config_body(self._visible_config(request))})

    def _config_create(self, request: Request) -> Response:
        caller = self.service.caller(request)
        body = _body(request)
        try:
            record = self.extras.create_config(
                caller.project_id, name=body.get('name'),
                group=body.get('group') or 'Heat::Ungrouped', config=body.get('config'),
                inputs=body.get('inputs') or [], outputs=body.get('outputs') or [],
                options=body.get('options'))
        except ValueError as exc:
            raise _error(400, str(exc), 'HTTPBadRequest') from None
        return Response(200, {'software_config': _config_body(record)})

    def _deployments(self, request: Request) -> Response:
        caller = self.service.caller(request)
        server = request.param('server_id')
        return Response(200, {'software_deployments': [
            _deployment_body(d) for d in self.extras.deployments()
            if (caller.is_admin or d.project_id == caller.project_id)
            and (server is None or d.server_id == server)]})

    def _visible_deployment(self, request: Request) -> DeploymentRecord:
        caller = self.service.caller(request)
        deployment_id = self._group(request, 'deployment')
        try:
            record = self.extras.deployment(deployment_id)
        except KeyError:
            record = None
        if record is None or not (caller.is_admin or record.project_id == caller.project_id):
            raise _error(404, f'The Software Deployment ({deployment_id}) could not be '
                              'found.', 'EntityNotFound')
        return record

    def _deployment(self, request: Request) -> Response:
        return Response(200, {'software_deployment': _deployment_body(
            self._visible_deployment(request))})

    def _deployment_create(self, request: Request) -> Response:
        caller = self.service.caller(request)
        body = _body(request)
        config_id, server_id = body.get('config_id'), body.get('server_id')
        if not isinstance(config_id, str) or not isinstance(server_id, str):
            raise _error(400, 'config_id and server_id are required', 'HTTPBadRequest')
        try:
            record = self.extras.create_deployment(
                caller.project_id, config_id, server_id,
                input_values=body.get('input_values'), action=body.get('action'),
                status=body.get('status'), status_reason=body.get('status_reason'))
        except KeyError:
            raise _error(404, f'The Software Config ({config_id}) could not be found.',
                         'EntityNotFound') from None
        return Response(200, {'software_deployment': _deployment_body(record)})

    def _deployment_update(self, request: Request) -> Response:
        record = self._visible_deployment(request)
        body = _body(request)
        changes = {k: body.get(k) for k in ('config_id', 'input_values', 'output_values',
                                            'action', 'status', 'status_reason')}
        updated = self.extras.update_deployment(record.id, **changes)
        return Response(200, {'software_deployment': _deployment_body(updated)})


def _event_matches(event: EventRecord, filters: dict[str, list[str]]) -> bool:
    fields = {'resource_status': event.status, 'resource_action': event.action,
              'resource_name': event.resource_name, 'resource_type': event.resource_type}
    return all(fields[key] in values for key, values in filters.items())


def _snapshot_body(record: SnapshotRecord) -> dict[str, Any]:
    return {'id': record.id, 'name': record.name, 'action': record.action,
            'status': record.status, 'status_reason': record.reason, 'data': record.data,
            'creation_time': heat_time(record.created)}


def _config_body(record: ConfigRecord, *, detail: bool = True,
                 project: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {'id': record.id, 'name': record.name, 'group': record.group,
                            'creation_time': heat_time(record.created)}
    if detail:
        body.update(config=record.config, inputs=record.inputs, outputs=record.outputs,
                    options=record.options)
    if project:
        body['project'] = record.project_id
    return body


def _deployment_body(record: DeploymentRecord) -> dict[str, Any]:
    body: dict[str, Any] = {
        'id': record.id, 'server_id': record.server_id, 'input_values': record.input_values,
        'output_values': record.output_values, 'action': record.action,
        'status': record.status, 'status_reason': record.reason,
        'config_id': record.config_id, 'creation_time': heat_time(record.created)}
    if record.updated is not None:
        body['updated_time'] = heat_time(record.updated)
    return body

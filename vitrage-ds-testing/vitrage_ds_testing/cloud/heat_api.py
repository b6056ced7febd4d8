"""Heat's v1 REST API over a :class:`~vitrage_ds_testing.cloud.heat.HeatStore`.

Shapes follow Heat's API layer: list items carry the stack list keys
(``description`` is always ``''`` in a listing, as Heat's list formatter
leaves it), ``stack_status`` joins action and status, ``links`` hold the
canonical ``/v1/<project>/stacks/<name>/<id>`` URL; ``project`` is added
when the request context is admin (a ``global_tenant`` listing or an admin
caller). Errors have Heat's fault-wrapper body.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

from vitrage_ds_testing.cloud.heat import HeatStore, ResourceRecord, StackRecord
from vitrage_ds_testing.cloud.keystone import Caller, Identity, require_caller
from vitrage_ds_testing.cloud.seed import heat_time
from vitrage_ds_testing.cloud.server import HTTPError, Request, Response, Service, title

__all__ = ['HeatService']

_BOOL = {'true': True, '1': True, 'on': True, 'yes': True, 'y': True, 't': True,
         'false': False, '0': False, 'off': False, 'no': False, 'n': False, 'f': False}
_EXPLANATIONS = {
    400: 'The server could not comply with the request since it is either malformed '
         'or otherwise incorrect.',
    401: 'This server could not verify that you are authorized to access the document '
         'you requested.',
    403: 'Access was denied to this resource.',
    404: 'The resource could not be found.',
    405: 'The method is not allowed for this resource.',
    409: 'There was a conflict when trying to complete your request.',
    429: 'Too many requests.',
    500: 'The server has either erred or is incapable of performing the requested operation.',
    503: 'The server is currently unavailable. Please try again at a later time.',
}
_SORT_KEYS = {'stack_name': 'name', 'stack_status': 'status',
              'creation_time': 'created', 'updated_time': 'updated'}
_RESOURCE_FILTERS = {'type', 'status', 'name', 'action', 'id', 'physical_resource_id'}
#: Stack-list filters (Heat's own names and their database aliases) -> field.
_STACK_FILTERS: dict[str, str] = {
    'id': 'id', 'name': 'name', 'stack_name': 'name', 'status': 'status',
    'stack_status': 'status', 'action': 'action', 'stack_action': 'action',
    'tenant': 'project_id', 'username': 'user_name', 'stack_owner': 'user_name',
    'owner_id': 'parent', 'parent': 'parent', 'stack_status_reason': 'reason',
    'status_reason': 'reason', 'stack_user_project_id': 'stack_user_project_id',
    'disable_rollback': 'disable_rollback', 'timeout_mins': 'timeout_mins',
}


def heat_error(status: int, message: str, type_: str) -> Response:
    """Heat's fault-wrapper error body."""
    return Response(status, {
        'code': status, 'title': title(status), 'explanation': _EXPLANATIONS.get(status, ''),
        'error': {'message': message, 'type': type_, 'traceback': None}})


def _bad_request(message: str) -> HTTPError:
    return HTTPError(heat_error(400, message, 'HTTPBadRequest'))


def _bool(name: str, value: str) -> bool:
    try:
        return _BOOL[value.strip().lower()]
    except KeyError:
        raise _bad_request(
            f'Unrecognized value "{value}" for "{name}", acceptable values are: '
            'true, false.') from None


class HeatService(Service):
    """``/heat-api``: the Heat v1 API routes."""

    name = 'orchestration'
    prefix = '/heat-api'

    def __init__(self, store: HeatStore, identity: Identity,
                 global_index_allowed: Callable[[], bool]) -> None:
        super().__init__()
        self.store = store
        self.identity = identity
        self._global_allowed = global_index_allowed
        p = r'/v1/(?P<project>[^/]+)'
        self.route('heat.root', 'GET', r'/?', self._root)
        self.route('heat.stacks.list', 'GET', p + r'/stacks/?', self._list)
        self.route('heat.stacks.lookup', 'GET', p + r'/stacks/(?P<ref>[^/]+)/?', self._lookup)
        self.route('heat.resources.list', 'GET',
                   p + r'/stacks/(?P<name>[^/]+)/(?P<id>[^/]+)/resources/?', self._resources)
        self.route('heat.resources.show', 'GET',
                   p + r'/stacks/(?P<name>[^/]+)/(?P<id>[^/]+)/resources/(?P<res>[^/]+)/?',
                   self._resource)
        self.route('heat.resources.lookup', 'GET', p + r'/stacks/(?P<ref>[^/]+)/resources/?',
                   self._lookup)
        self.route('heat.stacks.lookup_path', 'GET',
                   p + r'/stacks/(?P<ref>[^/]+)/(?P<rest>events|template|environment|files|'
                   r'outputs|snapshots)/?', self._lookup)
        # After the lookups: /stacks/<ref>/resources must not read as <name>/<id>.
        self.route('heat.stacks.show', 'GET', p + r'/stacks/(?P<name>[^/]+)/(?P<id>[^/]+)/?',
                   self._show)

    def error(self, status: int, message: str = '') -> Response:
        return heat_error(status, message or 'injected fault',
                          title(status).replace(' ', ''))

    # -- helpers ---------------------------------------------------------

    def caller(self, request: Request) -> Caller:
        """Who calls, in the URL's project; 401/403 as Heat answers them."""
        caller = require_caller(self.identity, request)
        assert request.match is not None
        url_project = urllib.parse.unquote(request.match.group('project'))
        if not caller.project_id:
            caller = Caller(caller.user_id, caller.user_name, url_project, caller.roles)
        elif caller.project_id != url_project and not caller.is_admin:
            raise HTTPError(heat_error(403, _EXPLANATIONS[403], 'HTTPForbidden'))
        return caller

    def stack_url(self, request: Request, stack: StackRecord) -> str:
        """The stack's canonical ``/v1/{project}/stacks/{name}/{id}`` URL."""
        return (f'{request.root_url}/v1/{urllib.parse.quote(stack.project_id, safe="")}'
                f'/stacks/{urllib.parse.quote(stack.name, safe="")}/{stack.id}')

    def _visible(self, stack: StackRecord, caller: Caller) -> bool:
        return caller.is_admin or stack.project_id == caller.project_id

    def stack_for(self, request: Request, caller: Caller) -> StackRecord:
        """The stack the URL names by name and id; 404 as Heat answers it."""
        assert request.match is not None
        name, stack_id = request.match.group('name'), request.match.group('id')
        try:
            stack = self.store.get(stack_id)
        except KeyError:
            stack = None
        if stack is None or stack.name != name or not self._visible(stack, caller):
            raise HTTPError(heat_error(404, f'The Stack ({name}) could not be found.',
                                       'EntityNotFound'))
        return stack

    def _summary(self, request: Request, stack: StackRecord, include_project: bool
                 ) -> dict[str, Any]:
        item: dict[str, Any] = {
            'id': stack.id,
            'links': [{'href': self.stack_url(request, stack), 'rel': 'self'}],
        }
        if include_project:
            item['project'] = stack.project_id
        item.update({
            'stack_name': stack.name,
            'description': '',
            'stack_status': stack.stack_status,
            'stack_status_reason': stack.reason,
            'creation_time': heat_time(stack.created),
            'updated_time': heat_time(stack.updated),
            'deletion_time': heat_time(stack.deleted),
            'stack_owner': stack.user_name,
            'parent': stack.parent,
            'stack_user_project_id': stack.stack_user_project_id,
            'tags': list(stack.tags) or None,
        })
        return item

    # -- routes ----------------------------------------------------------

    def _root(self, request: Request) -> Response:
        return Response(300, {'versions': [{
            'status': 'CURRENT', 'id': 'v1.0',
            'links': [{'href': f'{request.root_url}/v1/', 'rel': 'self'}]}]})

    def _list(self, request: Request) -> Response:
        caller = self.caller(request)
        global_tenant = _bool('global_tenant', request.param('global_tenant') or 'false')
        if global_tenant and not self._global_allowed():
            raise HTTPError(heat_error(403, 'You are not authorized to use '
                                       'stacks:global_index.', 'Forbidden'))
        limit = self._limit(request)
        flags = {name: _bool(name, request.param(name) or 'false')
                 for name in ('show_deleted', 'show_nested', 'show_hidden', 'with_count')}
        sort_dir = request.param('sort_dir') or 'desc'
        if sort_dir not in ('asc', 'desc'):
            raise _bad_request("Unknown sort direction, must be 'desc' or 'asc'")
        sort_keys = [_SORT_KEYS[k] for v in request.params_all('sort_keys')
                     for k in v.split(',') if k in _SORT_KEYS]
        filters = self._filters(request)
        tag_sets = {name: [t for t in (request.param(name) or '').split(',') if t]
                    for name in ('tags', 'tags_any', 'not_tags', 'not_tags_any')}

        with self.store.lock:
            # An admin context lists every project even without global_tenant
            # (what Heat 27 does); global_tenant is the policy-guarded way.
            everyone = global_tenant or caller.is_admin
            stacks = [s for s in self.store.ordered()
                      if (everyone or s.project_id == caller.project_id)
                      and (flags['show_deleted'] or not s.is_deleted)
                      and (flags['show_nested'] or s.parent is None)
                      and (flags['show_hidden'] or not self.store.hidden_tags.intersection(s.tags))
                      and _matches(s, filters) and _tagged(s, tag_sets)]
        if sort_keys:
            stacks = _sorted(stacks, sort_keys, sort_dir)
        elif sort_dir == 'asc':
            stacks = list(reversed(stacks))
        total = len(stacks)
        marker = request.param('marker')
        if marker:
            position = next((i for i, s in enumerate(stacks) if s.id == marker), None)
            if position is not None:
                stacks = stacks[position + 1:]
        if limit is not None:
            stacks = stacks[:limit]
        include_project = global_tenant or caller.is_admin
        items = [self._summary(request, s, include_project) for s in stacks]
        body: dict[str, Any] = {'stacks': items}
        if limit and limit == len(items):
            query = [(k, v) for k, v in request.params if k != 'marker']
            query.append(('marker', items[-1]['id']))
            body['links'] = [{'rel': 'next', 'href': f'{request.root_url}{request.path}?'
                                                      f'{urllib.parse.urlencode(query)}'}]
        if flags['with_count']:
            body['count'] = total
        return Response(200, body)

    def _limit(self, request: Request) -> int | None:
        raw = request.param('limit')
        if raw is None or raw == '':
            return None
        try:
            limit = int(raw)
        except ValueError:
            raise _bad_request("Only integer is acceptable by 'limit'.") from None
        if limit < 0:
            raise _bad_request("Value must be a non-negative integer: 'limit'")
        return limit

    def _filters(self, request: Request) -> dict[str, list[Any]]:
        filters: dict[str, list[Any]] = {}
        for key, value in request.params:
            field = _STACK_FILTERS.get(key)
            if field is None:
                continue
            if field == 'status':
                action, status = _split_status(value)
                if action:
                    filters.setdefault('action', []).append(action)
                filters.setdefault('status', []).append(status)
            else:
                filters.setdefault(field, []).append(value)
        return filters

    def _lookup(self, request: Request) -> Response:
        caller = self.caller(request)
        assert request.match is not None
        ref = request.match.group('ref')
        stack: StackRecord | None = None
        try:
            candidate = self.store.get(ref)
            if self._visible(candidate, caller):
                stack = candidate
        except KeyError:
            stack = self.store.by_name(ref, caller.project_id)
        if stack is None:
            raise HTTPError(heat_error(404, f'The Stack ({ref}) could not be found.',
                                       'EntityNotFound'))
        location = self.stack_url(request, stack)
        rest = request.path.rstrip('/').split(f'/stacks/{ref}', 1)[1].strip('/')
        if rest:
            location = f'{location}/{rest}'
        if request.params:
            location = f'{location}?{urllib.parse.urlencode(request.params)}'
        body = ('<html>\n <head>\n  <title>302 Found</title>\n </head>\n <body>\n'
                f'  <h1>302 Found</h1>\n  The resource was found at <a href="{location}">'
                f'{location}</a>;\nyou should be redirected automatically.\n\n\n'
                ' </body>\n</html>').encode()
        return Response(302, headers={'Location': location,
                                      'Content-Type': 'text/html; charset=UTF-8'}, raw=body)

    def _show(self, request: Request) -> Response:
        caller = self.caller(request)
        stack = self.stack_for(request, caller)
        body = self._summary(request, stack, include_project=False)
        description = stack.description or 'No description'
        body.update({
            'description': description,
            'parameters': {'OS::project_id': stack.project_id, 'OS::stack_id': stack.id,
                           'OS::stack_name': stack.name},
            'template_description': description,
            'notification_topics': [],
            'capabilities': [],
            'disable_rollback': stack.disable_rollback,
            'timeout_mins': stack.timeout_mins,
            'tags': list(stack.tags),
        })
        if not stack.is_deleted:
            body['outputs'] = []
        return Response(200, {'stack': body})

    def _resources(self, request: Request) -> Response:
        caller = self.caller(request)
        stack = self.stack_for(request, caller)
        unknown = sorted({k for k, _ in request.params}
                         - _RESOURCE_FILTERS - {'nested_depth', 'with_detail'})
        if unknown:
            raise _bad_request(f'Invalid filter parameters {unknown}')
        try:
            depth = int(request.param('nested_depth') or 0)
        except ValueError:
            raise _bad_request('Only integer is acceptable by \'nested_depth\'.') from None
        if depth < 0:
            raise _bad_request("Value must be a non-negative integer: 'nested_depth'")
        detail = _bool('with_detail', request.param('with_detail') or 'false')
        filters = {k: request.params_all(k) for k in _RESOURCE_FILTERS
                   if request.params_all(k)}
        items = []
        for owner, res in self._walk(stack, depth):
            if _resource_matches(owner, res, filters):
                items.append(self._resource_body(request, owner, res, detail))
        return Response(200, {'resources': items})

    def _walk(self, stack: StackRecord, depth: int
              ) -> list[tuple[StackRecord, ResourceRecord]]:
        found: list[tuple[StackRecord, ResourceRecord]] = []
        for res in self.store.resources(stack):
            found.append((stack, res))
            if depth > 0 and res.nested_id:
                try:
                    child = self.store.get(res.nested_id)
                except KeyError:
                    continue
                found.extend(self._walk(child, depth - 1))
        return found

    def _resource_body(self, request: Request, stack: StackRecord, res: ResourceRecord,
                       detail: bool) -> dict[str, Any]:
        stack_url = self.stack_url(request, stack)
        links = [{'href': f'{stack_url}/resources/{urllib.parse.quote(res.name, safe="")}',
                  'rel': 'self'},
                 {'href': stack_url, 'rel': 'stack'}]
        if res.nested_id:
            try:
                links.append({'href': self.stack_url(request, self.store.get(res.nested_id)),
                              'rel': 'nested'})
            except KeyError:
                pass
        body: dict[str, Any] = {
            'resource_name': res.name,
            'logical_resource_id': res.name,
            'physical_resource_id': res.physical_id,
            'resource_type': res.type,
            'resource_status': f'{res.action}_{res.status}',
            'resource_status_reason': res.reason,
            'creation_time': heat_time(res.created),
            'updated_time': heat_time(res.updated or res.created),
            'required_by': list(res.required_by),
            'links': links,
        }
        if stack.parent_resource:
            body['parent_resource'] = stack.parent_resource
        if detail:
            body['description'] = res.description
            body['attributes'] = {}
        return body

    def _resource(self, request: Request) -> Response:
        caller = self.caller(request)
        stack = self.stack_for(request, caller)
        assert request.match is not None
        name = request.match.group('res')
        for res in self.store.resources(stack):
            if res.name == name:
                return Response(200, {'resource': self._resource_body(
                    request, stack, res, True)})
        raise HTTPError(heat_error(
            404, f'The Resource ({name}) could not be found in Stack {stack.name}.',
            'ResourceNotFound'))


def _matches(stack: StackRecord, filters: dict[str, list[Any]]) -> bool:
    for field, values in filters.items():
        value = getattr(stack, field)
        if value is None or str(value) not in values:
            return False
    return True


def _tagged(stack: StackRecord, tag_sets: dict[str, list[str]]) -> bool:
    tags = set(stack.tags)
    if tag_sets['tags'] and not set(tag_sets['tags']) <= tags:
        return False
    if tag_sets['tags_any'] and not tags & set(tag_sets['tags_any']):
        return False
    if tag_sets['not_tags'] and set(tag_sets['not_tags']) <= tags:
        return False
    return not (tag_sets['not_tags_any'] and tags & set(tag_sets['not_tags_any']))


def _sorted(stacks: list[StackRecord], keys: list[str], direction: str) -> list[StackRecord]:
    def key(stack: StackRecord) -> tuple[Any, ...]:
        parts: list[Any] = []
        for name in keys:
            value = getattr(stack, name)
            parts.append((value is not None, value if value is not None else 0))
        parts.append(stack.id)
        return tuple(parts)
    return sorted(stacks, key=key, reverse=direction == 'desc')


def _resource_matches(stack: StackRecord, res: ResourceRecord,
                      filters: dict[str, list[str]]) -> bool:
    fields = {'type': res.type, 'status': res.status, 'name': res.name, 'action': res.action,
              'id': res.physical_id, 'physical_resource_id': res.physical_id}
    for name, values in filters.items():
        if fields[name] in values:
            continue
        if name == 'status' and f'{res.action}_{res.status}' in values:
            continue
        return False
    return True


def _split_status(value: str) -> tuple[str, str]:
    """``CREATE_FAILED`` -> ``('CREATE', 'FAILED')``, as Heat parses status filters."""
    for status in ('COMPLETE', 'FAILED', 'IN_PROGRESS'):
        index = value.rfind(status)
        if index != -1:
            return (value[:index - 1] if index > 1 else ''), value[index:]
    return '', value

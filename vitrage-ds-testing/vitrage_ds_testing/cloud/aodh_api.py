"""Aodh's v2 REST API over an :class:`~vitrage_ds_testing.cloud.aodh.AodhStore`.

``GET /v2/alarms`` is scoped to the caller's project unless the query has
``q.field=all_projects&q.op=eq&q.value=true`` (admin only); it filters with
``eq`` on the fields Aodh allows, pages with ``limit``/``marker`` (no next
link) and sorts with ``sort=key:dir``. ``POST /v2/query/alarms/history``
searches the history of every alarm of the caller's project (``on_behalf_of``;
every project for an admin), deleted alarms' too, with Aodh's complex query:
``filter`` (a JSON text of ``and``/``or``/``not``, ``in`` and the comparisons
``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=`` on the fields of a change;
timestamps compared as times), ``orderby`` (a JSON text of
``[{"field": "asc"|"desc"}]``, by default newest first) and ``limit``.
Errors have Aodh's body
(``{"error_message": {"faultcode", "faultstring", "debuginfo"}}``).
"""

from __future__ import annotations

import copy
import datetime
import json
import operator
from collections.abc import Callable
from typing import Any

from vitrage_ds_testing.cloud.aodh import (CREATABLE_TYPES, SEVERITIES, STATES, AodhStore,
                                           default_description)
from vitrage_ds_testing.cloud.keystone import Caller, Identity
from vitrage_ds_testing.cloud.server import HTTPError, Request, Response, Service

__all__ = ['AodhService']

QUERY_FIELDS = ('all_projects', 'name', 'type', 'state', 'severity', 'enabled',
                'project_id', 'user_id', 'timestamp', 'repeat_actions')
SORT_KEYS = ('alarm_id', 'enabled', 'name', 'type', 'severity', 'timestamp', 'user_id',
             'project_id', 'state', 'repeat_actions', 'state_timestamp')
_BOOLEAN_FIELDS = ('enabled', 'repeat_actions', 'all_projects')
_COMPARISONS = ('lt', 'le', 'eq', 'ne', 'ge', 'gt')
_EVENT_QUERY_TYPES = ('', 'boolean', 'float', 'integer', 'string')
#: Mandatory keys of each type's rule (beyond which Aodh fills defaults).
_RULE_KEYS: dict[str, tuple[str, ...]] = {
    'event': (),
    'composite': (),
    'gnocchi_resources_threshold': ('threshold', 'aggregation_method', 'metric',
                                    'resource_id', 'resource_type'),
    'gnocchi_aggregation_by_metrics_threshold': ('threshold', 'aggregation_method',
                                                 'metrics'),
    'gnocchi_aggregation_by_resources_threshold': ('threshold', 'aggregation_method',
                                                   'metric', 'query', 'resource_type'),
    'loadbalancer_member_health': ('pool_id', 'stack_id', 'autoscaling_group_id'),
    'prometheus': ('threshold', 'query'),
}
_GNOCCHI_DEFAULTS = {'comparison_operator': 'eq', 'granularity': 60, 'evaluation_periods': 1}
_RULE_DEFAULTS: dict[str, dict[str, Any]] = {
    'event': {'event_type': '*', 'query': []},
    'gnocchi_resources_threshold': _GNOCCHI_DEFAULTS,
    'gnocchi_aggregation_by_metrics_threshold': _GNOCCHI_DEFAULTS,
    'gnocchi_aggregation_by_resources_threshold': _GNOCCHI_DEFAULTS,
    'prometheus': {'comparison_operator': 'eq'},
}
#: The fields of a change in the history, as a complex query names them.
HISTORY_FIELDS = ('event_id', 'alarm_id', 'type', 'detail', 'user_id', 'project_id',
                  'on_behalf_of', 'severity', 'timestamp')
_HISTORY_NAMES = {'user': 'user_id', 'project': 'project_id'}
_SIMPLE_OPS: dict[str, Callable[[Any, Any], bool]] = {
    '=': operator.eq, '!=': operator.ne, '<': operator.lt, '<=': operator.le,
    '=<': operator.le, '>': operator.gt, '>=': operator.ge, '=>': operator.ge}
_TRUE = {'true', '1', 'on', 'yes', 'y', 't'}
_FALSE = {'false', '0', 'off', 'no', 'n', 'f'}


def aodh_error(status: int, message: str) -> Response:
    """Aodh's error body (wsme's fault wrapped by Aodh's error middleware)."""
    return Response(status, {'error_message': {
        'faultcode': 'Client' if status < 500 else 'Server',
        'faultstring': message, 'debuginfo': None}})


def _invalid(field: str, value: Any, reason: str) -> HTTPError:
    return HTTPError(aodh_error(
        400, f'Invalid input for field/attribute {field}. Value: \'{value}\'. {reason}'))


def _as_bool(field: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise _invalid(field, value, 'Wrong type. Expected \'boolean\'')


class AodhService(Service):
    """``/aodh``: the Aodh v2 alarm API."""

    name = 'alarming'
    prefix = '/aodh'

    def __init__(self, store: AodhStore, identity: Identity) -> None:
        super().__init__()
        self.store = store
        self.identity = identity
        # (listing it was built from, alarms by id, position of each id)
        self._by_id: dict[bool, tuple[list[dict[str, Any]], list[dict[str, Any]],
                                      dict[str, int]]] = {}
        one = r'/v2/alarms/(?P<id>[^/]+)'
        self.route('aodh.root', 'GET', r'/?', self._root)
        self.route('aodh.alarms.list', 'GET', r'/v2/alarms/?', self._list)
        self.route('aodh.alarms.create', 'POST', r'/v2/alarms/?', self._create)
        self.route('aodh.alarms.show', 'GET', one + '/?', self._show)
        self.route('aodh.alarms.update', 'PUT', one + '/?', self._update)
        self.route('aodh.alarms.delete', 'DELETE', one + '/?', self._delete)
        self.route('aodh.alarms.state.show', 'GET', one + '/state/?', self._get_state)
        self.route('aodh.alarms.state.update', 'PUT', one + '/state/?', self._put_state)
        self.route('aodh.alarms.history', 'GET', one + '/history/?', self._history)
        self.route('aodh.query.alarms.history', 'POST', r'/v2/query/alarms/history/?',
                   self._query_history)

    def error(self, status: int, message: str = '') -> Response:
        return aodh_error(status, message or 'injected fault')

    # -- helpers ---------------------------------------------------------

    def _caller(self, request: Request) -> Caller:
        """The caller; only an admin may come without a project."""
        caller = self.identity.caller(request)
        if caller is None or not (caller.project_id or caller.is_admin):
            raise HTTPError(aodh_error(403, 'RBAC Authorization Failed'))
        return caller

    def _alarm_for(self, request: Request, caller: Caller) -> dict[str, Any]:
        assert request.match is not None
        alarm_id = request.match.group('id')
        with self.store.lock:
            alarm = self.store.alarms.get(alarm_id)
            if alarm is None or not (caller.is_admin or
                                     alarm['project_id'] == caller.project_id):
                message = (f'Alarm {alarm_id} not found' if caller.is_admin else
                           f'Alarm {alarm_id} not found in project {caller.project_id}')
                raise HTTPError(aodh_error(404, message))
            return alarm

    # -- routes ----------------------------------------------------------

    def _root(self, request: Request) -> Response:
        return Response(200, {'versions': {'values': [{
            'status': 'stable', 'id': 'v2', 'updated': '2013-02-13T00:00:00Z',
            'links': [{'href': f'{request.root_url}/v2', 'rel': 'self'},
                      {'href': 'https://docs.openstack.org/', 'rel': 'describedby',
                       'type': 'text/html'}],
            'media-types': [{'base': 'application/json',
                             'type': 'application/vnd.openstack.telemetry-v2+json'}]}]}})

    def _query(self, request: Request) -> list[dict[str, str]]:
        fields = request.params_all('q.field')
        ops = request.params_all('q.op')
        values = request.params_all('q.value')
        types = request.params_all('q.type')
        if len(values) != len(fields):
            raise _invalid('q', fields, 'each q.field needs a q.value')
        return [{'field': f, 'op': ops[i] if i < len(ops) else 'eq', 'value': values[i],
                 'type': types[i] if i < len(types) else ''}
                for i, f in enumerate(fields)]

    def _list(self, request: Request) -> Response:
        caller = self._caller(request)
        query = self._query(request)
        keys = {q['field'] for q in query}
        if not keys <= set(QUERY_FIELDS):
            raise _invalid('field', keys, f'only fields {set(QUERY_FIELDS)} are allowed')
        ops = {q['op'] for q in query}
        if ops - {'eq'}:
            raise _invalid('op', ops, "only operations {'eq'} are allowed")
        filters: dict[str, Any] = {}
        all_projects = False
        for item in query:
            value: Any = item['value']
            if item['field'] in _BOOLEAN_FIELDS:
                value = _as_bool(item['field'], value)
            if item['field'] == 'all_projects':
                all_projects = value
            else:
                filters[item['field']] = value
        if all_projects and not caller.is_admin:
            raise HTTPError(aodh_error(403, 'RBAC Authorization Failed'))
        if not all_projects:
            requested = filters.get('project_id')
            if requested is None:
                filters['project_id'] = caller.project_id
            elif requested != caller.project_id and not caller.is_admin:
                raise HTTPError(aodh_error(401, f'Not Authorized to access project '
                                                f'{requested}'))
        limit = self._limit(request)
        sorts = self._sorts(request)
        with self.store.lock:
            alarms, positions = self._sorted(sorts)
            if filters:
                alarms = [a for a in alarms if all(a.get(k) == v for k, v in filters.items())]
                positions = None
            marker = request.param('marker')
            if marker:
                position = (positions.get(marker) if positions is not None else
                            next((i for i, a in enumerate(alarms)
                                  if a['alarm_id'] == marker), None))
                if position is None:
                    # Aodh 23 lets storage.InvalidMarker escape: a 500.
                    raise HTTPError(aodh_error(500, f'Marker {marker} not found.'))
                alarms = alarms[position + 1:]
            if limit:
                alarms = alarms[:limit]
            # Encoded under the lock: a snapshot, and far cheaper than a deep
            # copy of every alarm (a 10,000-alarm listing took half a second).
            body = json.dumps(alarms).encode()
        return Response(200, raw=body)

    def _sorted(self, sorts: list[tuple[str, str]]
                ) -> tuple[list[dict[str, Any]], dict[str, int] | None]:
        """Every alarm in ``sorts`` order, and each id's position when known.

        Sorting by alarm id alone (a paging driver's order) is kept until
        the set of alarms changes, as a database index would be: otherwise
        every page of a 10,000-alarm listing re-sorted every alarm and
        searched the marker from the start. Call with the store's lock held.
        """
        ordered = self.store.ordered()
        if sorts and all(key == 'alarm_id' for key, _ in sorts):
            reverse = sorts[0][1] == 'desc'
            cached = self._by_id.get(reverse)
            if cached is None or cached[0] is not ordered:
                alarms = sorted(ordered, key=lambda a: a['alarm_id'], reverse=reverse)
                cached = (ordered, alarms, {a['alarm_id']: i for i, a in enumerate(alarms)})
                self._by_id[reverse] = cached
            return cached[1], cached[2]
        alarms = ordered
        for key, direction in reversed(sorts):
            alarms = sorted(alarms, key=_sort_key(key), reverse=direction == 'desc')
        return alarms, None

    def _limit(self, request: Request) -> int | None:
        raw = request.param('limit')
        if not raw:
            return None
        try:
            limit = int(raw)
        except ValueError:
            raise _invalid('limit', raw, "Wrong type. Expected 'int'") from None
        if limit < 0:
            raise _invalid('limit', limit, 'it should be a positive integer.')
        return limit

    def _sorts(self, request: Request) -> list[tuple[str, str]]:
        sorts = []
        for item in request.params_all('sort'):
            key, _, direction = item.partition(':')
            if key not in SORT_KEYS or direction not in ('', 'asc', 'desc'):
                raise _invalid('sort', item, 'the sort parameter should be a pair of sort '
                               "key and sort dir combined with ':', the supported sort "
                               f'keys are: {SORT_KEYS}')
            sorts.append((key, direction or 'asc'))
        return sorts

    def _show(self, request: Request) -> Response:
        caller = self._caller(request)
        with self.store.lock:
            return Response(200, copy.deepcopy(self._alarm_for(request, caller)))

    def _validated(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise HTTPError(aodh_error(400, 'Missing argument: "data"'))
        if 'name' not in body:
            raise _invalid('name', None, 'Mandatory field missing.')
        alarm_type = body.get('type')
        if alarm_type is None:
            raise _invalid('type', None, 'Mandatory field missing.')
        if alarm_type not in CREATABLE_TYPES:
            raise _invalid('type', alarm_type,
                           f'Value should be one of: {", ".join(sorted(CREATABLE_TYPES))}')
        for field, allowed in (('state', STATES), ('severity', SEVERITIES)):
            if field in body and body[field] not in allowed:
                raise _invalid(field, body[field],
                               f'Value should be one of: {", ".join(allowed)}')
        rule_key = f'{alarm_type}_rule'
        rule = body.get(rule_key)
        if rule is None:
            raise HTTPError(aodh_error(
                400, f'{rule_key} must be set for {alarm_type} type alarm'))
        others = [k for k in body if k.endswith('_rule') and k != rule_key]
        if others:
            raise HTTPError(aodh_error(
                400, f'{rule_key} and {others[0]} cannot be set at the same time'))
        return {**body, rule_key: self._rule(alarm_type, rule)}

    def _rule(self, alarm_type: str, rule: Any) -> Any:
        if not isinstance(rule, dict):
            raise _invalid(f'{alarm_type}_rule', rule, 'Wrong type. Expected a rule.')
        if alarm_type == 'composite':
            if not (set(rule) <= {'and', 'or'} and len(rule) == 1):
                raise HTTPError(aodh_error(400, 'Composite rule must have one of and/or'))
            return rule
        missing = [k for k in _RULE_KEYS[alarm_type] if k not in rule]
        if missing:
            raise _invalid(missing[0], None, 'Mandatory field missing.')
        full = {**_RULE_DEFAULTS.get(alarm_type, {}), **rule}
        if 'comparison_operator' in full and full['comparison_operator'] not in _COMPARISONS:
            raise _invalid('comparison_operator', full['comparison_operator'],
                           f'Value should be one of: {", ".join(_COMPARISONS)}')
        if alarm_type == 'event':
            for item in full.get('query') or []:
                if not isinstance(item, dict) or item.get('type') not in _EVENT_QUERY_TYPES:
                    raise HTTPError(aodh_error(
                        400, 'Query value or traits invalid: value must be one of '
                        f"{list(_EVENT_QUERY_TYPES)} for dictionary value @ data['value']"))
                item.setdefault('op', 'eq')
        return full

    def _create(self, request: Request) -> Response:
        caller = self._caller(request)
        try:
            body = self._validated(request.json())
        except ValueError:
            raise HTTPError(aodh_error(400, 'Invalid JSON body')) from None
        alarm_type = body.pop('type')
        rule = body.pop(f'{alarm_type}_rule')
        name = body.pop('name')
        fields = {k: body[k] for k in ('description', 'enabled', 'repeat_actions', 'severity',
                                       'state', 'alarm_actions', 'ok_actions',
                                       'insufficient_data_actions', 'time_constraints')
                  if k in body}
        project = body.get('project_id') if caller.is_admin else None
        alarm = self.store.create_alarm(name, alarm_type, rule, caller=caller,
                                        project_id=project, **fields)
        return Response(201, alarm,
                        {'Location': f'{request.root_url}/v2/alarms/{alarm["alarm_id"]}'})

    def _update(self, request: Request) -> Response:
        caller = self._caller(request)
        alarm = self._alarm_for(request, caller)
        try:
            body = self._validated(request.json())
        except ValueError:
            raise HTTPError(aodh_error(400, 'Invalid JSON body')) from None
        # A PUT replaces the alarm: what the body leaves out takes its default.
        alarm_type = body['type']
        changes: dict[str, Any] = {'enabled': True, 'repeat_actions': False, 'severity': 'low',
                   'state': 'insufficient data', 'alarm_actions': [], 'ok_actions': [],
                   'insufficient_data_actions': [], 'time_constraints': [],
                   'description': default_description(alarm_type,
                                                      body[f'{alarm_type}_rule'])}
        changes.update({k: v for k, v in body.items()
                        if k not in ('alarm_id', 'timestamp', 'state_timestamp',
                                     'state_reason', 'project_id', 'user_id',
                                     'evaluate_timestamp')})
        return Response(200, self.store.update_alarm(alarm['alarm_id'], caller=caller,
                                                     **changes))

    def _delete(self, request: Request) -> Response:
        caller = self._caller(request)
        alarm = self._alarm_for(request, caller)
        self.store.delete_alarm(alarm['alarm_id'], caller=caller)
        return Response(204)

    def _get_state(self, request: Request) -> Response:
        caller = self._caller(request)
        return Response(200, self._alarm_for(request, caller)['state'])

    def _put_state(self, request: Request) -> Response:
        caller = self._caller(request)
        alarm = self._alarm_for(request, caller)
        try:
            state = request.json()
        except ValueError:
            state = None
        if state not in STATES:
            raise _invalid('state', state, f'Value should be one of: {", ".join(STATES)}')
        updated = self.store.set_state(alarm['alarm_id'], state, source='api', caller=caller)
        return Response(200, updated['state'])

    def _history(self, request: Request) -> Response:
        caller = self._caller(request)
        alarm = self._alarm_for(request, caller)
        changes = self.store.changes(alarm['alarm_id'])
        limit = self._limit(request)
        return Response(200, changes[:limit] if limit else changes)


    def _query_history(self, request: Request) -> Response:
        caller = self._caller(request)
        try:
            body = request.json()
        except ValueError:
            raise HTTPError(aodh_error(400, 'Invalid JSON body')) from None
        if not isinstance(body, dict):
            raise HTTPError(aodh_error(400, 'Invalid JSON body'))
        matches: Callable[[dict[str, Any]], bool] = lambda change: True  # noqa: E731
        if body.get('filter') is not None:
            try:
                matches = _history_filter(json.loads(body['filter']))
            except (TypeError, ValueError) as exc:
                raise HTTPError(aodh_error(
                    400, f'Filter expression not valid: {exc}')) from None
        orderby: list[tuple[str, bool]] = [('timestamp', True)]
        if body.get('orderby') is not None:
            try:
                orderby = _history_orderby(json.loads(body['orderby']))
            except (TypeError, ValueError) as exc:
                raise HTTPError(aodh_error(
                    400, f'Order-by expression not valid: {exc}')) from None
        limit = body.get('limit')
        if limit is not None and (not isinstance(limit, int) or limit <= 0):
            raise HTTPError(aodh_error(400, 'Limit should be positive'))
        changes = [c for c in self.store.every_change()
                   if (caller.is_admin or c['on_behalf_of'] == caller.project_id)
                   and matches(c)]
        for field, descending in reversed(orderby):
            changes.sort(key=_sort_key(field), reverse=descending)
        return Response(200, changes[:limit] if limit else changes)


def _history_value(field: str, value: Any) -> Any:
    """A change's value, or a filter's, as the query compares it."""
    if field == 'timestamp' and value is not None:
        if not isinstance(value, str):
            raise ValueError(f'{value!r} is not a valid isotime')
        moment = datetime.datetime.fromisoformat(value.replace('Z', '+00:00'))
        return moment.replace(tzinfo=None)  # as Aodh: the zone is dropped, not applied
    return value


def _history_field(operand: Any) -> tuple[str, Any]:
    if not isinstance(operand, dict) or len(operand) != 1:
        raise ValueError(f'{operand!r} is not one field and its value')
    field, value = next(iter(operand.items()))
    field = _HISTORY_NAMES.get(field, field)
    if field not in HISTORY_FIELDS:
        raise ValueError(f'{field!r} is not a field of an alarm change')
    return field, value


def _history_filter(expr: Any) -> Callable[[dict[str, Any]], bool]:
    """A complex query filter as a predicate on one change.

    :raises ValueError: the filter is not one Aodh accepts.
    """
    if not isinstance(expr, dict) or len(expr) != 1:
        raise ValueError(f'{expr!r} is not one operator and its operand')
    op, operand = next(iter(expr.items()))
    op = op.lower()
    if op in ('and', 'or'):
        if not isinstance(operand, list) or len(operand) < 2:
            raise ValueError(f'{op} takes a list of at least two expressions')
        parts = [_history_filter(e) for e in operand]
        combine = all if op == 'and' else any
        return lambda change: combine(p(change) for p in parts)
    if op == 'not':
        inner = _history_filter(operand)
        return lambda change: not inner(change)
    field, value = _history_field(operand)
    if op == 'in':
        if not isinstance(value, list) or not value:
            raise ValueError('in takes a list of at least one value')
        wanted = [_history_value(field, v) for v in value]
        return lambda change: _history_value(field, change.get(field)) in wanted
    compare = _SIMPLE_OPS.get(op)
    if compare is None:
        raise ValueError(f'{op!r} is not an operator the emulator knows')
    if isinstance(value, (list, dict)):
        raise ValueError(f'{value!r} is not a string, number or boolean')
    expected = _history_value(field, value)

    def simple(change: dict[str, Any]) -> bool:
        actual = _history_value(field, change.get(field))
        return actual is not None and bool(compare(actual, expected))
    return simple


def _history_orderby(expr: Any) -> list[tuple[str, bool]]:
    """``[{"field": "asc"|"desc"}, ...]`` as ``(field, descending)`` pairs."""
    if not isinstance(expr, list):
        raise ValueError(f'{expr!r} is not a list')
    pairs = []
    for item in expr:
        field, direction = _history_field(item)
        if not isinstance(direction, str) or direction.lower() not in ('asc', 'desc'):
            raise ValueError(f'{direction!r} is not asc or desc')
        pairs.append((field, direction.lower() == 'desc'))
    return pairs


def _sort_key(field: str) -> Callable[[dict[str, Any]], tuple[bool, Any]]:
    """Sort by ``field``, missing values first."""
    def key(alarm: dict[str, Any]) -> tuple[bool, Any]:
        value = alarm.get(field)
        return value is not None, value if value is not None else 0
    return key

"""Aodh's state in the emulated cloud: alarms, their history, and changes.

Alarms are kept in Aodh's API shape (one dict each, with the rule under
``<type>_rule``). Changes made through :class:`AodhStore` or through the
API record history and, when ``notify`` is true, publish the notification
Aodh sends: ``alarm.creation``, ``alarm.rule_change``, ``alarm.deletion``
and ``alarm.state_transition`` from the API (``detail`` a dict, publisher
``aodh.api``) or ``alarm.state_transition`` from the evaluator (``detail``
a JSON string, publisher ``aodh.evaluator``).
"""

from __future__ import annotations

import copy
import datetime
import json
import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from vitrage_ds_testing.cloud import notifications
from vitrage_ds_testing.cloud.keystone import Caller, Identity
from vitrage_ds_testing.cloud.seed import EPOCH, Ids, aodh_time, utcnow

__all__ = ['ALARM_TYPES', 'CREATABLE_TYPES', 'AodhStore', 'STATES', 'SEVERITIES',
           'change_form', 'default_description', 'sample_rule']

STATES = ('ok', 'alarm', 'insufficient data')
SEVERITIES = ('low', 'moderate', 'critical')
#: Types Aodh 23 accepts on create.
CREATABLE_TYPES = ('event', 'composite', 'gnocchi_resources_threshold',
                   'gnocchi_aggregation_by_metrics_threshold',
                   'gnocchi_aggregation_by_resources_threshold',
                   'loadbalancer_member_health', 'prometheus')
#: Every type a listing may return (old clouds still have ``threshold``).
ALARM_TYPES = (*CREATABLE_TYPES, 'threshold')
REASON_DEFAULT = 'Not evaluated yet'
REASON_MANUAL = 'Manually set via API'


def sample_rule(alarm_type: str, key: str = 'x') -> dict[str, Any]:
    """A valid rule of ``alarm_type`` with Aodh's own keys (``key`` varies it)."""
    gnocchi = {'comparison_operator': 'gt', 'threshold': 80.0, 'aggregation_method': 'mean',
               'granularity': 300, 'evaluation_periods': 1}
    rules: dict[str, dict[str, Any]] = {
        'event': {'event_type': 'compute.instance.update',
                  'query': [{'field': 'traits.instance_id', 'op': 'eq', 'type': 'string',
                             'value': key}]},
        'gnocchi_resources_threshold': {**gnocchi, 'metric': 'cpu', 'resource_id': key,
                                        'resource_type': 'instance'},
        'gnocchi_aggregation_by_metrics_threshold': {**gnocchi, 'metrics': [key]},
        'gnocchi_aggregation_by_resources_threshold': {
            **gnocchi, 'metric': 'cpu', 'resource_type': 'instance',
            'query': json.dumps({'=': {'server_group': key}})},
        'loadbalancer_member_health': {'pool_id': key, 'stack_id': key,
                                       'autoscaling_group_id': key},
        'prometheus': {'comparison_operator': 'gt', 'threshold': 90.0,
                       'query': f'ceilometer_cpu{{resource="{key}"}}'},
        'threshold': {'meter_name': 'cpu_util', 'comparison_operator': 'gt',
                      'threshold': 70.0, 'statistic': 'avg', 'period': 600,
                      'evaluation_periods': 3, 'exclude_outliers': False,
                      'query': [{'field': 'resource_id', 'op': 'eq', 'type': '',
                                 'value': key}]},
    }
    if alarm_type == 'composite':
        return {'or': [dict(rules['gnocchi_resources_threshold'],
                            type='gnocchi_resources_threshold'),
                       dict(rules['prometheus'], type='prometheus')]}
    return copy.deepcopy(rules[alarm_type])


def default_description(alarm_type: str, rule: Any) -> str:
    """The description Aodh gives an alarm created without one."""
    if alarm_type == 'event' and isinstance(rule, dict):
        return f'Alarm when {rule.get("event_type", "*")} event occurred.'
    return f'{alarm_type} alarm rule'


def change_form(alarm: Mapping[str, Any]) -> dict[str, Any]:
    """``alarm`` as Aodh's storage model has it: the rule under ``rule``.

    The form of the ``detail`` of creation and rule-change records.
    """
    rule_key = f'{alarm["type"]}_rule'
    form = {k: copy.deepcopy(v) for k, v in alarm.items()
            if k not in (rule_key, 'evaluate_timestamp')}
    form['rule'] = copy.deepcopy(alarm.get(rule_key))
    return form


def _stored_rule(alarm_type: str, rule: Any) -> Any:
    """Composite sub-rules of type prometheus read back with ``scope_to_project``."""
    if alarm_type != 'composite' or not isinstance(rule, dict):
        return rule
    def walk(node: Any) -> Any:
        if isinstance(node, dict) and len(node) == 1 and set(node) <= {'and', 'or'}:
            op = next(iter(node))
            return {op: [walk(child) for child in node[op]]}
        if isinstance(node, dict) and node.get('type') == 'prometheus':
            return {**node, 'scope_to_project': node.get('scope_to_project')}
        return node
    return walk(rule)


class AodhStore:
    """Every alarm of the emulated Aodh; thread-safe."""

    def __init__(self, seed: int, identity: Identity, bus: notifications.NotificationBus,
                 default_project: str, default_user: str, service_user: Caller) -> None:
        self.seed = seed
        self.identity = identity
        self.bus = bus
        self.default_project = default_project
        self.default_user = default_user
        self.service_user = service_user
        self.alarms: dict[str, dict[str, Any]] = {}
        self.history: dict[str, list[dict[str, Any]]] = {}
        self.lock = threading.RLock()
        self._ids = Ids(seed, 'aodh')
        self._serial = 0
        self._order: list[dict[str, Any]] | None = None
        #: Makes ``n`` projects for ``populate(projects=n)``.
        self.project_factory: Callable[[int], list[str]] | None = None

    def __len__(self) -> int:
        with self.lock:
            return len(self.alarms)

    def get(self, alarm_id: str) -> dict[str, Any]:
        """A copy of alarm ``alarm_id``. :raises KeyError: no such alarm."""
        with self.lock:
            return copy.deepcopy(self.alarms[alarm_id])

    def by_vitrage_id(self) -> dict[str, list[dict[str, Any]]]:
        """Alarms whose event rule's query has a ``vitrage_id`` item, grouped by it.

        What a test of the Aodh notifier counts: one alarm per deduced
        alarm. Each group keeps :meth:`ordered`'s order.
        """
        found: dict[str, list[dict[str, Any]]] = {}
        for alarm in self.ordered():
            for item in (alarm.get('event_rule') or {}).get('query') or ():
                if isinstance(item, dict) and item.get('field') == 'vitrage_id':
                    found.setdefault(item['value'], []).append(alarm)
        return found

    def ordered(self) -> list[dict[str, Any]]:
        """Every alarm, Aodh's default order: newest ``timestamp`` first."""
        with self.lock:
            if self._order is None:
                self._order = sorted(self.alarms.values(),
                                     key=lambda a: (a['timestamp'], a['alarm_id']),
                                     reverse=True)
            return self._order

    # -- seeding ---------------------------------------------------------

    def populate(self, alarms: int = 100, *, projects: Sequence[str] | int | None = None,
                 types: Sequence[str] = ALARM_TYPES) -> list[dict[str, Any]]:
        """Add ``alarms`` alarms cycling through ``types``, states and severities.

        Deterministic from the seed; spread over ``projects`` (default: the
        admin project; an int: that many ``project-N`` projects). No
        notification is sent. Returns copies of the new alarms, oldest first.
        """
        if isinstance(projects, int):
            if self.project_factory is None:
                raise ValueError('a project count needs a project factory')
            project_ids = self.project_factory(projects)
        else:
            project_ids = list(projects or [self.default_project])
        made = []
        with self.lock:
            for _ in range(alarms):
                self._serial += 1
                n = self._serial
                alarm_type = types[n % len(types)]
                project = project_ids[n % len(project_ids)]
                owners = [u.id for u in self.identity.users.values()
                          if u.projects is not None and project in u.projects]
                user = owners[n % len(owners)] if owners else self.default_user
                when = aodh_time(EPOCH + datetime.timedelta(seconds=n))
                alarm_id = self._ids.uuid()
                alarm = self._alarm(
                    alarm_id=alarm_id, name=f'alarm-{n:05d}', type=alarm_type,
                    rule=_stored_rule(alarm_type, sample_rule(alarm_type, f'resource-{n:05d}')),
                    project_id=project,
                    user_id=user, state=STATES[n % 3], severity=SEVERITIES[n % 3],
                    enabled=n % 7 != 0, repeat_actions=n % 5 == 0, timestamp=when,
                    state_timestamp=when,
                    state_reason=REASON_DEFAULT if n % 3 == 2 else 'Transition to '
                    f'{STATES[n % 3]} due to emulated evaluation')
                self.alarms[alarm_id] = alarm
                made.append(copy.deepcopy(alarm))
            self._order = None
        return made

    @staticmethod
    def _alarm(*, alarm_id: str, name: str, type: str,  # noqa: A002
               rule: Any, project_id: str,
               user_id: str, state: str = 'insufficient data', severity: str = 'low',
               enabled: bool = True, repeat_actions: bool = False, timestamp: str | None,
               state_timestamp: str | None, state_reason: str = REASON_DEFAULT,
               description: str | None = None, alarm_actions: Sequence[str] = (),
               ok_actions: Sequence[str] = (), insufficient_data_actions: Sequence[str] = (),
               time_constraints: Sequence[Any] = ()) -> dict[str, Any]:
        return {
            'alarm_actions': list(alarm_actions),
            'ok_actions': list(ok_actions),
            'insufficient_data_actions': list(insufficient_data_actions),
            'alarm_id': alarm_id,
            'name': name,
            'description': (description if description is not None
                            else default_description(type, rule)),
            'enabled': enabled,
            'repeat_actions': repeat_actions,
            'type': type,
            'time_constraints': list(time_constraints),
            'project_id': project_id,
            'user_id': user_id,
            'timestamp': timestamp,
            'state': state,
            'state_timestamp': state_timestamp,
            'state_reason': state_reason,
            'severity': severity,
            'evaluate_timestamp': timestamp,
            f'{type}_rule': rule,
        }

    # -- changes ---------------------------------------------------------

    def create_alarm(self, name: str, alarm_type: str = 'event', rule: Any = None, *,
                     caller: Caller | None = None, project_id: str | None = None,
                     user_id: str | None = None, notify: bool = True,
                     **fields: Any) -> dict[str, Any]:
        """Create an alarm as the API does; publishes ``alarm.creation``.

        ``fields`` are other alarm attributes (``severity``, ``state``,
        ``description``, ``alarm_actions``, ``enabled``...).
        """
        caller = caller or self._default_caller()
        now = aodh_time(utcnow())
        with self.lock:
            alarm = self._alarm(
                alarm_id=str(uuid.uuid4()), name=name, type=alarm_type,
                rule=rule if rule is not None else sample_rule(alarm_type, name),
                project_id=project_id or caller.project_id, user_id=user_id or caller.user_id,
                timestamp=now, state_timestamp=now, **fields)
            alarm['state_reason'] = REASON_DEFAULT
            answer = copy.deepcopy(alarm)
            rule_key = f'{alarm_type}_rule'
            alarm[rule_key] = _stored_rule(alarm_type, alarm[rule_key])
            self.alarms[alarm['alarm_id']] = alarm
            self._order = None
            self._record(alarm, 'creation', change_form(answer), caller, caller.project_id,
                         alarm['severity'], notify)
            return answer

    def update_alarm(self, alarm_id: str, *, caller: Caller | None = None,
                     notify: bool = True, **changes: Any) -> dict[str, Any]:
        """Change alarm attributes; publishes ``alarm.rule_change`` with the diff.

        The diff is in storage form (the rule under ``rule``); a change of
        state sets ``state_reason`` to Aodh's manual reason. As after an API
        update, ``evaluate_timestamp`` becomes ``None``.
        """
        caller = caller or self._default_caller()
        now = aodh_time(utcnow())
        with self.lock:
            alarm = self.alarms[alarm_id]
            new = copy.deepcopy(alarm)
            new.update(changes)
            if new.get('type') != alarm['type']:
                new.pop(f'{alarm["type"]}_rule', None)
            rule_key = f'{new["type"]}_rule'
            new[rule_key] = _stored_rule(new['type'], new.get(rule_key))
            new['timestamp'] = now
            new['evaluate_timestamp'] = None
            if new['state'] != alarm['state']:
                new['state_timestamp'] = now
                new['state_reason'] = REASON_MANUAL
            before, after = change_form(alarm), change_form(new)
            diff = {k: v for k, v in after.items()
                    if before.get(k) != v and k not in ('timestamp', 'state_timestamp')}
            alarm.clear()
            alarm.update(new)
            self._order = None
            if diff:
                self._record(alarm, 'rule change', diff, caller, alarm['project_id'],
                             diff.get('severity'), notify)
            return copy.deepcopy(alarm)

    def set_state(self, alarm_id: str, state: str, reason: str | None = None, *,
                  source: str = 'evaluator', caller: Caller | None = None,
                  notify: bool = True) -> dict[str, Any]:
        """Change an alarm's state and publish ``alarm.state_transition``.

        :param source: ``evaluator`` (what Aodh's evaluator sends: ``detail``
            a JSON string with ``state`` and ``transition_reason``, publisher
            ``aodh.evaluator``) or ``api`` (what ``PUT .../state`` sends:
            ``detail`` a dict with ``state`` and ``state_reason``).
        """
        if state not in STATES:
            raise ValueError(f'state must be one of {STATES}')
        now = aodh_time(utcnow())
        with self.lock:
            alarm = self.alarms[alarm_id]
            alarm['state'] = state
            alarm['state_timestamp'] = now
            if source == 'api':
                alarm['state_reason'] = REASON_MANUAL
                self._record(alarm, 'state transition',
                             {'state': state, 'state_reason': REASON_MANUAL},
                             caller or self._default_caller(), alarm['project_id'], None,
                             notify)
            elif source == 'evaluator':
                alarm['state_reason'] = reason or f'Transition to {state} (emulated)'
                self._record_evaluator(alarm, alarm['state_reason'], notify)
            else:
                raise ValueError("source must be 'evaluator' or 'api'")
            return copy.deepcopy(alarm)

    def delete_alarm(self, alarm_id: str, *, caller: Caller | None = None,
                     notify: bool = True) -> None:
        """Delete an alarm; publishes ``alarm.deletion`` (``detail``: its state)."""
        caller = caller or self._default_caller()
        with self.lock:
            alarm = self.alarms.pop(alarm_id)
            self._order = None
            self._record(alarm, 'deletion', {'state': alarm['state']}, caller,
                         caller.project_id, alarm['severity'], notify)

    def changes(self, alarm_id: str) -> list[dict[str, Any]]:
        """The alarm's history, newest first (as ``GET .../history``)."""
        with self.lock:
            return list(reversed(self.history.get(alarm_id, [])))

    def every_change(self) -> list[dict[str, Any]]:
        """The history of every alarm, deleted ones too, oldest first (what
        ``POST /v2/query/alarms/history`` searches)."""
        with self.lock:
            return sorted((dict(r) for records in self.history.values() for r in records),
                          key=lambda r: r['timestamp'])

    def _default_caller(self) -> Caller:
        user = self.identity.users[self.default_user]
        return Caller(user.id, user.name, self.default_project, user.roles)

    def _record(self, alarm: Mapping[str, Any], kind: str, detail: dict[str, Any],
                caller: Caller, on_behalf_of: str, severity: str | None,
                notify: bool) -> None:
        payload = {
            'event_id': str(uuid.uuid4()),
            'alarm_id': alarm['alarm_id'],
            'type': kind,
            'detail': detail,
            'user_id': caller.user_id,
            'project_id': caller.project_id,
            'on_behalf_of': on_behalf_of,
            'timestamp': aodh_time(utcnow()),
            'severity': severity,
        }
        self._remember(payload, json.dumps(detail))
        if notify:
            self.bus.emit(notifications.Notification(
                notifications.AODH, 'aodh.api', 'alarm.' + kind.replace(' ', '_'), 'info',
                payload))

    def _record_evaluator(self, alarm: Mapping[str, Any], reason: str, notify: bool) -> None:
        payload = {
            'event_id': str(uuid.uuid4()),
            'alarm_id': alarm['alarm_id'],
            'type': 'state transition',
            'detail': json.dumps({'state': alarm['state'], 'transition_reason': reason}),
            'user_id': self.service_user.user_id,
            'project_id': self.service_user.project_id,
            'on_behalf_of': alarm['project_id'],
            'timestamp': aodh_time(utcnow()),
            'severity': alarm['severity'],
        }
        self._remember(payload, payload['detail'])
        if notify:
            self.bus.emit(notifications.Notification(
                notifications.AODH, 'aodh.evaluator', 'alarm.state_transition', 'info',
                payload))

    def _remember(self, payload: Mapping[str, Any], detail: str) -> None:
        """Keep a history record: the payload minus ``severity``, ``detail`` as JSON."""
        record = {k: v for k, v in payload.items() if k != 'severity'}
        record['detail'] = detail
        self.history.setdefault(payload['alarm_id'], []).append(record)

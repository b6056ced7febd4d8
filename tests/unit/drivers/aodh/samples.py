"""Aodh alarms and notifications shaped as Aodh 23 shapes them.

Alarm bodies follow ``aodh.api.controllers.v2.alarms.Alarm`` (the rule under
``<type>_rule``, only the set one). Notification payloads follow
``aodh.api.controllers.v2.alarms``: ``AlarmsController._record_creation``,
``AlarmController._record_change`` / ``_record_delete`` (detail a dict, the
rule under ``rule``), and ``aodh.evaluator.Evaluator._record_change`` (detail
a JSON string with ``transition_reason``); timestamps as oslo.messaging's
``JsonPayloadSerializer`` writes datetimes.
"""

from __future__ import annotations

import copy
import json
from typing import Any

PROJECT_A = '5542b27142154f30b32dea6238aa81aa'
PROJECT_B = '7e1a2a3c4f5d4e6f8a9b0c1d2e3f4a5b'
USER = '8ab65ef808b245e3ba234b7b3554cb94'
ADMIN_PROJECT = 'a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5'
SERVICE_USER = 'c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6'
SERVICE_PROJECT = 'd2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7'
SERVER = 'b0bf3635-d9e8-4624-9793-7aac82948c0a'
STACK = '0f6a1b9e-58a3-4b0e-9c49-7f6e0d0c2a11'
GROUP = '3d7f0f52-6a0e-4b59-8c5e-2f1f0b6f1c22'
POOL = 'c5e2a8e4-1f3b-4d1e-9a3b-6b2f0c7d8e33'
VITRAGE_ID = '6a7c4d5e-0b1f-4e2a-9c3d-8e7f6a5b4c44'
CREATED = '2024-05-01T12:00:00.123456'
STATE_CHANGED = '2024-05-01T12:05:00.654321'

#: One rule per type, as Aodh stores and returns it.
RULES: dict[str, dict[str, Any]] = {
    'event': {
        'event_type': 'compute.instance.update',
        'query': [{'field': 'traits.resource_id', 'op': 'eq', 'type': 'string',
                   'value': SERVER}],
    },
    'threshold': {
        'meter_name': 'cpu_util', 'comparison_operator': 'gt', 'threshold': 90.0,
        'statistic': 'avg', 'period': 600, 'evaluation_periods': 3,
        'exclude_outliers': False,
        'query': [{'field': 'resource_id', 'op': 'eq', 'type': '', 'value': SERVER}],
    },
    'gnocchi_resources_threshold': {
        'metric': 'cpu', 'resource_id': SERVER, 'resource_type': 'instance',
        'comparison_operator': 'gt', 'threshold': 80.0,
        'aggregation_method': 'rate:mean', 'evaluation_periods': 1,
        'granularity': 300,
    },
    'gnocchi_aggregation_by_metrics_threshold': {
        'metrics': ['0bb1604d-1193-4c0a-b4b8-74b170e35e83',
                    '9ddc209f-42f8-41e1-b8f1-8804f59c4053'],
        'comparison_operator': 'gt', 'threshold': 80.0,
        'aggregation_method': 'mean', 'evaluation_periods': 1, 'granularity': 300,
    },
    'gnocchi_aggregation_by_resources_threshold': {
        'metric': 'cpu', 'resource_type': 'instance',
        'query': json.dumps({'and': [
            {'or': [{'=': {'created_by_project_id': PROJECT_A}},
                    {'and': [{'=': {'created_by_project_id': ADMIN_PROJECT}},
                             {'=': {'project_id': PROJECT_A}}]}]},
            {'=': {'id': SERVER}}]}),
        'comparison_operator': 'gt', 'threshold': 80.0,
        'aggregation_method': 'mean', 'evaluation_periods': 1, 'granularity': 300,
    },
    'prometheus': {
        'comparison_operator': 'gt', 'threshold': 80.0,
        'query': f'avg(rate(ceilometer_cpu{{resource_id="{SERVER}"}}[5m]))',
    },
    'composite': {
        'or': [
            {'type': 'gnocchi_resources_threshold', 'metric': 'cpu',
             'resource_id': SERVER, 'resource_type': 'instance',
             'comparison_operator': 'gt', 'threshold': 80.0,
             'aggregation_method': 'mean', 'evaluation_periods': 1,
             'granularity': 60},
            {'and': [
                {'type': 'prometheus', 'comparison_operator': 'gt',
                 'threshold': 70.0,
                 'query': f'ceilometer_memory_usage{{resource_id="{SERVER}"}}'},
                {'type': 'gnocchi_aggregation_by_metrics_threshold',
                 'metrics': ['0bb1604d-1193-4c0a-b4b8-74b170e35e83'],
                 'comparison_operator': 'gt', 'threshold': 1.0,
                 'aggregation_method': 'mean', 'evaluation_periods': 1,
                 'granularity': 60},
            ]},
        ],
    },
    'loadbalancer_member_health': {
        'pool_id': POOL, 'stack_id': STACK, 'autoscaling_group_id': GROUP,
    },
}

#: The resource each sample rule above names.
EXPECTED_RESOURCE = {
    'event': SERVER,
    'threshold': SERVER,
    'gnocchi_resources_threshold': SERVER,
    'gnocchi_aggregation_by_metrics_threshold': None,
    'gnocchi_aggregation_by_resources_threshold': SERVER,
    'prometheus': SERVER,
    'composite': SERVER,
    'loadbalancer_member_health': GROUP,
}

TYPES = tuple(RULES)


def alarm_id(index: int) -> str:
    """A deterministic alarm id, sorting as ``index`` sorts (below 16**12)."""
    return f'00000000-0000-4000-8000-{index:012x}'


def alarm(alarm_type: str = 'event', index: int = 1, **overrides: Any) -> dict[str, Any]:
    """An alarm as ``GET /v2/alarms`` returns it."""
    body: dict[str, Any] = {
        'alarm_id': alarm_id(index),
        'name': f'{alarm_type}-{index}',
        'description': f'{alarm_type} alarm rule',
        'enabled': True,
        'ok_actions': [],
        'alarm_actions': ['log://'],
        'insufficient_data_actions': [],
        'repeat_actions': False,
        'type': alarm_type,
        'time_constraints': [],
        'project_id': PROJECT_A,
        'user_id': USER,
        'timestamp': CREATED,
        'state': 'insufficient data',
        'state_timestamp': CREATED,
        'state_reason': 'Not evaluated yet',
        'severity': 'low',
        'evaluate_timestamp': None,
    }
    if alarm_type in RULES:
        body[f'{alarm_type}_rule'] = copy.deepcopy(RULES[alarm_type])
    body.update(overrides)
    return body


def deduced_alarm(index: int = 1, name: str = 'cpu high') -> dict[str, Any]:
    """An event alarm as the vitrage_ds Aodh notifier creates it."""
    return alarm('event', index, name=f'{name}_{SERVER}', state='alarm',
                 severity='critical',
                 description='Deduced by Vitrage',
                 event_rule={'event_type': 'vitrage.deduced_alarm', 'query': [
                     {'field': 'resource_id', 'op': 'eq', 'type': 'string',
                      'value': SERVER},
                     {'field': 'vitrage_id', 'op': 'eq', 'type': 'string',
                      'value': VITRAGE_ID}]})


def _payload(kind: str, alarm_id: str, detail: Any, timestamp: str,
             severity: Any, on_behalf_of: str = PROJECT_A) -> dict[str, Any]:
    return {'event_id': '9d3c1c1e-7a1b-4c55-8d0e-1f2a3b4c5d6e',
            'alarm_id': alarm_id, 'type': kind, 'detail': detail,
            'user_id': USER, 'project_id': ADMIN_PROJECT,
            'on_behalf_of': on_behalf_of, 'timestamp': timestamp,
            'severity': severity}


def creation(body: dict[str, Any]) -> dict[str, Any]:
    """``alarm.creation``: the detail is the whole alarm with ``rule``."""
    detail = {k: v for k, v in body.items()
              if not k.endswith('_rule') and k != 'evaluate_timestamp'}
    detail['rule'] = copy.deepcopy(body.get(f'{body["type"]}_rule'))
    if body['type'] == 'prometheus':
        # PrometheusRule.as_dict adds it; the API never shows it.
        detail['rule']['scope_to_project'] = None
    # Aodh's _record_creation sets on_behalf_of to the caller's project.
    return _payload('creation', body['alarm_id'], detail, body['timestamp'],
                    body.get('severity'), ADMIN_PROJECT)


def rule_change(alarm_id: str, change: dict[str, Any],
                timestamp: str = '2024-05-01T12:10:00.000000') -> dict[str, Any]:
    """``alarm.rule_change``: only what changed (a PUT of the whole alarm)."""
    return _payload('rule change', alarm_id, change, timestamp, change.get('severity'))


def api_state_transition(alarm_id: str, state: str = 'alarm',
                         timestamp: str = STATE_CHANGED) -> dict[str, Any]:
    """``alarm.state_transition`` from ``PUT /v2/alarms/{id}/state``."""
    return _payload('state transition', alarm_id,
                    {'state': state, 'state_reason': 'Manually set via API'},
                    timestamp, None)


def evaluator_state_transition(alarm_id: str, state: str = 'alarm',
                               reason: str = 'Event <id=e1,event_type=x> hits the query.',
                               severity: str = 'low',
                               timestamp: str = STATE_CHANGED) -> dict[str, Any]:
    """``alarm.state_transition`` from an evaluator: detail is a JSON string."""
    payload = _payload('state transition', alarm_id,
                       json.dumps({'state': state, 'transition_reason': reason}),
                       timestamp, severity)
    # The evaluator's identity: Aodh's service user, from its Keystone client.
    payload['user_id'], payload['project_id'] = SERVICE_USER, SERVICE_PROJECT
    return payload


def deletion(alarm_id: str, state: str = 'ok', severity: str = 'low',
             timestamp: str = '2024-05-01T12:20:00.000000') -> dict[str, Any]:
    """``alarm.deletion``: the detail holds only the last state; Aodh's
    _record_delete sets on_behalf_of to the caller's project."""
    return _payload('deletion', alarm_id, {'state': state}, timestamp, severity,
                    ADMIN_PROJECT)


#: Envelope metadata as oslo.messaging gives a notification listener.
METADATA = {'message_id': 'f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9',
            'publisher_id': 'aodh.api', 'priority': 'INFO',
            'timestamp': '2024-05-01 12:30:00.000000'}

"""One scripted scenario, played on real Heat/Aodh or on the emulated cloud.

``tools/record_real.py`` plays it on the real services and writes what they
answered (status, the headers that matter, JSON bodies) and what they sent
on the bus into ``tests/fixtures/recorded/``; the comparison tests play it
on :class:`~vitrage_ds_testing.EmulatedCloud` and hold the emulator's
answers against those recordings with :func:`differences`.

Heat's part sets its stacks up through the API on the real services and
through the emulator's store on the emulated cloud (which serves Heat's
read API only), then makes the same read calls on both. Aodh's part is the
same HTTP calls on both.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from vitrage_ds.http.client import Client

RECORDINGS = Path(__file__).resolve().parent.parent / 'fixtures' / 'recorded'

#: Projects and stack names of the scenario, the same on both sides.
PROJECT_A, PROJECT_B, USER = 'rec-project-a', 'rec-project-b', 'rec-user'
THREE, FAIL, PARENT, OTHER, GONE = 'rec-three', 'rec-fail', 'rec-parent', 'rec-other', 'rec-gone'

#: Response headers compared; the others (dates, request ids) vary anyway.
KEPT_HEADERS = ('Content-Type', 'Location')

Exchange = dict[str, Any]


# -- talking to a service ---------------------------------------------------------

def exchange(client: Client, method: str, path: str, *, params: Any = None,
             body: Any = None) -> Exchange:
    """Make one call with ``client``'s session and headers; keep what it answered.

    Unlike :meth:`Client.request` this keeps 4xx answers and their bodies
    and never follows a redirect.
    """
    resp = client.session.request(
        client.url(path), method, params=params, json=body,
        headers=dict(client.headers), raise_exc=False, redirect=False,
        timeout=client.timeout, connect_retries=0)
    content: Any = None
    if resp.content:
        try:
            content = resp.json()
        except ValueError:
            content = resp.text
    return {'request': {'method': method, 'path': path, 'params': params, 'json': body},
            'status': resp.status_code,
            'headers': {h: resp.headers[h] for h in KEPT_HEADERS if h in resp.headers},
            'body': content}


def heat_reads(heat: Client, heat_global: Client, ids: Mapping[str, str],
               allow_global: Callable[[bool], None]) -> dict[str, Exchange]:
    """The read calls of Heat's part, once its stacks are set up.

    ``ids`` maps each stack name of the scenario to its id;
    ``allow_global(flag)`` makes ``heat_global`` answer ``global_tenant``
    listings or not (a no-op where two APIs with two policies serve).
    """
    three = ids[THREE]
    out: dict[str, Exchange] = {}
    out['stack_list'] = exchange(heat, 'GET', 'stacks')
    out['stack_list_paged'] = exchange(heat, 'GET', 'stacks', params={'limit': 1})
    out['stack_list_nested'] = exchange(heat, 'GET', 'stacks', params={'show_nested': 'true'})
    out['stack_list_deleted'] = exchange(heat, 'GET', 'stacks',
                                         params={'show_deleted': 'true'})
    allow_global(False)
    out['stack_list_global_forbidden'] = exchange(heat, 'GET', 'stacks',
                                                  params={'global_tenant': 'true'})
    allow_global(True)
    out['stack_list_global'] = exchange(heat_global, 'GET', 'stacks',
                                        params={'global_tenant': 'true'})
    allow_global(False)
    out['stack_show'] = exchange(heat, 'GET', f'stacks/{THREE}/{three}')
    out['stack_show_failed'] = exchange(heat, 'GET', f'stacks/{FAIL}/{ids[FAIL]}')
    out['stack_show_by_name'] = exchange(heat, 'GET', f'stacks/{THREE}')
    out['stack_show_not_found'] = exchange(heat, 'GET', f'stacks/rec-nothing/{uuid.uuid4()}')
    out['stack_resources'] = exchange(heat, 'GET', f'stacks/{THREE}/{three}/resources')
    out['stack_resources_nested'] = exchange(
        heat, 'GET', f'stacks/{PARENT}/{ids[PARENT]}/resources', params={'nested_depth': 1})
    out['stack_resources_redirect'] = exchange(heat, 'GET', f'stacks/{three}/resources')
    resources = out['stack_resources']['body']['resources']
    name = sorted(r['resource_name'] for r in resources)[0]
    out['stack_resource_show'] = exchange(heat, 'GET',
                                          f'stacks/{THREE}/{three}/resources/{name}')
    return out


# -- Aodh -------------------------------------------------------------------------------

def alarm_bodies() -> dict[str, dict[str, Any]]:
    """One alarm of each type Aodh creates without Gnocchi or Keystone."""
    sub = {'type': 'prometheus', 'query': 'up', 'threshold': 1.0, 'comparison_operator': 'lt'}
    return {
        'event': {'name': 'rec-event', 'type': 'event', 'severity': 'critical',
                  'event_rule': {'event_type': 'compute.instance.update',
                                 'query': [{'field': 'traits.resource_id', 'op': 'eq',
                                            'value': 'r-1', 'type': 'string'}]}},
        'prometheus': {'name': 'rec-prometheus', 'type': 'prometheus',
                       'prometheus_rule': {'query': 'up', 'threshold': 1.0,
                                           'comparison_operator': 'lt'}},
        'composite': {'name': 'rec-composite', 'type': 'composite',
                      'composite_rule': {'or': [sub, dict(sub)]}},
        'loadbalancer_member_health': {
            'name': 'rec-member-health', 'type': 'loadbalancer_member_health',
            'loadbalancer_member_health_rule': {'pool_id': 'pool-1', 'stack_id': 'stack-1',
                                                'autoscaling_group_id': 'asg-1'}},
    }


def aodh_calls(aodh: Client, composite: Client, other: Client,
               anonymous: Client) -> tuple[dict[str, Exchange], str]:
    """Aodh's part: the same calls on both sides. Returns them and the id
    of the event alarm whose notifications the scenario records.

    ``aodh`` and ``composite`` act in project A (``composite`` only creates
    the composite alarm: see ``Coordinates.aodh_composite_url``), ``other``
    in project B, ``anonymous`` sends no project.
    """
    out: dict[str, Exchange] = {}
    ids = {}
    for kind, body in alarm_bodies().items():
        client = composite if kind == 'composite' else aodh
        out[f'alarm_create_{kind}'] = exchange(client, 'POST', 'v2/alarms', body=body)
        ids[kind] = out[f'alarm_create_{kind}']['body']['alarm_id']
    other_body = dict(alarm_bodies()['event'], name='rec-other')
    exchange(other, 'POST', 'v2/alarms', body=other_body)
    event = ids['event']
    untyped = json.loads(json.dumps(alarm_bodies()['event']))
    del untyped['event_rule']['query'][0]['type']
    out['alarm_create_untyped_query'] = exchange(aodh, 'POST', 'v2/alarms', body=untyped)
    out['alarm_list'] = exchange(aodh, 'GET', 'v2/alarms')
    out['alarm_list_all_projects'] = exchange(
        aodh, 'GET', 'v2/alarms',
        params=[('q.field', 'all_projects'), ('q.op', 'eq'), ('q.value', 'true')])
    out['alarm_list_by_name'] = exchange(
        aodh, 'GET', 'v2/alarms',
        params=[('q.field', 'name'), ('q.op', 'eq'), ('q.value', 'rec-event')])
    out['alarm_list_without_project'] = exchange(anonymous, 'GET', 'v2/alarms')
    for kind, alarm_id in ids.items():
        out[f'alarm_show_{kind}'] = exchange(aodh, 'GET', f'v2/alarms/{alarm_id}')
    out['alarm_state_put'] = exchange(aodh, 'PUT', f'v2/alarms/{event}/state', body='alarm')
    out['alarm_state_get'] = exchange(aodh, 'GET', f'v2/alarms/{event}/state')
    changed = json.loads(json.dumps(alarm_bodies()['event']))
    changed['event_rule']['query'][0]['value'] = 'r-2'
    out['alarm_update'] = exchange(aodh, 'PUT', f'v2/alarms/{event}', body=changed)
    out['alarm_history'] = exchange(aodh, 'GET', f'v2/alarms/{event}/history')
    out['alarm_not_found'] = exchange(aodh, 'GET', f'v2/alarms/{uuid.uuid4()}')
    out['alarm_delete'] = exchange(aodh, 'DELETE', f'v2/alarms/{event}')
    out['alarm_show_deleted'] = exchange(aodh, 'GET', f'v2/alarms/{event}')
    return out, event


# -- notifications -------------------------------------------------------------------

#: Heat event types the scenario records, and the stack each one is about.
HEAT_EVENTS = {
    'orchestration.stack.create.start': THREE,
    'orchestration.stack.create.end': THREE,
    'orchestration.stack.create.error': FAIL,
    'orchestration.stack.update.start': THREE,
    'orchestration.stack.update.end': THREE,
    'orchestration.stack.suspend.end': THREE,
    'orchestration.stack.resume.end': THREE,
    'orchestration.stack.check.end': THREE,
    'orchestration.stack.delete.start': GONE,
    'orchestration.stack.delete.end': GONE,
}
AODH_EVENTS = ('alarm.creation', 'alarm.state_transition', 'alarm.rule_change',
               'alarm.deletion')


def note(event_type: str, priority: str, publisher_id: str, payload: Any) -> dict[str, Any]:
    return {'event_type': event_type, 'priority': priority, 'publisher_id': publisher_id,
            'payload': payload}


def pick_heat(notes: Iterable[dict[str, Any]], ids: Mapping[str, str]) -> dict[str, Any]:
    """The first notification of each :data:`HEAT_EVENTS` type about its stack."""
    picked: dict[str, Any] = {}
    for n in notes:
        stack = HEAT_EVENTS.get(n['event_type'])
        if stack and n['event_type'] not in picked and \
                n['payload'].get('stack_identity') == ids[stack]:
            picked[n['event_type']] = n
    return picked


def pick_aodh(notes: Iterable[dict[str, Any]], alarm_id: str) -> dict[str, Any]:
    """The first notification of each :data:`AODH_EVENTS` type about ``alarm_id``."""
    picked: dict[str, Any] = {}
    for n in notes:
        if n['event_type'] in AODH_EVENTS and n['event_type'] not in picked and \
                n['payload'].get('alarm_id') == alarm_id:
            picked[n['event_type']] = n
    return picked


# -- recordings ------------------------------------------------------------------------

def scrub(value: Any, replacements: Mapping[str, str]) -> Any:
    """``value`` with each key of ``replacements`` replaced in every string."""
    if isinstance(value, dict):
        return {scrub(k, replacements): scrub(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, replacements) for v in value]
    if isinstance(value, str):
        for old, new in replacements.items():
            value = value.replace(old, new)
    return value


def load(name: str) -> dict[str, Any]:
    """A recording: ``heat.json`` or ``aodh.json`` in :data:`RECORDINGS`."""
    data: dict[str, Any] = json.loads((RECORDINGS / name).read_text())
    return data


# -- comparing ------------------------------------------------------------------------

def shape(value: Any, path: str = '$') -> set[tuple[str, str]]:
    """Every ``(path, JSON type)`` in ``value``; list items share ``path[]``."""
    if isinstance(value, dict):
        found = {(path, 'object')}
        for key, item in value.items():
            found |= shape(item, f'{path}.{key}')
        return found
    if isinstance(value, list):
        found = {(path, 'array')}
        for item in value:
            found |= shape(item, f'{path}[]')
        return found
    kind = {bool: 'boolean', int: 'number', float: 'number', str: 'string',
            type(None): 'null'}.get(type(value), type(value).__name__)
    return {(path, kind)}


#: Paths whose keys are data, not schema (a stack's parameters, outputs...).
_OPEN_MAPS = re.compile(r'\.(parameters|attributes|outputs)\.')


def differences(recorded: Exchange, actual: Exchange) -> list[str]:
    """How ``actual`` differs from ``recorded``: status, kept headers, body shape.

    Header values compare with the endpoint roots scrubbed (``{heat}``,
    ``{aodh}``) and ids replaced by placeholders on both sides; the body
    compares by shape (every key and the JSON type of every value), so ids,
    times and names may differ.
    """
    diffs = []
    if recorded['status'] != actual['status']:
        diffs.append(f'status {actual["status"]}, real {recorded["status"]}')
    for header, value in recorded['headers'].items():
        mine = actual['headers'].get(header)
        if header == 'Content-Type' and not isinstance(recorded['body'], (dict, list)):
            continue  # the type of a redirect's or an empty answer's body matters to no one
        if header == 'Content-Type':
            value, mine = value.split(';')[0], (mine or '').split(';')[0]
        else:
            value, mine = _generic(value), _generic(mine or '')
        if value != mine:
            diffs.append(f'header {header}: {mine!r}, real {value!r}')
    want, got = shape(recorded['body']), shape(actual['body'])
    for path, kind in sorted(want - got):
        if not _OPEN_MAPS.search(path + '.'):
            diffs.append(f'missing {path} ({kind})')
    for path, kind in sorted(got - want):
        if not _OPEN_MAPS.search(path + '.'):
            diffs.append(f'extra {path} ({kind})')
    return diffs


_UUID = re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}')


def _generic(value: str) -> str:
    value = re.sub(r'^(https?://[^/]+(/heat-api|/aodh)?|\{heat\}|\{heat_global\}|\{aodh\})',
                   '{root}', value)
    return _UUID.sub('{id}', value)


def members(item: Exchange) -> list[str]:
    """The names a listing holds (stacks or alarms), sorted; [] for others."""
    body = item['body']
    if isinstance(body, dict) and isinstance(body.get('stacks'), list):
        # Nested stacks are named <parent>-<resource>-<12 random characters>.
        return sorted(re.sub(r'-[a-z0-9]{12}$', '-*', s.get('stack_name', ''))
                      for s in body['stacks'])
    if isinstance(body, list) and all(isinstance(a, dict) and 'alarm_id' in a for a in body):
        return sorted(a.get('name', '') for a in body)
    return []

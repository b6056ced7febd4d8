#!/usr/bin/env python3
"""Record real Heat 27 and Aodh 23 answers and notifications for the emulator tests.

Usage (in the project's virtualenv)::

    .venv/bin/python tools/record_real.py [--out tests/fixtures/recorded]

Plays the scenario of ``tests/integration/scenario.py`` on the real
services (those named by ``VITRAGE_DS_REAL_*``, or a run of its own, started
and stopped here) and writes ``heat.json`` and ``aodh.json``: for each call
its request, status, kept headers and JSON body, and for each event type the
first notification (event_type, priority, publisher_id, payload). Endpoint
roots and the run's host name are replaced by placeholders (``{heat}``,
``{aodh}``, ``{host}``) so recordings differ only where the services do.
Commit the result; ``tests/integration/test_emulator_matches_recordings.py``
holds the emulated cloud against it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.integration import scenario  # noqa: E402
from vitrage_ds.http.client import Client  # noqa: E402
from tests.kit import NotificationLog, RealServices  # noqa: E402
from tests.kit.real_launcher import PINS  # noqa: E402
from vitrage_ds_testing import wait_until  # noqa: E402

DEADLINE = 120.0
CHILD = {'heat_template_version': '2018-08-31',
         'resources': {'leaf': {'type': 'OS::Heat::None'}}}
THREE = {'heat_template_version': '2018-08-31', 'resources': {
    'none': {'type': 'OS::Heat::None'},
    'random': {'type': 'OS::Heat::RandomString', 'properties': {'length': 8}},
    'test': {'type': 'OS::Heat::TestResource', 'properties': {'value': 'v1'},
             'depends_on': ['none']}},
    'outputs': {'random': {'value': {'get_attr': ['random', 'value']},
                           'description': 'the random string'}}}


def _settle(heat: Client, name: str, stack_id: str) -> str:
    """The stack's status once it is no longer ``*_IN_PROGRESS``."""
    def settled() -> str | None:
        status = str(heat.get(f'stacks/{name}/{stack_id}')['stack']['stack_status'])
        return None if status.endswith('_IN_PROGRESS') else status
    return wait_until(settled, f'stack {name} to settle', DEADLINE, 0.3)


def record_heat(real: RealServices, log: NotificationLog) -> dict[str, Any]:
    """Heat's part on the real services: set up through the API, then the reads."""
    heat = real.heat_client(scenario.PROJECT_A, user=scenario.USER)
    heat_global = real.heat_client(scenario.PROJECT_A, user=scenario.USER, global_policy=True)
    heat_b = real.heat_client(scenario.PROJECT_B, user=scenario.USER)
    writes: dict[str, Any] = {}
    writes['stack_create'] = scenario.exchange(
        heat, 'POST', 'stacks', body={'stack_name': scenario.THREE, 'template': THREE})
    ids = {scenario.THREE: writes['stack_create']['body']['stack']['id']}
    failing = {'heat_template_version': '2018-08-31', 'resources': {
        'boom': {'type': 'OS::Heat::TestResource', 'properties': {'fail': True}}},
        'outputs': {'fixed': {'value': 'v', 'description': 'a constant'}}}
    parent = {'heat_template_version': '2018-08-31',
              'resources': {'child': {'type': 'child.yaml'}}}
    for client, name, body in (
            (heat, scenario.FAIL, {'template': failing}),
            (heat, scenario.PARENT, {'template': parent,
                                     'files': {'child.yaml': json.dumps(CHILD)}}),
            (heat_b, scenario.OTHER, {'template': THREE}),
            (heat, scenario.GONE, {'template': THREE})):
        ids[name] = client.post('stacks', json={'stack_name': name, **body})['stack']['id']
    for name, stack_id in ids.items():
        _settle(heat_b if name == scenario.OTHER else heat, name, stack_id)
    three = f'stacks/{scenario.THREE}/{ids[scenario.THREE]}'
    changed = {'heat_template_version': '2018-08-31', 'resources': {
        'none': {'type': 'OS::Heat::None'},
        'test': {'type': 'OS::Heat::TestResource', 'properties': {'value': 'v2'},
                 'depends_on': ['none']}},
        'outputs': {'test': {'value': {'get_attr': ['test', 'output']},
                             'description': 'the test value'}}}
    writes['stack_update'] = scenario.exchange(heat, 'PUT', three, body={'template': changed})
    _settle(heat, scenario.THREE, ids[scenario.THREE])
    for action in ('suspend', 'resume', 'check'):
        writes[f'stack_{action}'] = scenario.exchange(heat, 'POST', f'{three}/actions',
                                                      body={action: None})
        _settle(heat, scenario.THREE, ids[scenario.THREE])
    writes['stack_delete'] = scenario.exchange(
        heat, 'DELETE', f'stacks/{scenario.GONE}/{ids[scenario.GONE]}')
    gone = ids[scenario.GONE]
    wait_until(lambda: gone not in [s['id'] for s in heat.get('stacks')['stacks']],
               'the deleted stack to leave the listing', DEADLINE, 0.3)
    reads = scenario.heat_reads(heat, heat_global, ids, lambda allowed: None)
    for event_type, stack in scenario.HEAT_EVENTS.items():
        log.wait_for(lambda n, e=event_type, s=ids[stack]: (
            n.event_type == e and n.payload.get('stack_identity') == s), event_type)
    notes = scenario.pick_heat(
        (scenario.note(n.event_type, n.priority, n.publisher_id, n.payload)
         for n in log.notifications), ids)
    return {'exchanges': {**writes, **reads}, 'notifications': notes, 'ids': ids}


def record_aodh(real: RealServices, log: NotificationLog) -> dict[str, Any]:
    """Aodh's part on the real services."""
    aodh = real.aodh_client(scenario.PROJECT_A, user=scenario.USER)
    composite = real.aodh_client(scenario.PROJECT_A, user=scenario.USER, composite=True)
    other = real.aodh_client(scenario.PROJECT_B, user=scenario.USER)
    anonymous = Client(aodh.session, aodh.endpoint,
                       headers={'X-User-Id': scenario.USER, 'X-Roles': 'admin'})
    exchanges, event = scenario.aodh_calls(aodh, composite, other, anonymous)
    for event_type in scenario.AODH_EVENTS:
        log.wait_for(lambda n, e=event_type: (
            n.event_type == e and n.payload.get('alarm_id') == event), event_type)
    notes = scenario.pick_aodh(
        (scenario.note(n.event_type, n.priority, n.publisher_id, n.payload)
         for n in log.notifications), event)
    return {'exchanges': exchanges, 'notifications': notes}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default=str(scenario.RECORDINGS))
    args = parser.parse_args(argv)
    real = RealServices(owned=not os.environ.get('VITRAGE_DS_REAL_RUN_ID'))
    real.setUp()
    try:
        coords = real.coords
        log = NotificationLog(coords.transport_url, [(coords.heat_exchange, coords.topic),
                                                     (coords.aodh_exchange, coords.topic)])
        log.setUp()
        try:
            heat = record_heat(real, log)
            aodh = record_aodh(real, log)
        finally:
            log.cleanUp()
    finally:
        real.cleanUp()
    roots = {coords.heat_global_url: '{heat_global}', coords.heat_url: '{heat}',
             coords.aodh_composite_url: '{aodh}', coords.aodh_url: '{aodh}',
             f'vds-{coords.run_id}': '{host}'}
    about = {'recorded_with': [p for p in PINS if '==' in p],
             'tool': 'tools/record_real.py', 'scenario': 'tests/integration/scenario.py'}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name, data in (('heat.json', heat), ('aodh.json', aodh)):
        data.pop('ids', None)
        text = json.dumps({'about': about, **scenario.scrub(data, roots)},
                          indent=1, sort_keys=True)
        (out / name).write_text(text + '\n')
        print(f'wrote {out / name}')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))

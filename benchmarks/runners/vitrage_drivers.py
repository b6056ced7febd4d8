"""Run one of Vitrage 15.0.1's drivers once; print what it returned as JSON.

Runs inside the reference virtualenv (``python -I vitrage_drivers.py``), never
imports vitrage_ds. Vitrage is driven the way its own services drive it:

* configuration: ``vitrage.common.config.parse_config`` on a ``vitrage.conf``
  (``[service_credentials]`` password auth against the emulated Keystone,
  endpoints from its catalog; ``[datasources] types`` listing the
  datasources whose resources the Heat driver keeps, plus ``heat.stack``
  and ``aodh``), exactly as ``vitrage-graph`` starts;
* drivers: ``vitrage.datasources.utils.get_drivers_by_name``, which
  imports the class named by ``[<datasource>] driver`` and sets its
  ``_datasource_name``, as Vitrage's launcher does;
* clients: the drivers' own ``os_clients.heat_client()`` /
  ``aodh_client()`` on ``keystone_client.get_session()``.

Shims: none. Vitrage needs no running service of its own for
``get_all``: ``parse_config`` only registers options and sets oslo.log
up, and ``messaging.setup()`` only sets the default exchange (no broker
connection is made). Logging goes to stderr at WARNING.

Usage: ``vitrage_drivers.py heat|aodh CONF_FILE OUT_JSON [--warm] [--repeat N]
[--cpus LIST]`` (``--repeat`` and ``--cpus``: as in ``ours_drivers.py``). Once
the driver is constructed (Vitrage's Aodh driver lists every alarm then, so
its session is warm: ``--warm`` asks for nothing more) the runner writes
``ready`` on stdout and waits for a line on stdin before the timed
``get_all``, so the caller can clear the cloud's request log.
Output: ``construct_s`` (driver construction: Vitrage's Aodh driver lists
every alarm there), ``get_all_s``, ``max_rss_kb`` and what came back.
"""

import json
import os
import resource
import statistics
import sys
import time
from typing import Any


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _heat(driver: Any, action: str) -> tuple[float, dict[str, Any]]:
    began = time.perf_counter()
    entities = driver.get_all(action)
    elapsed = time.perf_counter() - began
    stacks = sorted(e['id'] for e in entities)
    resources = sorted(f"{e['id']}/{r['resource_name']}"
                       for e in entities for r in e.get('resources', ()))
    return elapsed, {'stacks': stacks, 'resources': resources,
                     'kept_types': sorted(driver.RESOURCE_TYPE)}


def _aodh(driver: Any, action: str) -> tuple[float, dict[str, Any]]:
    began = time.perf_counter()
    entities = driver.get_all(action)
    elapsed = time.perf_counter() - began
    return elapsed, {'alarms': sorted(e['alarm_id'] for e in entities),
                     'listed': sorted(driver.cache)}


def main(argv: list[str]) -> int:
    kind, conf_file, out_file = argv[1:4]
    if '--cpus' in argv:  # before any thread starts: every thread inherits it
        os.sched_setaffinity(0, {int(c) for c in argv[argv.index('--cpus') + 1].split(',')})
    # The real stdout is kept for the ready line; fd 1 then goes to stderr,
    # so that a log line cannot be taken for it (oslo.log may log to stdout).
    channel = os.fdopen(os.dup(1), 'w')
    os.dup2(2, 1)
    from vitrage.common import config  # type: ignore[import-not-found]
    from vitrage.common.constants import DatasourceAction  # type: ignore[import-not-found]
    from vitrage.datasources import utils  # type: ignore[import-not-found]

    config.parse_config(['vitrage-bench', '--config-file', conf_file])
    name = {'heat': 'heat.stack', 'aodh': 'aodh'}[kind]
    began = time.perf_counter()
    driver = utils.get_drivers_by_name([name])[0]
    construct = time.perf_counter() - began
    run = _heat if kind == 'heat' else _aodh
    channel.write('ready\n')
    channel.flush()
    sys.stdin.readline()
    repeat = int(argv[argv.index('--repeat') + 1]) if '--repeat' in argv else 1
    cpu = _cpu()
    times = []
    for _ in range(repeat):
        elapsed, result = run(driver, DatasourceAction.INIT_SNAPSHOT)
        times.append(elapsed)
    result.update(construct_s=construct, get_all_s=statistics.median(times), times_s=times,
                  repeat=repeat, get_all_cpu_s=(_cpu() - cpu) / repeat,
                  max_rss_kb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    with open(out_file, 'w') as f:
        json.dump(result, f)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

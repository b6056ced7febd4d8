"""Run one vitrage_ds driver's ``get_all`` once; write what it returned as JSON.

The counterpart of ``vitrage_drivers.py``, in the project's virtualenv, with
the same interface and the same kind of configuration: a
``vitrage_ds.conf`` whose ``[service_credentials]`` authenticate against
the emulated Keystone (endpoints from its catalog), loaded as the
``vitrage-ds`` commands load it, and the driver loaded from its entry point.

Usage: ``ours_drivers.py heat|aodh CONF_FILE OUT_JSON [--warm] [--repeat N] [--cpus LIST]``.
``--repeat N`` times ``get_all`` N times and reports the median (``get_all_s``)
and every time (``times_s``); CPU is per call. ``--cpus 0`` runs it on
those CPUs only (``benchmarks.cloudhost.CLIENT_CPUS``). Once the
driver is loaded (and, with ``--warm``, after one untimed ``get_all``) the
runner writes ``ready`` on stdout and waits for a line on stdin before the
timed ``get_all``, so the caller can clear the cloud's request log.
"""

import io
import json
import os
import logging
import resource
import statistics
import sys
import time


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _protocol() -> io.TextIOWrapper:
    """The real stdout, kept for the ready line; fd 1 then goes to stderr,
    so that whatever a library prints cannot be taken for it."""
    channel = os.fdopen(os.dup(1), 'w')
    os.dup2(2, 1)
    return channel


def _sync(channel: io.TextIOWrapper) -> None:
    channel.write('ready\n')
    channel.flush()
    sys.stdin.readline()


def main(argv: list[str]) -> int:
    kind, conf_file, out_file = argv[1:4]
    if '--cpus' in argv:  # before any thread starts: every thread inherits it
        os.sched_setaffinity(0, {int(c) for c in argv[argv.index('--cpus') + 1].split(',')})
    channel = _protocol()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    from vitrage_ds import config, registry

    conf = config.load_config(['--config-file', conf_file])
    name = {'heat': 'heat.stack', 'aodh': 'aodh'}[kind]
    began = time.perf_counter()
    loaded = registry.load_drivers(conf, [name])
    if name not in loaded.plugins:
        raise SystemExit(f'{name} did not load: {loaded.failures}')
    driver = loaded.plugins[name]
    construct = time.perf_counter() - began
    if '--warm' in argv:
        driver.get_all()
    _sync(channel)
    repeat = int(argv[argv.index('--repeat') + 1]) if '--repeat' in argv else 1
    cpu = _cpu()
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        events = driver.get_all()
        times.append(time.perf_counter() - began)
    result: dict[str, object] = {'construct_s': construct,
                                 'get_all_s': statistics.median(times), 'times_s': times,
                                 'repeat': repeat, 'get_all_cpu_s': (_cpu() - cpu) / repeat}
    live = [e for e in events if not e.deleted]
    if kind == 'heat':
        by_type: dict[str, list[str]] = {}
        for e in live:
            if e.entity_type == 'heat.resource':
                by_type.setdefault(str(e.fields.get('resource_type')), []).append(e.entity_id)
        result['stacks'] = sorted(e.entity_id for e in live if e.entity_type == 'heat.stack')
        result['resources_by_type'] = {t: sorted(ids) for t, ids in by_type.items()}
    else:
        result['alarms'] = sorted(e.entity_id for e in live)
        result['types'] = sorted({str(e.fields.get('type')) for e in live})
    result['max_rss_kb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with open(out_file, 'w') as f:
        json.dump(result, f)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))

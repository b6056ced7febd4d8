"""Benchmark 2: the Aodh snapshot, vitrage_ds vs Vitrage 15.0.1's AodhDriver.

Three scenarios on the emulated cloud, every request delayed by the same
latency, both drivers in subprocesses with the same admin credentials:

* **speed** -- the alarms, of the types Vitrage's driver supports (event,
  threshold, composite, the three gnocchi ones), all in the credentials'
  project, so that both drivers can list every one of them: ``get_all``'s
  wall time and requests.
* **other projects** -- the same number of alarms spread over five
  projects (the credentials' one and four others): what each returns.
* **prometheus** -- the same, plus one ``prometheus`` alarm (a type Aodh
  23 creates and Vitrage's driver does not know): what each returns.

Vitrage's ``get_all`` returns only alarms in state ``alarm`` (it is built for
its graph); the count of alarms it *listed* (its cache) is reported too.
Each ``get_all`` is timed five times and the median reported (the
machine may be busy with other work). Both are timed on a warm session, as
in a long-running service: Vitrage's
constructor lists every alarm (and authenticates) before its ``get_all``;
vitrage_ds polls once, untimed, before the timed one (so the timed polls
read in ranges split at what that poll saw, as every poll of a running
collector but the first does). Requests are the timed call's.
"""

from __future__ import annotations

from typing import Any

from benchmarks.cloudhost import CloudHost
from benchmarks.common import BenchResult, DriverRun, Settings, fmt_s, ratio, run_driver, say

__all__ = ['VITRAGE_TYPES', 'run']

NUMBER = 2
#: Timed calls per driver and scenario; the median is reported.
REPEAT = 5

#: The alarm types Vitrage 15.0.1's AodhDriver converts.
VITRAGE_TYPES = ['event', 'threshold', 'composite', 'gnocchi_resources_threshold',
                 'gnocchi_aggregation_by_metrics_threshold',
                 'gnocchi_aggregation_by_resources_threshold']


def _aodh_requests(run: DriverRun) -> int:
    return run.per_call('aodh.')


def _both(cloud: CloudHost, vitrage_python: str | None, ours_python: str,
          label: str) -> tuple[DriverRun, DriverRun | None]:
    say(f'2: {label}: vitrage_ds')
    ours = run_driver('vitrage_ds', 'aodh', cloud, ours_python, warm=True, repeat=REPEAT)
    theirs = None
    if vitrage_python:
        say(f'2: {label}: Vitrage 15.0.1')
        theirs = run_driver('vitrage', 'aodh', cloud, vitrage_python, warm=True,
                            repeat=REPEAT)
    return ours, theirs


def run(settings: Settings, vitrage_python: str | None, ours_python: str) -> BenchResult:
    alarms = settings.aodh_alarms
    latency_ms = round(settings.latency * 1000)
    result = BenchResult(NUMBER, f'Aodh snapshot: {alarms:,} alarms, {latency_ms} ms per request')
    with CloudHost() as cloud:
        cloud.call('populate_aodh', alarms, 0, VITRAGE_TYPES)
        cloud.latency(settings.latency)
        speed = _both(cloud, vitrage_python, ours_python, 'one project, Vitrage\'s types')
    with CloudHost() as cloud:
        cloud.call('populate_aodh', alarms, settings.aodh_projects, VITRAGE_TYPES)
        cloud.latency(settings.latency)
        spread = _both(cloud, vitrage_python, ours_python,
                       f'{settings.aodh_projects} projects')
        cloud.call('create_alarm', 'bench-prometheus', 'prometheus')
        prometheus = _both(cloud, vitrage_python, ours_python, 'plus one prometheus alarm')
    _report(result, settings, speed, spread, prometheus)
    return result


def _counts(run: DriverRun | None) -> str:
    if run is None:
        return 'not run'
    out: dict[str, Any] = run.output
    if 'listed' in out:
        return f'{len(out["listed"]):,} listed, {len(out["alarms"]):,} returned'
    return f'{len(out["alarms"]):,}'


def _report(result: BenchResult, settings: Settings,
            speed: tuple[DriverRun, DriverRun | None],
            spread: tuple[DriverRun, DriverRun | None],
            prometheus: tuple[DriverRun, DriverRun | None]) -> None:
    alarms = settings.aodh_alarms
    ours, theirs = speed
    faster = ratio(theirs.seconds, ours.seconds) if theirs else None
    result.row(f'wall time of get_all, {alarms:,} alarms in one project',
               fmt_s(ours.seconds), fmt_s(theirs.seconds) if theirs else 'not run',
               faster, 'faster', None if faster is None else faster > 1)
    result.row('Aodh API requests',
               f'{_aodh_requests(ours):,}',
               f'{_aodh_requests(theirs):,}' if theirs else 'not run')
    result.row('alarms, one project', _counts(ours), _counts(theirs), None,
               f'all {alarms:,}', len(ours.output['alarms']) == alarms)
    ours, theirs = spread
    result.row(f'alarms, {settings.aodh_projects} projects', _counts(ours), _counts(theirs),
               None, f'all {alarms:,}', len(ours.output['alarms']) == alarms)
    ours, theirs = prometheus
    result.row('alarms, plus one prometheus alarm', _counts(ours), _counts(theirs), None,
               f'all {alarms + 1:,}', len(ours.output['alarms']) == alarms + 1)
    if theirs is not None and speed[1] is not None:
        result.notes.append(
            'Vitrage lists only its own project (aodhclient alarm.list() without '
            'all_projects), returns from get_all only the alarms in state "alarm", and '
            'an alarm type it does not know (prometheus) raises inside its listing, '
            'which it logs as "Failed to get all alarms" and answers with no alarm at all.')
        result.notes.append(
            f'Speed on the same alarms: Vitrage asks for every alarm in one unbounded '
            f'response ({_aodh_requests(speed[1])} request) and waits for Aodh to build all '
            f'of it; vitrage_ds, polling again, reads ranges of up to 1,000 alarms at once, '
            f'split at the alarm ids its previous poll saw ({_aodh_requests(speed[0])} '
            f'requests, the last one empty), so Aodh builds pages while the driver maps '
            f'others, and no response is larger than a page.')
    result.notes.append(
        f'vitrage_ds: {len(ours.output["alarms"]):,} alarms of types '
        f'{", ".join(ours.output["types"])}; {speed[0].output["get_all_cpu_s"]:.2f} s of CPU '
        f'for the {alarms:,}-alarm listing.')

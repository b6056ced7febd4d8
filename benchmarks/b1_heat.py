"""Benchmark 1: the Heat snapshot, vitrage_ds vs Vitrage 15.0.1's HeatStackDriver.get_all.

Both drivers run in a subprocess of their own against one emulated cloud
(its own process), every request delayed by the same latency, authenticating
with the same password credentials through Keystone and its catalog, with
the all-projects listing allowed (Vitrage's driver needs it). vitrage_ds
runs with its defaults (pages of 1,000, 10 resources calls in flight).
Compared: the wall time as a user runs each one, process start included
(the target), and ``get_all``'s wall time in-process beside it; the Heat
API requests (from the cloud's request log); and what came back. As a user
runs it, vitrage_ds is ``vitrage-ds collect --once`` with only the Heat
driver enabled and a ``file:`` sink (interpreter start, imports,
configuration, plugin loading, authentication, the poll, the events
written, exit); Vitrage's is its runner process from start to exit
(interpreter start, imports, ``parse_config``, the driver's construction,
``get_all``). Vitrage's driver keeps only the resources whose type belongs
to an enabled Vitrage datasource (server, volume, network, port);
vitrage_ds returns every resource, so the check is that vitrage_ds returns
the same stacks, and the same resources of those types. vitrage_ds's
in-process ``get_all`` is timed three times and the median reported (the
machine may be busy with other work); Vitrage's once (it takes minutes, and
waiting on the network it is less sensitive to other work). Both drivers
and the command run pinned to one CPU, the cloud on the others
(``cloudhost.CLIENT_CPUS``); one more vitrage_ds run, unpinned, is reported
as context.
"""

from __future__ import annotations

import math
from typing import Any

from benchmarks.cloudhost import CLIENT_CPUS, CloudHost
from benchmarks.common import (BenchResult, CommandRun, DriverRun, Settings, fmt_s, ratio,
                               run_collect_once, run_driver, say)

__all__ = ['run']

NUMBER = 1
PAGE_SIZE = 1000  # vitrage_ds's default [driver.heat.stack] page_size


def _heat_requests(run: DriverRun) -> int:
    return run.per_call('heat.')


def _keystone_requests(run: DriverRun) -> int:
    """Keystone's requests, all made before the first call's first request."""
    return run.total('keystone.')


def run(settings: Settings, vitrage_python: str | None, ours_python: str) -> BenchResult:
    stacks = settings.heat_stacks
    per = settings.resources_per_stack
    latency_ms = round(settings.latency * 1000)
    result = BenchResult(NUMBER, f'Heat snapshot: {stacks:,} stacks x {per} resources, '
                                 f'{latency_ms} ms per request')
    with CloudHost() as cloud:
        cloud.call('populate_heat', stacks, per)
        cloud.latency(settings.latency)
        say(f'1: vitrage_ds get_all over {stacks:,} stacks')
        ours = run_driver('vitrage_ds', 'heat', cloud, ours_python, repeat=3)
        say(f'1: vitrage-ds collect --once over {stacks:,} stacks, as a user runs it')
        command = run_collect_once(cloud, ours_python, 'heat.stack')
        unpinned = None
        if CLIENT_CPUS:
            say('1: vitrage_ds get_all once more, free to run on every CPU (context)')
            unpinned = run_driver('vitrage_ds', 'heat', cloud, ours_python, pinned=False)
        theirs = None
        if vitrage_python:
            say(f'1: Vitrage 15.0.1 HeatStackDriver.get_all over {stacks:,} stacks '
                f'(sequential: minutes)')
            theirs = run_driver('vitrage', 'heat', cloud, vitrage_python)
    _report(result, settings, ours, command, theirs, unpinned)
    return result


def _report(result: BenchResult, settings: Settings, ours: DriverRun, command: CommandRun,
            theirs: DriverRun | None, unpinned: DriverRun | None) -> None:
    stacks = settings.heat_stacks
    pages = math.ceil(stacks / PAGE_SIZE)
    bound = stacks + pages + 1
    out: dict[str, Any] = ours.output
    our_stacks = out['stacks']
    our_resources = sum(len(ids) for ids in out['resources_by_type'].values())
    result.data = {'ours_s': ours.seconds, 'ours_requests': _heat_requests(ours),
                   'ours_command_s': command.seconds}
    as_user = ratio(theirs.wall, command.seconds) if theirs else None
    result.row('wall time as a user runs it (process start to exit)',
               f'{fmt_s(command.seconds)} (vitrage-ds collect --once)',
               f'{fmt_s(theirs.wall)} (runner process)' if theirs else 'not run', as_user,
               '>= 10x faster', None if as_user is None else as_user >= 10)
    result.row('wall time of get_all, in-process', fmt_s(ours.seconds),
               fmt_s(theirs.seconds) if theirs else 'not run',
               ratio(theirs.seconds, ours.seconds) if theirs else None,
               'reported beside the above', None)
    heat = _heat_requests(ours)
    result.row('Heat API requests', f'{heat:,}',
               f'{_heat_requests(theirs):,}' if theirs else 'not run',
               ratio(_heat_requests(theirs), heat) if theirs else None,
               f'<= stacks + pages + 1 = {bound:,}', heat <= bound)
    if theirs is None:
        result.row('stacks / resources returned', f'{len(our_stacks):,} / {our_resources:,}',
                   'not run', None, f'{stacks:,} / {stacks * settings.resources_per_stack:,}',
                   len(our_stacks) == stacks
                   and our_resources == stacks * settings.resources_per_stack)
    else:
        their: dict[str, Any] = theirs.output
        kept = set(their['kept_types'])
        our_kept = sorted(i for t, ids in out['resources_by_type'].items() if t in kept
                          for i in ids)
        same = our_stacks == their['stacks'] and our_kept == their['resources']
        result.row('stacks / resources returned',
                   f'{len(our_stacks):,} / {our_resources:,} '
                   f'({len(our_kept):,} of Vitrage\'s types)',
                   f'{len(their["stacks"]):,} / {len(their["resources"]):,}', None,
                   'same stacks and resources', same and len(our_stacks) == stacks)
        result.notes.append(
            f'Vitrage keeps only resources of the types of its enabled datasources '
            f'({", ".join(sorted(kept))}); vitrage_ds returns all {our_resources:,}, and '
            f'its resources of those types are {"exactly" if same else "NOT"} Vitrage\'s.')
        result.notes.append(
            f'Vitrage: {their["get_all_cpu_s"]:.1f} s of CPU in get_all, peak RSS '
            f'{their["max_rss_kb"] / 1024:.0f} MiB; {_keystone_requests(theirs)} Keystone '
            f'requests; each resources call is GET /stacks/<id>/resources, answered '
            f'302, then the name/id URL.')
    result.notes.append(
        f'vitrage_ds: {out["get_all_cpu_s"]:.1f} s of CPU in get_all, peak RSS '
        f'{out["max_rss_kb"] / 1024:.0f} MiB; {_keystone_requests(ours)} Keystone requests '
        f'(discovery and token, not counted above); listing requests: '
        f'{ours.per_call("heat.stacks.list")} (pages of up to {PAGE_SIZE:,} stacks).')
    command_heat = sum(n for r, n in command.requests.items() if r.startswith('heat.'))
    expected_events = stacks * (1 + settings.resources_per_stack)
    result.notes.append(
        f'vitrage-ds collect --once: {command.events:,} events written to its file sink '
        f'({"as many as" if command.events == expected_events else "NOT"} the '
        f'{expected_events:,} stacks and resources), {command_heat:,} Heat API requests.')
    if unpinned is not None:
        versus = (f', {theirs.seconds / unpinned.seconds:.1f}x faster than Vitrage'
                  if theirs else '')
        result.notes.append(
            f'Drivers run pinned to CPU {",".join(map(str, sorted(CLIENT_CPUS)))}, the '
            f'cloud on the others. vitrage_ds unpinned, its threads free to move between '
            f'CPUs: {fmt_s(unpinned.seconds)} ({unpinned.output["get_all_cpu_s"]:.1f} s '
            f'of CPU{versus}, one run).')

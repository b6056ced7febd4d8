"""Benchmark 5: the notifier service and the Aodh notifier, through RabbitMQ.

On a RabbitMQ virtual host of its own (removed afterwards), the deduced-alarm
publisher posts to the notifier service (the ``aodh`` plugin, loaded from its
entry point with password credentials through the emulated Keystone, default
options), which writes to the emulated Aodh. Warm-up: 900 deduced alarms are
activated (their Aodh alarms created) and deactivated, so the plugin knows
them, as a running notifier does. Measured: 1,000 activations of them, one
in ten a verbatim repeat of an earlier message (a redelivery, or a graph
that posts twice), queued before the service starts, then drained.

Measured: activations per second (start to every message acknowledged), Aodh
API requests per activation (Keystone's excluded; the plugin's background
verification of its writes included: they are counted once ``close()`` has
waited for its final checks), and the alarms in Aodh afterwards: exactly one
per deduced alarm. The warm-up's cost per new alarm is reported as context.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.cloudhost import CloudHost
from benchmarks.common import BenchResult, Settings, _conf_text, say, with_rabbit_and_cloud

__all__ = ['run']

NUMBER = 5
POOL = 'bench-notifier'
_DRAIN_TIMEOUT = 600.0


def run(settings: Settings) -> BenchResult:
    total = settings.notifier_activations
    result = BenchResult(NUMBER, f'Notifier: {total:,} activations (10 % duplicates) '
                                 f'through RabbitMQ to the emulated Aodh')
    return with_rabbit_and_cloud(
        result, lambda cloud, vhost: _measure(result, total, cloud, vhost))


def _activations(publisher: Any, count: int, repeats: bool) -> tuple[int, int]:
    """Post ``count`` activations of deduced alarms 0.. (every tenth a repeat
    of an earlier message when ``repeats``); returns (distinct, repeated)."""
    sent: list[Any] = []
    repeated = 0
    for i in range(count):
        if repeats and i % 10 == 9:
            publisher.publish(sent[(i * 7) % len(sent)])
            repeated += 1
            continue
        n = len(sent)
        sent.append(publisher.activate(
            vitrage_id=f'bench-deduced-{n:05d}', name='bench high load',
            severity=('CRITICAL', 'WARNING', 'major')[n % 3],
            affected_resource_id=f'resource-{n:05d}'))
    return len(sent), repeated


def _deactivations(publisher: Any, count: int) -> None:
    for n in range(count):
        publisher.deactivate(vitrage_id=f'bench-deduced-{n:05d}', name='bench high load',
                             affected_resource_id=f'resource-{n:05d}')


def _drain(service: Any, expected: int) -> float:
    """Seconds until ``service`` (started now) has acknowledged ``expected`` messages."""
    began = time.perf_counter()
    service.start()
    listener = service.listener
    deadline = time.monotonic() + _DRAIN_TIMEOUT
    while listener.handled + listener.rejected < expected and time.monotonic() < deadline:
        time.sleep(0.005)
    elapsed = time.perf_counter() - began
    if listener.handled + listener.rejected < expected:
        raise RuntimeError(f'{listener.handled + listener.rejected} of {expected} messages '
                           f'acknowledged in {_DRAIN_TIMEOUT:.0f} s')
    service.stop(30)
    return elapsed


def _aodh(requests: dict[str, int]) -> dict[str, int]:
    return {route: n for route, n in requests.items() if route.startswith('aodh.')}


def _measure(result: BenchResult, total: int, cloud: CloudHost, vhost: Any) -> None:
    from vitrage_ds import config, registry
    from vitrage_ds.bus import Listener, get_transport
    from vitrage_ds.notifier import Outcome
    from vitrage_ds.notifier_service import DeducedAlarmPublisher, NotifierService

    distinct = total - total // 10
    with tempfile.TemporaryDirectory(prefix='bench-notifier-') as tmp:
        conf_file = Path(tmp) / 'vitrage_ds.conf'
        conf_file.write_text(_conf_text('vitrage_ds', cloud.info) + '\n'.join([
            '[DEFAULT]', f'transport_url = {vhost.transport_url}', 'notifiers = aodh', '',
            '[notifier]', f'listener_pool = {POOL}', '']))
        conf = config.load_config(['--config-file', str(conf_file)])
    transport = get_transport(conf)
    plugins = registry.load_notifiers(conf, ['aodh']).plugins
    try:
        publisher = DeducedAlarmPublisher.from_conf(conf, transport)
        declare = Listener(transport, [(conf.notifier.exchange, conf.notifier.topic)],
                           lambda note: Outcome.DONE, pool=POOL)
        declare.start()
        declare.stop()
        say(f'5: warming up: {distinct:,} deduced alarms activated, then deactivated')
        cloud.clear_requests()
        _activations(publisher, distinct, repeats=False)
        warm_s = _drain(NotifierService.from_conf(conf, plugins, transport), distinct)
        created = _aodh(cloud.request_counts())
        _deactivations(publisher, distinct)
        _drain(NotifierService.from_conf(conf, plugins, transport), distinct)
        say(f'5: {total:,} activations queued, then drained')
        unique, repeats = _activations(publisher, total, repeats=True)
        cloud.clear_requests()
        elapsed = _drain(NotifierService.from_conf(conf, plugins, transport), total)
        plugins['aodh'].close()  # waits for the final verification of every write
        requests = _aodh(cloud.request_counts())
        alarms = cloud.call('alarms_summary')
    finally:
        for plugin in plugins.values():
            plugin.close()
        transport.cleanup()
    per = sum(requests.values()) / total
    mirrors = Counter(_vitrage_id(a) for a in alarms)
    one_each = len(mirrors) == unique and set(mirrors.values()) == {1}
    result.row('activations per second (warm)', f'{total / elapsed:,.0f}/s')
    result.row('Aodh requests per activation (warm)', f'{per:.2f}', '', None, '<= 1.05',
               per <= 1.05)
    result.row('Aodh alarms per deduced alarm', _spread(mirrors, unique), '', None,
               'exactly one each', one_each)
    result.notes.append(
        f'Warm-up: {distinct:,} deduced alarms activated ({distinct / warm_s:,.0f}/s, '
        f'{sum(created.values()) / distinct:.2f} Aodh requests each: '
        f'{_routes(created)}), then deactivated, through the same plugin. Measured: '
        f'{total:,} activations of them ({unique:,} deduced alarms, {repeats:,} repeated '
        f'messages) queued, then acknowledged in {elapsed:.2f} s; their Aodh requests, '
        f'the background verification included (counted after close() waited for its '
        f'final checks): {_routes(requests)}.')
    result.data = {'seconds': elapsed, 'requests': requests}


def _routes(requests: dict[str, int]) -> str:
    return ', '.join(f'{r.removeprefix("aodh.")} {n:,}' for r, n in sorted(requests.items()))


def _vitrage_id(alarm: dict[str, Any]) -> str | None:
    for item in alarm.get('query') or ():
        if isinstance(item, dict) and item.get('field') == 'vitrage_id':
            return str(item.get('value'))
    return None


def _spread(mirrors: Counter[str | None], unique: int) -> str:
    counts = Counter(mirrors.values())
    missing = unique - len([k for k in mirrors if k is not None])
    text = ', '.join(f'{n:,} with {k}' for k, n in sorted(counts.items()))
    return f'{text}' + (f', {missing:,} missing' if missing > 0 else '')

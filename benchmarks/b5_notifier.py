"""Benchmark 5: the notifier service and the Aodh notifier, through RabbitMQ.

On a RabbitMQ virtual host of its own (removed afterwards): the deduced-alarm
publisher posts activations of distinct deduced alarms, and repeats some of
them verbatim (the same message again, as a redelivery or a graph that
posts twice would): 10 % of the activations are duplicates. They are all
queued before the clock starts. The notifier service (the ``aodh`` plugin,
loaded from its entry point with password credentials through the emulated
Keystone, default options) then drains the queue into the emulated Aodh.

Measured: activations per second (start to every message acknowledged),
Aodh API requests per activation (Keystone's discovery and token
excluded: the session is warm after the first call), and the alarms in
Aodh afterwards: exactly one per deduced alarm.
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks.cloudhost import CloudHost
from benchmarks.common import BenchResult, Settings, _conf_text, say

__all__ = ['run']

NUMBER = 5
POOL = 'bench-notifier'
_DRAIN_TIMEOUT = 600.0


def run(settings: Settings) -> BenchResult:
    from vitrage_ds.testing import RabbitVhost

    total = settings.notifier_activations
    result = BenchResult(NUMBER, f'Notifier: {total:,} activations (10 % duplicates) '
                                 f'through RabbitMQ to the emulated Aodh')
    vhost = RabbitVhost()
    try:
        vhost.setUp()
    except Exception as exc:  # SkipTest or RabbitUnavailable: say why
        result.error = f'RabbitMQ unavailable: {exc}'
        return result
    try:
        with CloudHost() as cloud:
            _measure(result, total, cloud, vhost)
    finally:
        vhost.cleanUp()
    return result


def _messages(publisher: Any, total: int) -> tuple[int, int]:
    """Post ``total`` activations, every tenth a repeat; returns (unique, repeats)."""
    sent: list[Any] = []
    repeats = 0
    for i in range(total):
        if i % 10 == 9:
            publisher.publish(sent[(i * 7) % len(sent)])
            repeats += 1
            continue
        sent.append(publisher.activate(
            vitrage_id=f'bench-deduced-{i:05d}', name='bench high load',
            severity=('CRITICAL', 'WARNING', 'major')[i % 3],
            affected_resource_id=f'resource-{i:05d}'))
    return len(sent), repeats


def _measure(result: BenchResult, total: int, cloud: CloudHost, vhost: Any) -> None:
    from vitrage_ds import config, registry
    from vitrage_ds.bus import Listener, get_transport
    from vitrage_ds.notifier import Outcome
    from vitrage_ds.notifier_service import DeducedAlarmPublisher, NotifierService

    with tempfile.TemporaryDirectory(prefix='bench-notifier-') as tmp:
        conf_file = Path(tmp) / 'vitrage_ds.conf'
        conf_file.write_text(_conf_text('vitrage_ds', cloud.info) + '\n'.join([
            '[DEFAULT]', f'transport_url = {vhost.transport_url}', 'notifiers = aodh', '',
            '[notifier]', f'listener_pool = {POOL}', '']))
        conf = config.load_config(['--config-file', str(conf_file)])
    transport = get_transport(conf)
    try:
        service = None
        plugins = registry.load_notifiers(conf, ['aodh']).plugins
        publisher = DeducedAlarmPublisher.from_conf(conf, transport)
        declare = Listener(transport, [(conf.notifier.exchange, conf.notifier.topic)],
                           lambda note: Outcome.DONE, pool=POOL)
        declare.start()
        declare.stop()
        say(f'5: publishing {total:,} activations')
        unique, repeats = _messages(publisher, total)
        service = NotifierService.from_conf(conf, plugins, transport)
        cloud.clear_requests()
        began = time.perf_counter()
        service.start()
        listener = service.listener
        deadline = time.monotonic() + _DRAIN_TIMEOUT
        while listener.handled + listener.rejected < total and time.monotonic() < deadline:
            time.sleep(0.005)
        elapsed = time.perf_counter() - began
        done = listener.handled + listener.rejected
        service.stop(30)
        requests = cloud.request_counts()
        alarms = cloud.call('alarms_summary')
    finally:
        transport.cleanup()
    aodh = {route: n for route, n in requests.items() if route.startswith('aodh.')}
    per = sum(aodh.values()) / total
    mirrors = Counter(_vitrage_id(a) for a in alarms)
    one_each = (len(mirrors) == unique and set(mirrors.values()) == {1})
    result.row('activations per second', f'{done / elapsed:,.1f}/s')
    result.row('Aodh requests per activation', f'{per:.2f}', '', None, '<= 1.05', per <= 1.05)
    result.row('Aodh alarms per deduced alarm', _spread(mirrors, unique), '', None,
               'exactly one each', one_each)
    result.notes.append(
        f'{total:,} activations: {unique:,} deduced alarms and {repeats:,} repeated '
        f'messages; {done:,} acknowledged in {elapsed:.2f} s; Aodh requests by route: '
        f'{", ".join(f"{r} {n:,}" for r, n in sorted(aodh.items()))}.')
    result.data = {'seconds': elapsed, 'requests': aodh}


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

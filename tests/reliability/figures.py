"""What the reliability tier measured, printed once when its process exits.

Tests add to the counters as they go (:func:`add`) and fill the API fault
matrix (:func:`cell`); the tests themselves assert that ``lost``,
``false_deletions``, ``duplicate_alarms`` and ``secrets_found`` stay 0.
The table goes to standard output after the last test, where stestr
passes it through.
"""

from __future__ import annotations

import atexit
import collections
import sys
import threading

__all__ = ['COUNTERS', 'add', 'cell', 'order_rows', 'print_at_exit', 'render']

#: The figures, in the order they are printed. Each is a sum of what the
#: tests added, except those in :data:`MAXIMA`, which keep the largest.
COUNTERS = ('faults_tried', 'messages_sent', 'messages_processed', 'lost',
            'false_deletions', 'duplicate_alarms', 'secrets_found', 'bad_inputs_tried',
            'broker_restarts', 'processes_killed', 'future_dated_notifications',
            'sink_writes_rotated', 'sink_writes_failed', 'poison_envelopes_tried',
            'longest_aodh_outage_s', 'future_dated_messages')
MAXIMA = frozenset({'longest_aodh_outage_s'})

_counts: collections.Counter[str] = collections.Counter()
_matrix: dict[str, dict[str, str]] = {}
_row_order: list[str] = []
_lock = threading.Lock()
_registered = False


def add(**counts: int) -> None:
    """Add to the named counters (names from :data:`COUNTERS`); raise a maximum."""
    unknown = set(counts) - set(COUNTERS)
    if unknown:
        raise KeyError(f'unknown figure(s): {sorted(unknown)}')
    with _lock:
        for name, value in counts.items():
            _counts[name] = (max(_counts[name], value) if name in MAXIMA
                             else _counts[name] + value)


def cell(fault: str, plugin: str, result: str) -> None:
    """Record what ``plugin`` did under ``fault`` in the API fault matrix."""
    with _lock:
        _matrix.setdefault(fault, {})[plugin] = result


def order_rows(faults: tuple[str, ...] | list[str]) -> None:
    """Print the matrix rows in this order (others after them)."""
    with _lock:
        _row_order[:] = list(faults)


def render() -> str:
    """The figures and the fault matrix as text tables."""
    with _lock:
        counts = dict(_counts)
        matrix = {fault: dict(row) for fault, row in _matrix.items()}
    label = max(len(name) for name in COUNTERS)
    lines = ['', '=' * (label + 9), 'Reliability figures', '=' * (label + 9)]
    lines += [f'{name.replace("_", " "):<{label}} {counts.get(name, 0):>8}'
              for name in COUNTERS]
    if matrix:
        plugins = sorted({p for row in matrix.values() for p in row})
        width = max(12, *(len(v) for row in matrix.values() for v in row.values()))
        head = f'{"fault":<16}' + ''.join(f'{p:<{width + 2}}' for p in plugins)
        lines += ['', 'API fault matrix (outcome under the fault -> after it cleared)',
                  head, '-' * len(head)]
        rank = {fault: n for n, fault in enumerate(_row_order)}
        for fault, row in sorted(matrix.items(), key=lambda kv: rank.get(kv[0], len(rank))):
            lines.append(f'{fault:<16}' + ''.join(f'{row.get(p, "-"):<{width + 2}}'
                                                  for p in plugins))
    return '\n'.join(lines) + '\n'


def _print() -> None:
    if _counts or _matrix:
        sys.stdout.write(render())
        sys.stdout.flush()


def print_at_exit() -> None:
    """Print :func:`render` when the process exits (registered once)."""
    global _registered
    with _lock:
        if not _registered:
            atexit.register(_print)
            _registered = True

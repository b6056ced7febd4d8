"""Importing vitrage_ds.bus leaves the concurrency model to the process.

Each check runs in a fresh interpreter: what an import selects or patches
is process-wide, and this test process has long since imported everything.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import testtools


def _run(script: str) -> str:
    """Run ``script`` in a fresh interpreter; return its stdout, fail on a non-zero exit."""
    proc = subprocess.run([sys.executable, '-W', 'ignore', '-c', textwrap.dedent(script)],
                          capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise AssertionError(f'child exited {proc.returncode}:\n{proc.stderr}')
    return proc.stdout.strip()


class ConcurrencyBackendTest(testtools.TestCase):

    def test_a_backend_the_host_selected_first_is_kept(self) -> None:
        out = _run('''
            from oslo_service import backend
            backend.init_backend(backend.BackendType.EVENTLET)
            import vitrage_ds.bus
            print(backend.get_backend_type().value)
        ''')
        self.assertEqual('eventlet', out)

    def test_importing_patches_nothing_threads_stay_native(self) -> None:
        out = _run('''
            import vitrage_ds.bus
            from eventlet import patcher
            print(any(patcher.is_monkey_patched(name)
                      for name in ('thread', 'socket', 'time', 'select', 'os')))
        ''')
        self.assertEqual('False', out)

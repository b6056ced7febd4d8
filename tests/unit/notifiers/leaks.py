"""A guard against Aodh verifier threads outliving the test that started them.

An Aodh notifier that writes starts a verifier thread which runs until the
plugin is closed. Left running, it keeps sending requests, and since
requests-mock patches ``requests`` for the whole process, a later test of
the same worker records them as its own calls.
"""

from __future__ import annotations

import threading

import fixtures

__all__ = ['NoVerifierLeft']


def _verifiers() -> set[threading.Thread]:
    # The verifier names its thread after the plugin's group: '<group> verifier'.
    return {t for t in threading.enumerate() if t.name.endswith(' verifier')}


class NoVerifierLeft(fixtures.Fixture):
    """Fails the test if a verifier thread it started is still alive at clean-up.

    Use it before anything that builds a plugin (clean-ups run in reverse
    order, so the plugins' ``close`` registered later has run by then).
    Threads alive before the fixture was set up are not the test's doing
    and are ignored.
    """

    def _setUp(self) -> None:
        before = _verifiers()
        self.addCleanup(self._check, before)

    @staticmethod
    def _check(before: set[threading.Thread]) -> None:
        left = sorted(t.name for t in _verifiers() - before)
        if left:
            raise AssertionError(f'verifier threads left running (plugin not closed): {left}')

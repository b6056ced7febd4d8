"""What becomes of a bus message once a handler saw it.

Shared by the bus listener, the collector and the notifier service; it
imports nothing of vitrage_ds.
"""

from __future__ import annotations

import enum

__all__ = ['Outcome']


class Outcome(str, enum.Enum):
    """What should become of a bus message after a handler saw it."""

    DONE = 'done'
    """Handled (or deliberately ignored): acknowledge it."""
    RETRY = 'retry'
    """A transient failure: requeue it, up to the configured bound."""
    REJECT = 'reject'
    """Can never succeed: log it and acknowledge it."""

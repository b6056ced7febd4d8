"""The grammar of Heat's notification event types.

Heat sends ``orchestration.stack.<action>.<phase>`` for every stack
(nested stacks included) whenever its state changes, and
``orchestration.autoscaling.<phase>`` around a scaling group's adjustment,
with the payload of the stack holding the group. ``<phase>`` is ``start``
(``*_IN_PROGRESS``), ``end`` (``*_COMPLETE``) or ``error`` (``*_FAILED``,
sent at ERROR priority); the others go at Heat's
``default_notification_level`` (INFO unless changed).
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ['ACTIONS', 'EVENT_TYPES', 'PHASES', 'Notice', 'parse_event_type']

#: The stack actions Heat has today (lower case, as in event types). Any
#: other lower-case word is accepted too, so a new Heat action still maps.
ACTIONS = ('create', 'delete', 'update', 'rollback', 'suspend', 'resume',
           'adopt', 'snapshot', 'check', 'restore')

#: The phases, in the order Heat sends them.
PHASES = ('start', 'end', 'error')

#: Glob patterns of every event type this module parses.
EVENT_TYPES = ('orchestration.stack.*', 'orchestration.autoscaling.*')

_STACK = re.compile(r'orchestration\.stack\.([a-z_]+)\.(start|end|error)')
_SCALING = re.compile(r'orchestration\.autoscaling\.(start|end|error)')


class Notice(NamedTuple):
    """A parsed event type.

    :ivar action: the stack action (``create``, ...), or ``autoscaling``.
    :ivar phase: ``start``, ``end`` or ``error``.
    """

    action: str
    phase: str

    @property
    def finished(self) -> bool:
        """Whether the operation is over (``end`` or ``error``)."""
        return self.phase != 'start'

    @property
    def deletes(self) -> bool:
        """Whether the stack is being or has been deleted (``delete.start``/``.end``)."""
        return self.action == 'delete' and self.phase != 'error'


def parse_event_type(event_type: object) -> Notice | None:
    """The action and phase of a Heat event type, or ``None`` when it is not one."""
    if not isinstance(event_type, str):
        return None
    match = _STACK.fullmatch(event_type)
    if match:
        return Notice(match.group(1), match.group(2))
    match = _SCALING.fullmatch(event_type)
    if match:
        return Notice('autoscaling', match.group(1))
    return None

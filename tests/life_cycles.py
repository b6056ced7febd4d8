"""What the collector emits, in diff mode, for the life cycles both tiers play.

The functional tier plays them on the emulated cloud, the integration tier
on real Heat 27 and Aodh 23: the same changes must reach the sink once
each, in this order, from the notifications.
"""

from __future__ import annotations

from vitrage_ds.event import DELETE_ENTITY

#: A stack created, updated, updated into a failure and deleted:
#: ``(event type, status)`` of each event about it.
STACK_LIFE_CYCLE = [
    ('orchestration.stack.create.start', 'CREATE_IN_PROGRESS'),
    ('orchestration.stack.create.end', 'CREATE_COMPLETE'),
    ('orchestration.stack.update.start', 'UPDATE_IN_PROGRESS'),
    ('orchestration.stack.update.end', 'UPDATE_COMPLETE'),
    ('orchestration.stack.update.start', 'UPDATE_IN_PROGRESS'),
    ('orchestration.stack.update.error', 'UPDATE_FAILED'),
    (DELETE_ENTITY, 'DELETE_IN_PROGRESS'),
]

#: An alarm created, fired and deleted: ``(event type, state)`` of each event about it.
ALARM_LIFE_CYCLE = [
    ('alarm.creation', 'insufficient data'),
    ('alarm.state_transition', 'alarm'),
    (DELETE_ENTITY, 'alarm'),
]

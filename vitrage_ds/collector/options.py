"""The ``[collector]`` options."""

from __future__ import annotations

from oslo_config import cfg

from vitrage_ds.collector import coordination
from vitrage_ds.collector.limits import MAX_DEPTH
from vitrage_ds.collector.scheduler import MIN_RETRY_DELAY

__all__ = ['GROUP', 'OPTS', 'list_opts', 'register_opts']

GROUP = 'collector'

OPTS: list[cfg.Opt] = [
    cfg.StrOpt('mode', default='full', choices=[
        ('full', 'every complete poll emits the whole state (Vitrage snapshot '
                 'semantics) and every accepted notification is emitted'),
        ('diff', 'only changes are emitted: added, updated and deleted '
                 'entities'),
    ], help='What the collector emits.'),
    cfg.ListOpt('sinks', default=['stdout'],
                help='Where events go, for the vitrage-ds collect service: '
                     '"stdout" (JSON lines), "file:PATH" (JSON lines appended '
                     'to PATH), "bus:TOPIC" or "bus:EXCHANGE/TOPIC" (one '
                     'notification per event, event type vitrage_ds.event).'),
    cfg.BoolOpt('listen', default=True,
                help='Listen to the bus for notifications; when false only '
                     'polls feed the collector.'),
    cfg.ListOpt('exchanges', default=[],
                help='Exchanges to listen on, replacing those every enabled '
                     'driver declares (heat, aodh, ...): each driver then '
                     'gets the notifications of these exchanges, on its '
                     'topics. Empty: each driver\'s own exchanges.'),
    cfg.ListOpt('topics', default=None,
                help='Notification topics to listen on, replacing those '
                     'every enabled driver declares (notifications for Heat '
                     'and Aodh): each driver then gets the notifications of '
                     'these topics, on its exchanges. For a deployment whose '
                     'services publish on other topics than their default '
                     '([oslo_messaging_notifications] topics). Unset or '
                     'empty: each driver\'s own topics.'),
    cfg.StrOpt('listener_pool', default='vitrage_ds',
               help='Listener pool: collectors of one pool share the '
                    'notifications, each going to one of them, and do not '
                    'compete with other consumers of the topics.'),
    cfg.IntOpt('max_retries', default=3, min=0,
               help='Times a notification is requeued after a transient '
                    'failure (a sink that failed) before it is given up.'),
    cfg.IntOpt('batch_size', default=1, min=1,
               help='Most notifications handed to the collector at once. '
                    'Each batch is handled on one thread, its notifications '
                    'one after another in the order they came, and a '
                    'transient failure is retried in place. With '
                    'notification_timeout = 0, a backlog drains faster in '
                    'batches (see "Draining a backlog faster" in the '
                    'collector documentation). 1: one by one.'),
    cfg.FloatOpt('batch_timeout', default=0.1, min=0.001,
                 help='With batch_size above 1: most seconds to wait for a '
                      'batch to fill, so the most a notification is delayed '
                      'when the bus is quiet.'),
    cfg.FloatOpt('jitter', default=0.1, min=0.0, max=1.0,
                 help='Random fraction added to each poll delay, so drivers '
                      'and collectors do not poll in lockstep.'),
    cfg.FloatOpt('retry_backoff', default=5.0, min=MIN_RETRY_DELAY,
                 help='Seconds before retrying a failed poll; doubles with '
                      f'each failure in a row. At least {MIN_RETRY_DELAY:g}, '
                      'so a failing poll is never retried in a busy loop. '
                      'Polls only: a notification whose delivery failed is '
                      'requeued by the listener (see max_retries).'),
    cfg.FloatOpt('retry_backoff_max', default=300.0, min=MIN_RETRY_DELAY,
                 help='Most seconds between retries of a failed poll (never '
                      'more than the driver\'s poll interval, never less '
                      f'than {MIN_RETRY_DELAY:g}), and between two warnings '
                      'while it keeps failing. Polls only, as retry_backoff.'),
    cfg.FloatOpt('tombstone_ttl', default=3600.0, min=0.0,
                 help='Seconds a deleted entity is remembered, so that a '
                      'late, older update does not bring it back. Should '
                      'exceed the longest poll and the longest bus delay.'),
    cfg.IntOpt('tombstone_limit', default=10_000, min=0,
               help='Most deleted entities remembered per driver; the '
                    'oldest are forgotten first.'),
    cfg.FloatOpt('max_clock_skew', default=300.0, min=0.0,
                 help='Seconds a time an event carries (the source\'s own '
                      'time, or a notification\'s envelope time) may be ahead '
                      'of this host\'s clock and still be believed. A later '
                      'source time is ignored (the event is ordered by when '
                      'it was observed) and a later envelope time replaced by '
                      'this host\'s clock, with a warning: a notification '
                      'dated in the future can neither freeze an entity nor '
                      'hide later changes.'),
    cfg.IntOpt('max_field_length', default=65_536, min=0,
               help='Most characters of one field of an event. A longer '
                    'string is cut to this length, a longer list or mapping '
                    'dropped (set to null), with a warning; a field the '
                    'contract names as text (ids, names, states, severities, '
                    'reasons, times) holding anything but a string is '
                    'dropped too, and so is a list or mapping nested more '
                    f'than {MAX_DEPTH} levels deep, whatever this limit. '
                    'Bounds what one payload can make the collector cache '
                    'and write. 0: no size limit.'),
    cfg.FloatOpt('poll_timeout', default=0.0, min=0.0,
                 help='Seconds one poll (a driver\'s get_all()) may take. A '
                      'poll still running then is abandoned and counts as '
                      'failed (logged, retried with backoff, nothing '
                      'changes); no new poll of that driver starts before '
                      'the abandoned one returned. 0: the driver\'s poll '
                      'interval.'),
    cfg.BoolOpt('pause_gc', default=True,
                help='Keep Python\'s cyclic garbage collector off while a '
                     'driver\'s get_all() builds its snapshot and while the '
                     'collector reconciles it, never while the sinks deliver '
                     'it: a poll allocates tens of thousands of objects, '
                     'none of them in a reference cycle, and the collections '
                     'they trigger walk every object of the process again '
                     '(about a quarter of a 10,000-alarm poll\'s CPU). The '
                     'switch is process-wide: cycles the rest of the process '
                     'makes meanwhile are collected after the poll. Set '
                     'false in a process that must never defer a '
                     'collection.'),
    cfg.FloatOpt('notification_timeout', default=60.0, min=0.0,
                 help='Seconds a driver may take over one notification. A '
                      'driver still busy then is abandoned for that '
                      'notification (logged; the other drivers still get '
                      'it), so a hung driver cannot stall the listener. 0: '
                      'no limit.'),
    cfg.StrOpt('coordination_group', default='vitrage_ds.collector',
               help='With [coordination] backend_url set: the prefix of the '
                    'tooz groups and locks the collectors of one deployment '
                    'share (one group per driver, <prefix>.<driver>). '
                    'Collectors with different prefixes coordinate nothing.'),
    cfg.FloatOpt('stop_timeout', default=30.0, min=0.0,
                 help='Seconds vitrage-ds collect waits, when stopping, for '
                      'in-flight notifications and polls to finish.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register ``[collector]`` on ``conf`` (idempotent)."""
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """For :func:`vitrage_ds.opts.list_opts` and ``oslo-config-generator``:
    ``[collector]`` and the ``[coordination]`` it reads."""
    return [(GROUP, list(OPTS)), *coordination.list_opts()]

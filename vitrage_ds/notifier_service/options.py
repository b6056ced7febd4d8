"""The ``[notifier]`` options: where the notifier service listens, and how."""

from __future__ import annotations

from oslo_config import cfg

__all__ = ['DEFAULT_EXCHANGE', 'DEFAULT_TOPIC', 'GROUP', 'OPTS', 'list_opts',
           'register_opts']

GROUP = 'notifier'

#: Where deduced-alarm messages go unless configured otherwise.
DEFAULT_TOPIC = 'vitrage.graph'
DEFAULT_EXCHANGE = 'vitrage'

OPTS: list[cfg.Opt] = [
    cfg.StrOpt('topic', default=DEFAULT_TOPIC,
               help='The topic deduced-alarm messages are published on and '
                    'the notifier service listens to.'),
    cfg.StrOpt('exchange', default=DEFAULT_EXCHANGE,
               help='The exchange of that topic.'),
    cfg.StrOpt('listener_pool', default=None,
               help='Unset (the default): consume the queues Vitrage\'s own '
                    'notifier consumes (<topic>.info, the queue Vitrage\'s '
                    'GraphNotifier and DeducedAlarmPublisher declare), so '
                    'vitrage-ds notifier replaces vitrage-notifier and no '
                    'queue is left without a consumer; several processes '
                    'share the messages. Set to a name to run beside '
                    'Vitrage\'s notifier instead: the processes of the pool '
                    'then share a queue of their own, '
                    '<pool>.<exchange>.<topic>, and get a copy of every '
                    'message while <topic>.info stays Vitrage\'s notifier\'s '
                    '(it grows if nothing else consumes it).'),
    cfg.IntOpt('max_retries', default=-1, min=-1,
               help='Times a message is requeued after a plugin asked for a '
                    'retry (a transient failure: Aodh answering 5xx, 429, '
                    'timing out or unreachable) before it is given up. -1 '
                    '(the default): no limit, so a transient failure never '
                    'loses a deduced alarm however long it lasts; each '
                    'requeue waits retry_backoff, doubling, at most '
                    'retry_backoff_max.'),
    cfg.FloatOpt('retry_backoff', default=1.0, min=0.0,
                 help='Seconds before the first requeue of a message, '
                      'doubling with each failure of that message.'),
    cfg.FloatOpt('retry_backoff_max', default=30.0, min=0.0,
                 help='The most seconds before any requeue: once the '
                      'failure clears, a waiting message is tried again '
                      'within this time.'),
    cfg.FloatOpt('plugin_timeout', default=60.0, min=0.0,
                 help='Seconds a notifier plugin may take over one message. '
                      'A plugin still busy then is abandoned for that '
                      'message, which counts as a transient failure '
                      '(requeued after the backoff); the other plugins '
                      'still get the message, so a hung plugin cannot stall '
                      'the service. 0: no limit.'),
    cfg.FloatOpt('stop_timeout', default=30.0, min=0.0,
                 help='Seconds vitrage-ds notifier waits, when stopping, for '
                      'in-flight messages to finish.'),
    cfg.StrOpt('publisher_id', default='vitrage.graph',
               help='The publisher id of messages sent by vitrage-ds publish '
                    'and DeducedAlarmPublisher.from_conf().'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register ``[notifier]`` on ``conf`` (idempotent)."""
    conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """For :func:`vitrage_ds.config.list_opts` and ``oslo-config-generator``."""
    return [(GROUP, list(OPTS))]

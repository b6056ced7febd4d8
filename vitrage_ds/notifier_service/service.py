"""The notifier service: every message on the graph topic, to every notifier plugin."""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Mapping
from typing import Any

import oslo_messaging  # type: ignore[import-untyped]
from oslo_config import cfg

from vitrage_ds._guard import Guard, PluginTimeout
from vitrage_ds._logsafe import safe
from vitrage_ds.bus import Listener, Notification
from vitrage_ds.bus.listener import trackable
from vitrage_ds.notifier import Message, NotifierPlugin, Outcome
from vitrage_ds.notifier_service import options

__all__ = ['NotifierService']

LOG = logging.getLogger(__name__)

#: Messages whose per-plugin progress is remembered across redeliveries.
_MAX_TRACKED = 10_000
#: Most calls into one plugin in flight at once, stuck ones included.
_PLUGIN_WORKERS = 64


class _Progress:
    """Which plugins already finished with a message that is being retried.

    Bounded (:data:`_MAX_TRACKED` messages); a message id that cannot key
    bookkeeping (not a string, or too long) is never stored, and nothing
    here raises: such a message simply has every plugin called again.
    """

    def __init__(self) -> None:
        self._done: collections.OrderedDict[str, frozenset[str]] = collections.OrderedDict()
        self._lock = threading.Lock()

    def finished(self, message_id: object) -> frozenset[str]:
        if not isinstance(message_id, str) or not trackable(message_id):
            return frozenset()
        with self._lock:
            return self._done.get(message_id, frozenset())

    def remember(self, message_id: object, finished: frozenset[str]) -> None:
        if not isinstance(message_id, str) or not trackable(message_id):
            return
        with self._lock:
            self._done[message_id] = finished
            self._done.move_to_end(message_id)
            while len(self._done) > _MAX_TRACKED:
                self._done.popitem(last=False)

    def forget(self, message_id: object) -> None:
        if isinstance(message_id, str) and trackable(message_id):
            with self._lock:
                self._done.pop(message_id, None)


class NotifierService:
    """Listens on ``(exchange, topic)`` and calls ``notify`` on every plugin.

    For each message every plugin is called in turn, in the order given;
    the message is acknowledged only after the last one returned:

    * all returned :attr:`Outcome.DONE`: acknowledged;
    * one returned :attr:`Outcome.RETRY` or took longer than
      ``plugin_timeout`` (abandoned, a transient failure; once all of a
      plugin's threads are stuck it is skipped at once): requeued by the bus
      layer after a capped exponential backoff, as often as it takes unless
      ``max_retries`` bounds it, while the other messages keep flowing. On
      a redelivery to this process only the plugins that asked for the
      retry are called again; another process calls them all, which
      plugins must tolerate (the contract requires redelivered messages to
      be harmless);
    * otherwise, if one returned :attr:`Outcome.REJECT` (a permanent
      refusal), raised (logged with its traceback) or returned something
      that is not an :class:`Outcome`: the other plugins are still called,
      then the message is logged and acknowledged.

    Messages are handled concurrently (the bus layer's thread pool);
    plugins must be thread-safe.

    :param plugins: the plugins, by name (what
        :func:`vitrage_ds.registry.load_notifiers` loaded).
    :param transport: from :func:`vitrage_ds.bus.get_transport`; the caller
        keeps owning it.
    :param pool: ``None`` (the default) consumes ``<topic>.<priority>``,
        the queues Vitrage's own notifier consumes and every publisher of
        the topic declares, shared with any other pool-less consumer; a name
        consumes a queue of that pool's own (see
        :class:`~vitrage_ds.bus.Listener`), for running beside Vitrage's
        notifier.
    :param max_retries: requeues of one message before it is given up;
        ``None`` (the default): as many as it takes.
    :param retry_backoff: seconds before the first requeue of a message,
        doubling with each failure of it.
    :param retry_backoff_max: the most seconds before any requeue.
    :param plugin_timeout: seconds one plugin may take over one message
        (``None`` or 0: no limit).
    """

    def __init__(self, plugins: Mapping[str, NotifierPlugin],
                 transport: oslo_messaging.Transport, *,
                 topic: str = options.DEFAULT_TOPIC,
                 exchange: str | None = options.DEFAULT_EXCHANGE,
                 pool: str | None = None,
                 max_retries: int | None = None,
                 retry_backoff: float = 1.0,
                 retry_backoff_max: float = 30.0,
                 plugin_timeout: float | None = 60.0) -> None:
        self.plugins = dict(plugins)
        self._guards = {name: Guard(f'notifier plugin {name}', plugin_timeout,
                                    _PLUGIN_WORKERS) for name in self.plugins}
        self.topic = topic
        self.exchange = exchange
        self._progress = _Progress()
        self._listener = Listener(transport, [(exchange, topic)], self.handle,
                                  pool=pool, max_retries=max_retries,
                                  retry_backoff=retry_backoff,
                                  retry_backoff_max=retry_backoff_max)

    @classmethod
    def from_conf(cls, conf: cfg.ConfigOpts, plugins: Mapping[str, NotifierPlugin],
                  transport: oslo_messaging.Transport) -> NotifierService:
        """A service configured by ``[notifier]``."""
        options.register_opts(conf)
        group = conf[options.GROUP]
        return cls(plugins, transport, topic=group.topic, exchange=group.exchange,
                   pool=group.listener_pool or None,
                   max_retries=None if group.max_retries < 0 else group.max_retries,
                   retry_backoff=group.retry_backoff,
                   retry_backoff_max=group.retry_backoff_max,
                   plugin_timeout=group.plugin_timeout)

    @property
    def listener(self) -> Listener:
        """The bus listener (its counters say what became of the messages)."""
        return self._listener

    def start(self) -> None:
        """Start listening. Idempotent."""
        self._listener.start()
        LOG.info('notifier service listening on %s/%s%s with %s',
                 self.exchange or '(default exchange)', self.topic,
                 f' in pool {self._listener.pool}' if self._listener.pool else '',
                 ', '.join(self.plugins) or 'no plugins')

    def stop(self, timeout: float | None = None) -> bool:
        """Stop listening and let in-flight messages finish (see :meth:`Listener.stop`).

        :returns: whether everything drained within ``timeout``.
        """
        return self._listener.stop(timeout)

    def wait(self) -> None:
        """Block until :meth:`stop` has drained."""
        self._listener.wait()

    def handle(self, note: Notification) -> Outcome:
        """Give one message to every plugin; return what becomes of it. Never raises."""
        message_id = note.metadata.get('message_id')
        msg = Message(note.event_type, note.payload, note.metadata)
        finished = set(self._progress.finished(message_id))
        retry: list[str] = []
        rejected: list[str] = []
        for name, plugin in self.plugins.items():
            if name in finished:
                continue
            outcome = self._call(name, plugin, msg, message_id)
            if outcome is Outcome.RETRY:
                retry.append(name)
                continue
            if outcome is not Outcome.DONE:
                rejected.append(name)
            finished.add(name)
        if retry:
            self._progress.remember(message_id, frozenset(finished))
            LOG.info('%s %s: %s asked for a retry', safe(note.event_type),
                     safe(message_id), ', '.join(retry))
            return Outcome.RETRY
        self._progress.forget(message_id)
        if rejected:
            LOG.warning('%s %s: rejected by %s', safe(note.event_type), safe(message_id),
                        ', '.join(rejected))
            return Outcome.REJECT
        return Outcome.DONE

    def _call(self, name: str, plugin: NotifierPlugin, msg: Message,
              message_id: Any) -> Outcome | None:
        """What ``plugin`` made of ``msg``; ``None`` when it failed unexpectedly."""
        try:
            outcome = self._guards[name].call(f'notify({safe(msg.event_type, 100)})',
                                              plugin.notify, msg)
        except PluginTimeout as exc:
            # Slow is transient: Aodh hanging must not lose the message.
            LOG.warning('%s on %s; will retry it, the other plugins still run',
                        exc, safe(message_id))
            return Outcome.RETRY
        except Exception:
            LOG.exception('notifier plugin %s raised on %s %s; the other plugins '
                          'still run', name, safe(msg.event_type), safe(message_id))
            return None
        if not isinstance(outcome, Outcome):
            LOG.error('notifier plugin %s returned %s, not an Outcome, on %s %s',
                      name, safe(repr(outcome)), safe(msg.event_type), safe(message_id))
            return None
        return outcome

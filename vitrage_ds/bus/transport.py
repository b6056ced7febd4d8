"""The message bus transport: oslo.messaging's, configured from ``[DEFAULT]``."""

from __future__ import annotations

import copy
import logging
import threading
import weakref

import oslo_messaging  # type: ignore[import-untyped]
from oslo_config import cfg
from oslo_messaging import opts as om_opts  # type: ignore[import-untyped]

__all__ = ['DEFAULT_TRANSPORT_URL', 'exchange_of', 'get_transport', 'register_opts',
           'release', 'transport_for_exchange']

LOG = logging.getLogger(__name__)

#: The transport when ``[DEFAULT] transport_url`` is not set: in-process only.
DEFAULT_TRANSPORT_URL = 'fake://'


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register oslo.messaging's options on ``conf`` (idempotent).

    Makes ``[DEFAULT] transport_url`` / ``control_exchange`` and the driver
    groups (``[oslo_messaging_rabbit] amqp_durable_queues``,
    ``rabbit_quorum_queue``, ``rabbit_qos_prefetch_count``, ...) readable
    from configuration files before any transport exists, and makes
    ``fake://`` the default ``transport_url``.
    """
    for group, opts in om_opts.list_opts():
        conf.register_opts(opts, group=group)
    conf.set_default('transport_url', DEFAULT_TRANSPORT_URL)


#: Where each transport :func:`get_transport` built comes from, so a
#: sibling on another exchange can be built (:func:`transport_for_exchange`).
_SOURCES: weakref.WeakKeyDictionary[oslo_messaging.Transport,
                                    tuple[cfg.ConfigOpts, str | None]] = \
    weakref.WeakKeyDictionary()
_SOURCES_LOCK = threading.Lock()


def get_transport(conf: cfg.ConfigOpts,
                  url: str | None = None) -> oslo_messaging.Transport:
    """A notification transport for ``url`` or the configured one.

    The URL is, in order: ``url``; ``[oslo_messaging_notifications]
    transport_url``; ``[DEFAULT] transport_url``; ``fake://``. ``fake://``
    only connects objects that share one process (its queues live in
    memory). The caller owns the transport: ``transport.cleanup()`` closes
    its connections once every listener and publisher using it is done.
    What it sends goes to ``[DEFAULT] control_exchange``; see
    :func:`transport_for_exchange` for another exchange.

    :raises oslo_messaging.InvalidTransportURL: the URL does not parse.
    :raises oslo_messaging.DriverLoadFailure: no driver for its scheme.
    """
    register_opts(conf)
    transport = oslo_messaging.get_notification_transport(conf, url=url)
    with _SOURCES_LOCK:
        _SOURCES[transport] = (conf, url)
    LOG.debug('bus transport %s', _scheme(conf, url))
    return transport


def exchange_of(transport: oslo_messaging.Transport) -> str:
    """The exchange notifications sent through ``transport`` go to: its
    configuration's ``control_exchange``, read when it was built."""
    return str(transport.conf.control_exchange)


def transport_for_exchange(transport: oslo_messaging.Transport,
                           exchange: str) -> oslo_messaging.Transport:
    """A new transport to the same broker whose notifications go to ``exchange``.

    oslo.messaging's public ``Notifier`` names no exchange: its driver sends
    to the transport's ``control_exchange``, fixed when the transport is
    built. So this builds another transport, from the same URL and a copy of
    the same oslo.messaging options (``retry``, TLS, heartbeats, ...) as
    ``transport``'s configuration holds now, with ``control_exchange =
    exchange``. The caller owns it and closes it with :func:`release`; on
    ``fake://`` it shares the process's in-memory exchanges with every other
    transport.

    :raises ValueError: ``transport`` was not built by :func:`get_transport`
        (a host's own): its URL is unknown here. Build one with
        :func:`get_transport`, or one whose ``control_exchange`` is
        ``exchange``.
    """
    with _SOURCES_LOCK:
        source = _SOURCES.get(transport)
    if source is None:
        raise ValueError(
            f'cannot send to exchange {exchange!r} through a transport not built by '
            f'vitrage_ds.bus.get_transport; its own exchange is {exchange_of(transport)!r}')
    conf, url = source
    return get_transport(_with_exchange(conf, exchange), url)


def release(transport: oslo_messaging.Transport) -> None:
    """Close a transport :func:`transport_for_exchange` built. Idempotent.

    On ``fake://`` nothing is done: oslo.messaging's fake driver keeps the
    exchanges of every transport of the process in one table, which its
    ``cleanup()`` empties, so closing one transport would drop what the
    others have queued. Its memory goes with the last reference.
    """
    with _SOURCES_LOCK:
        source = _SOURCES.get(transport)
    if source is not None and _scheme(*source) == 'fake://':
        return
    transport.cleanup()


def _with_exchange(conf: cfg.ConfigOpts, exchange: str) -> cfg.ConfigOpts:
    """A configuration holding ``conf``'s oslo.messaging options, but
    ``control_exchange = exchange``. ``conf`` is left as it is."""
    register_opts(conf)
    sibling = cfg.ConfigOpts()
    sibling(args=[], project='vitrage_ds', default_config_files=[],
            default_config_dirs=[])
    for group, opts in om_opts.list_opts():
        values = conf[group] if group else conf
        sibling.register_opts([copy.deepcopy(o) for o in opts], group=group)
        for opt in opts:
            sibling.set_override(opt.dest, values[opt.dest], group)
    sibling.set_override('control_exchange', exchange)
    return sibling


def _scheme(conf: cfg.ConfigOpts, url: str | None) -> str:
    """The transport's scheme only: a URL may carry a password."""
    raw = url or conf.oslo_messaging_notifications.transport_url or conf.transport_url
    return str(raw).split(':', 1)[0] + '://'

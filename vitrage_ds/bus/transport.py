"""The message bus transport: oslo.messaging's, configured from ``[DEFAULT]``."""

from __future__ import annotations

import logging

import oslo_messaging  # type: ignore[import-untyped]
from oslo_config import cfg
from oslo_messaging import opts as om_opts  # type: ignore[import-untyped]

__all__ = ['DEFAULT_TRANSPORT_URL', 'get_transport', 'register_opts']

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


def get_transport(conf: cfg.ConfigOpts,
                  url: str | None = None) -> oslo_messaging.Transport:
    """A notification transport for ``url`` or the configured one.

    The URL is, in order: ``url``; ``[oslo_messaging_notifications]
    transport_url``; ``[DEFAULT] transport_url``; ``fake://``. ``fake://``
    only connects objects that share one process (its queues live in
    memory). The caller owns the transport: ``transport.cleanup()`` closes
    its connections once every listener and publisher using it is done.

    :raises oslo_messaging.InvalidTransportURL: the URL does not parse.
    :raises oslo_messaging.DriverLoadFailure: no driver for its scheme.
    """
    register_opts(conf)
    transport = oslo_messaging.get_notification_transport(conf, url=url)
    LOG.debug('bus transport %s', _scheme(conf, url))
    return transport


def _scheme(conf: cfg.ConfigOpts, url: str | None) -> str:
    """The transport's scheme only: a URL may carry a password."""
    raw = url or conf.oslo_messaging_notifications.transport_url or conf.transport_url
    return str(raw).split(':', 1)[0] + '://'

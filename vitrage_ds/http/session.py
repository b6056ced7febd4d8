"""Building API clients from configuration or from a clouds.yaml cloud."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
from oslo_config import cfg

from vitrage_ds.config import CREDENTIALS_GROUP, http_options
from vitrage_ds.errors import ConfigurationError
from vitrage_ds.http._transport import streamline
from vitrage_ds.http.client import Client, RetryPolicy
from vitrage_ds.plugin import ClientFactory

__all__ = ['client_factory_from_conf', 'client_factory_from_cloud',
           'client_factory_from_session']


def client_factory_from_session(session: ks_session.Session, conf: cfg.ConfigOpts,
                                endpoint_lookup: Callable[[str], str] | None = None
                                ) -> ClientFactory:
    """A factory of :class:`Client` sharing one keystoneauth ``session``.

    The endpoint of a plugin's client is its group's ``endpoint_override``
    or, failing that, the catalog entry found by ``endpoint_lookup`` (by
    default the session's own catalog, with ``[service_credentials]``
    ``interface`` and ``region_name``). Looking it up is deferred to the
    first call. Timeouts, retries, concurrency and headers come from
    ``[http]`` (``[vitrage_ds_http]`` inside a host, see
    :func:`vitrage_ds.config.register_opts`); a plugin group that defines
    its own ``max_concurrency`` overrides ``[http] max_concurrency`` when it
    is set.
    """
    creds = conf[CREDENTIALS_GROUP]
    http = http_options(conf)

    def catalog(service_type: str) -> str:
        if endpoint_lookup is not None:
            return endpoint_lookup(service_type)
        # '' (not found) makes the Client raise BackendError on first use.
        return session.get_endpoint(service_type=service_type,
                                    interface=creds.interface,
                                    region_name=creds.region_name) or ''

    def factory(service_type: str, options: Any) -> Client:
        override = getattr(options, 'endpoint_override', None)
        endpoint: str | Callable[[], str] = (
            override or (lambda: catalog(service_type)))
        return Client(session, endpoint,
                      timeout=http.timeout,
                      retry=RetryPolicy(http.retries, http.retry_backoff,
                                        http.retry_backoff_max),
                      headers=http.headers,
                      max_concurrency=(getattr(options, 'max_concurrency', None)
                                       or http.max_concurrency))

    return factory


def client_factory_from_conf(conf: cfg.ConfigOpts) -> ClientFactory:
    """A client factory from ``[service_credentials]`` (what services use).

    ``auth_type = none`` needs every plugin's ``endpoint_override``.

    :raises ConfigurationError: no ``auth_type`` is configured.
    """
    auth = ks_loading.load_auth_from_conf_options(conf, CREDENTIALS_GROUP)
    if auth is None:
        raise ConfigurationError(
            f'[{CREDENTIALS_GROUP}] auth_type is not set: set it (e.g. password '
            f'or none) or use --os-cloud')
    session = ks_loading.load_session_from_conf_options(
        conf, CREDENTIALS_GROUP, auth=auth)
    streamline(session.session)
    return client_factory_from_session(session, conf)


def client_factory_from_cloud(cloud: str, conf: cfg.ConfigOpts) -> ClientFactory:
    """A client factory from a clouds.yaml cloud, as ``openstack --os-cloud`` does.

    TLS settings (``cacert``, ``verify``) and the endpoints (catalog or
    ``<service>_endpoint_override``) come from the cloud's entry.

    :raises ConfigurationError: the cloud is not defined.
    """
    import openstack.config
    from openstack import exceptions as sdk_exc

    try:
        region = openstack.config.OpenStackConfig().get_one(cloud=cloud)
    except sdk_exc.ConfigException as exc:
        raise ConfigurationError(f'cloud {cloud!r}: {exc}') from exc
    session = region.get_session()
    streamline(session.session)

    def lookup(service_type: str) -> str:
        override = region.get_endpoint(service_type)
        if override:
            return override
        return region.get_endpoint_from_catalog(service_type) or ''

    return client_factory_from_session(session, conf, lookup)

"""Building API clients from configuration, from a clouds.yaml cloud or from a host's session.

How many calls a plugin's client keeps in flight and how many connections it
keeps open come from its group's ``max_parallel_calls`` and
``max_connections`` when the plugin defines them (see :data:`PARALLEL_CALLS`
and :data:`CONNECTIONS`), else from ``[http] max_parallel_calls``.

Where its endpoint is and how often a call is retried come from the plugin
group's keystoneauth adapter options (:func:`vitrage_ds.config.adapter_opts`)
over ``[service_credentials]`` and ``[http]``; how long a call may take
from :func:`vitrage_ds.config.call_timeout`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
from oslo_config import cfg

from vitrage_ds.config import CREDENTIALS_GROUP, call_timeout, http_options
from vitrage_ds.errors import ConfigurationError
from vitrage_ds.http.client import Client, RetryPolicy
from vitrage_ds.http.transport import PooledSession

__all__ = ['CONNECTIONS', 'PARALLEL_CALLS', 'ClientFactory', 'client_factory_from_cloud',
           'client_factory_from_conf', 'client_factory_from_session']

#: A plugin option: the most calls the plugin's client keeps in flight in
#: one fan-out (unset: ``[http] max_parallel_calls``).
PARALLEL_CALLS = 'max_parallel_calls'
#: A plugin option: connections the plugin's client keeps open to its
#: service, for a plugin called from several threads at once (the notifier
#: service's); at least one more than its parallel calls.
CONNECTIONS = 'max_connections'

#: Builds an API client for a service type with a plugin's options group.
ClientFactory = Callable[[str, Any], Client]

#: Builds the keystoneauth session of one client, given its pool size.
SessionFor = Callable[[int], ks_session.Session]


def _plugin_option(options: Any, name: str) -> Any:
    """The value of option ``name`` of a plugin's group, ``None`` when the
    plugin has no such option (``options`` is an oslo.config group, or a
    namespace in scripts and tests)."""
    if isinstance(options, Mapping):
        # (an oslo.config group raises NoSuchOptError, not KeyError, from get)
        return options[name] if name in options else None  # noqa: SIM401
    return vars(options).get(name)


def client_factory_from_session(session: ks_session.Session, conf: cfg.ConfigOpts,
                                endpoint_lookup: Callable[[str], str] | None = None
                                ) -> ClientFactory:
    """A factory of :class:`Client` sharing one keystoneauth ``session``,
    such as a host's: the session is used as it is, never changed (its
    adapters, retries and pool stay the host's).

    The endpoint of a plugin's client is its group's ``endpoint_override``
    or, failing that, the catalog entry found by ``endpoint_lookup`` (by
    default the session's own catalog, with the group's ``service_type``,
    ``service_name``, ``valid_interfaces`` and ``region_name``, the last two
    defaulting to ``[service_credentials]`` ``interface`` and
    ``region_name``). Looking it up is deferred to the first call. Each call
    is bounded by :func:`vitrage_ds.config.call_timeout`; retries, parallel
    calls and headers come from ``[http]`` (``[vitrage_ds_http]`` inside a
    host, see :func:`vitrage_ds.config.register_opts`); a plugin group's
    own ``max_parallel_calls``, ``connect_retries`` and
    ``status_code_retries``, when set, override ``[http]``'s.
    """
    return _factory(lambda _pool_size: session, conf, endpoint_lookup)


def _factory(session_for: SessionFor, conf: cfg.ConfigOpts,
             endpoint_lookup: Callable[[str], str] | None,
             timeout: float | None = None) -> ClientFactory:
    creds = conf[CREDENTIALS_GROUP]
    http = http_options(conf)
    call_seconds = timeout or call_timeout(conf)

    def factory(service_type: str, options: Any) -> Client:
        parallel = _plugin_option(options, PARALLEL_CALLS) or http.max_parallel_calls
        # One more than the fan-out's calls: a listing's page read ahead.
        session = session_for(max(parallel + 1, _plugin_option(options, CONNECTIONS) or 0))
        catalog_type = _plugin_option(options, 'service_type') or service_type

        def catalog() -> str:
            if endpoint_lookup is not None:
                return endpoint_lookup(catalog_type)
            # '' (not found) makes the Client raise BackendError on first use.
            return session.get_endpoint(
                service_type=catalog_type,
                service_name=_plugin_option(options, 'service_name'),
                interface=_plugin_option(options, 'valid_interfaces') or creds.interface,
                region_name=_plugin_option(options, 'region_name') or creds.region_name) or ''

        endpoint: str | Callable[[], str] = (
            _plugin_option(options, 'endpoint_override') or catalog)
        return Client(session, endpoint,
                      timeout=call_seconds,
                      retry=RetryPolicy(
                          http.retries, http.retry_backoff, http.retry_backoff_max,
                          connect_retries=_plugin_option(options, 'connect_retries'),
                          status_code_retries=_plugin_option(options, 'status_code_retries')),
                      headers=http.headers,
                      max_parallel_calls=parallel)

    return factory


def client_factory_from_conf(conf: cfg.ConfigOpts) -> ClientFactory:
    """A client factory from ``[service_credentials]`` (what services use).

    Each client gets a keystoneauth session of its own, on a
    :class:`~vitrage_ds.http.transport.PooledSession` sized to it; all share
    one authentication (one token).

    ``auth_type = none`` needs every plugin's ``endpoint_override``.

    :raises ConfigurationError: no ``auth_type`` is configured.
    """
    auth = ks_loading.load_auth_from_conf_options(conf, CREDENTIALS_GROUP)
    if auth is None:
        raise ConfigurationError(
            f'[{CREDENTIALS_GROUP}] auth_type is not set: set it (e.g. password '
            f'or none) or use --os-cloud')

    def session_for(pool_size: int) -> ks_session.Session:
        session: ks_session.Session = ks_loading.load_session_from_conf_options(
            conf, CREDENTIALS_GROUP, auth=auth, session=PooledSession(pool_size))
        return session

    return _factory(session_for, conf, None)


def client_factory_from_cloud(cloud: str, conf: cfg.ConfigOpts) -> ClientFactory:
    """A client factory from a clouds.yaml cloud, as ``openstack --os-cloud`` does.

    TLS settings (``cacert``, ``verify``), the call timeout
    (``api_timeout``; if unset, :func:`vitrage_ds.config.call_timeout`) and
    the endpoints (a plugin group's ``endpoint_override``, else the cloud's
    ``<service>_endpoint_override`` or catalog) come from the cloud's
    entry. Each client gets a session of its own as with
    :func:`client_factory_from_conf`.

    :raises ConfigurationError: the cloud is not defined.
    """
    import openstack.config
    from openstack import exceptions as sdk_exc

    try:
        region = openstack.config.OpenStackConfig().get_one(cloud=cloud)
    except sdk_exc.ConfigException as exc:
        raise ConfigurationError(f'cloud {cloud!r}: {exc}') from exc
    cloud_session = region.get_session()

    def session_for(pool_size: int) -> ks_session.Session:
        return ks_session.Session(
            auth=cloud_session.auth, session=PooledSession(pool_size),
            verify=cloud_session.verify, cert=cloud_session.cert,
            timeout=cloud_session.timeout, user_agent=cloud_session.user_agent,
            app_name=cloud_session.app_name, app_version=cloud_session.app_version,
            additional_user_agent=cloud_session.additional_user_agent)

    def lookup(service_type: str) -> str:
        override = region.get_endpoint(service_type)
        if override:
            return override
        return region.get_endpoint_from_catalog(service_type) or ''

    return _factory(session_for, conf, lookup, cloud_session.timeout)

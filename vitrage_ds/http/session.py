"""Building API clients from configuration or from a clouds.yaml cloud."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

import requests
from keystoneauth1 import loading as ks_loading
from keystoneauth1 import session as ks_session
from oslo_config import cfg

from vitrage_ds.config import CREDENTIALS_GROUP, HTTP_GROUP
from vitrage_ds.errors import ConfigurationError
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
    ``[http]``; a plugin group that defines its own ``max_concurrency``
    overrides ``[http] max_concurrency`` when it is set.
    """
    creds = conf[CREDENTIALS_GROUP]
    http = conf[HTTP_GROUP]

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
    _read_environment_once_per_host(session.session)
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
    _read_environment_once_per_host(session.session)

    def lookup(service_type: str) -> str:
        override = region.get_endpoint(service_type)
        if override:
            return override
        return region.get_endpoint_from_catalog(service_type) or ''

    return client_factory_from_session(session, conf, lookup)


def _no_auth(request: Any) -> Any:
    return request


def _read_environment_once_per_host(http: requests.Session) -> None:
    """Make ``http`` look its proxy, CA and netrc settings up once per host.

    requests reads them from the environment (``HTTPS_PROXY``, ``NO_PROXY``,
    ``REQUESTS_CA_BUNDLE``, ``~/.netrc``...) on every call, walking
    ``os.environ`` twice and looking for two files: a sixth of the CPU of a
    Heat poll, which makes a call per stack. What it finds depends on the
    URL's scheme and host and on the session's own settings only, so the
    answer is kept under those. Only for sessions vitrage_ds builds; a
    session an embedding service passes in is left as it is.
    """
    if not isinstance(http, requests.Session) or not http.trust_env:
        return
    read = http.merge_environment_settings
    prepare = http.prepare_request
    known: dict[Any, dict[str, Any]] = {}
    netrc: dict[str, Any] = {}

    def prepare_request(request: requests.Request) -> requests.PreparedRequest:
        url = request.url
        if http.trust_env and not request.auth and not http.auth and isinstance(url, str):
            host = urllib.parse.urlsplit(url).netloc
            if host not in netrc:
                netrc[host] = requests.utils.get_netrc_auth(url) or _no_auth
            request.auth = netrc[host]
        return prepare(request)

    def merge_environment_settings(url: str, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> dict[str, Any]:
        if not http.trust_env:
            return read(url, proxies, stream, verify, cert)
        parts = urllib.parse.urlsplit(url)
        key = (parts.scheme, parts.netloc, tuple(sorted((proxies or {}).items())),
               stream, verify, cert, tuple(sorted(http.proxies.items())),
               http.stream, http.verify, http.cert)
        settings = known.get(key)
        if settings is None:
            settings = known[key] = read(url, dict(proxies or {}), stream, verify, cert)
        return {**settings, 'proxies': dict(settings['proxies'])}

    http.merge_environment_settings = merge_environment_settings  # type: ignore[method-assign]
    http.prepare_request = prepare_request  # type: ignore[method-assign]

"""Configuration: the core's options and each plugin's own group.

Two layouts of the same options:

* vitrage_ds's own configuration (:func:`new_config`, :func:`load_config`,
  what ``vitrage-ds`` reads): ``[DEFAULT] drivers`` / ``notifiers`` enable
  plugins by name; ``[service_credentials]`` holds keystoneauth's auth and
  session options (its ``timeout`` bounds every API call, see
  :func:`call_timeout`); ``[http]`` the client layer's retries, parallel
  calls and headers; services have ``[collector]`` and ``[notifier]``.
* inside a host's configuration (:func:`register_opts`, e.g. on Vitrage's
  global ``CONF``): the enablement options move to ``[vitrage_ds]`` and the
  HTTP options to ``[vitrage_ds_http]``, where no host has options of its
  own, and ``[service_credentials]`` options the host already has are the
  host's (vitrage_ds reads the same credentials).

In both, every plugin has a group of its own named ``<kind>.<name>``
(``[driver.heat.stack]``, ``[notifier.aodh]``), registered as the plugin
loads: the plugin's own options and, for a plugin that calls an API (one
that declares a ``service_type``), keystoneauth's adapter options
(:func:`adapter_opts`: ``endpoint_override``, ``valid_interfaces``,
``region_name``, the retry counts). Each service registers its own group (``[collector]``,
``[notifier]``) when it is built. Code reads the layout-dependent groups
through :func:`http_options`, :func:`enabled_drivers` and
:func:`enabled_notifiers`.

This module is the bottom floor: it imports nothing else of vitrage_ds.
The listing of every option (services and installed plugins included) is
:func:`vitrage_ds.opts.list_opts`.
"""

from __future__ import annotations

import copy
import importlib.metadata
from collections.abc import Sequence
from typing import Any

from keystoneauth1 import loading as ks_loading
from oslo_config import cfg
from oslo_log import log

__all__ = [
    'CREDENTIALS_GROUP',
    'HOSTED_GROUP',
    'HOSTED_HTTP_GROUP',
    'HTTP_GROUP',
    'DEFAULT_TIMEOUT',
    'adapter_opts',
    'call_timeout',
    'enabled_drivers',
    'enabled_notifiers',
    'http_options',
    'core_opts',
    'list_hosted_opts',
    'load_config',
    'new_config',
    'register_opts',
    'register_plugin_opts',
]

CREDENTIALS_GROUP = 'service_credentials'
HTTP_GROUP = 'http'
#: Inside a host's configuration: the group of ``drivers`` and ``notifiers``.
HOSTED_GROUP = 'vitrage_ds'
#: Inside a host's configuration: the group of the HTTP options.
HOSTED_HTTP_GROUP = 'vitrage_ds_http'

DEFAULT_OPTS = [
    cfg.ListOpt('drivers', default=['heat.stack', 'aodh'],
                help='Datasource drivers to run, by entry-point name in the '
                     'vitrage_ds.drivers namespace.'),
    cfg.ListOpt('notifiers', default=['aodh'],
                help='Notifier plugins to run, by entry-point name in the '
                     'vitrage_ds.notifiers namespace.'),
]

CREDENTIALS_OPTS = [
    cfg.StrOpt('region_name', help='Region of the endpoints to use.'),
    cfg.StrOpt('interface', default='public',
               choices=['public', 'internal', 'admin'],
               help='Catalog interface of the endpoints to use.'),
]

#: Seconds one API call may take when ``[service_credentials] timeout``
#: (keystoneauth's, unset by default) is not set: no call is unbounded.
DEFAULT_TIMEOUT = 30.0

HTTP_OPTS = [
    cfg.IntOpt('retries', default=3, min=0,
               help='Retries of an idempotent call after a connection '
                    'error, a timeout, a 429, a 5xx or a malformed body: '
                    'one budget shared by every kind of failure. A plugin '
                    "group's connect_retries or status_code_retries, when "
                    'set, gives that kind of failure its own budget '
                    'instead.'),
    cfg.FloatOpt('retry_backoff', default=0.5, min=0.0,
                 help='First retry delay in seconds; doubles each retry, '
                      'with jitter.'),
    cfg.FloatOpt('retry_backoff_max', default=30.0, min=0.0,
                 help='Upper bound of one retry delay in seconds.'),
    cfg.IntOpt('max_parallel_calls', default=10, min=1, deprecated_name='max_concurrency',
               help='Most API calls one fan-out (e.g. one call per stack) '
                    'keeps in flight at once; each client keeps one more '
                    'connection open per host.'),
    cfg.DictOpt('headers', default={},
                help='Extra headers sent with every API call, e.g. the '
                     'identity headers of a service running without '
                     'Keystone (auth_type = none).'),
]


def _credential_opts(*, plugin: bool = True) -> list[cfg.Opt]:
    """``[service_credentials]``: ours, keystoneauth's session and auth options
    and, with ``plugin`` (for the sample), the password plugin's."""
    opts: list[cfg.Opt] = list(CREDENTIALS_OPTS)
    opts += ks_loading.get_session_conf_options()
    opts += ks_loading.get_auth_common_conf_options()
    if not plugin:
        return _unique(opts)
    opts += ks_loading.get_auth_plugin_conf_options('password')
    # Password-style options are secret whatever their loader says.
    return [_secret(o) for o in _unique(opts)]


def _unique(opts: Sequence[cfg.Opt]) -> list[cfg.Opt]:
    seen: dict[str, cfg.Opt] = {}
    for opt in opts:
        seen.setdefault(opt.dest, opt)
    return list(seen.values())


def _secret(opt: cfg.Opt) -> cfg.Opt:
    if not opt.secret and any(w in opt.dest for w in ('password', 'secret', 'token')):
        opt = copy.deepcopy(opt)
        opt.secret = True
    return opt


#: keystoneauth's adapter options a plugin group gets, and what vitrage_ds
#: does with them. Not registered: ``version``, ``min_version`` and
#: ``max_version`` (no version discovery is ever done: the endpoint is the
#: versioned URL), ``connect_retry_delay``, ``status_code_retry_delay`` and
#: ``retriable_status_codes`` (the delays are ``[http]``'s backoff; 429 and
#: every 5xx are retried).
_ADAPTER_HELP = {
    'service_type': 'Catalog service type of the endpoint (default: the '
                    "plugin's own, e.g. orchestration).",
    'service_name': 'Catalog service name of the endpoint, when the catalog '
                    'has several services of its type.',
    'valid_interfaces': 'Catalog interfaces to use, in order of preference '
                        '(default: [service_credentials] interface).',
    'region_name': 'Region of the endpoint (default: [service_credentials] '
                   'region_name).',
    'endpoint_override': 'Use this endpoint instead of the one in the service '
                         'catalog: the full versioned URL (e.g. '
                         'http://heat:8004/v1/PROJECT_ID). No version '
                         'discovery is done either way.',
    'connect_retries': 'Retries of an idempotent call after a connection '
                       'error or a timeout (default: one budget of '
                       '[http] retries shared with status code retries).',
    'status_code_retries': 'Retries of an idempotent call after a 429, a 5xx '
                           'or a malformed body (default: one budget of '
                           '[http] retries shared with connection retries).',
}


def adapter_opts() -> list[cfg.Opt]:
    """keystoneauth's adapter options that a plugin calling an API gets in
    its group, with help saying what vitrage_ds does with each.

    Same names and types as
    :func:`keystoneauth1.loading.get_adapter_conf_options`; only the ones
    vitrage_ds honours (doc/source/configuration.rst says why the
    others are left out). Fresh objects on every
    call (oslo.config keeps per-group state on them).
    """
    by_name = {o.dest: o for o in ks_loading.get_adapter_conf_options(include_deprecated=False)}
    opts = []
    for name, text in _ADAPTER_HELP.items():
        opt = copy.deepcopy(by_name[name])
        opt.help = text
        opts.append(opt)
    return opts


def call_timeout(conf: cfg.ConfigOpts) -> float:
    """Seconds each API call may take: ``[service_credentials] timeout``
    (keystoneauth's session option; a host's own value inside a host), or
    :data:`DEFAULT_TIMEOUT` when it is unset or 0."""
    value = conf[CREDENTIALS_GROUP].timeout
    return float(value) if value else DEFAULT_TIMEOUT


def new_config() -> cfg.ConfigOpts:
    """A fresh :class:`~oslo_config.cfg.ConfigOpts` with the core options.

    vitrage_ds never touches oslo.config's global ``CONF``: an embedding
    service keeps its own.
    """
    conf = cfg.ConfigOpts()
    _register_own_opts(conf)
    return conf


def _register_own_opts(conf: cfg.ConfigOpts) -> None:
    """Register the core options in vitrage_ds's own layout (idempotent).
    Hosts call :func:`register_opts` instead."""
    conf.register_opts(DEFAULT_OPTS)
    conf.register_opts(CREDENTIALS_OPTS, group=CREDENTIALS_GROUP)
    ks_loading.register_session_conf_options(conf, CREDENTIALS_GROUP)
    ks_loading.register_auth_conf_options(conf, CREDENTIALS_GROUP)
    conf.register_opts(HTTP_OPTS, group=HTTP_GROUP)
    if 'debug' not in conf:
        log.register_options(conf)


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register vitrage_ds's options on a host's ``conf`` (e.g. Vitrage's ``CONF``).

    Call it once the host has registered its own options (after it parsed
    its configuration is fine: oslo.config reads the new options' values
    then). It never raises :class:`~oslo_config.cfg.DuplicateOptError`
    because of what the host owns:

    * ``drivers`` and ``notifiers`` go to ``[vitrage_ds]`` and the HTTP
      options to ``[vitrage_ds_http]`` (not ``[DEFAULT]`` and ``[http]``,
      which hosts own: Vitrage's ``[DEFAULT] notifiers``, other services'
      ``[http]`` or ``[DEFAULT] drivers``). No deprecated alias points at the
      host's names, so a host's ``[DEFAULT] notifiers`` or ``[http]
      timeout`` is never read as vitrage_ds's.
    * In ``[service_credentials]``, an option the host already registered
      (Vitrage's ``region_name`` and ``interface``, whatever its choices,
      keystoneauth's session and auth options) is left as it is and read by
      vitrage_ds too: both use the same credentials, and keystoneauth's
      ``timeout`` bounds vitrage_ds's calls (:func:`call_timeout`). Only
      the ones it lacks are added.
    * oslo.log's options are not registered: logging is the host's.
    * The services' groups (``[collector]``, ``[notifier]``) are not
      registered: a host that runs vitrage_ds's drivers or notifiers in its
      own process needs neither, and a service registers its own group when
      it is built (or see :func:`vitrage_ds.opts.register_service_opts`).

    Plugin groups (``[driver.NAME]``, ``[notifier.NAME]``) are registered
    as the plugins load, as in vitrage_ds's own configuration. Calling it
    again changes nothing.
    """
    conf.register_opts(_copies(DEFAULT_OPTS), group=HOSTED_GROUP)
    conf.register_opts(_copies(HTTP_OPTS), group=HOSTED_HTTP_GROUP)
    # Not conf.get(): for a group it lacks, ConfigOpts raises NoSuchOptError.
    present: Any = ()
    if CREDENTIALS_GROUP in conf:
        present = conf[CREDENTIALS_GROUP]
    missing = [o for o in _credential_opts(plugin=False) if o.dest not in present]
    conf.register_opts(missing, group=CREDENTIALS_GROUP)


def _copies(opts: Sequence[cfg.Opt]) -> list[cfg.Opt]:
    # One Opt object per group: oslo.config keeps per-group state on them.
    return [copy.deepcopy(o) for o in opts]


def _hosted(conf: cfg.ConfigOpts) -> bool:
    return HOSTED_HTTP_GROUP in conf


def http_options(conf: cfg.ConfigOpts) -> Any:
    """The HTTP options' values: ``[vitrage_ds_http]`` inside a host, else ``[http]``."""
    return conf[HOSTED_HTTP_GROUP if _hosted(conf) else HTTP_GROUP]


def enabled_drivers(conf: cfg.ConfigOpts) -> list[str]:
    """The enabled drivers: ``[vitrage_ds] drivers`` inside a host,
    else ``[DEFAULT] drivers``."""
    return list(conf[HOSTED_GROUP].drivers if _hosted(conf) else conf.drivers)


def enabled_notifiers(conf: cfg.ConfigOpts) -> list[str]:
    """The enabled notifiers: ``[vitrage_ds] notifiers`` inside a host,
    else ``[DEFAULT] notifiers``."""
    return list(conf[HOSTED_GROUP].notifiers if _hosted(conf) else conf.notifiers)


def register_plugin_opts(conf: cfg.ConfigOpts, kind: str, name: str,
                         plugin_cls: Any) -> str:
    """Register ``plugin_cls.list_opts()`` in the group ``<kind>.<name>``:
    the plugin's own options, and :func:`adapter_opts` when the plugin
    declares a ``service_type`` (see :class:`vitrage_ds.plugin.Plugin`).

    :returns: the group name.
    """
    group = f'{kind}.{name}'
    # The group exists even with no option in it: a plugin reads its own
    # group (``self.conf``) whatever it declares.
    if group not in conf:
        conf.register_group(cfg.OptGroup(group))
    conf.register_opts(plugin_cls.list_opts(), group=group)
    return group


def load_config(argv: Sequence[str] | None = None,
                default_config_files: Sequence[str] | None = None,
                conf: cfg.ConfigOpts | None = None) -> cfg.ConfigOpts:
    """Parse ``argv`` (``--config-file`` ...) into a new configuration.

    Plugin groups are registered when plugins load, so values for them are
    read then; oslo.config resolves them lazily.
    """
    conf = conf or new_config()
    conf(args=list(argv or []), project='vitrage_ds',
         default_config_files=list(default_config_files or []),
         version=_version())
    return conf


def list_hosted_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """The groups :func:`register_opts` adds to a host, for a host's sample.

    ``[service_credentials]`` is not among them: it is the host's (only
    the options a host lacks are added, see :func:`register_opts`).
    """
    return [(HOSTED_GROUP, list(DEFAULT_OPTS)), (HOSTED_HTTP_GROUP, list(HTTP_OPTS))]


def _version() -> str:
    try:
        return importlib.metadata.version('vitrage-ds')
    except importlib.metadata.PackageNotFoundError:
        return 'unknown'


def core_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """The core's groups in vitrage_ds's own layout: ``[DEFAULT]``,
    ``[service_credentials]`` (the password plugin's options included, all
    secret ones marked so) and ``[http]``. See :mod:`vitrage_ds.opts` for
    every group."""
    return [
        (None, list(DEFAULT_OPTS)),
        (CREDENTIALS_GROUP, _credential_opts()),
        (HTTP_GROUP, list(HTTP_OPTS)),
    ]

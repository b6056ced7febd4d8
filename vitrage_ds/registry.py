"""Finding and loading plugins through stevedore entry points.

A third-party package adds a driver or notifier with one entry point in its
own packaging metadata (``vitrage_ds.drivers`` or ``vitrage_ds.notifiers``);
nothing in the core changes.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import logging
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

import stevedore
from oslo_config import cfg

from vitrage_ds import config
from vitrage_ds.driver import Driver
from vitrage_ds.errors import PluginLoadError, PluginNotFound
from vitrage_ds.notifier import NotifierPlugin
from vitrage_ds.plugin import ClientFactory, Plugin, PluginContext

__all__ = [
    'DRIVERS',
    'NOTIFIERS',
    'Loaded',
    'installed',
    'load_drivers',
    'load_notifiers',
    'plugin_class',
]

LOG = logging.getLogger(__name__)

DRIVERS = 'vitrage_ds.drivers'
NOTIFIERS = 'vitrage_ds.notifiers'

_KINDS = {DRIVERS: ('driver', Driver), NOTIFIERS: ('notifier', NotifierPlugin)}

P = TypeVar('P', bound=Plugin)


@dataclasses.dataclass
class Loaded(Generic[P]):
    """The outcome of loading plugins.

    :ivar plugins: the plugins that loaded, by name, in the order asked for.
    :ivar failures: the plugins that did not, by name, with the reason.
    """

    plugins: dict[str, P]
    failures: dict[str, str]


def installed(namespace: str) -> list[str]:
    """Names of the plugins installed in ``namespace``, sorted. Loads nothing."""
    return sorted({ep.name for ep in importlib.metadata.entry_points(group=namespace)})


def plugin_class(namespace: str, name: str) -> type[Any]:
    """Import one plugin's class.

    :raises PluginNotFound: no such name in the namespace.
    :raises PluginLoadError: it failed to import, is not a plugin class or
        lacks a method of its contract (the message names it).
    """
    eps = [ep for ep in importlib.metadata.entry_points(group=namespace) if ep.name == name]
    if not eps:
        raise PluginNotFound(namespace, [name], installed(namespace))
    try:
        cls = eps[0].load()
    except Exception as exc:
        raise PluginLoadError(namespace, name, _reason(exc)) from exc
    _check_class(namespace, name, cls)
    return cls


def _check_class(namespace: str, name: str, cls: Any) -> None:
    """Refuse what is not a complete plugin class of ``namespace``'s contract."""
    base = _KINDS[namespace][1]
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise PluginLoadError(namespace, name,
                              f'{cls!r} is not a subclass of {base.__name__}')
    missing = sorted(getattr(cls, '__abstractmethods__', ()))
    if missing:
        methods = ', '.join(f'{method}()' for method in missing)
        raise PluginLoadError(namespace, name,
                              f'{cls.__name__} does not implement {methods} '
                              f'of the {base.__name__} contract')


def _reason(exc: BaseException) -> str:
    return f'{type(exc).__name__}: {exc}'


def load(namespace: str, names: Sequence[str], conf: cfg.ConfigOpts,
         client_factory: ClientFactory | None = None) -> Loaded[Any]:
    """Load and construct the plugins ``names`` of ``namespace``.

    Each plugin's options are registered in its own group before it is
    constructed. A plugin that fails to import or construct, or whose class
    lacks a method of its contract (``Driver.get_all``,
    ``Driver.notifications``, ``NotifierPlugin.notify``), is logged with its
    reason and skipped; the others still load.

    :raises PluginNotFound: a name is not installed (checked before anything
        is constructed, so a typo in the configuration fails fast).
    """
    kind, _base = _KINDS[namespace]
    names = list(dict.fromkeys(names))
    missing = set(names) - set(installed(namespace))
    if missing:
        raise PluginNotFound(namespace, missing, installed(namespace))

    failures: dict[str, str] = {}

    def on_import_failure(_mgr: Any, ep: Any, exc: BaseException) -> None:
        failures[ep.name] = _reason(exc)

    manager = stevedore.NamedExtensionManager(
        namespace, names, invoke_on_load=False, name_order=True,
        on_load_failure_callback=on_import_failure)
    plugins: dict[str, Any] = {}
    for ext in manager.extensions:
        try:
            _check_class(namespace, ext.name, ext.plugin)
            config.register_plugin_opts(conf, kind, ext.name, ext.plugin)
            context = PluginContext(conf, kind, ext.name, client_factory)
            plugins[ext.name] = ext.plugin(context)
        except Exception as exc:
            failures[ext.name] = (exc.reason if isinstance(exc, PluginLoadError)
                                  else _reason(exc))
    for name in names:
        if name not in plugins and name not in failures:
            # stevedore keeps a namespace's entry points for the process's
            # life: a plugin installed since is not seen until a restart.
            failures[name] = 'installed after this process first loaded plugins; restart it'
    for name, reason in failures.items():
        LOG.error('%s plugin %r skipped: %s', kind, name, reason)
    return Loaded(plugins=plugins, failures=failures)


def load_drivers(conf: cfg.ConfigOpts, names: Sequence[str] | None = None,
                 client_factory: ClientFactory | None = None) -> Loaded[Driver]:
    """Load the drivers ``names`` (default: ``[DEFAULT] drivers``). See :func:`load`."""
    enabled = config.enabled_drivers(conf) if names is None else names
    return load(DRIVERS, enabled, conf, client_factory)


def load_notifiers(conf: cfg.ConfigOpts, names: Sequence[str] | None = None,
                   client_factory: ClientFactory | None = None) -> Loaded[NotifierPlugin]:
    """Load the notifiers ``names`` (default: ``[DEFAULT] notifiers``). See :func:`load`."""
    enabled = config.enabled_notifiers(conf) if names is None else names
    return load(NOTIFIERS, enabled, conf, client_factory)

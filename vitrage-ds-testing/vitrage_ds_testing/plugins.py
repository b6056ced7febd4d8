"""Building plugins under test, and throwaway plugin distributions.

:func:`load_plugin` constructs one installed plugin the way the services do
(through the registry, options registered in its own group) with a
configuration suited to tests (:func:`new_test_config`: no configuration
files, ``auth_type = none`` and no retries, so a broken backend fails at
once); :func:`construct_plugin` does the same for a class that is not
installed.

:class:`TemporaryDistribution` installs entry points (and, optionally,
the modules they point to) in a temporary directory on ``sys.path``, for
tests about plugins that must not be shipped, such as broken ones.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import fixtures
import stevedore
from oslo_config import cfg

from vitrage_ds import config, opts, registry
from vitrage_ds.errors import PluginLoadError
from vitrage_ds.plugin import ClientFactory, Plugin, PluginContext

__all__ = ['TemporaryDistribution', 'construct_plugin', 'load_plugin', 'new_test_config']

_NAMESPACES = {'driver': registry.DRIVERS, 'notifier': registry.NOTIFIERS}


def new_test_config(overrides: Mapping[str, Mapping[str, Any]] | None = None
                    ) -> cfg.ConfigOpts:
    """A parsed configuration without files, for tests.

    The services' groups (``[collector]``, ``[notifier]``) are registered,
    so they can be overridden before a service is built.
    ``[service_credentials] auth_type = none`` and ``timeout = 5``,
    ``[http] retries = 0``; then ``overrides`` (``{group: {option: value}}``, group
    ``DEFAULT`` for the top level) are applied. Plugin groups must be
    registered before they are overridden (:func:`load_plugin` does it).
    """
    conf = config.load_config([])
    opts.register_service_opts(conf)
    conf.set_override('auth_type', 'none', config.CREDENTIALS_GROUP)
    conf.set_override('retries', 0, config.HTTP_GROUP)
    conf.set_override('timeout', 5, config.CREDENTIALS_GROUP)
    for group, values in (overrides or {}).items():
        for name, value in values.items():
            conf.set_override(name, value, None if group == 'DEFAULT' else group)
    return conf


def load_plugin(kind: str, name: str, *, conf: cfg.ConfigOpts | None = None,
                options: Mapping[str, Any] | None = None,
                client_factory: ClientFactory | None = None) -> Any:
    """Construct the installed plugin ``name`` of ``kind`` (``driver`` or ``notifier``).

    :param conf: the configuration; by default :func:`new_test_config`.
    :param options: values for the plugin's own group, set before it is
        constructed (e.g. ``{'endpoint_override': url}``).
    :param client_factory: passed to the plugin's context; by default
        clients are built from ``conf``.
    :raises PluginNotFound: ``name`` is not installed.
    :raises PluginLoadError: it failed to import or construct.
    """
    namespace = _NAMESPACES[kind]
    conf = conf if conf is not None else new_test_config()
    group = config.register_plugin_opts(conf, kind, name,
                                        registry.plugin_class(namespace, name))
    for option, value in (options or {}).items():
        conf.set_override(option, value, group)
    loaded = registry.load(namespace, [name], conf, client_factory)
    if name in loaded.failures:
        raise PluginLoadError(namespace, name, loaded.failures[name])
    return loaded.plugins[name]


def construct_plugin(plugin_cls: type[Plugin], kind: str, *, name: str | None = None,
                     conf: cfg.ConfigOpts | None = None,
                     options: Mapping[str, Any] | None = None,
                     client_factory: ClientFactory | None = None) -> Any:
    """Construct ``plugin_cls`` as the registry would, without an entry point.

    For classes that are not installed (variants written inside a test).

    The other parameters are those of :func:`load_plugin`.

    :param name: the plugin's name and group; default ``plugin_cls.name``.
    """
    name = name or plugin_cls.name
    conf = conf if conf is not None else new_test_config()
    group = config.register_plugin_opts(conf, kind, name, plugin_cls)
    for option, value in (options or {}).items():
        conf.set_override(option, value, group)
    return plugin_cls(PluginContext(conf, kind, name, client_factory))


def _forget_entry_points() -> None:
    """Make the next lookup see ``sys.path`` as it is now.

    stevedore remembers each namespace's entry points for the life of the
    process, whatever ``sys.path`` becomes.
    """
    importlib.invalidate_caches()
    stevedore.ExtensionManager.ENTRY_POINT_CACHE.clear()


class TemporaryDistribution(fixtures.Fixture):
    """A throwaway installed distribution: entry points and modules on ``sys.path``.

    :param entry_points: ``{namespace: {name: 'module:attr'}}``.
    :param modules: ``{module_name: source}`` written next to the metadata.
    :param name: the distribution's name.

    On clean-up the directory leaves ``sys.path`` and the modules leave
    ``sys.modules``. Subprocesses see it through :attr:`pythonpath`.

    :ivar path: the directory holding the metadata and modules.
    """

    def __init__(self, entry_points: Mapping[str, Mapping[str, str]],
                 modules: Mapping[str, str] | None = None,
                 name: str = 'vitrage_ds_temporary') -> None:
        super().__init__()
        self.entry_points = entry_points
        self.modules = dict(modules or {})
        self.name = name
        self.path = Path()

    def _setUp(self) -> None:
        tmp = tempfile.TemporaryDirectory(prefix='vitrage-ds-dist-')
        self.addCleanup(tmp.cleanup)
        self.path = Path(tmp.name)
        dist_info = self.path / f'{self.name}-0.0.0.dist-info'
        dist_info.mkdir()
        (dist_info / 'METADATA').write_text(
            f'Metadata-Version: 2.1\nName: {self.name}\nVersion: 0.0.0\n')
        lines = []
        for namespace, entries in self.entry_points.items():
            lines.append(f'[{namespace}]')
            lines += [f'{ep_name} = {target}' for ep_name, target in entries.items()]
            lines.append('')
        (dist_info / 'entry_points.txt').write_text('\n'.join(lines))
        for module, source in self.modules.items():
            (self.path / f'{module}.py').write_text(source)
        sys.path.insert(0, str(self.path))
        self.addCleanup(self._remove)
        _forget_entry_points()

    def _remove(self) -> None:
        if str(self.path) in sys.path:
            sys.path.remove(str(self.path))
        for module in self.modules:
            sys.modules.pop(module, None)
        _forget_entry_points()

    @property
    def pythonpath(self) -> str:
        """A ``PYTHONPATH`` value that adds this distribution to a subprocess."""
        return str(self.path)

"""Building vitrage_ds plugins inside Vitrage's process, from its global ``CONF``.

Vitrage constructs drivers and notifiers with no arguments, after it parsed
``vitrage.conf`` into oslo.config's global ``CONF``: the adapters register
vitrage_ds's options there (:func:`vitrage_ds.config.register_opts`, which
reuses Vitrage's ``[service_credentials]``) and build the plugin with a
context on it. No entry point is involved: the adapters name their classes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from oslo_config import cfg

from vitrage_ds import config
from vitrage_ds.plugin import Plugin, PluginContext

__all__ = ['needs_vitrage', 'plugin']

P = TypeVar('P', bound=Plugin)


def needs_vitrage(module: str, exc: ImportError) -> ImportError:
    """The error an adapter module raises when ``vitrage`` cannot be imported.

    Only a missing ``vitrage`` itself is reworded; any other import error is
    returned as it is.
    """
    if exc.name is not None and exc.name.split('.')[0] != 'vitrage':
        return exc
    return ImportError(
        f'{module} implements one of Vitrage\'s own driver or notifier base '
        f'classes and is loaded by Vitrage (class paths in vitrage.conf): it '
        f'needs Vitrage, which cannot be imported here ({exc}). The rest of '
        f'vitrage_ds does not need it.', name=module)


def plugin(cls: type[P], kind: str, name: str,
           defaults: Mapping[str, Any] | None = None) -> P:
    """An instance of the vitrage_ds plugin ``cls`` configured from ``cfg.CONF``.

    :param kind: ``driver`` or ``notifier``: with ``name``, the plugin's
        option group (``[driver.heat.stack]``...), as in vitrage_ds's own
        configuration.
    :param defaults: option defaults of the plugin's group that differ
        inside Vitrage; a value set in ``vitrage.conf`` still wins.
    """
    conf = cfg.CONF
    config.register_opts(conf)
    group = config.register_plugin_opts(conf, kind, name, cls)
    for key, value in (defaults or {}).items():
        conf.set_default(key, value, group)
    return cls(PluginContext(conf, kind, name))

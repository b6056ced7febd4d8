"""Every vitrage_ds option, by group: the ``oslo.config.opts`` entry point.

The one module that knows every floor: the core's groups
(:func:`vitrage_ds.config.core_opts`), the services' (``[collector]``,
``[notifier]``) and the group of every installed plugin. Nothing in
vitrage_ds imports it; ``oslo-config-generator`` (namespace ``vitrage_ds``)
and hosts do.
"""

from __future__ import annotations

from oslo_config import cfg

from vitrage_ds import config, registry
from vitrage_ds.collector import coordination
from vitrage_ds.collector import options as collector_options
from vitrage_ds.notifier_service import options as notifier_options

__all__ = ['list_opts', 'register_service_opts', 'service_opts']


def service_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """The services' groups: ``[collector]`` and ``[notifier]``."""
    return [*collector_options.list_opts(), *notifier_options.list_opts()]


def register_service_opts(conf: cfg.ConfigOpts) -> None:
    """Register the services' groups on ``conf`` (idempotent).

    Each service registers its own group when it is built; a host that
    wants them in its configuration beforehand (to read or validate them)
    calls this after :func:`vitrage_ds.config.register_opts`.
    """
    collector_options.register_opts(conf)
    coordination.register_opts(conf)  # unless the host has its own
    notifier_options.register_opts(conf)


def list_opts() -> list[tuple[str | None, list[cfg.Opt]]]:
    """Every vitrage_ds option, for ``oslo-config-generator``.

    Includes the group of every installed plugin, found through the entry
    points, so a third-party plugin's options appear in the sample too. A
    plugin that cannot be imported is left out; the others still appear.
    """
    groups: list[tuple[str | None, list[cfg.Opt]]] = [*config.core_opts(), *service_opts()]
    for kind, namespace in (('driver', registry.DRIVERS),
                            ('notifier', registry.NOTIFIERS)):
        for name in registry.installed(namespace):
            try:
                plugin_cls = registry.plugin_class(namespace, name)
            except Exception:  # a broken plugin must not break the sample
                continue
            groups.append((f'{kind}.{name}', plugin_cls.list_opts()))
    return groups

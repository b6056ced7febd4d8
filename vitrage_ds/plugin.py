"""What drivers and notifiers share: their configuration group and API clients."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Generic, TypeVar, cast

from oslo_config import cfg

from vitrage_ds import config
from vitrage_ds.http.client import Client
from vitrage_ds.http.session import ClientFactory, client_factory_from_conf

__all__ = ['ADAPTER_OPTS', 'Plugin', 'PluginContext', 'ClientFactory', 'Lazy']

T = TypeVar('T')

#: Options the group of a plugin that calls an API (one with a
#: :attr:`Plugin.service_type`) has besides its own: keystoneauth's adapter
#: options (:func:`vitrage_ds.config.adapter_opts`).
ADAPTER_OPTS: Sequence[cfg.Opt] = tuple(config.adapter_opts())


class PluginContext:
    """Everything a plugin gets from the core when it is constructed.

    :param conf: the loaded configuration.
    :param kind: ``driver`` or ``notifier``.
    :param name: the plugin's entry-point name.
    :param client_factory: builds API clients; by default from the
        ``[service_credentials]`` options (see :mod:`vitrage_ds.http`).
    """

    def __init__(self, conf: cfg.ConfigOpts, kind: str, name: str,
                 client_factory: ClientFactory | None = None) -> None:
        self.conf = conf
        self.kind = kind
        self.name = name
        self._client_factory = client_factory

    @property
    def group(self) -> str:
        """The plugin's option group, e.g. ``driver.heat.stack``."""
        return f'{self.kind}.{self.name}'

    @property
    def options(self) -> Any:
        """The plugin's option group values (``conf[group]``)."""
        return self.conf[self.group]

    def client(self, service_type: str) -> Client:
        """An API client for ``service_type`` honouring this plugin's options.

        The endpoint is the group's ``endpoint_override`` or the catalog's
        (the group's ``service_type``, ``service_name``,
        ``valid_interfaces`` and ``region_name``, the last two defaulting to
        ``[service_credentials]``'s); every call is bounded by
        :func:`vitrage_ds.config.call_timeout` and retried per ``[http]``
        and the group's retry counts. A plugin with no
        :attr:`Plugin.service_type` has none of these options in its group:
        its client uses the catalog and the defaults.
        """
        if self._client_factory is None:
            self._client_factory = client_factory_from_conf(self.conf)
        return self._client_factory(service_type, self.options)


class Plugin:
    """Base of both plugin contracts.

    Subclasses declare their configuration as class attributes; the core
    registers ``options`` (plus, with a :attr:`service_type`, the adapter
    options) in the plugin's own group before constructing it.
    """

    #: The entry-point name; also names the option group.
    name: ClassVar[str] = ''
    #: The plugin's own options, registered in its group.
    options: ClassVar[Sequence[cfg.Opt]] = ()
    #: The catalog service type of the API the plugin calls (e.g.
    #: ``orchestration``), or ``None`` for a plugin that makes no HTTP call
    #: (a file driver, a log notifier). Only a plugin that declares one
    #: gets :data:`ADAPTER_OPTS` (``endpoint_override`` ...) in its group.
    service_type: ClassVar[str | None] = None

    def __init__(self, context: PluginContext) -> None:
        self.context = context

    @property
    def conf(self) -> Any:
        """This plugin's option group values."""
        return self.context.options

    @classmethod
    def list_opts(cls) -> list[cfg.Opt]:
        """Every option of this plugin's group, for registration and samples:
        :data:`ADAPTER_OPTS` when it has a :attr:`service_type`, then its own."""
        return [*(ADAPTER_OPTS if cls.service_type else ()), *cls.options]

    def close(self) -> None:
        """Release what the plugin holds (connections, threads). Idempotent."""


class Lazy(Generic[T]):
    """A value ``build()`` makes on first use: once, however many threads ask at once.

    Plugins hold their API clients so (``Lazy(lambda: context.client('alarming'))``):
    constructing a plugin builds no client, and the threads that handle its
    first calls at the same time share one. When ``build`` raises, nothing
    is kept and the next call builds again.
    """

    def __init__(self, build: Callable[[], T]) -> None:
        self._build: Callable[[], T] | None = build
        self._value: T | None = None
        self._lock = threading.Lock()

    def __call__(self) -> T:
        """The value, built now if this is the first call."""
        if self._build is not None:
            with self._lock:
                if self._build is not None:
                    self._value = self._build()
                    self._build = None
        return cast(T, self._value)

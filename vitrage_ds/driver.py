"""The datasource driver contract."""

from __future__ import annotations

import abc
import fnmatch
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from oslo_config import cfg

from vitrage_ds.event import Event
from vitrage_ds.plugin import Plugin

__all__ = ['Driver', 'Lookup', 'no_lookup']

#: Read-only view of the collector's cache: ``lookup(entity_type, entity_id)``
#: returns the fields last delivered for that entity, or ``None``.
Lookup = Callable[[str, str], Mapping[str, Any] | None]


def no_lookup(entity_type: str, entity_id: str) -> Mapping[str, Any] | None:
    """The :data:`Lookup` of a caller that knows nothing: always ``None``."""
    return None


class Driver(Plugin, abc.ABC):
    """A datasource: periodic snapshots and, optionally, bus notifications.

    Abstract: a driver implements :meth:`get_all` and :meth:`notifications`
    (a driver that listens to no bus returns ``[]`` from it). A plugin
    class missing either is refused when it loads
    (:class:`~vitrage_ds.errors.PluginLoadError` naming the method).
    An override keeps the base method's parameters and defaults.

    Drivers keep no entity state of their own; the collector owns it and
    offers it back through ``lookup``. A driver reads as a description of
    its API calls and field mapping; paging, retries, fan-out and the bus
    are the core's.

    Guarantees a driver gives, checked by
    :class:`vitrage_ds_testing.DriverContractTests`:

    * :meth:`get_all` returns the complete snapshot or raises
      :class:`vitrage_ds.errors.BackendError`; a failed page or per-entity
      call never yields a shorter list.
    * :meth:`notifications` never raises: malformed input is logged and
      yields no event.
    * Every event is JSON-safe and carries the metadata of
      :data:`vitrage_ds.event.METADATA_KEYS`.
    """

    #: Seconds between polls unless ``[driver.NAME] poll_interval`` says otherwise.
    default_poll_interval: ClassVar[float] = 600.0
    #: Entity types this driver emits.
    entity_types: ClassVar[Sequence[str]] = ()
    #: Glob patterns of the bus event types this driver handles.
    event_types: ClassVar[Sequence[str]] = ()
    #: Exchanges its service publishes notifications on (e.g. ``heat``).
    exchanges: ClassVar[Sequence[str]] = ()
    #: Topics its service publishes notifications on, on each of
    #: :attr:`exchanges`: ``notifications`` (OpenStack's default
    #: ``[oslo_messaging_notifications] topics``), or e.g.
    #: ``versioned_notifications`` for Nova's versioned ones.
    #:
    #: The collector listens on every ``(exchange, topic)`` pair of
    #: :attr:`exchanges` and :attr:`topics` and hands a notification only
    #: to the drivers that declared the pair it came on, and among them to
    #: those whose :meth:`handles` matches its event type. The operator's
    #: ``[collector] exchanges`` and ``topics``, when set, replace these
    #: for every driver.
    topics: ClassVar[Sequence[str]] = ('notifications',)
    #: Fields, per entity type, that :meth:`get_all` cannot observe and
    #: reports as ``None`` while notifications carry them (Heat's stack
    #: listing has no description). The collector keeps the last known
    #: non-``None`` value of these fields when a snapshot says ``None``, so
    #: a poll does not undo what a notification told.
    notification_only_fields: ClassVar[Mapping[str, Sequence[str]]] = {}

    @classmethod
    def list_opts(cls) -> list[cfg.Opt]:
        return [
            cfg.FloatOpt('poll_interval', default=cls.default_poll_interval,
                         min=1.0,
                         help='Seconds between two complete polls (get_all).'),
            *super().list_opts(),
        ]

    @abc.abstractmethod
    def get_all(self) -> list[Event]:
        """Poll the service: one event per entity that exists now.

        :raises vitrage_ds.errors.BackendError: the poll could not see
            everything (an API call failed, a page was missing, a body was
            malformed). Nothing partial is returned.
        """

    def handles(self, event_type: str) -> bool:
        """Whether ``event_type`` matches one of :attr:`event_types`."""
        return any(fnmatch.fnmatchcase(event_type, p) for p in self.event_types)

    @abc.abstractmethod
    def notifications(self, event_type: str, payload: Any,
                      metadata: Mapping[str, Any],
                      lookup: Lookup = no_lookup) -> list[Event]:
        """Turn one bus notification into events (``action=UPDATE``).

        :param event_type: the notification's event type.
        :param payload: the notification's payload, as received (any JSON).
        :param metadata: the envelope (``message_id``, ``timestamp``, ...).
        :param lookup: what the collector already knows about an entity.
        :returns: the events, possibly none. Never raises: bad input is
            logged and dropped.
        """

"""The notifier plugin contract."""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping
from typing import Any

from vitrage_ds.outcome import Outcome
from vitrage_ds.plugin import Plugin

__all__ = ['Message', 'NotifierPlugin', 'Outcome']


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    """One message from the ``vitrage.graph`` topic.

    :ivar event_type: e.g. ``vitrage.deduced_alarm.activate``.
    :ivar payload: the message body.
    :ivar metadata: the bus envelope (``message_id``, ``timestamp``, ...).
    """

    event_type: str
    payload: Mapping[str, Any]
    metadata: Mapping[str, Any] = dataclasses.field(default_factory=dict)


class NotifierPlugin(Plugin, abc.ABC):
    """Acts on deduced-alarm messages (or any message on the graph topic).

    Each plugin decides whether and how to act on a message. The notifier
    service calls every enabled plugin for every message; one plugin that
    raises or returns :attr:`Outcome.RETRY` does not stop the others.
    Guarantees, checked by :class:`vitrage_ds_testing.NotifierContractTests`:
    a message the plugin does not care about returns :attr:`Outcome.DONE`;
    malformed messages return :attr:`Outcome.REJECT` rather than raising.

    Abstract: a plugin implements :meth:`notify`; a plugin class without it
    is refused when it loads (:class:`~vitrage_ds.errors.PluginLoadError`
    naming the method).
    """

    @abc.abstractmethod
    def notify(self, msg: Message) -> Outcome:
        """Act on one message.

        :returns: :attr:`Outcome.DONE` when handled or not of interest,
            :attr:`Outcome.RETRY` on a transient failure (the service
            requeues), :attr:`Outcome.REJECT` when it can never succeed.
        """

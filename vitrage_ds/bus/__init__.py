"""The message bus layer every driver and service uses (oslo.messaging).

:func:`get_transport` builds the transport from ``[DEFAULT] transport_url``
(``fake://`` by default), :class:`Listener` consumes notifications of every
priority with bounded requeues, :class:`Publisher` sends them with the
``messagingv2`` driver on any exchange.
"""

from vitrage_ds.bus.listener import Handler, Listener, Notification
from vitrage_ds.bus.publisher import PRIORITIES, Publisher
from vitrage_ds.bus.transport import DEFAULT_TRANSPORT_URL, get_transport, register_opts

__all__ = [
    'DEFAULT_TRANSPORT_URL',
    'PRIORITIES',
    'Handler',
    'Listener',
    'Notification',
    'Publisher',
    'get_transport',
    'register_opts',
]

"""The message bus layer every driver and service uses (oslo.messaging).

:func:`get_transport` builds the transport from ``[DEFAULT] transport_url``
(``fake://`` by default), :class:`Listener` consumes notifications of every
priority with bounded requeues, :class:`Publisher` sends them with the
``messagingv2`` driver on any exchange (:func:`transport_for_exchange`).
"""

from vitrage_ds.bus.listener import Handler, Listener, Notification
from vitrage_ds.bus.publisher import PRIORITIES, Publisher
from vitrage_ds.bus.transport import (DEFAULT_TRANSPORT_URL, exchange_of, get_transport,
                                      register_opts, release, transport_for_exchange)

__all__ = [
    'DEFAULT_TRANSPORT_URL',
    'PRIORITIES',
    'Handler',
    'Listener',
    'Notification',
    'Publisher',
    'exchange_of',
    'get_transport',
    'register_opts',
    'release',
    'transport_for_exchange',
]

"""The message bus layer every driver and service uses (oslo.messaging).

:func:`get_transport` builds the transport from ``[DEFAULT] transport_url``
(``fake://`` by default), :class:`Listener` consumes notifications of every
priority with bounded requeues, :class:`Publisher` sends them with the
``messagingv2`` driver on any exchange (:func:`transport_for_exchange`).

Concurrency: everything here runs on native threads (listeners on
oslo.messaging's ``threading`` executor), patches nothing in the standard
library and uses no oslo.service component, so the oslo.service backend
does not change how it runs. vitrage_ds selects no backend: one the process
selected before importing this package
(``oslo_service.backend.init_backend``) stands; otherwise importing
oslo.messaging, which imports oslo.service, loads oslo.service's default,
eventlet, and with it eventlet and dnspython, whose import-time deprecation
warnings are the process's to filter (``vitrage-ds`` does). Selecting the
threading backend first would not keep eventlet out: that backend needs
``oslo.service[threading]`` (cotyledon) and imports futurist, which imports
eventlet whenever it is installed, and oslo.service requires it.
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

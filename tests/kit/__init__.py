"""This repository's own test infrastructure, not shipped.

Real services for the integration tier (:class:`RealServices`: PostgreSQL
databases, RabbitMQ vhosts, Heat 27 and Aodh 23 virtualenvs), RabbitMQ
vhosts and nodes for the bus tests (and an in-process bus), Vitrage
15.0.1's virtualenv, and the helpers that run ``vitrage-ds`` as a child
process. The kit plugin authors
use is the ``vitrage-ds-testing`` distribution (:mod:`vitrage_ds_testing`).
"""

from tests.kit.broker import RabbitNode, RabbitNodeUnavailable
from tests.kit.fake_bus import FakeBus
from tests.kit.rabbit import RabbitUnavailable, RabbitVhost, envelope, publish_raw
from tests.kit.real import NotificationLog, RealServices, ServicesUnavailable, real_config

__all__ = [
    'FakeBus',
    'NotificationLog',
    'RabbitNode',
    'RabbitNodeUnavailable',
    'RabbitUnavailable',
    'RabbitVhost',
    'RealServices',
    'ServicesUnavailable',
    'envelope',
    'publish_raw',
    'real_config',
]

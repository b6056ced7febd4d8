"""The HTTP client layer every plugin uses to call OpenStack APIs."""

from vitrage_ds.http.client import Client, RetryPolicy
from vitrage_ds.http.session import (client_factory_from_cloud,
                                     client_factory_from_conf,
                                     client_factory_from_session)

__all__ = ['Client', 'RetryPolicy', 'client_factory_from_cloud',
           'client_factory_from_conf', 'client_factory_from_session']

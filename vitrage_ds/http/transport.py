"""The requests session vitrage_ds builds for its own clients.

A Heat poll makes one call per stack, so what requests spends around each
call counts: it reads proxy, CA and netrc settings from the environment on
every call. :class:`PooledSession` keeps the environment's answers per host
(through requests' public, overridable ``Session`` methods) and keeps as
many connections per host as its client has calls in flight. Only sessions
vitrage_ds builds are of this kind; a host's session is used as it is.
"""

from __future__ import annotations

import threading
import urllib.parse
from typing import Any

import requests
from keystoneauth1 import session as ks_session

__all__ = ['PooledSession']


def _no_auth(request: Any) -> Any:
    return request


class PooledSession(requests.Session):
    """A ``requests.Session`` with ``pool_size`` connections kept per host,
    reading the environment once per host.

    Proxy, CA and netrc settings are looked up once per scheme, host and
    settings (what they depend on) instead of on every call; ``NO_PROXY``
    and netrc entries still apply host by host, and nothing is kept when
    ``trust_env`` is off. The connection adapters are keystoneauth's
    (TCP keep-alive), as on the sessions keystoneauth builds itself.

    :param pool_size: connections kept open per host: one more than the
        calls its client keeps in flight (a listing's page read ahead).
    """

    def __init__(self, pool_size: int) -> None:
        super().__init__()
        for prefix in ('https://', 'http://'):
            self.mount(prefix, ks_session.TCPKeepAliveAdapter(pool_connections=10,
                                                              pool_maxsize=pool_size))
        self.pool_size = pool_size
        self._settings: dict[Any, dict[str, Any]] = {}
        self._netrc: dict[str, Any] = {}
        self._cache_lock = threading.Lock()

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> dict[str, Any]:
        """As requests does, once per scheme, host and settings."""
        if not self.trust_env:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        parts = urllib.parse.urlsplit(url)
        key = (parts.scheme, parts.netloc, tuple(sorted((proxies or {}).items())),
               stream, verify, cert, tuple(sorted(self.proxies.items())),
               self.stream, self.verify, self.cert)
        settings = self._settings.get(key)
        if settings is None:
            settings = super().merge_environment_settings(url, dict(proxies or {}), stream,
                                                          verify, cert)
            with self._cache_lock:
                self._settings[key] = settings
        return {**settings, 'proxies': dict(settings['proxies'])}

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        """As requests does, with the netrc entry of the host read once."""
        if self.trust_env and not request.auth and not self.auth and isinstance(request.url,
                                                                                 str):
            netloc = urllib.parse.urlsplit(request.url).netloc
            # (user info in the URL is what requests uses when netrc has none)
            if '@' not in netloc:
                auth = self._netrc.get(netloc)
                if auth is None:
                    auth = requests.utils.get_netrc_auth(request.url) or _no_auth
                    with self._cache_lock:
                        self._netrc[netloc] = auth
                request.auth = auth
        return super().prepare_request(request)

"""A tooz coordination backend of its own for each test, on the local Redis."""

from __future__ import annotations

import os
import unittest
import uuid

import fixtures

__all__ = ['RedisNamespace']


class RedisNamespace(fixtures.Fixture):
    """A fresh tooz key namespace on the local Redis, its keys deleted at cleanup.

    Skipped when the ``redis`` client or the server is missing, except under
    ``CI=true`` where it fails: a CI run must not pass by skipping.

    :param timeout: tooz's ``timeout`` (seconds, whole): how long a dead
        member's heartbeat key and locks outlive it.
    :ivar url: the tooz backend URL (``redis://...?namespace=...&timeout=...``).
    :ivar namespace: the key prefix, ``vitrage_ds-<random>``.
    """

    def __init__(self, host: str = '127.0.0.1', port: int = 6379, *, timeout: int = 2) -> None:
        super().__init__()
        self.host = host
        self.port = port
        self.timeout = timeout
        self.namespace = f'vitrage_ds-{uuid.uuid4().hex[:10]}'
        self.url = (f'redis://{host}:{port}?namespace={self.namespace}'
                    f'&timeout={timeout}')

    def _setUp(self) -> None:
        try:
            import redis
            client = redis.Redis(host=self.host, port=self.port, socket_timeout=5)
            client.ping()
        except Exception as exc:
            reason = f'Redis at {self.host}:{self.port} unusable: {exc}'
            if os.environ.get('CI') == 'true':
                raise RuntimeError(reason) from exc
            raise unittest.SkipTest(reason) from exc
        self.addCleanup(client.close)
        self.addCleanup(self._clean, client)

    def _clean(self, client: object) -> None:
        keys = list(client.scan_iter(match=f'{self.namespace}*'))  # type: ignore[attr-defined]
        if keys:
            client.delete(*keys)  # type: ignore[attr-defined]

    def keys(self) -> list[bytes]:
        """The keys of the namespace now (what cleanup will delete)."""
        import redis
        client = redis.Redis(host=self.host, port=self.port, socket_timeout=5)
        try:
            return list(client.scan_iter(match=f'{self.namespace}*'))
        finally:
            client.close()

"""Deterministic identifiers and times for seeded content.

Everything the emulator generates derives from ``(seed, namespace)``: the
same seed gives byte-identical listings on every run and machine.
"""

from __future__ import annotations

import datetime
import hashlib
import random
import uuid

__all__ = ['EPOCH', 'Ids', 'derived_uuid', 'heat_time', 'aodh_time', 'utcnow']

#: Seeded content is created after this instant, one second apart or so.
EPOCH = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)


class Ids:
    """A deterministic stream of ids for one namespace of one seed."""

    def __init__(self, seed: int, namespace: str) -> None:
        self.rng = random.Random(f'{seed}:{namespace}')

    def uuid(self) -> str:
        """A version-4 UUID with dashes (stack and alarm ids)."""
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def hex(self) -> str:
        """32 hex digits (Keystone project and user ids)."""
        return uuid.UUID(int=self.rng.getrandbits(128), version=4).hex


def derived_uuid(*parts: object) -> str:
    """A UUID that is a pure function of ``parts`` (lazily built resources)."""
    digest = hashlib.blake2b(':'.join(map(str, parts)).encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def heat_time(when: datetime.datetime | None) -> str | None:
    """Heat's API time format: ``2024-01-01T00:00:00Z`` (``None`` stays)."""
    return None if when is None else when.strftime('%Y-%m-%dT%H:%M:%SZ')


def aodh_time(when: datetime.datetime | None) -> str | None:
    """Aodh's API time format: ``2024-01-01T00:00:00.000000``, naive UTC."""
    return None if when is None else when.strftime('%Y-%m-%dT%H:%M:%S.%f')

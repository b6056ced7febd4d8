"""How the collector's cache stores one entity: compact, canonical, comparable.

Internal to :mod:`vitrage_ds.collector`; the names here are not a public API.

Guarantees:

* **Compact.** An entity costs a few hundred bytes, not a dict: its fields
  are one byte string (``marshal`` of the values in key order) plus a tuple
  of key names shared by every entity with the same keys. About 0.7 KB per
  Heat stack.
* **Canonical.** Equal fields give equal bytes, whatever their key order:
  keys are sorted, nested dicts too, tuples become lists, and a value that
  is not JSON-safe is kept as its ``str``. The byte string therefore doubles
  as the fingerprint that decides whether a state changed (exact
  comparison, no hash collisions).
* **Decoded on demand.** Fields are rebuilt (:func:`fields_of`) only when
  someone reads them; each call gives a new dict.
* **Invisible to the cyclic garbage collector.** Entries and versions are
  plain tuples of strings, bytes and numbers, which CPython stops tracking,
  so a cache of 100,000 entities adds nothing to each collection's work.
* **Bounded.** An :class:`Encoder` remembers at most ``MAX_SHAPES`` key
  orders; beyond that it still encodes, without remembering.
"""

from __future__ import annotations

import marshal
import operator
from collections.abc import Callable, Mapping
from typing import Any

from vitrage_ds.event import Version

__all__ = ['Encoder', 'Entry', 'VersionTuple', 'fields_of', 'public_version']

#: A version as a plain tuple ``(source, observed, phase)``.
VersionTuple = tuple[float, float, int]
#: A live entity: sorted field names (shared), encoded values, version.
Entry = tuple[tuple[str, ...], bytes, VersionTuple]

MARSHAL_VERSION = 2  # no back-references: equal values give equal bytes
MAX_SHAPES = 4096
_SCALARS = frozenset({str, int, float, bool, type(None)})


def fields_of(entry: Entry) -> dict[str, Any]:
    """The fields an entry holds, as a new dict."""
    return dict(zip(entry[0], marshal.loads(entry[1])))


def public_version(version: VersionTuple) -> Version:
    """``version`` as the :class:`~vitrage_ds.event.Version` events carry."""
    return tuple.__new__(Version, version)


def canonical(value: Any) -> Any:
    """``value`` with every nested dict's keys sorted and tuples as lists."""
    kind = type(value)
    if kind in _SCALARS:
        return value
    if kind is list or kind is tuple:
        if kind is list and _SCALARS.issuperset(map(type, value)):
            return value
        return [canonical(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): canonical(value[k]) for k in sorted(value, key=str)}
    return str(value)  # not JSON-safe: keep something comparable


class _Shape:
    """How to encode fields that have one particular key order."""

    __slots__ = ('keys', 'values')

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys
        if len(keys) == 1:
            only = keys[0]
            self.values: Callable[[Mapping[str, Any]], tuple[Any, ...]] = (
                lambda fields: (fields[only],))
        elif keys:
            self.values = operator.itemgetter(*keys)
        else:
            self.values = lambda fields: ()


class Encoder:
    """Encodes fields to ``(keys, bytes)``, sharing key tuples between entities.

    Not thread-safe on its own: the cache calls it under its lock.
    """

    __slots__ = ('_key_tuples', '_shapes')

    def __init__(self) -> None:
        self._shapes: dict[tuple[str, ...], _Shape] = {}
        self._key_tuples: dict[tuple[str, ...], tuple[str, ...]] = {}

    def encode(self, fields: Mapping[str, Any]) -> tuple[tuple[str, ...], bytes]:
        """The sorted key names (a shared tuple) and the canonical bytes of ``fields``."""
        order = tuple(fields)
        shape = self._shapes.get(order)
        if shape is None:
            shape = self._new_shape(order)
        values = shape.values(fields)
        if not _SCALARS.issuperset(map(type, values)):
            # Scalars as they are, without a call each: most values are.
            scalars = _SCALARS
            values = tuple([v if type(v) in scalars else canonical(v) for v in values])
        return shape.keys, marshal.dumps(values, MARSHAL_VERSION)

    def _new_shape(self, order: tuple[str, ...]) -> _Shape:
        keys = tuple(sorted(order))
        keys = self._key_tuples.setdefault(keys, keys)
        shape = _Shape(keys)
        if len(self._shapes) < MAX_SHAPES:
            self._shapes[order] = shape
        return shape

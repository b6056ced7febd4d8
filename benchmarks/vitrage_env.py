"""Moved to :mod:`vitrage_ds.testing.vitrage_env` (the integration tests use it too)."""

from vitrage_ds.testing.vitrage_env import PINS, VitrageEnv, cache_root

__all__ = ['PINS', 'VitrageEnv', 'cache_root']

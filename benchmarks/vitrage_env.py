"""Moved to :mod:`tests.kit.vitrage_env` (the integration tests use it too)."""

from tests.kit.vitrage_env import PINS, VitrageEnv, cache_root

__all__ = ['PINS', 'VitrageEnv', 'cache_root']

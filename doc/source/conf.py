"""Sphinx configuration of the vitrage_ds documentation (built with -W)."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

# oslo.messaging (imported by the option listing) pulls in eventlet, which
# warns on import; the docs run none of it.
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
warnings.filterwarnings('ignore', message='DSA is deprecated', module=r'dns\.')
sys.path.insert(0, str(Path(__file__).resolve().parent / '_ext'))

project = 'vitrage_ds'
copyright = 'vitrage_ds developers'  # noqa: A001
author = 'vitrage_ds developers'

extensions = [
    'sphinx.ext.autodoc',
    'oslo_config.sphinxext',
    'oslo_config.sphinxconfiggen',
    'vitrage_ds_plugins',
    'vitrage_ds_xref',
]

# The sample configuration, generated at each build from the same generator
# file as `tox -e genconfig`.
config_generator_config_file = '../../etc/oslo-config-generator/vitrage_ds.conf'
sample_config_basename = '_generated/vitrage_ds'

exclude_patterns = ['_generated']
autodoc_member_order = 'bysource'
autodoc_typehints = 'none'

html_theme = 'alabaster'
html_title = 'vitrage_ds'

# Every cross-reference must resolve: a dead :class: or :func: fails the
# build (with -W).
nitpicky = True

# No intersphinx: the docs build offline, so the inventories of other
# projects are out of reach. The few outside names the docstrings and the
# class bases mention are accepted as they are, and nothing else: a name
# under vitrage_ds or vitrage_ds_testing must always resolve.
nitpick_ignore = [
    # the standard library
    ('py:class', 'collections.abc.Callable'),
    ('py:class', 'collections.abc.Mapping'),
    ('py:class', 'logging.handlers.WatchedFileHandler'),
    ('py:class', 'queue.Queue'),
    # oslo.config: the ConfigOpts every configuration helper takes
    ('py:class', 'oslo_config.cfg.ConfigOpts'),
    ('py:class', 'oslo_config.cfg.DuplicateOptError'),
    # oslo.messaging: what building a transport or using the bus raises
    ('py:exc', 'oslo_messaging.MessagingException'),
    ('py:exc', 'oslo_messaging.DriverLoadFailure'),
    ('py:exc', 'oslo_messaging.InvalidTransportURL'),
    # keystoneauth1: where the adapter options come from
    ('py:func', 'keystoneauth1.loading.get_adapter_conf_options'),
    # testtools and fixtures: the bases of the contract suites and fixtures
    ('py:class', 'testtools.TestCase'),
    ('py:class', 'fixtures.Fixture'),
]

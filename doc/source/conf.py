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

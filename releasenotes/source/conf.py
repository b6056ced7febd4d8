"""Sphinx configuration of the vitrage_ds release notes (``tox -e releasenotes``)."""

from __future__ import annotations

project = 'vitrage_ds release notes'
copyright = 'vitrage_ds developers'  # noqa: A001
author = 'vitrage_ds developers'

extensions = ['reno.sphinxext']
exclude_patterns = ['_build']
html_theme = 'alabaster'
html_title = 'vitrage_ds release notes'

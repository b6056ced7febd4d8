"""``.. vitrage-ds-plugins::``: the built-in plugins, read from the entry points.

Lists every driver and notifier entry point whose class lives in the
``vitrage_ds`` package, with its option group and the first line of its
docstring, so the list can never drift from ``setup.cfg``.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

_KINDS = (('driver', 'vitrage_ds.drivers'), ('notifier', 'vitrage_ds.notifiers'))


def _summary(ep: importlib.metadata.EntryPoint) -> str:
    try:
        doc = ep.load().__doc__ or ''
    except Exception as exc:  # a broken plugin is shown, not fatal
        return f'(does not import: {type(exc).__name__})'
    return doc.strip().splitlines()[0] if doc.strip() else ''


class PluginList(SphinxDirective):
    """Emit a table of the built-in plugins."""

    def run(self) -> list[nodes.Node]:
        lines = ['.. list-table::', '   :header-rows: 1', '   :widths: 10 15 35 40', '',
                 '   * - Kind', '     - Name and group', '     - Class', '     - Summary']
        for kind, namespace in _KINDS:
            eps = sorted(importlib.metadata.entry_points(group=namespace),
                         key=lambda ep: ep.name)
            for ep in eps:
                if not ep.value.startswith('vitrage_ds.'):
                    continue
                lines += [f'   * - {kind}',
                          f'     - ``{ep.name}`` ``[{kind}.{ep.name}]``',
                          f'     - ``{ep.value}``',
                          f'     - {_summary(ep) or " "}']
        container = nodes.container()
        self.state.nested_parse(StringList(lines, source='vitrage-ds-plugins'),
                                self.content_offset, container)
        return container.children


def setup(app: Any) -> dict[str, Any]:
    app.add_directive('vitrage-ds-plugins', PluginList)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}

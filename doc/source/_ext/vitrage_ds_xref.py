"""Cross-references to re-exported names resolve to where they are documented.

The reference documents each object once, under the module that defines it
(``vitrage_ds.event.Event``), while the public surface re-exports it
(``vitrage_ds.Event``, ``vitrage_ds_testing.EmulatedCloud``). A reference to
a re-exported name that the Python domain cannot find is retried under the
object's defining name, found by importing it. A name that does not import
(``vitrage_ds.Nope``) stays unresolved, so a nitpicky build still fails on it.

A short name in a docstring (``Event.to_dict`` in a module that imports
``Event``) is looked up the same way, in the class and then the module the
docstring belongs to, then in the modules of the class's bases (a docstring
autodoc inherits). A re-exported constant, which carries no name of its
own, resolves to the documented name that holds the very same object.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from docutils import nodes
from sphinx.addnodes import pending_xref

_PACKAGES = ('vitrage_ds', 'vitrage_ds_testing')


def _defined_name(obj: Any) -> str | None:
    """The dotted name an object is defined under, when it has one."""
    if inspect.ismodule(obj):
        return obj.__name__
    if inspect.isclass(obj) or inspect.isroutine(obj):
        module, qualname = getattr(obj, '__module__', None), getattr(obj, '__qualname__', None)
        if module and qualname and '<' not in qualname:
            return f'{module}.{qualname}'
    return None


def canonical(target: str) -> str | None:
    """Where ``target`` is defined, or ``None`` when it does not import."""
    parts = target.split('.')
    if parts[0] not in _PACKAGES:
        return None
    for split in range(len(parts), 0, -1):
        try:
            obj: Any = importlib.import_module('.'.join(parts[:split]))
        except ImportError:
            continue
        name = obj.__name__
        for attr in parts[split:]:
            try:
                owner, obj = obj, getattr(obj, attr)
            except AttributeError:
                return None
            if inspect.isclass(owner):
                # An inherited member is documented on the class defining it.
                owner = next((base for base in owner.__mro__ if attr in vars(base)), owner)
                name = _defined_name(owner) or name
            # An attribute without a defining name of its own (an enum
            # member, a constant, a property) is named after its owner.
            name = _defined_name(obj) or f'{name}.{attr}'
        return name
    return None


def _resolve(app: Any, env: Any, node: pending_xref,
             contnode: nodes.TextElement) -> nodes.Element | None:
    if node.get('refdomain') != 'py':
        return None
    target = node.get('reftarget', '')
    module, cls = node.get('py:module'), node.get('py:class')
    if target.split('.')[0] in _PACKAGES:
        candidates = [target]
    else:
        candidates = [f'{module}.{cls}.{target}'] if module and cls else []
        candidates += [f'{module}.{target}'] if module else []
        candidates += _base_modules(module, cls, target)
    for candidate in candidates:
        resolved = _resolve_as(app, env, node, contnode, candidate)
        if resolved is not None:
            return resolved
    for candidate in candidates:
        for documented in _same_object(env, candidate):
            resolved = _resolve_as(app, env, node, contnode, documented)
            if resolved is not None:
                return resolved
    return None


def _imported(target: str) -> tuple[bool, Any]:
    """(True, the object) when ``target`` imports, else (False, None)."""
    module, _, attr = target.rpartition('.')
    if not module:
        return False, None
    try:
        return True, getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return False, None


def _same_object(env: Any, target: str) -> list[str]:
    """Documented names of the very object ``target`` names (a re-exported constant)."""
    found, obj = _imported(target)
    if not found or isinstance(obj, (int, float, bool, str)) or obj is None:
        return []
    suffix = '.' + target.rpartition('.')[2]
    names = [name for name in env.get_domain('py').objects
             if name.endswith(suffix) and name != target]
    return [name for name in names if _imported(name)[1] is obj]


def _base_modules(module: str | None, cls: str | None, target: str) -> list[str]:
    """``target`` in the modules of a class's bases: an inherited docstring
    (autodoc's default) names things as the base class's module sees them."""
    if not module or not cls:
        return []
    found, owner = _imported(f'{module}.{cls}')
    if not found or not inspect.isclass(owner):
        return []
    return [f'{base.__module__}.{target}' for base in owner.__mro__[1:]
            if base.__module__.split('.')[0] in _PACKAGES]


def _resolve_as(app: Any, env: Any, node: pending_xref, contnode: nodes.TextElement,
                target: str) -> nodes.Element | None:
    defined = canonical(target)
    if defined is None or defined == node.get('reftarget'):
        return None
    retry = node.deepcopy()
    retry['reftarget'] = defined
    domain = env.get_domain('py')
    return domain.resolve_xref(env, node.get('refdoc', ''), app.builder, node['reftype'],
                               defined, retry, contnode)


def setup(app: Any) -> dict[str, Any]:
    app.connect('missing-reference', _resolve)
    return {'parallel_read_safe': True, 'parallel_write_safe': True}

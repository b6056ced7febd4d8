"""Where the values of Heat's tables come from, and how secrets in them are masked.

A table column names a :data:`Source`: a function of the :class:`Scope` one
row is made from (the API item, the identifiers its parents gave, the
exploded element). :func:`field`, :func:`ref`, :func:`element` and
:func:`entry_key` build the common ones and say in words where they read
(:func:`origin`, for the schema the docs and ``--schema`` print); the
computed ones' docstrings say it. A :data:`Mask` hides the secrets of one
column's values (see :mod:`~vitrage_ds.drivers.heat.masking`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from vitrage_ds.drivers.heat import links, masking

__all__ = ['Mask', 'Scope', 'Source', 'element', 'entry_key', 'field', 'mask_attribute',
           'mask_entry', 'mask_output', 'mask_properties', 'mask_within', 'nested_stack_id',
           'origin', 'ref', 'stack_project', 'template_description', 'template_version']


@dataclasses.dataclass(frozen=True)
class Scope:
    """What one row is made from.

    :ivar item: the API item (a stack of the listing, a resource, an event).
    :ivar refs: the identifiers the item and its parents gave (``stack_id``,
        ``stack_name``, ``resource_name``, ``config_id``...).
    :ivar key: in an exploded table, the key of the dict entry.
    :ivar element: in an exploded table, the list element or dict value.
    """

    item: Any
    refs: Mapping[str, Any]
    key: Any = None
    element: Any = None


#: Computes one value from a :class:`Scope`; ``None`` when absent.
Source = Callable[[Scope], Any]


def _dig(value: Any, path: Sequence[str]) -> Any:
    for step in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(step)
    return value


class _Pick:
    """A :data:`Source` reading a path in the item or the exploded element,
    or a ref, or the entry key; ``str()`` says which (for the schema)."""

    def __init__(self, part: str, path: tuple[str, ...], text: str) -> None:
        self.part, self.path, self.text = part, path, text

    def __call__(self, scope: Scope) -> Any:
        if self.part == 'ref':
            return scope.refs.get(self.path[0])
        if self.part == 'key':
            return scope.key
        return _dig(scope.item if self.part == 'item' else scope.element, self.path)

    def __str__(self) -> str:
        return self.text


def field(*path: str) -> Source:
    """The item's value at ``path`` (nested keys); no path: the item itself."""
    return _Pick('item', path, '.'.join(path) or 'the item')


def ref(name: str) -> Source:
    """An identifier given by the item or a parent (see :attr:`Call.refs`)."""
    return _Pick('ref', (name,), f'{name} (from the listing above)')


def element(*path: str) -> Source:
    """The exploded element's value at ``path``; no path: the element itself."""
    return _Pick('element', path, f'each element\'s {".".join(path)}' if path
                 else 'each element')


def entry_key() -> Source:
    """The key of the exploded dict entry."""
    return _Pick('key', (), 'each entry\'s key')


def origin(source: Source) -> str:
    """Where ``source`` takes its value, in words."""
    if isinstance(source, _Pick):
        return str(source)
    text = source.__doc__ or getattr(source, '__name__', None) or 'computed'
    return str(text).strip()


def nested_stack_id(scope: Scope) -> str | None:
    """the id in the resource's rel=nested link"""
    nested = links.nested_stack(scope.item) if isinstance(scope.item, Mapping) else None
    return nested.id if nested else None


def stack_project(scope: Scope) -> str | None:
    """project (listed to admins), else the project in the self link"""
    item = scope.item
    project = item.get('project')
    return project if isinstance(project, str) and project else links.project(item)


def template_version(scope: Scope) -> Any:
    """heat_template_version, or AWSTemplateFormatVersion"""
    return _dig(scope.item, ['heat_template_version']) or _dig(
        scope.item, ['AWSTemplateFormatVersion'])


def template_description(scope: Scope) -> Any:
    """description, or Description"""
    return _dig(scope.item, ['description']) or _dig(scope.item, ['Description'])


#: Masks the secrets in a column's value, given the row's :class:`Scope`.
Mask = Callable[[Scope, Any], Any]


def mask_entry(scope: Scope, value: Any) -> Any:
    """secrets by the entry's key and within the value"""
    return masking.mask(value, scope.key)


def mask_attribute(scope: Scope, value: Any) -> Any:
    """the resource type's secret attributes, then as any entry"""
    return masking.mask_attribute(_dig(scope.item, ['resource_type']), scope.key, value)


def mask_properties(scope: Scope, value: Any) -> Any:
    """the resource type's secret properties, then as any entry"""
    return masking.mask_properties(_dig(scope.item, ['resource_type']), value)


def mask_output(scope: Scope, value: Any) -> Any:
    """secrets by the output key and within the value"""
    return masking.mask(value, _dig(scope.element, ['output_key']))


def mask_within(scope: Scope, value: Any) -> Any:
    """secrets within the value"""
    return masking.mask(value)

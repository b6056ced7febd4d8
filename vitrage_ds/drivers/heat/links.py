"""What Heat's ``links`` say about an item: its project, its stack, its nested stack.

Heat links are ``{"href": ..., "rel": ...}`` with hrefs of the form
``{endpoint}/stacks/{stack_name}/{stack_id}[/...]`` where the endpoint ends
with the project id (``.../v1/{project_id}``). Every function returns
``None`` when the link is missing or does not have that shape.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any, NamedTuple

__all__ = ['StackRef', 'hrefs', 'link', 'nested_stack', 'project', 'stack', 'stack_in']


class StackRef(NamedTuple):
    """A stack as a link names it."""

    name: str
    id: str


def link(item: Mapping[str, Any], rel: str) -> str | None:
    """The href of ``item``'s first link with relation ``rel``."""
    links = item.get('links')
    if not isinstance(links, list):
        return None
    for entry in links:
        if isinstance(entry, Mapping) and entry.get('rel') == rel:
            href = entry.get('href')
            return href if isinstance(href, str) and href else None
    return None


def hrefs(item: Mapping[str, Any]) -> dict[str, str]:
    """The href of ``item``'s first link of each relation, in one pass."""
    found: dict[str, str] = {}
    links = item.get('links')
    if not isinstance(links, list):
        return found
    for entry in links:
        if isinstance(entry, Mapping):
            rel = entry.get('rel')
            if isinstance(rel, str) and rel not in found:
                href = entry.get('href')
                found[rel] = href if isinstance(href, str) else ''
    return {rel: href for rel, href in found.items() if href}


def _segments(href: str | None) -> list[str]:
    """The path segments of ``href``, unquoted (plain string work: this runs
    for every resource of every poll)."""
    if href is None:
        return []
    scheme = href.find('://')
    if scheme >= 0:
        slash = href.find('/', scheme + 3)
        path = href[slash:] if slash >= 0 else ''
    else:
        path = href
    for end in ('?', '#'):
        if end in path:
            path = path[:path.index(end)]
    return [urllib.parse.unquote(s) if '%' in s else s for s in path.split('/') if s]


def _stacks_index(segments: list[str]) -> int | None:
    """Where ``stacks`` is followed by a name and an id (rightmost such place)."""
    for index in range(len(segments) - 3, -1, -1):
        if segments[index] == 'stacks':
            return index
    return None


def stack(item: Mapping[str, Any], rel: str = 'self') -> StackRef | None:
    """The stack named by ``item``'s ``rel`` link."""
    return stack_in(link(item, rel))


def stack_in(href: str | None) -> StackRef | None:
    """The stack ``href`` names."""
    segments = _segments(href)
    index = _stacks_index(segments)
    if index is None:
        return None
    return StackRef(segments[index + 1], segments[index + 2])


def nested_stack(item: Mapping[str, Any]) -> StackRef | None:
    """The nested stack a resource owns (its ``rel=nested`` link)."""
    return stack(item, 'nested')


def project(item: Mapping[str, Any], rel: str = 'self') -> str | None:
    """The project in ``item``'s ``rel`` link (the segment before ``stacks``)."""
    segments = _segments(link(item, rel))
    index = _stacks_index(segments)
    if not index:
        return None
    return segments[index - 1]

"""Finding the resource an Aodh alarm is raised on, inside each kind of rule.

Each function takes one rule (the value of an alarm's ``<type>_rule``) and
returns the id of the one resource it names, or ``None`` when it names none
or several different ones. None of them raises, whatever the rule holds:
an odd alarm still comes out of the poll, only without a resource.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

__all__ = [
    'EVENT_RESOURCE_FIELDS',
    'MAPPING',
    'MAX_DEPTH',
    'VITRAGE_ID_FIELDS',
    'aggregation_query_resource',
    'promql_resource',
    'query_value',
    'rule_get',
    'single',
]

#: Event rule query fields naming the resource, most specific first. Aodh's
#: event evaluator reads ``traits.X`` from the event's traits and a bare
#: field from the event body; Ceilometer's events carry both ``resource_id``
#: and, for Nova, ``instance_id`` traits.
EVENT_RESOURCE_FIELDS = ('resource_id', 'traits.resource_id',
                         'instance_id', 'traits.instance_id')

#: Event rule query fields carrying the id of the deduced alarm the
#: vitrage_ds Aodh notifier created the alarm for.
VITRAGE_ID_FIELDS = ('vitrage_id', 'traits.vitrage_id')

#: Query operators that mean equality. Aodh's own query items default to eq.
_EQ_OPS = frozenset({'', 'eq', '=', '=='})

#: Gnocchi search filter operators meaning equality, and the attributes
#: naming a resource.
_GNOCCHI_EQ = frozenset({'=', '==', 'eq'})
_GNOCCHI_ID_KEYS = ('id', 'resource_id')
#: Gnocchi's conjunction and disjunction, in words and in symbols.
_GNOCCHI_BOOLEAN = frozenset({'and', 'or', '\u2227', '\u2228'})

#: What counts as a mapping; ``dict`` first, because rules are decoded JSON
#: and an ABC check alone costs several times as much on a 10,000-alarm poll.
MAPPING = (dict, Mapping)

#: Deeper rules are not searched (a rule is a handful of levels deep).
MAX_DEPTH = 32

#: A PromQL equality label matcher on the resource label: ``resource="X"``
#: (Ceilometer's Prometheus exporter) or ``resource_id="X"`` (its Pushgateway
#: publisher). ``!=``, ``=~`` and ``!~`` do not name one resource.
_PROMQL_RESOURCE = re.compile(r'\b(?:resource_id|resource)\s*=\s*"((?:[^"\\]|\\.)*)"')


def single(values: Iterable[object]) -> str | None:
    """The one distinct non-empty string among ``values``, else ``None``."""
    found = {v for v in values if isinstance(v, str) and v}
    return found.pop() if len(found) == 1 else None


def query_value(query: object, fields: Sequence[str]) -> str | None:
    """The value of the first equality item of ``query`` on one of ``fields``.

    ``query`` is a list of Aodh query items (``field``, ``op``, ``value``,
    ``type``). Fields are tried in the order given; an item with another
    operator (``ne``, ``gt``, ...) does not name the resource and is skipped.
    Anything that is not such a list gives ``None``.
    """
    if not isinstance(query, list):
        return None
    found: str | None = None
    rank = len(fields)
    for item in query:  # one pass: the best-ranked field's first item wins
        if not isinstance(item, MAPPING):
            continue
        name = item.get('field')
        if name not in fields:
            continue
        here = fields.index(name)
        op = item.get('op')
        value = item.get('value')
        if (here < rank and (op is None or (isinstance(op, str) and op in _EQ_OPS))
                and isinstance(value, str) and value):
            found, rank = value, here
    return found


def aggregation_query_resource(query: object) -> str | None:
    """The resource of a Gnocchi search filter, when it pins exactly one.

    ``query`` is the filter as Aodh stores it: a JSON string (or the
    decoded object), possibly wrapped by Aodh in an ``and`` with the
    caller's project filter. Equality leaves on ``id`` or ``resource_id``
    anywhere under ``and``/``or`` count; ``not`` subtrees are ignored.
    """
    if isinstance(query, str):
        try:
            query = json.loads(query)
        except (ValueError, RecursionError):
            return None
    return single(_gnocchi_ids(query, 0))


def _gnocchi_ids(node: object, depth: int) -> Iterator[object]:
    if depth > MAX_DEPTH:
        return
    if isinstance(node, list):
        for child in node:
            yield from _gnocchi_ids(child, depth + 1)
        return
    if not isinstance(node, MAPPING):
        return
    for op, operand in node.items():
        if op in _GNOCCHI_EQ and isinstance(operand, MAPPING):
            for key in _GNOCCHI_ID_KEYS:
                if key in operand:
                    yield operand[key]
        elif op in _GNOCCHI_BOOLEAN:
            yield from _gnocchi_ids(operand, depth + 1)


def promql_resource(query: object) -> str | None:
    """The one resource a PromQL query selects by its resource label, if one."""
    if not isinstance(query, str):
        return None
    return single(_PROMQL_RESOURCE.findall(query))


def rule_get(rule: object, key: str) -> Any:
    """``rule[key]`` when ``rule`` is a mapping, else ``None``."""
    return rule.get(key) if isinstance(rule, MAPPING) else None

"""The per-type part of the alarm mapping, as a table.

Each Aodh alarm type has one row: where its rule is (``<type>_rule`` in the
API), which of the rule's keys become fields of their own, how the resource
the alarm is raised on is found in the rule, and whether the alarm can carry
the id of a deduced alarm. Adding a type Aodh grows later is adding a row.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

from vitrage_ds.drivers.aodh import resources

__all__ = ['TYPES', 'AlarmType', 'composite_resource']

#: Reads one rule and returns a string or ``None``; never raises.
RuleReader = Callable[[Any], 'str | None']


#: The keys of a composite rule's branches.
_BRANCHES = ('and', 'or')


def _none(rule: Any) -> str | None:
    return None


@dataclasses.dataclass(frozen=True)
class AlarmType:
    """How alarms of one Aodh type map to event fields.

    :ivar name: the type, as in the alarm's ``type``.
    :ivar rule_key: the alarm key holding the rule, copied as a field.
    :ivar copied: rule keys copied to top-level fields of the same name.
    :ivar resource: finds the resource the alarm is raised on in the rule.
    :ivar vitrage_id: finds the id of the deduced alarm the alarm stands for.
    :ivar hidden: rule keys that carry no meaning and that Aodh does not
        show the same way everywhere (the API, its notifications), dropped
        so that a notification and a poll give one rule; also dropped from
        the leaves of this type inside composite rules.
    :ivar nested: the rule is a tree of rules of other types (composite).
    """

    name: str
    rule_key: str
    copied: tuple[str, ...] = ()
    resource: RuleReader = _none
    vitrage_id: RuleReader = _none
    hidden: tuple[str, ...] = ()
    nested: bool = False

    def rule(self, alarm: Mapping[str, Any]) -> Any:
        """The alarm's rule without hidden keys (its own, or its leaves')."""
        rule = alarm.get(self.rule_key)
        if self.nested:
            return _strip_leaves(rule, 0)
        return _strip(rule, self.hidden)


def _strip(rule: Any, hidden: tuple[str, ...]) -> Any:
    if hidden and isinstance(rule, resources.MAPPING):
        for key in hidden:
            if key in rule:
                return {k: v for k, v in rule.items() if k not in hidden}
    return rule


def _strip_leaves(node: Any, depth: int) -> Any:
    if depth > resources.MAX_DEPTH or not isinstance(node, resources.MAPPING):
        return node
    if len(node) == 1:
        for key, children in node.items():
            if key in _BRANCHES and isinstance(children, list):
                return {key: [_strip_leaves(child, depth + 1) for child in children]}
    name = node.get('type')
    row = TYPES.get(name) if isinstance(name, str) else None
    return _strip(node, row.hidden) if row is not None else node


def _event_resource(rule: Any) -> str | None:
    return resources.query_value(resources.rule_get(rule, 'query'),
                                 resources.EVENT_RESOURCE_FIELDS)


def _event_vitrage_id(rule: Any) -> str | None:
    return resources.query_value(resources.rule_get(rule, 'query'),
                                 resources.VITRAGE_ID_FIELDS)


def _threshold_resource(rule: Any) -> str | None:
    # Ceilometer-era threshold rules select samples with a query list.
    return resources.query_value(resources.rule_get(rule, 'query'), ('resource_id',))


def _gnocchi_resource(rule: Any) -> str | None:
    value = resources.rule_get(rule, 'resource_id')
    return value if isinstance(value, str) and value else None


def _aggregation_resource(rule: Any) -> str | None:
    return resources.aggregation_query_resource(resources.rule_get(rule, 'query'))


def _prometheus_resource(rule: Any) -> str | None:
    return resources.promql_resource(resources.rule_get(rule, 'query'))


def _loadbalancer_resource(rule: Any) -> str | None:
    # The members are unhealthy inside this autoscaling group: its id is the
    # physical_resource_id of a Heat resource and the id of its nested stack.
    value = resources.rule_get(rule, 'autoscaling_group_id')
    return value if isinstance(value, str) and value else None


def composite_resource(rule: Any) -> str | None:
    """The one resource all leaves of a composite rule that name one agree on.

    A composite rule is ``{"and"|"or": [sub-rule, ...]}`` nested at will;
    each leaf is a threshold rule with its own ``type``. Leaves of unknown
    types are ignored. Leaves naming different resources give ``None``.
    """
    found: list[str | None] = []
    _composite_leaves(rule, 0, found)
    return resources.single(found)


def _composite_leaves(node: Any, depth: int, found: list[str | None]) -> None:
    if depth > resources.MAX_DEPTH or not isinstance(node, resources.MAPPING):
        return
    for key in _BRANCHES:
        children = node.get(key)
        if isinstance(children, list):
            for child in children:
                _composite_leaves(child, depth + 1, found)
    name = node.get('type')
    leaf_type = TYPES.get(name) if isinstance(name, str) else None
    if leaf_type is not None and not leaf_type.nested:
        found.append(leaf_type.resource(node))


def _row(name: str, **kwargs: Any) -> tuple[str, AlarmType]:
    return name, AlarmType(name=name, rule_key=f'{name}_rule', **kwargs)


#: Every type this driver knows, by name. Aodh 23 has all but ``threshold``,
#: which older clouds still return.
TYPES: dict[str, AlarmType] = dict([
    _row('event', copied=('event_type',), resource=_event_resource,
         vitrage_id=_event_vitrage_id),
    _row('threshold', resource=_threshold_resource),
    _row('gnocchi_resources_threshold', resource=_gnocchi_resource),
    _row('gnocchi_aggregation_by_metrics_threshold'),
    _row('gnocchi_aggregation_by_resources_threshold',
         resource=_aggregation_resource),
    # PrometheusRule.as_dict (the notifications' rule, and composite leaves as
    # stored) carries scope_to_project, no API attribute: GET of a prometheus
    # alarm never shows it.
    _row('prometheus', resource=_prometheus_resource, hidden=('scope_to_project',)),
    _row('composite', resource=composite_resource, nested=True),
    _row('loadbalancer_member_health', resource=_loadbalancer_resource),
])

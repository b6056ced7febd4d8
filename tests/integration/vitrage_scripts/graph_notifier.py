"""Drive a real Vitrage 15 graph whose GraphNotifier publishes on the bus.

Run with the Vitrage virtualenv's python::

    python graph_notifier.py CONFIG_FILE RESOURCE_ID ALARM_NAME SEVERITY

``CONFIG_FILE`` is a vitrage.conf (``transport_url``, ``notifiers``).
Vitrage's ``parse_config`` reads it and calls ``messaging.setup()`` (exchange
``vitrage``). The graph is an ``NXGraph`` with Vitrage's ``GraphNotifier``
subscribed, as ``vitrage-graph`` subscribes it; it holds one ``nova.host``
resource vertex whose ``id`` is ``RESOURCE_ID``.

Commands, one a line on standard input; after each the script prints one
JSON line (``{"vitrage_id": ..., "done": ...}``) once Vitrage has published:

``activate``
    The evaluator's ``raise_alarm`` do-recipe, through Vitrage's
    ``EvaluatorEventTransformer`` and the processor's resource details, added
    to the graph: ``vitrage.deduced_alarm.activate`` (and
    ``vitrage.alarm.activate``) are published.
``deactivate``
    The undo-recipe, marked deleted as the processor's ``delete_entity``
    does: ``vitrage.deduced_alarm.deactivate`` (and
    ``vitrage.alarm.deactivate``).
``notify_again``
    The notifier called again for the alarm as it is in the graph, as after
    a restart of vitrage-graph: the same activation published once more.
"""

import json
import sys

from oslo_utils import uuidutils

from vitrage.common import config
from vitrage.common.constants import DatasourceAction
from vitrage.common.constants import DatasourceProperties as DSProps
from vitrage.common.constants import EntityCategory
from vitrage.common.constants import VertexProperties as VProps
from vitrage.entity_graph.processor import processor_utils
from vitrage.entity_graph.processor.notifier import GraphNotifier
from vitrage.entity_graph.processor.processor import Processor
from vitrage.evaluator.actions.evaluator_event_transformer import (
    VITRAGE_DATASOURCE, EvaluatorEventTransformer)
from vitrage.evaluator.actions.recipes.base import EVALUATOR_EVENT_TYPE
from vitrage.evaluator.actions.recipes.raise_alarm import RaiseAlarm
from vitrage.evaluator.template_data import ActionSpecs
from vitrage.graph.driver.networkx_graph import NXGraph
import vitrage.graph.utils as graph_utils
from vitrage.utils import datetime as datetime_utils


def _evaluator_event(step):
    """The event the action executor makes of a recipe step."""
    event = dict(step.params)
    event[DSProps.DATASOURCE_ACTION] = DatasourceAction.UPDATE
    event[DSProps.ENTITY_TYPE] = VITRAGE_DATASOURCE
    event[VProps.UPDATE_TIMESTAMP] = str(datetime_utils.utcnow(False))
    event[VProps.VITRAGE_SAMPLE_TIMESTAMP] = datetime_utils.format_utcnow()
    event[EVALUATOR_EVENT_TYPE] = step.type
    return event


def main(argv):
    config_file, resource_id, alarm_name, severity = argv[1:5]
    config.parse_config(['graph_notifier', '--config-file', config_file])
    notifier = GraphNotifier()
    if not notifier.enabled:
        raise SystemExit('GraphNotifier is disabled: set notifiers in the config')
    graph = NXGraph('entity graph')
    graph.subscribe(notifier.notify_when_applicable)
    now = datetime_utils.format_utcnow()
    resource = graph_utils.create_vertex(
        uuidutils.generate_uuid(), vitrage_category=EntityCategory.RESOURCE,
        vitrage_type='nova.host', entity_id=resource_id, entity_state='available',
        update_timestamp=now, vitrage_sample_timestamp=now,
        metadata={VProps.NAME: resource_id})
    resource[VProps.IS_REAL_VITRAGE_ID] = True
    graph.add_vertex(resource)
    spec = ActionSpecs(id='raise', type='raise_alarm', targets={'target': resource},
                       properties={'alarm_name': alarm_name, 'severity': severity})
    transformer = EvaluatorEventTransformer({})
    alarm_id = None
    for line in sys.stdin:
        command = line.strip()
        if command == 'activate':
            [step] = RaiseAlarm.get_do_recipe(spec)
            vertex = transformer.transform(_evaluator_event(step)).vertex
            Processor.add_resource_details(vertex, r_id=resource.vertex_id,
                                           r_type=resource[VProps.VITRAGE_TYPE],
                                           r_project_id=None)
            graph.add_vertex(vertex)
            alarm_id = vertex.vertex_id
        elif command == 'deactivate':
            [step] = RaiseAlarm.get_undo_recipe(spec)
            vertex = transformer.transform(_evaluator_event(step)).vertex
            current = graph.get_vertex(vertex.vertex_id)
            current[VProps.STATE] = vertex[VProps.STATE]
            current[VProps.UPDATE_TIMESTAMP] = vertex[VProps.UPDATE_TIMESTAMP]
            processor_utils.mark_deleted(graph, current)
        elif command == 'notify_again':
            notifier.notify_when_applicable(None, graph.get_vertex(alarm_id), True, graph)
        elif command:
            raise SystemExit(f'unknown command {command!r}')
        print(json.dumps({'vitrage_id': alarm_id, 'done': command}), flush=True)


if __name__ == '__main__':
    main(sys.argv)

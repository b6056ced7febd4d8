"""Vitrage's driver loading, transformers and processor on an NXGraph.

``graph.py CONFIG MODE INPUT OUTPUT``: parse ``CONFIG`` with Vitrage's
``parse_config``, load the drivers of ``[datasources] types`` with Vitrage's
``get_drivers_by_name`` and build a graph with Vitrage's ``Processor``:

* ``snapshot``: from each driver's ``get_all(init_snapshot)``, in the order
  of ``[datasources] types`` (``INPUT`` is unused);
* ``notifications``: from the notifications listed in ``INPUT`` (JSON list
  of ``{publisher_id, event_type, payload, metadata}``), handed to Vitrage's
  own ``DriversNotificationEndpoint.info``, which calls the drivers'
  ``enrich_event``.

``OUTPUT`` gets the graph's vertices and edges, and what the drivers gave.
"""

from __future__ import annotations

from typing import Any

import common

VERTEX_KEYS = ('vitrage_id', 'vitrage_type', 'vitrage_category', 'id', 'name', 'state',
               'project_id', 'vitrage_is_deleted', 'vitrage_is_placeholder',
               'vitrage_datasource_name', 'resource_id')


def main() -> None:
    config_file, mode, source, output = common.argv(4)
    conf = common.parse(config_file)

    from vitrage.common.constants import DatasourceAction
    from vitrage.datasources import utils
    from vitrage.entity_graph.driver_exec import DriversNotificationEndpoint
    from vitrage.entity_graph.processor.processor import Processor
    from vitrage.graph.driver.networkx_graph import NXGraph

    graph = NXGraph('entity graph')
    processor = Processor(graph)
    names = list(conf.datasources.types)
    drivers = utils.get_drivers_by_name(names)
    given: list[Any] = []

    def process(events: list[dict[str, Any]]) -> None:
        for event in events:
            given.append(dict(event))
            processor.process_event(event)

    if mode == 'snapshot':
        for driver in drivers:
            process(driver.get_all(DatasourceAction.INIT_SNAPSHOT))
    elif mode == 'notifications':
        endpoint = DriversNotificationEndpoint(process).init()
        for note in common.read(source):
            endpoint.info({}, note['publisher_id'], note['event_type'], note['payload'],
                          note['metadata'])
    else:
        raise SystemExit(f'unknown mode {mode}')

    vertices = {v.vertex_id: {k: v.get(k) for k in VERTEX_KEYS} for v in graph.get_vertices()}
    edges = set()
    for vertex_id in vertices:
        for edge in graph.get_edges(vertex_id):
            edges.add((edge.source_id, edge.target_id, edge.label))
    common.write(output, {
        'drivers': {name: type(d).__module__ + '.' + type(d).__name__
                    for name, d in zip(names, drivers)},
        'given': given,
        'vertices': list(vertices.values()),
        'edges': sorted(edges),
    })


if __name__ == '__main__':
    main()

"""The example driver: widgets of the example service become events.

``get_all()`` lists ``GET /widgets`` page by page (``limit``/``marker``)
through the core :class:`~vitrage_ds.http.Client`; notifications
``widget.create``, ``widget.update`` and ``widget.delete`` carry a widget
(``id``, ``name``, ``status``, ``updated_at``). A notification without a
``name`` is completed from the collector's lookup or, failing that, from
``GET /widgets/ID``.
"""

from __future__ import annotations

import logging
import time
import urllib.parse
from collections.abc import Mapping
from typing import Any, TypeGuard

from oslo_config import cfg

from vitrage_ds import DELETE_ENTITY, Action, BackendError, Driver, Event, Lookup, no_lookup
from vitrage_ds.errors import MalformedResponse
from vitrage_ds.event import Version, parse_time
from vitrage_ds.http import Client

__all__ = ['ExampleDriver']

LOG = logging.getLogger(__name__)

ENTITY_TYPE = 'example.widget'
SERVICE_TYPE = 'example'
_MAX_ID = 255


class ExampleDriver(Driver):
    """Widgets from the example service."""

    name = 'example'
    service_type = SERVICE_TYPE
    default_poll_interval = 60.0
    entity_types = (ENTITY_TYPE,)
    event_types = ('widget.*',)
    options = (
        cfg.IntOpt('page_size', default=100, min=1,
                   help='Widgets asked for per page.'),
    )

    _client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = self.context.client(SERVICE_TYPE)
        return self._client

    def get_all(self) -> list[Event]:
        observed = time.time()
        events = []
        for item in self.client.paginate_marker('widgets', 'id', key='widgets',
                                                limit=self.conf.page_size):
            fields = _fields(item)
            if fields is None:
                raise MalformedResponse('GET', self.client.url('widgets'),
                                        'a widget lacks a valid id, name or status')
            events.append(self._event(fields, Action.SNAPSHOT, None, observed))
        return events

    def notifications(self, event_type: str, payload: Any,
                      metadata: Mapping[str, Any],
                      lookup: Lookup = no_lookup) -> list[Event]:
        if not isinstance(event_type, str) or not self.handles(event_type):
            return []
        stamp = metadata.get('timestamp') if isinstance(metadata, Mapping) else None
        observed = parse_time(stamp) or time.time()
        if not isinstance(payload, Mapping):
            LOG.warning('%s dropped: the payload is not an object', event_type)
            return []
        widget_id = payload.get('id')
        if not _valid_id(widget_id):
            LOG.warning('%s dropped: the payload has no valid widget id', event_type)
            return []
        if event_type == 'widget.delete':
            return [self._event({'widget_id': widget_id}, Action.UPDATE,
                                DELETE_ENTITY, observed)]
        widget = dict(payload)
        if 'name' not in widget:
            completed = self._complete(widget_id, widget, lookup)
            if completed is None:
                return []
            widget = completed
        fields = _fields(widget)
        if fields is None:
            LOG.warning('%s for widget %s dropped: malformed payload', event_type, widget_id)
            return []
        return [self._event(fields, Action.UPDATE, event_type, observed)]

    def _complete(self, widget_id: str, widget: dict[str, Any],
                  lookup: Lookup) -> dict[str, Any] | None:
        known = lookup(ENTITY_TYPE, widget_id)
        if known is not None:
            return {'id': widget_id, 'name': known.get('name'),
                    'status': known.get('status'), **widget}
        try:
            body = self.client.get(f'widgets/{urllib.parse.quote(widget_id, safe="")}')
        except BackendError as exc:
            LOG.warning('widget %s dropped: could not complete it: %s', widget_id, exc)
            return None
        found = body.get('widget') if isinstance(body, dict) else None
        if not isinstance(found, dict):
            LOG.warning('widget %s dropped: GET answered no widget', widget_id)
            return None
        return {**found, **widget}

    def _event(self, fields: dict[str, Any], action: Action, event_type: str | None,
               observed: float) -> Event:
        source = parse_time(fields.get('updated_at')) or 0.0
        return Event(datasource=self.name, entity_type=ENTITY_TYPE,
                     entity_id=fields['widget_id'], fields=fields, action=action,
                     event_type=event_type, version=Version(source, observed))


def _valid_id(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and 0 < len(value) <= _MAX_ID


def _fields(item: Any) -> dict[str, Any] | None:
    """The event fields of a widget, or ``None`` when it is malformed."""
    if not isinstance(item, Mapping) or not _valid_id(item.get('id')):
        return None
    name, status, updated = item.get('name'), item.get('status'), item.get('updated_at')
    if not isinstance(name, str) or not isinstance(status, str):
        return None
    if updated is not None and not isinstance(updated, str):
        return None
    return {'widget_id': item['id'], 'name': name, 'status': status, 'updated_at': updated}

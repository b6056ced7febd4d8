"""The example notifier: deduced alarms become notes in the example service.

For ``vitrage.deduced_alarm.activate`` and ``.deactivate`` it stores
``PUT /notes/VITRAGE_ID`` (idempotent, so a redelivered message is harmless);
every other message is ignored.
"""

from __future__ import annotations

import logging
import urllib.parse

from vitrage_ds import APIError, BackendError, Message, NotifierPlugin, Outcome
from vitrage_ds.http import Client

__all__ = ['ExampleNotifier']

LOG = logging.getLogger(__name__)

_HANDLED = ('vitrage.deduced_alarm.activate', 'vitrage.deduced_alarm.deactivate')
_MAX_ID = 255


class ExampleNotifier(NotifierPlugin):
    """Stores one note per deduced alarm."""

    name = 'example'
    service_type = 'example'

    _client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = self.context.client('example')
        return self._client

    def notify(self, msg: Message) -> Outcome:
        if msg.event_type not in _HANDLED:
            return Outcome.DONE
        payload = msg.payload
        vitrage_id = payload.get('vitrage_id') if isinstance(payload, dict) else None
        if not isinstance(vitrage_id, str) or not 0 < len(vitrage_id) <= _MAX_ID:
            LOG.warning('%s rejected: no valid vitrage_id', msg.event_type)
            return Outcome.REJECT
        name = payload.get('name')
        if name is not None and not isinstance(name, str):
            LOG.warning('%s rejected: name is not a string', msg.event_type)
            return Outcome.REJECT
        note = {'event_type': msg.event_type, 'name': name,
                'active': msg.event_type.endswith('.activate')}
        try:
            self.client.put(f'notes/{urllib.parse.quote(vitrage_id, safe="")}', json=note)
        except APIError as exc:
            if exc.transient:
                LOG.warning('note %s not stored, will retry: %s', vitrage_id, exc)
                return Outcome.RETRY
            LOG.error('note %s refused: %s', vitrage_id, exc)
            return Outcome.REJECT
        except BackendError as exc:
            LOG.warning('note %s not stored, will retry: %s', vitrage_id, exc)
            return Outcome.RETRY
        return Outcome.DONE

"""Aodh's notifications from the emulated cloud, over real RabbitMQ, into the driver.

A small stand-in for the collector keeps the fields of the last event per
alarm and offers them to the driver as its ``lookup``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import fixtures
import testtools

from vitrage_ds.bus import Listener, Notification, get_transport
from vitrage_ds.config import new_config
from vitrage_ds.drivers.aodh import AodhDriver
from vitrage_ds.event import Event
from vitrage_ds.notifier import Outcome
from vitrage_ds_testing import load_plugin
from tests.kit import RabbitVhost
from vitrage_ds_testing.cloud import EmulatedCloud, sample_rule

#: Deadline for a notification to make its way; never a measured time.
DEADLINE = 20.0


class _Collector:
    """Feeds every notification to the driver and keeps what it emits."""

    def __init__(self, driver: AodhDriver) -> None:
        self.driver = driver
        self.known: dict[str, Mapping[str, Any]] = {}
        self.events: list[Event] = []
        self._cond = threading.Condition()

    def lookup(self, entity_type: str, entity_id: str) -> Mapping[str, Any] | None:
        with self._cond:
            return self.known.get(entity_id)

    def __call__(self, note: Notification) -> Outcome:
        events = self.driver.notifications(note.event_type, note.payload,
                                                 note.metadata, self.lookup)
        with self._cond:
            for event in events:
                if event.deleted:
                    self.known.pop(event.entity_id, None)
                else:
                    self.known[event.entity_id] = event.fields
                self.events.append(event)
            self._cond.notify_all()
        return Outcome.DONE

    def wait_for(self, match: Callable[[Event], bool], what: str) -> Event:
        deadline = time.monotonic() + DEADLINE
        with self._cond:
            while True:
                for event in self.events:
                    if match(event):
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f'no event {what}; got '
                                         f'{[(e.event_type, e.entity_id) for e in self.events]}')
                self._cond.wait(min(left, 0.2))


class TestNotificationsOverRabbitMQ(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        vhost = self.useFixture(RabbitVhost())
        self.cloud = self.useFixture(EmulatedCloud(seed=9))
        transport = get_transport(new_config(), url=vhost.transport_url)
        self.addCleanup(transport.cleanup)
        self.driver = load_plugin('driver', 'aodh',
                                  conf=self.cloud.make_conf('password', http={'retries': 0}))
        self.addCleanup(self.driver.close)
        self.collector = _Collector(self.driver)
        listener = Listener(transport, [('aodh', 'notifications')], self.collector,
                            pool=f'aodh-driver-{uuid.uuid4().hex[:8]}')
        listener.start()
        self.addCleanup(listener.stop, 10.0)
        self.cloud.connect_bus(transport)
        self.store = self.cloud.aodh

    def event(self, event_type: str, alarm_id: str) -> Event:
        return self.collector.wait_for(
            lambda e: e.event_type == event_type and e.entity_id == alarm_id,
            f'{event_type} for {alarm_id}')

    def polled(self, alarm_id: str) -> Mapping[str, Any]:
        return next(e.fields for e in self.driver.get_all() if e.entity_id == alarm_id)

    def assert_as_polled(self, alarm_id: str, event: Event) -> None:
        """The event's fields are what a poll gives, times aside.

        The emulator stamps a notification a few microseconds after the time
        it stores (real Aodh uses one ``now`` for both: the integration
        tests compare the times too).
        """
        times = ('timestamp', 'state_timestamp')
        polled = {k: v for k, v in self.polled(alarm_id).items() if k not in times}
        self.assertEqual(polled, {k: v for k, v in event.fields.items() if k not in times})

    def create(self, alarm_type: str = 'event', **fields: Any) -> str:
        alarm_id = str(self.store.create_alarm(f'{alarm_type}-x', alarm_type, **fields)['alarm_id'])
        self.event('alarm.creation', alarm_id)
        return alarm_id

    def test_creation_of_every_type_gives_what_the_poll_gives(self) -> None:
        for alarm_type in ('event', 'prometheus', 'composite', 'loadbalancer_member_health',
                           'gnocchi_resources_threshold'):
            alarm_id = self.create(alarm_type)
            event = self.event('alarm.creation', alarm_id)
            self.assertEqual(dict(self.polled(alarm_id)), dict(event.fields), alarm_type)
            self.assertEqual(1, len([e for e in self.collector.events
                                     if e.entity_id == alarm_id]))

    def test_api_state_transition_gives_what_the_poll_gives(self) -> None:
        alarm_id = self.create()
        self.store.set_state(alarm_id, 'alarm', source='api')
        event = self.event('alarm.state_transition', alarm_id)
        self.assertEqual('alarm', event.fields['state'])
        self.assert_as_polled(alarm_id, event)

    def test_evaluator_state_transition_with_a_string_detail(self) -> None:
        alarm_id = self.create()
        self.store.set_state(alarm_id, 'alarm', 'threshold crossed', source='evaluator')
        event = self.event('alarm.state_transition', alarm_id)
        self.assertEqual(('alarm', 'threshold crossed'),
                         (event.fields['state'], event.fields['state_reason']))
        self.assert_as_polled(alarm_id, event)

    def test_rule_change_moves_the_resource(self) -> None:
        alarm_id = self.create()
        self.store.update_alarm(alarm_id, event_rule=sample_rule('event', 'server-2'),
                                severity='critical')
        event = self.event('alarm.rule_change', alarm_id)
        self.assertEqual(('server-2', 'critical'),
                         (event.fields['resource_id'], event.fields['severity']))
        self.assert_as_polled(alarm_id, event)

    def test_rule_change_of_an_unknown_alarm_fetches_it_once(self) -> None:
        alarm_id = str(self.store.create_alarm('quiet', 'prometheus', notify=False)['alarm_id'])
        self.cloud.requests.clear()
        self.store.update_alarm(alarm_id, name='renamed')
        event = self.event('alarm.rule_change', alarm_id)
        self.assertEqual('renamed', event.fields['name'])
        self.assertEqual([('GET', f'/v2/alarms/{alarm_id}')],
                         self.cloud.requests.calls('alarming'))

    def test_deletion_gives_delete_entity_with_the_known_fields(self) -> None:
        alarm_id = self.create('loadbalancer_member_health')
        self.store.delete_alarm(alarm_id)
        event = self.event('delete_entity', alarm_id)
        self.assertTrue(event.deleted)
        self.assertEqual('loadbalancer_member_health', event.fields['type'])
        self.assertNotIn(alarm_id, self.collector.known)

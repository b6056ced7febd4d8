"""The third-party example plugins pass the public contract suites."""

from __future__ import annotations

import logging

import fixtures
import testtools
from vitrage_ds_example.server import WidgetServer

from vitrage_ds.notifier import Message
from vitrage_ds_testing import DriverContractTests, NotifierContractTests, load_plugin

WIDGETS = [{'id': f'w{i}', 'name': f'widget {i}', 'status': 'OK',
            'updated_at': f'2024-05-01T12:00:0{i}Z'} for i in range(5)]


class _WidgetBackend(testtools.TestCase):
    def setUp(self) -> None:
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.server = WidgetServer(WIDGETS)
        self.addCleanup(self.server.stop)

    def break_backend(self, mode: str) -> None:
        self.server.break_(mode)


class TestExampleDriverContract(DriverContractTests, _WidgetBackend):
    backend_failure_modes = ('down', 'fail_on_page', 'malformed', 'error')
    min_snapshot_size = len(WIDGETS)
    sample_notifications = [
        ('widget.create', {'id': 'w9', 'name': 'new', 'status': 'BUILD',
                           'updated_at': None}),
        ('widget.update', {'id': 'w1', 'name': 'one', 'status': 'ERROR',
                           'updated_at': '2024-05-01T13:00:00Z'},
         {'timestamp': '2024-05-01 13:00:01.000000', 'message_id': 'm-2'}),
        ('widget.update', {'id': 'w2', 'status': 'OK'}),
        ('widget.delete', {'id': 'w3'}),
    ]

    def make_plugin(self):
        return load_plugin('driver', 'example', options={
            'endpoint_override': self.server.url, 'page_size': 2})


class TestExampleNotifierContract(NotifierContractTests, _WidgetBackend):
    sample_messages = [
        Message('vitrage.deduced_alarm.activate',
                {'name': 'cpu high', 'severity': 'WARNING',
                 'affected_resource_id': 'w1', 'vitrage_id': 'v-1'}),
        Message('vitrage.deduced_alarm.deactivate',
                {'id': 'a-1', 'vitrage_id': 'v-1', 'name': 'cpu high',
                 'affected_resource_id': 'w1'}),
    ]

    def make_plugin(self):
        return load_plugin('notifier', 'example', options={
            'endpoint_override': self.server.url})


class TestExampleDriverCompletesThinNotifications(_WidgetBackend):
    """Beyond the contract: what the example promises about thin payloads."""

    def driver(self):
        return load_plugin('driver', 'example', options={'endpoint_override': self.server.url})

    def test_from_the_collector_lookup_without_an_api_call(self) -> None:
        known = {('example.widget', 'w1'): {'name': 'known', 'status': 'OK'}}
        events = self.driver().notifications(
            'widget.update', {'id': 'w1', 'status': 'ERROR'}, {},
            lambda entity_type, entity_id: known.get((entity_type, entity_id)))
        self.assertEqual([{'widget_id': 'w1', 'name': 'known', 'status': 'ERROR',
                           'updated_at': None}], [dict(e.fields) for e in events])
        self.assertEqual([], self.server.requests)

    def test_from_the_api_when_the_lookup_knows_nothing(self) -> None:
        events = self.driver().notifications(
            'widget.update', {'id': 'w1', 'status': 'ERROR'}, {})
        self.assertEqual([{'widget_id': 'w1', 'name': 'widget 1', 'status': 'ERROR',
                           'updated_at': '2024-05-01T12:00:01Z'}],
                         [dict(e.fields) for e in events])
        self.assertEqual([('GET', '/widgets/w1')], self.server.requests)

"""Third-party plugins that hang, raise or return garbage stall nothing.

The plugins are installed for the test only
(:class:`~vitrage_ds_testing.TemporaryDistribution`) and loaded through the
registry like any other, next to the built-in Aodh driver and notifier on
the emulated cloud. Each bad plugin is reported in the log and in the
collector's poll states; the Aodh plugin keeps working, and a garbled
snapshot deletes nothing.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any

import fixtures
import testtools

from tests.reliability import figures
from tests.kit import FakeBus
from vitrage_ds import registry
from vitrage_ds.bus import Notification
from vitrage_ds.collector import Collector
from vitrage_ds.deduced import ACTIVATE
from vitrage_ds.notifier import Outcome
from vitrage_ds.notifier_service.service import NotifierService
from vitrage_ds_testing import EmulatedCloud, RecordingSink, TemporaryDistribution

DEADLINE = 60.0

PLUGINS = '''
import threading

from vitrage_ds.driver import Driver, no_lookup
from vitrage_ds.event import Action, Event, Version
from vitrage_ds.notifier import NotifierPlugin

#: Set by the test at clean-up: lets hung calls return.
RELEASE = threading.Event()
#: How many snapshots the garbage driver returned intact before garbling.
INTACT = 1


def _thing(name):
    return Event(datasource=name, entity_type='bad.thing', entity_id='t-1',
                 fields={'id': 't-1'}, action=Action.SNAPSHOT, version=Version(1.0))


class HangingDriver(Driver):
    name = 'hanging'
    event_types = ('alarm.*',)

    def get_all(self):
        RELEASE.wait()
        return []

    def notifications(self, event_type, payload, metadata, lookup=no_lookup):
        RELEASE.wait()
        return []


class RaisingDriver(Driver):
    name = 'raising'
    event_types = ('alarm.*',)

    def get_all(self):
        raise RuntimeError('the raising driver always fails')

    def notifications(self, event_type, payload, metadata, lookup=no_lookup):
        raise RuntimeError('the raising driver always fails')


class GarbageDriver(Driver):
    name = 'garbage'
    event_types = ('alarm.*',)
    polls = 0

    def get_all(self):
        GarbageDriver.polls += 1
        if GarbageDriver.polls <= INTACT:
            return [_thing(self.name)]
        return ['garbage', 42] if GarbageDriver.polls % 2 else 'nonsense'

    def notifications(self, event_type, payload, metadata, lookup=no_lookup):
        return 42


class HangingNotifier(NotifierPlugin):
    name = 'hanging'

    def notify(self, msg):
        RELEASE.wait()


class RaisingNotifier(NotifierPlugin):
    name = 'raising'

    def notify(self, msg):
        raise RuntimeError('the raising notifier always fails')


class GarbageNotifier(NotifierPlugin):
    name = 'garbage'

    def notify(self, msg):
        return 'yes, sure'
'''

BAD = ('hanging', 'raising', 'garbage')


class _BadPlugins(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.useFixture(TemporaryDistribution(
            {registry.DRIVERS: {n: f'vds_bad_plugins:{n.title()}Driver' for n in BAD},
             registry.NOTIFIERS: {n: f'vds_bad_plugins:{n.title()}Notifier' for n in BAD}},
            modules={'vds_bad_plugins': PLUGINS}, name='vds_bad_plugins'))
        module = __import__('vds_bad_plugins')
        self.addCleanup(module.RELEASE.set)
        self.addCleanup(sys.modules.pop, 'vds_bad_plugins', None)
        self.cloud = self.useFixture(EmulatedCloud(seed=41))
        self.cloud.populate(alarms=3)
        self.logs = self.useFixture(fixtures.FakeLogger(
            level=logging.INFO, format='%(levelname)s %(name)s %(message)s'))

    def lines(self, *words: str) -> list[str]:
        return [line for line in self.logs.output.splitlines()
                if line.startswith(('WARNING', 'ERROR')) and all(w in line for w in words)]


class TestBadDrivers(_BadPlugins):

    def make_collector(self) -> tuple[Collector, RecordingSink]:
        conf = self.cloud.make_conf('none', collector={
            'listen': False, 'mode': 'diff', 'poll_timeout': 1.0,
            'notification_timeout': 1.0, 'retry_backoff': 0.2, 'retry_backoff_max': 0.2})
        loaded = registry.load_drivers(conf, ['hanging', 'aodh', 'raising', 'garbage'])
        self.assertEqual({}, loaded.failures)
        for name in loaded.plugins:
            conf.set_override('poll_interval', 1.0, f'driver.{name}')
        sink = RecordingSink()
        collector = Collector(conf, sink, drivers=loaded.plugins)
        self.addCleanup(collector.stop, 5.0)
        return collector, sink

    def test_bad_drivers_are_reported_and_aodh_keeps_polling(self) -> None:
        collector, sink = self.make_collector()
        collector.start()
        deadline = time.monotonic() + DEADLINE
        while True:
            states = collector.poll_states
            if (states['aodh'].runs >= 3 and states['garbage'].failures >= 2
                    and all(states[n].failures for n in BAD)):
                break
            self.assertLess(time.monotonic(), deadline, f'polls did not go on: {states}')
            time.sleep(0.1)
        figures.add(faults_tried=3)

        # The first failure of each is a warning naming the driver and why.
        self.assertTrue(self.lines('poll hanging failed', 'did not return within 1.0 s'),
                        self.logs.output[-3000:])
        self.assertTrue(self.lines('poll raising failed', 'RuntimeError'))
        self.assertTrue(self.lines('poll garbage failed', 'not a list of events')
                        or self.lines('poll garbage failed', 'not events'))
        # A hung poll is not started again while it has not returned.
        self.assertIn('still have not returned', states['hanging'].last_error or '')
        deletions = [e for e in sink.events if e.deleted]
        figures.add(false_deletions=len(deletions))
        self.assertEqual([], deletions, 'a garbled snapshot deleted entities')
        self.assertEqual(3, len({e.entity_id for e in sink.events if e.datasource == 'aodh'}))

    def test_bad_drivers_do_not_hold_up_a_notification(self) -> None:
        collector, sink = self.make_collector()
        alarm = self.cloud.aodh.create_alarm('notified', 'event')
        note = self.cloud.notifications.of('alarming', 'alarm.creation')[-1]
        began = time.monotonic()
        outcome = collector.handle(note.event_type, note.payload,
                                   {'message_id': 'm-1', 'timestamp': '2024-05-01 12:00:00'})
        figures.add(faults_tried=3)
        self.assertEqual(Outcome.DONE, outcome)
        self.assertLess(time.monotonic() - began, DEADLINE)
        self.assertEqual([alarm['alarm_id']], [e.entity_id for e in sink.events])
        self.assertTrue(self.lines('driver hanging', 'did not return within 1.0 s'))
        self.assertTrue(self.lines('driver raising raised'))
        self.assertTrue(self.lines('driver garbage returned a int'))


class TestBadNotifiers(_BadPlugins):

    def test_bad_notifiers_are_reported_and_aodh_still_acts(self) -> None:
        conf = self.cloud.make_conf('none', **{'notifier.aodh': {'verify_delay': 0.0}})
        loaded = registry.load_notifiers(conf, ['hanging', 'raising', 'garbage', 'aodh'])
        self.assertEqual({}, loaded.failures)
        self.addCleanup(loaded.plugins['aodh'].close)
        transport = self.useFixture(FakeBus()).transport
        service = NotifierService(loaded.plugins, transport, plugin_timeout=1.0)
        outcomes = [service.handle(_activate(n)) for n in range(3)]
        figures.add(faults_tried=3)
        # A hung plugin is a transient failure (requeued after a backoff, so
        # nothing loops hot); the raising and garbage ones reject.
        self.assertEqual([Outcome.RETRY] * 3, outcomes)
        self.assertEqual(3, len(self.cloud.aodh.ordered()) - 3)
        self.assertTrue(self.lines('notifier plugin hanging', 'did not return within 1.0 s'))
        self.assertTrue(self.lines('notifier plugin raising raised'))
        self.assertTrue(self.lines('notifier plugin garbage returned', 'not an Outcome'))

    def test_a_stuck_plugin_is_skipped_at_once(self) -> None:
        conf = self.cloud.make_conf('none', **{'notifier.aodh': {'verify_delay': 0.0}})
        loaded = registry.load_notifiers(conf, ['hanging', 'aodh'])
        self.addCleanup(loaded.plugins['aodh'].close)
        transport = self.useFixture(FakeBus()).transport
        service = NotifierService(loaded.plugins, transport, plugin_timeout=0.2)
        guard = service._guards['hanging']
        self.useFixture(fixtures.MockPatchObject(guard, 'workers', 2))
        threads = [threading.Thread(target=service.handle, args=(_activate(n),))
                   for n in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(DEADLINE)
        self.assertEqual(2, guard.stuck)
        self.assertEqual(Outcome.RETRY, service.handle(_activate(9)))
        self.assertTrue(self.lines('notifier plugin hanging', 'not called'))
        self.assertEqual(3, len(self.cloud.aodh.ordered()) - 3)


def _activate(n: int) -> Notification:
    payload: dict[str, Any] = {'vitrage_id': f'v-{n}', 'name': 'deduced', 'severity': 'critical',
                               'affected_resource_id': f'host-{n}',
                               'timestamp': '2024-05-01T12:00:00Z'}
    return Notification(ACTIVATE, payload, {'message_id': f'm-{n}'}, 'info', 'vitrage.graph')

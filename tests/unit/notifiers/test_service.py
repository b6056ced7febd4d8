"""The notifier service: every plugin sees every message; the outcome waits for all."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

import fixtures
import testtools

from tests.kit import FakeBus
from vitrage_ds.bus import Notification, get_transport
from vitrage_ds.config import new_config
from vitrage_ds.notifier import Message, NotifierPlugin, Outcome
from vitrage_ds.notifier_service import DeducedAlarmPublisher, NotifierService
from vitrage_ds.plugin import PluginContext

DEADLINE = 15.0


class Scripted(NotifierPlugin):
    """Records what it is given and answers what ``decide`` says."""

    def __init__(self, name: str, decide: Callable[[Message], Any] = lambda m: Outcome.DONE
                 ) -> None:
        super().__init__(PluginContext(new_config(), 'notifier', name))
        self.seen: list[Message] = []
        self._decide = decide
        self.event = threading.Event()

    def notify(self, msg: Message) -> Outcome:
        self.seen.append(msg)
        self.event.set()
        return self._decide(msg)


def explode(msg: Message) -> Outcome:
    raise RuntimeError('plugin bug')


def note(message_id: str = 'm-1', event_type: str = 'vitrage.deduced_alarm.activate'
         ) -> Notification:
    return Notification(event_type=event_type, payload={'vitrage_id': 'v-1'},
                        metadata={'message_id': message_id,
                                  'timestamp': '2024-05-01 12:00:00.000000'},
                        priority='info', publisher_id='vitrage.graph')


class HandleTest(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.INFO))
        self.transport = self.useFixture(FakeBus()).transport

    def service(self, *plugins: Scripted) -> NotifierService:
        return NotifierService({p.context.name: p for p in plugins}, self.transport,
                               topic=f't-{uuid.uuid4().hex[:8]}', exchange='vitrage')

    def test_every_plugin_gets_the_message_as_delivered(self) -> None:
        one, two = Scripted('one'), Scripted('two')

        self.assertEqual(Outcome.DONE, self.service(one, two).handle(note()))

        expected = Message('vitrage.deduced_alarm.activate', {'vitrage_id': 'v-1'},
                           {'message_id': 'm-1', 'timestamp': '2024-05-01 12:00:00.000000'})
        self.assertEqual([expected], one.seen)
        self.assertEqual([expected], two.seen)

    def test_a_plugin_that_raises_is_logged_and_the_others_still_run(self) -> None:
        broken, aodh = Scripted('broken', explode), Scripted('aodh')

        outcome = self.service(broken, aodh).handle(note())

        self.assertEqual(Outcome.REJECT, outcome)
        self.assertEqual(1, len(aodh.seen))
        self.assertIn('notifier plugin broken raised on vitrage.deduced_alarm.activate m-1',
                      self.logs.output)
        self.assertIn('RuntimeError: plugin bug', self.logs.output)

    def test_a_retry_from_any_plugin_requeues_the_message(self) -> None:
        self.assertEqual(Outcome.RETRY, self.service(
            Scripted('one'), Scripted('two', lambda m: Outcome.RETRY),
            Scripted('three', lambda m: Outcome.REJECT)).handle(note()))

    def test_a_redelivery_only_calls_the_plugins_that_asked_for_it(self) -> None:
        answers = iter([Outcome.RETRY, Outcome.DONE])
        done, flaky = Scripted('done'), Scripted('flaky', lambda m: next(answers))
        service = self.service(done, flaky)

        self.assertEqual(Outcome.RETRY, service.handle(note()))
        self.assertEqual(Outcome.DONE, service.handle(note()))

        self.assertEqual((1, 2), (len(done.seen), len(flaky.seen)))

    def test_a_new_message_calls_every_plugin_again(self) -> None:
        done = Scripted('done')
        service = self.service(done, Scripted('flaky', lambda m: Outcome.RETRY))
        service.handle(note('m-1'))
        service.handle(note('m-2'))

        self.assertEqual(2, len(done.seen))

    def test_a_rejection_is_logged_with_the_plugin(self) -> None:
        outcome = self.service(Scripted('picky', lambda m: Outcome.REJECT)).handle(note())

        self.assertEqual(Outcome.REJECT, outcome)
        self.assertIn('vitrage.deduced_alarm.activate m-1: rejected by picky',
                      self.logs.output)

    def test_an_answer_that_is_not_an_outcome_counts_as_a_rejection(self) -> None:
        outcome = self.service(Scripted('odd', lambda m: 'yes')).handle(note())

        self.assertEqual(Outcome.REJECT, outcome)
        self.assertIn("notifier plugin odd returned 'yes', not an Outcome", self.logs.output)

    def test_a_plugin_that_times_out_is_a_transient_failure(self) -> None:
        release = threading.Event()
        self.addCleanup(release.set)
        slow = Scripted('slow', lambda m: release.wait(DEADLINE) and Outcome.DONE)
        service = NotifierService({'slow': slow}, self.transport, topic='t-slow',
                                  exchange='vitrage', plugin_timeout=0.05)

        self.assertEqual(Outcome.RETRY, service.handle(note()))
        self.assertIn('will retry it', self.logs.output)

    def test_a_message_id_that_cannot_key_the_bookkeeping_raises_nothing(self) -> None:
        answers = iter([Outcome.RETRY, Outcome.DONE])
        flaky = Scripted('flaky', lambda m: next(answers))
        service = self.service(flaky)
        unhashable = Notification(event_type='vitrage.deduced_alarm.activate', payload={},
                                  metadata={'message_id': ['m', 1]}, priority='info',
                                  publisher_id='vitrage.graph')

        self.assertEqual(Outcome.RETRY, service.handle(unhashable))
        self.assertEqual(Outcome.DONE, service.handle(unhashable))

    def test_the_logged_ids_cannot_forge_a_line(self) -> None:
        self.service(Scripted('picky', lambda m: Outcome.REJECT)).handle(
            note('m-1\nCRITICAL forged', event_type='vitrage.x\nCRITICAL forged'))

        self.assertNotIn('\nCRITICAL forged', self.logs.output)
        self.assertIn('CRITICAL forged', self.logs.output)

    def test_event_types_no_plugin_cares_about_are_acknowledged_without_a_warning(
            self) -> None:
        self.logs = self.useFixture(fixtures.FakeLogger(level=logging.WARNING))
        service = self.service(Scripted('aodh'))
        for event_type in ('vitrage.alarm.activate', 'vitrage.alarm.deactivate',
                           'vitrage.mark_down.set', 'something.else'):
            self.assertEqual(Outcome.DONE, service.handle(note(event_type=event_type)))
        self.assertEqual('', self.logs.output)


class OverTheBusTest(testtools.TestCase):
    """Publisher to service on the in-process fake:// transport."""

    def test_a_published_activate_reaches_every_plugin(self) -> None:
        conf = new_config()
        transport = get_transport(conf, 'fake://')
        self.addCleanup(transport.cleanup)
        topic = f't-{uuid.uuid4().hex[:8]}'
        plugin = Scripted('recorder')
        service = NotifierService({'recorder': plugin}, transport, topic=topic,
                                  exchange='vitrage')
        service.start()
        self.addCleanup(service.stop, DEADLINE)
        publisher = DeducedAlarmPublisher(transport, topic=topic, exchange='vitrage')

        sent = publisher.activate(vitrage_id='v-1', name='cpu', severity='WARNING',
                                  affected_resource_id='h-1')

        self.assertTrue(plugin.event.wait(DEADLINE))
        self.assertEqual('vitrage.deduced_alarm.activate', plugin.seen[0].event_type)
        self.assertEqual(sent.to_payload(), plugin.seen[0].payload)
        self.assertTrue(service.stop(DEADLINE))
        self.assertEqual(1, service.listener.handled)

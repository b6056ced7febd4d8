"""A deduced-alarm message from the future changes nothing.

A real ``vitrage-ds notifier`` process on a private RabbitMQ vhost, with
the emulated Aodh (:class:`~tests.functional.notifier.base.NotifierProcessTestCase`).
A message dated beyond the notifier host's clock plus ``[notifier.aodh]
max_clock_skew`` is rejected with one log line: applied, it would have
made every genuine message about its deduced alarm until that date look
older, and so change nothing. A time near year 9999 is refused as invalid
before anything is computed from it.
"""

from __future__ import annotations

from tests.functional.notifier.base import DEADLINE, NotifierProcessTestCase, counters
from tests.reliability import figures
from vitrage_ds.bus import Publisher, get_transport
from vitrage_ds.config import new_config
from vitrage_ds.deduced import ACTIVATE
from vitrage_ds.notifier_service import DeducedAlarmPublisher
from vitrage_ds_testing import wait_until

COMMON = {'vitrage_id': 'v-future', 'name': 'cpu high', 'affected_resource_id': 'host-1'}


class TestFutureDatedDeducedAlarms(NotifierProcessTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.notifier = self.start_notifier()
        transport = get_transport(new_config(), self.rabbit.transport_url)
        self.addCleanup(transport.cleanup)
        self.publisher = DeducedAlarmPublisher(transport, topic=self.topic,
                                               exchange=self.exchange)
        # A sender that validates nothing, as a forger or a broken graph host.
        self.raw = Publisher(transport, topic=self.topic, exchange=self.exchange)
        self.addCleanup(self.raw.close)

    def states(self) -> list[str]:
        return [a['state'] for a in self.mirrors().get(COMMON['vitrage_id'], [])]

    def wait_for_state(self, state: str) -> None:
        wait_until(lambda: self.states() == [state], f'one alarm in state {state}',
                   timeout=DEADLINE)

    def test_an_activate_dated_9000_does_not_silence_a_later_deactivate(self) -> None:
        self.publisher.activate(severity='CRITICAL', **COMMON)
        self.wait_for_state('alarm')

        self.publisher.activate(severity='CRITICAL', timestamp='9000-01-01T00:00:00Z',
                                **COMMON)
        self.publisher.deactivate(**COMMON)  # genuine: dated now
        figures.add(future_dated_messages=1, messages_sent=3)

        self.wait_for_state('ok')
        wait_until(lambda: self.queue_depth() == 0, 'every message handled',
                   timeout=DEADLINE)
        self.assertEqual(0, self.notifier.terminate())
        _handled, _requeued, rejected = counters(self.notifier)
        self.assertEqual(1, rejected)
        self.assertIn('more than max_clock_skew (300 s) ahead', self.notifier.output())
        figures.add(messages_processed=3)

    def test_a_time_near_year_9999_is_refused_and_the_next_message_applies(self) -> None:
        payloads = [{**COMMON, 'severity': 'CRITICAL',
                     'timestamp': '9999-12-31T23:59:59.999999Z'},
                    {**COMMON, 'severity': 'CRITICAL',
                     'update_timestamp': '9999-12-31T23:59:59Z'}]
        for payload in payloads:
            self.raw.publish(ACTIVATE, payload, 'info')
        self.publisher.activate(severity='CRITICAL', **COMMON)
        figures.add(future_dated_messages=len(payloads), messages_sent=len(payloads) + 1)

        self.wait_for_state('alarm')
        wait_until(lambda: self.queue_depth() == 0, 'every message handled',
                   timeout=DEADLINE)
        self.assertEqual(0, self.notifier.terminate())
        self.assertEqual((1, 0, 2), counters(self.notifier))
        output = self.notifier.output()
        self.assertIn("invalid 'timestamp'", output)
        self.assertIn("invalid 'update_timestamp'", output)
        self.assertNotIn('Traceback', output)
        figures.add(messages_processed=len(payloads) + 1)

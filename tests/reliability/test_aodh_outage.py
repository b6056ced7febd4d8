"""An Aodh outage far longer than the old retry budget loses no deduced alarm.

With three bounded retries, a message whose Aodh call kept failing was
acknowledged after about 20 s and its alarm never made; a plugin timeout
counted as a rejection. Now a transient failure (503, a call hanging past
``[service_credentials] timeout``, the plugin timing out) requeues the message after a
capped backoff for as long as it lasts, across a restart of the notifier.

The outage here lasts :data:`OUTAGE` seconds -- 503 answers, a restart of
``vitrage-ds notifier`` in the middle, then requests that hang -- about ten
times the retry budget of the old defaults with this test's backoff
(0.5 + 1 + 2 s). Afterwards every deduced alarm has exactly one Aodh alarm
in the state of its newest message, the queue is empty, nothing was given
up, and the retries stayed within what the backoff allows (no hot loop).
"""

from __future__ import annotations

import time

from testtools import content

from tests.reliability import figures
from tests.reliability.rawbus import DEADLINE, ServicesOnRabbit
from vitrage_ds.notifier_service import DeducedAlarmPublisher
from vitrage_ds_testing import wait_until

#: Seconds Aodh is away in all.
OUTAGE = 36.0
#: ``[notifier] retry_backoff_max`` in :class:`ServicesOnRabbit`'s configuration.
BACKOFF_MAX = 2.0


class TestAodhOutage(ServicesOnRabbit):

    def extra_config(self) -> list[str]:
        # Few handler threads and a small prefetch: the waiting messages are
        # bounded and hold them all for most of the outage.
        return ['[DEFAULT]', 'executor_thread_pool_size = 8',
                '[oslo_messaging_rabbit]', 'rabbit_qos_prefetch_count = 8',
                '[service_credentials]', 'timeout = 2',
                '[http]', 'retries = 1', 'retry_backoff = 0.2',
                '[notifier]', 'plugin_timeout = 3']

    def setUp(self) -> None:
        super().setUp()
        self.publisher = DeducedAlarmPublisher(self.transport, topic=self.topic,
                                               exchange='vitrage')
        #: The state each deduced alarm's newest message asks for.
        self.newest: dict[str, str] = {}

    def send(self, state: str, n: int) -> None:
        common = {'vitrage_id': f'v-{n:02}', 'name': 'deduced',
                  'affected_resource_id': f'host-{n}'}
        if state == 'alarm':
            self.publisher.activate(severity='CRITICAL', **common)
        else:
            self.publisher.deactivate(**common)
        self.newest[common['vitrage_id']] = state

    def mirrored(self) -> dict[str, list[str]]:
        """Each deduced alarm's Aodh alarms, by state."""
        return {vid: [a['state'] for a in alarms]
                for vid, alarms in self.cloud.aodh.by_vitrage_id().items()}

    def converged(self) -> bool:
        want = {vid: [state] for vid, state in self.newest.items()}
        return self.mirrored() == want and self.depths().get(f'{self.topic}.info') == 0

    def test_every_alarm_converges_after_a_long_outage_and_a_restart(self) -> None:
        first = self.start('notifier')
        for n in range(10):
            self.send('alarm', n)
        wait_until(self.converged, 'the alarms made before the outage', DEADLINE)

        began = time.monotonic()
        down = self.cloud.fail('aodh.*', 503)
        for n in range(5):
            self.send('ok', n)
        for n in range(10, 30):
            self.send('alarm', n)
        for n in range(10, 15):
            self.send('ok', n)
        waiting = len(self.newest) - 5  # v-05..v-09 need nothing more
        wait_until(lambda: down.fired >= 20, 'the notifier meeting the outage', DEADLINE)

        self.assertEqual(0, first.terminate())
        fired_at_restart = down.fired
        second = self.start('notifier')
        wait_until(lambda: down.fired >= fired_at_restart + 20,
                   'the restarted notifier meeting the outage', DEADLINE)

        # Now Aodh hangs: calls time out ([service_credentials] timeout) and so does the plugin.
        hang = self.cloud.hang('aodh.*', seconds=6.0)
        self.cloud.faults.remove(down)
        wait_until(lambda: hang.fired >= 10 and time.monotonic() - began >= OUTAGE,
                   'the rest of the outage', OUTAGE + DEADLINE)
        self.cloud.clear_faults()
        outage = time.monotonic() - began
        back = time.monotonic()

        wait_until(self.converged, 'every alarm in its newest state, the queue empty',
                   DEADLINE, interval=0.2)
        self.addDetail('seconds to converge once Aodh answered',
                       content.text_content(f'{time.monotonic() - back:.1f}'))
        self.assertEqual(0, second.terminate())
        figures.add(longest_aodh_outage_s=round(outage), messages_sent=len(self.newest) + 20,
                    messages_processed=len(self.newest) + 20, faults_tried=2)

        logs = first.output() + second.output()
        # Nothing given up or rejected: every acknowledgement followed success.
        self.assertEqual([], [line for line in logs.splitlines()
                              if 'giving up' in line or 'acknowledged' in line])
        self.assertIn('did not return within 3.0 s', logs, 'the plugin never timed out')
        duplicates = sum(len(states) - 1 for states in self.mirrored().values())
        figures.add(duplicate_alarms=duplicates, lost=0)
        self.assertEqual(0, duplicates)
        # No hot loop: each waiting message is requeued at most once per
        # backoff (plus the first, shorter waits after each start).
        requeues = logs.count('requeueing vitrage.deduced_alarm.')
        bound = waiting * (2 * 3 + outage / BACKOFF_MAX + 2)
        self.addDetail('requeues', content.text_content(f'{requeues} (bound {bound:.0f})'))
        self.assertLessEqual(requeues, bound)

"""With ``all_projects = false``, other projects' notifications invent no deletion.

A poll then lists the credentials' project only. Heat and Aodh still
notify about every project's stacks and alarms on the shared topic; an
event emitted for one of those would vanish from the next poll's snapshot
and be reported deleted. Here a member of one project runs both drivers in
a diff-mode collector while stacks and alarms come and go in its own
project and in others: its own changes arrive, and no poll deletes
anything that still exists.
"""

from __future__ import annotations

import testtools

from tests.reliability import figures
from vitrage_ds import registry
from vitrage_ds.collector import Collector
from vitrage_ds_testing import EmulatedCloud, RecordingSink

DRIVERS = ('heat.stack', 'aodh')


class TestOwnProjectOnly(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.cloud = self.useFixture(EmulatedCloud(seed=54))
        self.own, self.other = self.cloud.ensure_projects(2)
        self.cloud.populate(stacks=4, resources_per_stack=1, alarms=4,
                            projects=[self.own, self.other])
        conf = self.cloud.make_conf(
            'password', collector={'listen': False, 'mode': 'diff'},
            service_credentials={'username': 'project-0-user', 'password': 'secret',
                                 'project_name': 'project-0'},
            **{f'driver.{name}': {'all_projects': False} for name in DRIVERS})
        drivers = registry.load_drivers(conf, list(DRIVERS)).plugins
        self.sink = RecordingSink()
        self.collector = Collector(conf, self.sink, drivers=drivers)
        self.addCleanup(self.collector.stop, 10.0)

    def poll(self) -> None:
        for name in DRIVERS:
            self.collector.poll(name)

    def deliver_notifications(self, since: int) -> None:
        for n, note in enumerate(self.cloud.notifications.sent[since:]):
            self.collector.handle(note.event_type, note.payload,
                                  {'message_id': f'm-{since + n}',
                                   'timestamp': '2024-05-01 12:00:00'})

    def test_other_projects_notifications_then_a_poll_delete_nothing(self) -> None:
        self.poll()
        polled = {e.entity_id for e in self.sink.events}
        self.assertTrue(polled)
        mark = len(self.cloud.notifications.sent)
        own_alarm = self.cloud.aodh.create_alarm('own', 'event', project_id=self.own)
        own_stack = self.cloud.heat.create_stack('own', project_id=self.own, resources=1)
        for project in (self.other, self.cloud.admin_project_id):
            self.cloud.aodh.create_alarm('foreign', 'event', project_id=project)
            self.cloud.heat.create_stack('foreign', project_id=project, resources=1)
        foreign_notes = len(self.cloud.notifications.sent) - mark
        self.deliver_notifications(mark)
        before_poll = len(self.sink.events)
        self.poll()

        deleted = [e for e in self.sink.events if e.deleted]
        figures.add(faults_tried=foreign_notes, false_deletions=len(deleted))
        self.assertEqual([], [(e.entity_type, e.entity_id) for e in deleted],
                         'a poll deleted what other projects\' notifications created')
        seen = {e.entity_id for e in self.sink.events[:before_poll]}
        self.assertLessEqual({own_alarm['alarm_id'], own_stack.id}, seen,
                             'the own project\'s notifications did not come through')

"""Several ``vitrage-ds collect`` processes sharing the polls through tooz on Redis.

Each test runs real collector processes against the emulated cloud, on a
private RabbitMQ vhost and a private Redis namespace (tooz ``timeout`` of
2 s), every driver polled every :data:`INTERVAL` seconds. Each member sends
a header naming it, so the emulated cloud's request log says which member
made each request and when; each member writes its own ``file:`` sink.

Requests and events are grouped by poll slot (wall-clock slots of the
interval, at the driver's offset: :class:`SlotTiming`), which is what the
design promises about: one member per driver per slot.
"""

from __future__ import annotations

import collections
import datetime
import json
import time
import uuid
from pathlib import Path
from typing import Any

import fixtures
import testtools

from vitrage_ds.bus import get_transport
from vitrage_ds.collector.coordination import SlotTiming, slot_offset
from vitrage_ds.config import new_config
from vitrage_ds_testing import EmulatedCloud, wait_until
from tests.kit import RabbitVhost
from tests.kit.coordination import RedisNamespace
from tests.kit.process import ServiceProcess

#: Bound on anything that should happen; never a measured time.
DEADLINE = 60.0
#: Seconds between two polls of a driver (both drivers).
INTERVAL = 3.0
#: tooz's timeout: a dead member's locks outlive it this long at most.
BACKEND_TIMEOUT = 2
#: The header naming the member that made a request.
MEMBER = 'x-vitrage-ds-member'
#: The list requests of one poll, by driver (notification reads use others).
POLL_ROUTES = {'heat.stack': ('heat.stacks.list', 'heat.resources.list'),
               'aodh': ('aodh.alarms.list',)}


def slots(driver: str) -> SlotTiming:
    return SlotTiming(INTERVAL, slot_offset(driver, INTERVAL), wallclock=time.time)


class CollectorGroup(testtools.TestCase):
    """The emulated cloud, a vhost, a Redis namespace and collector members."""

    def setUp(self) -> None:
        super().setUp()
        self.redis = self.useFixture(RedisNamespace(timeout=BACKEND_TIMEOUT))
        vhost = self.useFixture(RabbitVhost())
        self.url = vhost.transport_url
        self.tmp = Path(self.useFixture(fixtures.TempDir()).path)
        self.cloud = self.useFixture(EmulatedCloud(seed=23, global_index_allowed=True))
        self.cloud.populate(stacks=3, resources_per_stack=1, alarms=3)
        self.transport = get_transport(new_config(), url=self.url)
        self.addCleanup(self.transport.cleanup)
        self.cloud.connect_bus(self.transport)
        self.pool = f'collect-{uuid.uuid4().hex[:8]}'
        self.members: dict[str, ServiceProcess] = {}

    def start_member(self) -> str:
        """Start one more collector; its name (also its request header)."""
        name = f'm{len(self.members) + 1}'
        headers = {**self.cloud.noauth_headers(), MEMBER: name}
        config = self.tmp / f'{name}.conf'
        config.write_text('\n'.join([
            '[DEFAULT]', 'drivers = heat.stack, aodh', f'transport_url = {self.url}',
            '[service_credentials]', 'auth_type = none', 'timeout = 30',
            '[http]', 'retries = 0',
            'headers = ' + ','.join(f'{k}:{v}' for k, v in headers.items()),
            '[coordination]', f'backend_url = {self.redis.url}',
            '[collector]', 'mode = full', f'sinks = file:{self.sink(name)}',
            f'listener_pool = {self.pool}', 'stop_timeout = 10',
            '[driver.heat.stack]', f'endpoint_override = {self.cloud.heat_endpoint()}',
            f'poll_interval = {INTERVAL}',
            '[driver.aodh]', f'endpoint_override = {self.cloud.aodh_endpoint}',
            f'poll_interval = {INTERVAL}', '']))
        log = self.tmp / f'{name}.log'
        process = ServiceProcess(config, ['collect'], log, ready='collector started',
                                 deadline=DEADLINE)
        self.addCleanup(lambda: self.addDetail(log.name, testtools.content.text_content(
            process.output()[-20_000:])))
        self.useFixture(process)
        self.members[name] = process
        return name

    def sink(self, member: str) -> Path:
        return self.tmp / f'{member}.jsonl'

    def events(self, member: str) -> list[dict[str, Any]]:
        path = self.sink(member)
        if not path.exists():
            return []
        with open(path, encoding='utf-8') as f:
            return [json.loads(line) for line in f if line.endswith('\n')]

    def all_events(self) -> list[dict[str, Any]]:
        return [e for name in self.members for e in self.events(name)]

    def polls(self, driver: str) -> dict[int, list[tuple[str, str, tuple[Any, ...]]]]:
        """The poll requests of ``driver`` by slot: (member, path, query) each."""
        timing = slots(driver)
        found: dict[int, list[tuple[str, str, tuple[Any, ...]]]] = collections.defaultdict(list)
        for request in self.cloud.requests.snapshot():
            if request.route in POLL_ROUTES[driver]:
                found[timing.slot(request.at)].append(
                    (request.headers.get(MEMBER, '?'), request.path, request.params))
        return found

    def wait_for_slots(self, driver: str, count: int, after: float) -> None:
        """Wait until ``driver`` was polled in ``count`` slots starting after ``after``."""
        first = slots(driver).slot(after) + 1
        wait_until(lambda: len([s for s in self.polls(driver) if s >= first]) >= count,
                   f'{count} polls of {driver}', DEADLINE)

    def holder(self, driver: str) -> str:
        """The member that made the latest poll of ``driver``."""
        polls = self.polls(driver)
        return polls[max(polls)][-1][0]

    def assert_one_member_per_slot(self, driver: str) -> None:
        for slot, requests in sorted(self.polls(driver).items()):
            members = {member for member, _, _ in requests}
            self.assertEqual(1, len(members), f'{driver} slot {slot}: {requests}')
            calls = [(path, params) for _, path, params in requests]
            self.assertEqual(len(calls), len(set(calls)),
                             f'{driver} slot {slot}: a request repeated: {requests}')


class TestPollsShared(CollectorGroup):
    """Three members: each driver polled once per interval, by one member."""

    def test_each_entity_is_polled_by_exactly_one_member_per_interval(self) -> None:
        started = time.time()
        for _ in range(3):
            self.start_member()
        for driver in POLL_ROUTES:
            self.wait_for_slots(driver, 3, after=started)
        for driver in POLL_ROUTES:
            self.assert_one_member_per_slot(driver)
        paths = [path for requests in self.polls('heat.stack').values()
                 for _, path, _ in requests]
        for stack_id in self.cloud.heat.stacks:
            self.assertTrue(any(stack_id in path for path in paths), stack_id)


class TestFailover(CollectorGroup):
    """The member polling a driver is killed: another takes the driver over."""

    def test_a_killed_holders_work_is_polled_again_within_an_interval_plus_the_timeout(
            self) -> None:
        started = time.time()
        for _ in range(3):
            self.start_member()
        self.wait_for_slots('heat.stack', 2, after=started)
        victim = self.holder('heat.stack')
        self.members[victim].kill()
        killed = time.time()
        timing = slots('heat.stack')
        # The lock outlives the victim by the backend's timeout at most; the
        # first slot whose poll time comes after that is the successor's.
        due = timing.slot(killed + BACKEND_TIMEOUT) + 1
        wait_until(lambda: [s for s, reqs in self.polls('heat.stack').items()
                            if s > timing.slot(killed) and reqs],
                   'a poll after the kill', DEADLINE)
        after = min(s for s in self.polls('heat.stack') if s > timing.slot(killed))
        self.assertLessEqual(after, due)
        successor = {m for m, _, _ in self.polls('heat.stack')[after]}
        self.assertNotIn(victim, successor)
        self.assert_one_member_per_slot('heat.stack')


class TestJoining(CollectorGroup):
    """A member joining a running group."""

    def test_a_fourth_member_causes_no_double_snapshot_in_the_sinks(self) -> None:
        started = time.time()
        for _ in range(3):
            self.start_member()
        self.wait_for_slots('heat.stack', 2, after=started)
        joined = time.time()
        self.start_member()
        for driver in POLL_ROUTES:
            self.wait_for_slots(driver, 3, after=joined)
        timing = {driver: slots(driver) for driver in ('heat.stack', 'aodh')}
        seen: collections.Counter[tuple[str, int]] = collections.Counter()
        for event in self.all_events():
            if event['vitrage_datasource_action'] not in ('snapshot', 'init_snapshot'):
                continue
            driver = 'aodh' if event['vitrage_datasource_name'] == 'aodh' else 'heat.stack'
            sampled = _posix(event['vitrage_sample_date'])
            seen[(event['vitrage_ds_entity_id'], timing[driver].slot(sampled))] += 1
        self.assertTrue(seen)
        doubled = {key: n for key, n in seen.items() if n > 1}
        self.assertEqual({}, doubled)

    def test_notifications_are_delivered_exactly_once_by_the_group(self) -> None:
        started = time.time()
        for _ in range(3):
            self.start_member()
        self.wait_for_slots('aodh', 1, after=started)
        self.start_member()
        alarm_ids = [a['alarm_id'] for a in self.cloud.aodh.ordered()]
        for alarm_id in alarm_ids:
            self.cloud.aodh.set_state(alarm_id, 'alarm', 'coordination test')

        def updates() -> collections.Counter[str]:
            return collections.Counter(
                e['vitrage_ds_entity_id'] for e in self.all_events()
                if e['vitrage_datasource_action'] == 'update'
                and e['vitrage_event_type'] == 'alarm.state_transition')

        wait_until(lambda: set(updates()) >= set(alarm_ids), 'every transition', DEADLINE)
        for process in self.members.values():  # all drain at once
            process.request_stop()
        for process in self.members.values():  # drained: nothing more can come
            self.assertEqual(0, process.terminate())
        self.assertEqual(dict.fromkeys(alarm_ids, 1), dict(updates()))


def _posix(iso: str) -> float:
    return datetime.datetime.fromisoformat(iso.replace('Z', '+00:00')).replace(
        tzinfo=datetime.timezone.utc).timestamp()

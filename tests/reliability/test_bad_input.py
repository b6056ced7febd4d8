"""Property-based tests: bad input gives clean events or a clear log line, never an error.

Hypothesis (profile ``ci``: no deadline, bounded, derandomised) generates
arbitrary JSON, real payloads with fields dropped or mistyped, huge
strings, unicode and deep nesting for:

* the notifications of every driver (Heat, Aodh, the third-party example),
  handed to :meth:`Collector.handle` as the bus listener does;
* the API answers of every driver's poll (served by the emulated cloud);
* deduced-alarm messages for every notifier (Aodh, the example).

And deduced alarms whose names and resource ids carry quotes, query syntax
or very long values create exactly the intended Aodh alarm, found by
exactly the intended query.
"""

from __future__ import annotations

import copy
import json
import logging
from typing import Any

import fixtures
import testtools
from hypothesis import given
from hypothesis import strategies as st
from vitrage_ds_example.server import WidgetServer

from tests.reliability import figures
from vitrage_ds import registry
from vitrage_ds.collector import Collector
from vitrage_ds.deduced import ACTIVATE, DEACTIVATE, MAX_LENGTH
from vitrage_ds.errors import BackendError
from vitrage_ds.event import METADATA_KEYS
from vitrage_ds.notifier import Message, Outcome
from vitrage_ds_testing import EmulatedCloud, RecordingSink

_TEXT = st.text(alphabet=st.characters(blacklist_categories=('Cs',)), max_size=40)
_SCALARS = (st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
            | _TEXT | st.just('x' * 100_000) | st.just('\u202e\U0001f600\u0000"\'%&='))
#: Any JSON value, nesting included (deeply, now and then).
JSON = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(_TEXT, inner, max_size=4), max_leaves=25)


def _deep(depth: int) -> Any:
    value: Any = 'bottom'
    for level in range(depth):
        value = {'level': level, 'detail': value} if level % 2 else [value]
    return value


DEEPLY_NESTED = st.integers(min_value=50, max_value=500).map(_deep)


def mutated(sample: dict[str, Any]) -> st.SearchStrategy[Any]:
    """``sample`` with keys dropped or their values replaced by anything."""
    keys = sorted(sample)

    def mutate(changes: list[tuple[int, bool, Any]]) -> dict[str, Any]:
        out = copy.deepcopy(sample)
        for index, drop, value in changes:
            key = keys[index % len(keys)]
            if drop:
                out.pop(key, None)
            else:
                out[key] = value
        return out
    return st.lists(st.tuples(st.integers(0, 1000), st.booleans(), JSON | DEEPLY_NESTED),
                    min_size=1, max_size=4).map(mutate)


class _Base(testtools.TestCase):

    def setUp(self) -> None:
        super().setUp()
        self.cloud = self.useFixture(EmulatedCloud(seed=61, global_index_allowed=True))
        self.cloud.populate(stacks=2, resources_per_stack=1, alarms=2)
        self.widgets = WidgetServer([{'id': 'w-1', 'name': 'one', 'status': 'OK',
                                      'updated_at': '2024-05-01T12:00:00Z'}])
        self.addCleanup(self.widgets.stop)
        self.logs = self.useFixture(fixtures.FakeLogger(
            level=logging.INFO, format='%(levelname)s %(name)s %(message)s'))
        self.conf = self.cloud.make_conf('none', http={'retries': 0},
                                         service_credentials={'timeout': 5},
                                         collector={'listen': False})

    def log_mark(self) -> int:
        return len(self.logs.output)

    def logged_since(self, mark: int) -> list[str]:
        return [line for line in self.logs.output[mark:].splitlines()
                if line.startswith(('INFO vitrage_ds', 'WARNING', 'ERROR'))]


class TestNotificationPayloads(_Base):
    """Whatever a notification carries, the listener gets an outcome, never an error."""

    def setUp(self) -> None:
        super().setUp()
        registry.load_drivers(self.conf, ['example'])
        self.conf.set_override('endpoint_override', self.widgets.url, 'driver.example')
        drivers = registry.load_drivers(self.conf, ['heat.stack', 'aodh', 'example']).plugins
        self.collector = Collector(self.conf, RecordingSink(), drivers=drivers)
        self.addCleanup(self.collector.stop, 10)
        stack = self.cloud.heat.ordered()[0]
        self.cloud.heat.update_stack(stack.id, description='updated')
        self.cloud.aodh.set_state(self.cloud.aodh.ordered()[0]['alarm_id'], 'alarm')
        self.samples = [(n.event_type, n.payload) for n in self.cloud.notifications.sent]
        self.samples.append(('widget.update', {'id': 'w-1', 'name': 'one', 'status': 'OK',
                                               'updated_at': '2024-05-01T12:00:00Z'}))

    def check(self, event_type: str, payload: Any, metadata: Any = None) -> None:
        figures.add(bad_inputs_tried=1)
        metadata = metadata if metadata is not None else {
            'message_id': 'm', 'timestamp': '2024-05-01 12:00:00.000001'}
        # What the listener calls: an outcome, never an exception.
        self.assertIn(self.collector.handle(event_type, payload, metadata),
                      (Outcome.DONE, Outcome.RETRY))
        # Each driver on its own (the collector's cache drops repeats
        # silently, and rightly): clean events, or a line saying why not.
        for name, driver in self.collector.drivers.items():
            if not driver.handles(event_type):
                continue
            mark = self.log_mark()
            events = driver.notifications(event_type, payload, metadata,
                                                self.collector.cache(name).lookup)
            for event in events:
                flat = event.to_dict()
                self.assertTrue(set(METADATA_KEYS) <= set(flat))
                json.dumps(flat)  # JSON-safe
            if not events:
                self.assertTrue(self.logged_since(mark),
                                f'{name} on {event_type}: no event and no log line')

    @given(st.data())
    def test_real_payloads_with_fields_dropped_or_mistyped(self, data: Any) -> None:
        event_type, payload = data.draw(st.sampled_from(self.samples))
        self.check(event_type, data.draw(mutated(payload)))

    @given(st.sampled_from(['orchestration.stack.create.end', 'orchestration.stack.x.error',
                            'alarm.creation', 'alarm.state_transition', 'alarm.deletion',
                            'widget.update', 'widget.delete']),
           JSON | DEEPLY_NESTED)
    def test_arbitrary_json_payloads(self, event_type: str, payload: Any) -> None:
        self.check(event_type, payload)

    @given(st.data())
    def test_arbitrary_envelopes(self, data: Any) -> None:
        event_type, payload = data.draw(st.sampled_from(self.samples))
        metadata = data.draw(st.dictionaries(st.sampled_from(['message_id', 'timestamp']),
                                             JSON))
        self.check(event_type, payload, metadata)


class TestAPIAnswers(_Base):
    """Whatever an API answers, a poll gives valid events or a BackendError."""

    def setUp(self) -> None:
        super().setUp()
        self.drivers = registry.load_drivers(self.conf, ['heat.stack', 'aodh']).plugins

    def poll(self, driver: str, route: str, body: Any) -> None:
        figures.add(bad_inputs_tried=1)
        self.cloud.malform(route, json.dumps(body).encode(), times=1)
        try:
            events = self.drivers[driver].get_all()
        except BackendError:
            return
        finally:
            self.cloud.clear_faults()
        for event in events:
            json.dumps(event.to_dict())

    @given(st.sampled_from([('heat.stack', 'heat.stacks.list'),
                            ('heat.stack', 'heat.resources.list'),
                            ('aodh', 'aodh.alarms.list')]), JSON | DEEPLY_NESTED)
    def test_arbitrary_json_answers(self, target: tuple[str, str], body: Any) -> None:
        self.poll(*target, body)

    @given(st.data())
    def test_listings_with_items_mistyped(self, data: Any) -> None:
        stack = self._stack_item()
        alarm = copy.deepcopy(self.cloud.aodh.ordered()[0])
        driver, route, wrap, sample = data.draw(st.sampled_from([
            ('heat.stack', 'heat.stacks.list', 'stacks', stack),
            ('aodh', 'aodh.alarms.list', None, alarm)]))
        items = data.draw(st.lists(mutated(sample), min_size=1, max_size=3))
        self.poll(driver, route, items if wrap is None else {wrap: items, 'links': []})

    @given(st.lists(mutated({'id': 'w-1', 'name': 'one', 'status': 'OK',
                             'updated_at': '2024-05-01T12:00:00Z'}) | JSON,
                    min_size=1, max_size=3))
    def test_example_driver_listings_with_items_mistyped(self, items: list[Any]) -> None:
        figures.add(bad_inputs_tried=1)
        registry.load_drivers(self.conf, ['example'])
        self.conf.set_override('endpoint_override', self.widgets.url, 'driver.example')
        driver = registry.load_drivers(self.conf, ['example']).plugins['example']
        saved = self.widgets.widgets
        self.widgets.widgets = {
            (item['id'] if isinstance(item, dict) and isinstance(item.get('id'), str)
             else f'k-{n}'): item for n, item in enumerate(items)}
        try:
            events = driver.get_all()
        except BackendError:
            return
        finally:
            self.widgets.widgets = saved
        for event in events:
            json.dumps(event.to_dict())

    def _stack_item(self) -> dict[str, Any]:
        answer = self.drivers['heat.stack'].context.client('orchestration').get(
            'stacks', params={'global_tenant': 'true'})
        return dict(answer['stacks'][0])


class TestDeducedAlarmMessages(_Base):
    """Whatever a deduced-alarm message carries, every notifier answers an Outcome."""

    def setUp(self) -> None:
        super().setUp()
        registry.load_notifiers(self.conf, ['example'])
        self.conf.set_override('endpoint_override', self.widgets.url, 'notifier.example')
        self.conf.set_override('verify_delay', 0.0, 'notifier.aodh')
        self.notifiers = registry.load_notifiers(self.conf, ['aodh', 'example']).plugins
        for plugin in self.notifiers.values():
            self.addCleanup(plugin.close)  # the Aodh verifier must not outlive the cloud

    SAMPLE = {'vitrage_id': 'v-1', 'name': 'cpu high', 'severity': 'critical',
              'affected_resource_id': 'host-1', 'timestamp': '2024-05-01T12:00:00Z',
              'sequence': 1, 'id': 'a-1', 'aodh_alarm_id': 'a-1'}

    @given(st.sampled_from([ACTIVATE, DEACTIVATE]), st.data())
    def test_mutated_and_arbitrary_messages(self, event_type: str, data: Any) -> None:
        payload = data.draw(mutated(self.SAMPLE) | JSON | DEEPLY_NESTED)
        metadata = data.draw(st.just({'message_id': 'm', 'timestamp': '2024-05-01 12:00:00'})
                             | st.dictionaries(_TEXT, JSON, max_size=3))
        for name, plugin in self.notifiers.items():
            figures.add(bad_inputs_tried=1)
            mark = self.log_mark()
            outcome = plugin.notify(Message(event_type, payload, metadata))
            self.assertIsInstance(outcome, Outcome, name)
            if outcome is Outcome.REJECT:
                self.assertTrue(self.logged_since(mark), f'{name}: rejected without a word')


_AWKWARD = st.sampled_from(['"', "'", '&', '=', '?', '#', '%20', '&q.field=name&q.value=x',
                            'q.op=ne', ' ', '\u00e9', '\U0001f525', '/', '..', ';', '\\'])
AWKWARD_TEXT = st.lists(_AWKWARD | st.text(min_size=1, max_size=8), min_size=1,
                        max_size=30).map(''.join).filter(lambda s: bool(s.strip()))


class TestAwkwardNames(_Base):
    """Quotes, query syntax and very long values make exactly the intended alarm."""

    def setUp(self) -> None:
        super().setUp()
        self.conf.set_override('verify_delay', 0.0, 'notifier.aodh')
        self.plugin = registry.load_notifiers(self.conf, ['aodh']).plugins['aodh']
        self.addCleanup(self.plugin.close)
        self.count = 0
        self.names: set[str] = set()

    @given(AWKWARD_TEXT | st.just('n' * MAX_LENGTH), AWKWARD_TEXT | st.just('r' * MAX_LENGTH))
    def test_exactly_the_intended_alarm_and_query(self, name: str, resource: str) -> None:
        name = ''.join(c for c in name if c.isprintable()).strip() or 'n'
        resource = ''.join(c for c in resource if c.isprintable()).strip() or 'r'
        self.count += 1
        figures.add(bad_inputs_tried=1)
        vitrage_id = f'v-{self.count}'
        self.cloud.requests.clear()
        payload = {'vitrage_id': vitrage_id, 'name': name, 'severity': 'critical',
                   'affected_resource_id': resource, 'timestamp': '2024-05-01T12:00:00Z'}
        for _ in range(2):  # a redelivery changes nothing
            self.assertEqual(Outcome.DONE, self.plugin.notify(Message(ACTIVATE, payload)))

        mine = [a for a in self.cloud.aodh.ordered()
                if any(q.get('value') == vitrage_id
                       for q in a.get('event_rule', {}).get('query', []))]
        figures.add(duplicate_alarms=max(0, len(mine) - 1))
        self.assertEqual(1, len(mine))
        alarm = mine[0]
        self.assertEqual(f'{name}_{resource}', alarm['name'])
        self.assertEqual(
            [{'field': 'resource_id', 'op': 'eq', 'type': 'string', 'value': resource},
             {'field': 'vitrage_id', 'op': 'eq', 'type': 'string', 'value': vitrage_id}],
            alarm['event_rule']['query'])
        # The background verifier may still list an earlier example's name.
        self.names.add(f'{name}_{resource}')
        queried = []
        for listing in self.cloud.requests.filter('aodh.alarms.list'):
            query = [(k, v) for k, v in listing.params if k.startswith('q.')]
            self.assertEqual([('q.field', 'name'), ('q.op', 'eq')], query[:2])
            self.assertEqual(3, len(query))
            self.assertIn(query[2][1], self.names)
            queried.append(query[2])
        self.assertIn(('q.value', f'{name}_{resource}'), queried)

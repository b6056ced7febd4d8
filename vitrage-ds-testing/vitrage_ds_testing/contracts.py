"""Contract suites every driver and notifier plugin must pass.

A plugin's test case inherits the whole behavioural suite by subclassing
one of these mixins together with :class:`testtools.TestCase`. The mixins
are not test cases themselves, so runners do not collect them on their own,
and they define none of the hooks below, so a subclass may supply the hooks
from any of its bases (e.g. a shared backend base class), whatever their
order::

    class TestWidgetDriverContract(contracts.DriverContractTests,
                                   testtools.TestCase):

        sample_notifications = [
            ('widget.update', {'id': 'w1', 'name': 'one', 'status': 'OK'}),
        ]

        def setUp(self):
            super().setUp()
            self.backend = self.useFixture(MyBackendFixture(items=5, page_size=2))

        def make_plugin(self):
            return load_plugin('driver', 'widget', options={
                'endpoint_override': self.backend.url})

        def break_backend(self, mode):
            self.backend.break_(mode)

What a subclass supplies
------------------------

``make_plugin()`` (both suites)
    A constructed plugin talking to a healthy backend. The suite calls it
    once per test, after ``break_backend(mode)`` when a test breaks the
    backend, and closes the plugin at clean-up. Configure the plugin so a
    failure is quick: ``[http] retries = 0`` or a tiny ``retry_backoff``
    (:func:`vitrage_ds_testing.plugins.load_plugin` does this).
    For a driver, the healthy snapshot must hold at least
    ``min_snapshot_size`` (default 2) entities spread over at least two
    pages, so a failure half-way through paging can happen.

``break_backend(mode)`` (both suites)
    Make the backend fail in ``mode`` for the rest of the test. The suite
    uses the modes listed in ``backend_failure_modes`` (default: ``('down',
    'fail_on_page')`` for drivers, ``('down',)`` for notifiers); a test
    for a mode not listed is skipped:

    * ``'down'``: every call fails (connection refused, or 5xx every time).
    * ``'fail_on_page'`` (drivers): the first page of a listing answers,
      a later page fails (5xx, connection reset or a malformed body).

    A driver suite may list more modes (e.g. ``'unauthorized'``,
    ``'malformed'``); each must make ``get_all()`` raise, and they are
    tried one after the other in one test, so each call replaces the
    earlier breakage. Set ``backend_failure_modes = ()`` for a plugin
    without a backend.

``sample_notifications`` (drivers)
    Real-looking notifications the driver handles: a sequence of
    ``(event_type, payload)`` or ``(event_type, payload, metadata)``
    tuples, as a class attribute or a property. The suite checks each one
    is handled without raising, gives valid events, and also feeds broken
    variants of each (``None``, ``[]``, ``'x'``, ``{}``, a huge payload,
    every field replaced by a value of the wrong type or left out; see
    :func:`malformed_payloads`). Without samples the notification tests
    are skipped.

``sample_messages`` (notifiers)
    :class:`~vitrage_ds.notifier.Message` objects the plugin acts on; with a
    healthy backend each returns :attr:`~vitrage_ds.notifier.Outcome.DONE`,
    also when delivered a second time. ``uninteresting_messages`` (default
    :data:`UNINTERESTING_MESSAGES`) must return ``DONE`` without acting.

Optional hooks: ``make_lookup()`` (drivers, the collector's read-only view
passed to ``notifications``; default: knows nothing).

What the suites assert
----------------------

Both: every method the plugin overrides keeps the parameters of the base
contract's method (names, kinds and defaults; see
:func:`signature_mismatches`).

Drivers (:class:`DriverContractTests`):

* a healthy ``get_all()`` returns at least ``min_snapshot_size`` events,
  one per entity (no two share ``(entity_type, entity_id)``), each a
  ``SNAPSHOT``;
* a broken backend makes ``get_all()`` raise
  :class:`~vitrage_ds.errors.BackendError`, never return a short list;
  so does a failure half-way through paging;
* every event, from polls and notifications, carries
  :data:`vitrage_ds.event.METADATA_KEYS` with sane values (its datasource
  is the driver's name, its entity type one of ``entity_types``, a
  non-empty id, a parsable sample date, a finite version) and survives a
  JSON round trip unchanged;
* no sample or malformed notification raises out of
  ``notifications``, whether the backend is healthy or down.

Notifiers (:class:`NotifierContractTests`):

* uninteresting messages return ``DONE``;
* malformed messages (payload ``None``, ``[]``, ``'x'``, ``{}``, huge,
  wrong types; empty event type) return ``REJECT`` or ``DONE``, never
  raise;
* sample messages return ``DONE`` with a healthy backend, twice;
* with the backend down, sample messages return ``RETRY`` (a transient
  failure the service requeues), never raise.

The names above (hooks, attributes, test names) are a stable API: plugins
outside this repository subclass them.
"""

from __future__ import annotations

import inspect
import itertools
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, cast

from vitrage_ds.driver import Driver, Lookup, no_lookup
from vitrage_ds.errors import BackendError
from vitrage_ds.event import METADATA_KEYS, Action, Event, Version, parse_time
from vitrage_ds.notifier import Message, NotifierPlugin, Outcome

if TYPE_CHECKING:
    import testtools

    _TestCase = testtools.TestCase
else:
    _TestCase = object

__all__ = [
    'DEFAULT_METADATA',
    'DriverContractTests',
    'NotifierContractTests',
    'UNINTERESTING_MESSAGES',
    'malformed_payloads',
    'signature_mismatches',
]

#: Envelope metadata used for samples given without their own.
DEFAULT_METADATA: Mapping[str, Any] = {
    'message_id': '00000000-0000-4000-8000-000000000001',
    'publisher_id': 'contract-tests',
    'priority': 'INFO',
    'timestamp': '2024-05-01 12:00:00.000000',
}

#: Messages no plugin acts on, unless a suite says otherwise.
UNINTERESTING_MESSAGES: Sequence[Message] = (
    Message('compute.instance.create.end', {'instance_id': 'i-1'}),
    Message('vitrage.some_other.event', {'name': 'x'}),
)

_STANDARD_MODES = ('down', 'fail_on_page')
_HUGE = 'x' * 1_000_000
_WRONG_VALUES: tuple[Any, ...] = (None, 7, -1.5, True, [], {'nested': ['x']}, 'x', _HUGE)


def malformed_payloads(samples: Sequence[Any] = ()) -> Iterator[tuple[str, Any]]:
    """Broken payloads, each with a short description for failure messages.

    Generic ones first (``None``, ``[]``, ``'x'``, ``{}``, numbers, a huge
    string, a huge dict), then, for each mapping in ``samples``, variants
    with one field at a time replaced by each value of the wrong type, and
    one with every field ``None``.
    """
    yield 'None', None
    yield 'empty list', []
    yield 'string', 'x'
    yield 'empty dict', {}
    yield 'number', 42
    yield 'list of dicts', [{'id': 'x'}]
    yield 'huge string', _HUGE
    yield 'huge dict', {f'k{i}': i for i in range(10_000)}
    for index, sample in enumerate(samples):
        if not isinstance(sample, Mapping):
            continue
        yield f'sample {index} with every field None', dict.fromkeys(sample)
        for key, wrong in itertools.product(sample, _WRONG_VALUES):
            shown = 'huge string' if wrong is _HUGE else repr(wrong)
            yield f'sample {index} with {key}={shown}', {**sample, key: wrong}
        for key in sample:
            yield f'sample {index} without {key}', {k: v for k, v in sample.items() if k != key}


def signature_mismatches(cls: type, base: type) -> list[str]:
    """The methods of ``base`` that ``cls`` overrides with other parameters.

    Parameters are compared by name, kind and default (annotations may be
    narrowed); ``__init__`` and every public method of ``base`` and of its
    own bases count. An override may add parameters after the base's ones
    if they have defaults; one that drops a default, renames a parameter or
    defaults to something else breaks the callers that rely on the base's
    signature.

    :returns: one line per mismatch, ``'name(base params) overridden as
        name(own params)'``; empty when every override keeps its signature.
    """
    found = []
    for name in sorted(n for n in dir(base) if n == '__init__' or not n.startswith('_')):
        expected, actual = inspect.getattr_static(base, name), inspect.getattr_static(cls, name)
        if actual is expected or not callable(getattr(base, name)):
            continue
        wanted, got = _parameters(getattr(base, name)), _parameters(getattr(cls, name))
        added = got[len(wanted):]
        if got[:len(wanted)] != wanted or any(
                default is inspect.Parameter.empty
                and kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
                for _name, kind, default in added):
            found.append(f'{name}({_render(wanted)}) overridden as {name}({_render(got)})')
    return found


def _parameters(function: Any) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default)
            for p in inspect.signature(function).parameters.values()]


def _render(parameters: list[tuple[str, Any, Any]]) -> str:
    return ', '.join(name if default is inspect.Parameter.empty
                     else f'{name}={getattr(default, "__name__", None) or repr(default)}'
                     for name, _kind, default in parameters)


class _PluginTests(_TestCase):
    """What both suites share.

    Hooks and settings are looked up on the instance rather than defined
    here, so a subclass may supply them from any of its bases, whatever the
    order of the bases.
    """

    if TYPE_CHECKING:
        backend_failure_modes: Sequence[str]

        def make_plugin(self) -> Any: ...

        def break_backend(self, mode: str) -> None: ...

    _default_failure_modes: ClassVar[Sequence[str]] = _STANDARD_MODES

    def _hook(self, name: str) -> Any:
        hook = getattr(self, name, None)
        if hook is None:
            raise NotImplementedError(f'{type(self).__name__} must define {name}()')
        return hook

    def _setting(self, name: str, default: Any) -> Any:
        return getattr(self, name, default)

    def _failure_modes(self) -> Sequence[str]:
        return tuple(self._setting('backend_failure_modes', self._default_failure_modes))

    def _plugin(self) -> Any:
        plugin = self._hook('make_plugin')()
        self.addCleanup(plugin.close)
        return plugin

    #: The contract the plugin's class is checked against.
    _contract: ClassVar[type]

    def test_overrides_keep_the_contracts_signatures(self) -> None:
        self.assertEqual([], signature_mismatches(type(self._plugin()), self._contract))

    def _break(self, mode: str) -> None:
        if mode not in self._failure_modes():
            self.skipTest(f'backend failure mode {mode!r} not supported')
        self._hook('break_backend')(mode)


class DriverContractTests(_PluginTests):
    """The behaviour every :class:`~vitrage_ds.driver.Driver` guarantees.

    See the module docstring for what a subclass supplies.
    """

    _contract = Driver

    if TYPE_CHECKING:
        #: ``(event_type, payload)`` or ``(event_type, payload, metadata)`` tuples.
        sample_notifications: Sequence[tuple[Any, ...]]
        #: The fewest events a healthy poll of the test backend returns (default 2).
        min_snapshot_size: int

        def make_plugin(self) -> Driver: ...

        def make_lookup(self) -> Lookup: ...

    def _lookup(self) -> Lookup:
        make_lookup = getattr(self, 'make_lookup', None)
        return no_lookup if make_lookup is None else make_lookup()

    def _min_snapshot_size(self) -> int:
        return int(self._setting('min_snapshot_size', 2))

    # -- helpers ---------------------------------------------------------

    def _samples(self) -> list[tuple[str, Any, Mapping[str, Any]]]:
        samples = []
        for sample in self._setting('sample_notifications', ()):
            if len(sample) == 2:
                samples.append((sample[0], sample[1], DEFAULT_METADATA))
            elif len(sample) == 3:
                samples.append((sample[0], sample[1], sample[2]))
            else:
                self.fail(f'a sample notification must be (event_type, payload[, metadata]): '
                          f'{sample!r:.200}')
        return samples

    def _require_samples(self) -> list[tuple[str, Any, Mapping[str, Any]]]:
        samples = self._samples()
        if not samples:
            self.skipTest('no sample_notifications')
        return samples

    def _handle(self, driver: Driver, event_type: Any, payload: Any,
                metadata: Any, what: str) -> list[Event]:
        try:
            events = driver.notifications(event_type, payload, metadata,
                                                self._lookup())
        except Exception as exc:  # the contract is that nothing escapes
            self.fail(f'notifications raised {type(exc).__name__} on {what}: {exc!s:.300}')
        self.assertIsInstance(events, list, f'notifications on {what}')
        for event in events:
            self.assertIsInstance(event, Event, f'notifications on {what}')
        return events

    def assertEventValid(self, driver: Driver, event: Event) -> None:
        """Assert ``event`` carries sane metadata and survives JSON."""
        where = f'event {event.entity_type}/{event.entity_id}'
        flat = event.to_dict()
        for key in METADATA_KEYS:
            self.assertIn(key, flat, where)
        self.assertEqual(driver.name, event.datasource, f'{where}: datasource')
        if driver.entity_types:
            self.assertIn(event.entity_type, driver.entity_types, f'{where}: entity_type')
        self.assertIsInstance(event.entity_id, str, where)
        self.assertTrue(event.entity_id, f'{where}: empty entity_id')
        self.assertIsInstance(event.action, Action, where)
        self.assertTrue(event.event_type is None or
                        (isinstance(event.event_type, str) and event.event_type),
                        f'{where}: event_type {event.event_type!r}')
        self.assertIsNotNone(parse_time(event.sample_date),
                             f'{where}: sample_date {event.sample_date!r}')
        self.assertIsInstance(event.version, Version, where)
        self.assertEqual(3, len(event.version), where)
        for part in event.version:
            self.assertIsInstance(part, (int, float), f'{where}: version {event.version!r}')
            self.assertTrue(math.isfinite(part), f'{where}: version {event.version!r}')
            self.assertGreaterEqual(part, 0, f'{where}: version {event.version!r}')
        try:
            text = json.dumps(flat, allow_nan=False)
        except (TypeError, ValueError) as exc:
            self.fail(f'{where} is not JSON-safe: {exc}')
        self.assertEqual(event, Event.from_dict(json.loads(text)),
                         f'{where} changed through a JSON round trip')

    # -- get_all ---------------------------------------------------------

    def test_get_all_returns_a_snapshot_event_per_entity(self) -> None:
        events = self._plugin().get_all()
        self.assertIsInstance(events, list)
        self.assertGreaterEqual(len(events), self._min_snapshot_size())
        keys = [e.key for e in events]
        self.assertEqual(len(keys), len(set(keys)), 'two events for one entity')
        for event in events:
            self.assertEqual(Action.SNAPSHOT, event.action)

    def test_get_all_events_carry_metadata_and_survive_json(self) -> None:
        driver = self._plugin()
        events = driver.get_all()
        self.assertGreaterEqual(len(events), self._min_snapshot_size())
        for event in events:
            self.assertEventValid(driver, event)

    def test_get_all_raises_backend_error_when_backend_is_down(self) -> None:
        self._break('down')
        driver = self._plugin()
        self.assertRaises(BackendError, driver.get_all)

    def test_get_all_raises_backend_error_when_a_later_page_fails(self) -> None:
        self._break('fail_on_page')
        driver = self._plugin()
        self.assertRaises(BackendError, driver.get_all)

    def test_get_all_raises_backend_error_for_every_other_failure_mode(self) -> None:
        others = [m for m in self._failure_modes() if m not in _STANDARD_MODES]
        if not others:
            self.skipTest('no failure modes besides the standard ones')
        for mode in others:
            self._hook('break_backend')(mode)
            driver = self._plugin()
            self.assertRaises(BackendError, driver.get_all)

    # -- notifications ---------------------------------------------------

    def test_sample_event_types_are_declared(self) -> None:
        driver = self._plugin()
        for event_type, _payload, _metadata in self._require_samples():
            self.assertTrue(driver.handles(event_type),
                            f'{event_type!r} matches none of {list(driver.event_types)}')

    def test_sample_notifications_give_valid_update_events(self) -> None:
        driver = self._plugin()
        total = 0
        for index, (event_type, payload, metadata) in enumerate(self._require_samples()):
            events = self._handle(driver, event_type, payload, metadata, f'sample {index}')
            for event in events:
                self.assertEqual(Action.UPDATE, event.action, f'sample {index}')
                self.assertEventValid(driver, event)
            total += len(events)
        self.assertGreater(total, 0, 'no sample notification gave an event')

    def test_malformed_payloads_do_not_raise(self) -> None:
        driver = self._plugin()
        for event_type, sample, _metadata in self._require_samples():
            for what, payload in malformed_payloads([sample]):
                events = self._handle(driver, event_type, payload, DEFAULT_METADATA,
                                      f'{event_type} with {what}')
                for event in events:
                    self.assertEventValid(driver, event)

    def test_malformed_metadata_does_not_raise(self) -> None:
        driver = self._plugin()
        for event_type, payload, _metadata in self._require_samples():
            for metadata in ({}, {'timestamp': 'not a time'}, {'timestamp': None},
                             {'timestamp': 12}, None):
                self._handle(driver, event_type, payload, metadata,
                             f'{event_type} with metadata {metadata!r}')

    def test_unexpected_event_types_do_not_raise(self) -> None:
        driver = self._plugin()
        samples = self._require_samples()
        for event_type in ('', 'x', 'compute.instance.create.end', None, 7):
            for _type, payload, metadata in samples[:3]:
                self._handle(driver, event_type, payload, metadata,
                             f'event type {event_type!r}')

    def test_sample_notifications_do_not_raise_when_backend_is_down(self) -> None:
        samples = self._require_samples()
        self._break('down')
        driver = self._plugin()
        for index, (event_type, payload, metadata) in enumerate(samples):
            self._handle(driver, event_type, payload, metadata,
                         f'sample {index} with the backend down')


class NotifierContractTests(_PluginTests):
    """The behaviour every :class:`~vitrage_ds.notifier.NotifierPlugin` guarantees.

    See the module docstring for what a subclass supplies.
    """

    _default_failure_modes: ClassVar[Sequence[str]] = ('down',)
    _contract = NotifierPlugin

    if TYPE_CHECKING:
        #: Messages the plugin acts on.
        sample_messages: Sequence[Message]
        #: Messages the plugin must ignore, answering ``DONE``
        #: (default: :data:`UNINTERESTING_MESSAGES`).
        uninteresting_messages: Sequence[Message]

        def make_plugin(self) -> NotifierPlugin: ...

    def _require_samples(self) -> list[Message]:
        samples = list(self._setting('sample_messages', ()))
        if not samples:
            self.skipTest('no sample_messages')
        return samples

    def _notify(self, plugin: NotifierPlugin, msg: Message, what: str) -> Outcome:
        try:
            outcome = plugin.notify(msg)
        except Exception as exc:  # the contract is that nothing escapes
            self.fail(f'notify raised {type(exc).__name__} on {what}: {exc!s:.300}')
        self.assertIsInstance(outcome, Outcome, what)
        return outcome

    def test_uninteresting_messages_are_done(self) -> None:
        plugin = self._plugin()
        for msg in self._setting('uninteresting_messages', UNINTERESTING_MESSAGES):
            self.assertEqual(Outcome.DONE, self._notify(plugin, msg, f'{msg.event_type!r}'))

    def test_malformed_messages_are_rejected_or_done(self) -> None:
        plugin = self._plugin()
        for sample in self._require_samples():
            event_type = sample.event_type
            for what, payload in malformed_payloads([sample.payload]):
                msg = Message(event_type, cast(Mapping[str, Any], payload), sample.metadata)
                outcome = self._notify(plugin, msg, f'{event_type} with {what}')
                self.assertIn(outcome, (Outcome.REJECT, Outcome.DONE),
                              f'{event_type} with {what}')

    def test_malformed_envelopes_are_rejected_or_done(self) -> None:
        plugin = self._plugin()
        sample = self._require_samples()[0]
        for event_type in ('', None, 7):
            msg = Message(cast(str, event_type), sample.payload)
            outcome = self._notify(plugin, msg, f'event type {event_type!r}')
            self.assertIn(outcome, (Outcome.REJECT, Outcome.DONE))
        for metadata in (None, 'x', {'timestamp': 12}):
            msg = Message(sample.event_type, sample.payload,
                          cast(Mapping[str, Any], metadata))
            outcome = self._notify(plugin, msg, f'metadata {metadata!r}')
            self.assertIn(outcome, (Outcome.REJECT, Outcome.DONE))

    def test_sample_messages_are_done(self) -> None:
        plugin = self._plugin()
        for index, msg in enumerate(self._require_samples()):
            self.assertEqual(Outcome.DONE, self._notify(plugin, msg, f'sample {index}'))

    def test_redelivered_sample_messages_are_done(self) -> None:
        plugin = self._plugin()
        for index, msg in enumerate(self._require_samples()):
            self._notify(plugin, msg, f'sample {index}')
            self.assertEqual(Outcome.DONE,
                             self._notify(plugin, msg, f'sample {index} redelivered'))

    def test_sample_messages_retry_when_backend_is_down(self) -> None:
        samples = self._require_samples()
        self._break('down')
        plugin = self._plugin()
        for index, msg in enumerate(samples):
            self.assertEqual(Outcome.RETRY,
                             self._notify(plugin, msg, f'sample {index} with the backend down'))

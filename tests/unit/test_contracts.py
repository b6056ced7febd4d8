"""The contract suites catch the flaws they promise to catch.

Each test runs named contract tests against a plugin with one deliberate
flaw and expects them to fail, and against the correct example plugin and
expects them to pass, so a failure is the flaw's doing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import fixtures
import testtools
from vitrage_ds_example.driver import ExampleDriver
from vitrage_ds_example.notifier import ExampleNotifier
from vitrage_ds_example.server import WidgetServer

from vitrage_ds import (BackendError, Driver, Event, Lookup, Message, NotifierPlugin, Outcome,
                        no_lookup, registry)
from vitrage_ds_testing import DriverContractTests, NotifierContractTests, construct_plugin
from vitrage_ds_testing.contracts import signature_mismatches

WIDGETS = [{'id': f'w{i}', 'name': f'widget {i}', 'status': 'OK', 'updated_at': None}
           for i in range(4)]


def _driver_case(driver_cls: type[ExampleDriver]) -> type[testtools.TestCase]:
    """A contract test case for ``driver_cls`` (built here so the runner never collects it)."""

    class Case(DriverContractTests, testtools.TestCase):
        sample_notifications = [('widget.update', {'id': 'w1', 'name': 'n', 'status': 'OK'})]

        def setUp(self) -> None:
            super().setUp()
            self.useFixture(fixtures.FakeLogger(level=logging.INFO))
            self.server = WidgetServer(WIDGETS)
            self.addCleanup(self.server.stop)

        def make_plugin(self) -> ExampleDriver:
            return construct_plugin(driver_cls, 'driver', options={
                'endpoint_override': self.server.url, 'page_size': 2})

        def break_backend(self, mode: str) -> None:
            self.server.break_(mode)

    return Case


def _notifier_case(notifier_cls: type[ExampleNotifier]) -> type[testtools.TestCase]:
    class Case(NotifierContractTests, testtools.TestCase):
        sample_messages = [Message('vitrage.deduced_alarm.activate',
                                   {'name': 'n', 'vitrage_id': 'v-1'})]

        def setUp(self) -> None:
            super().setUp()
            self.useFixture(fixtures.FakeLogger(level=logging.INFO))
            self.server = WidgetServer()
            self.addCleanup(self.server.stop)

        def make_plugin(self) -> ExampleNotifier:
            return construct_plugin(notifier_cls, 'notifier', options={
                'endpoint_override': self.server.url})

        def break_backend(self, mode: str) -> None:
            self.server.break_(mode)

    return Case


class _ContractCheck(testtools.TestCase):

    def assertCatches(self, case: type[testtools.TestCase],
                      good: type[testtools.TestCase], *test_names: str) -> None:
        for name in test_names:
            flawed = testtools.TestResult()
            case(name).run(flawed)
            self.assertFalse(flawed.wasSuccessful(), f'{name} missed the flaw')
            self.assertEqual(0, len(flawed.skip_reasons), f'{name} was skipped')
            correct = testtools.TestResult()
            good(name).run(correct)
            self.assertTrue(correct.wasSuccessful(),
                            f'{name} failed the correct plugin: {correct.errors}')


class SwallowingDriver(ExampleDriver):
    def get_all(self) -> list[Event]:
        try:
            return super().get_all()
        except BackendError:
            return []


class PartialDriver(ExampleDriver):
    def get_all(self) -> list[Event]:
        events = []
        try:
            for item in self.client.paginate_marker('widgets', 'id', key='widgets', limit=2):
                events.append(Event('example', 'example.widget', item['id'], {}))
        except BackendError:
            pass
        return events


class DuplicatingDriver(ExampleDriver):
    def get_all(self) -> list[Event]:
        return super().get_all() * 2


class TupleFieldDriver(ExampleDriver):
    def get_all(self) -> list[Event]:
        return [e.replace(fields={**e.fields, 'tags': ('a', 'b')}) for e in super().get_all()]


class MisnamedDriver(ExampleDriver):
    def get_all(self) -> list[Event]:
        return [e.replace(datasource='other') for e in super().get_all()]


class TrustingDriver(ExampleDriver):
    def notifications(self, event_type: str, payload: Any,
                      metadata: Mapping[str, Any], lookup: Lookup = no_lookup) -> list[Event]:
        return [Event('example', 'example.widget', payload['id'], dict(payload))]


class NoLookupDefaultDriver(ExampleDriver):
    def notifications(self, event_type: str, payload: Any,  # type: ignore[override]
                      metadata: Mapping[str, Any], lookup: Lookup | None = None) -> list[Event]:
        return super().notifications(event_type, payload, metadata, lookup or no_lookup)


class RenamedParameterNotifier(ExampleNotifier):
    def notify(self, message: Message) -> Outcome:  # type: ignore[override]
        return super().notify(message)


class RaisingNotifier(ExampleNotifier):
    def notify(self, msg: Message) -> Outcome:
        if msg.event_type.startswith('vitrage.deduced_alarm') and not msg.payload['vitrage_id']:
            raise ValueError('no id')
        return super().notify(msg)


class OptimisticNotifier(ExampleNotifier):
    def notify(self, msg: Message) -> Outcome:
        outcome = super().notify(msg)
        return Outcome.DONE if outcome is Outcome.RETRY else outcome


class GrumpyNotifier(ExampleNotifier):
    def notify(self, msg: Message) -> Outcome:
        outcome = super().notify(msg)
        return Outcome.REJECT if outcome is Outcome.DONE else outcome


class TestDriverContractCatches(_ContractCheck):
    GOOD = _driver_case(ExampleDriver)

    def test_a_failed_poll_returning_nothing(self) -> None:
        self.assertCatches(_driver_case(SwallowingDriver), self.GOOD,
                           'test_get_all_raises_backend_error_when_backend_is_down',
                           'test_get_all_raises_backend_error_when_a_later_page_fails')

    def test_a_poll_returning_the_pages_before_the_failure(self) -> None:
        self.assertCatches(_driver_case(PartialDriver), self.GOOD,
                           'test_get_all_raises_backend_error_when_a_later_page_fails')

    def test_two_events_for_one_entity(self) -> None:
        self.assertCatches(_driver_case(DuplicatingDriver), self.GOOD,
                           'test_get_all_returns_a_snapshot_event_per_entity')

    def test_fields_that_change_through_json(self) -> None:
        self.assertCatches(_driver_case(TupleFieldDriver), self.GOOD,
                           'test_get_all_events_carry_metadata_and_survive_json')

    def test_events_not_named_after_the_driver(self) -> None:
        self.assertCatches(_driver_case(MisnamedDriver), self.GOOD,
                           'test_get_all_events_carry_metadata_and_survive_json')

    def test_a_handler_that_raises_on_malformed_payloads(self) -> None:
        self.assertCatches(_driver_case(TrustingDriver), self.GOOD,
                           'test_malformed_payloads_do_not_raise')

    def test_an_override_with_another_default(self) -> None:
        self.assertCatches(_driver_case(NoLookupDefaultDriver), self.GOOD,
                           'test_overrides_keep_the_contracts_signatures')


class TestNotifierContractCatches(_ContractCheck):
    GOOD = _notifier_case(ExampleNotifier)

    def test_an_override_with_a_renamed_parameter(self) -> None:
        self.assertCatches(_notifier_case(RenamedParameterNotifier), self.GOOD,
                           'test_overrides_keep_the_contracts_signatures')

    def test_a_notifier_that_raises_on_malformed_messages(self) -> None:
        self.assertCatches(_notifier_case(RaisingNotifier), self.GOOD,
                           'test_malformed_messages_are_rejected_or_done')

    def test_a_notifier_that_drops_messages_when_the_backend_is_down(self) -> None:
        self.assertCatches(_notifier_case(OptimisticNotifier), self.GOOD,
                           'test_sample_messages_retry_when_backend_is_down')

    def test_a_notifier_that_rejects_what_it_does_not_handle(self) -> None:
        self.assertCatches(_notifier_case(GrumpyNotifier), self.GOOD,
                           'test_uninteresting_messages_are_done',
                           'test_sample_messages_are_done')


class TestSuiteWithoutSamples(testtools.TestCase):

    def test_notification_tests_skip_without_samples(self) -> None:
        case = _driver_case(ExampleDriver)
        case.sample_notifications = []  # type: ignore[attr-defined]
        result = testtools.TestResult()
        case('test_malformed_payloads_do_not_raise').run(result)
        self.assertTrue(result.wasSuccessful())
        self.assertEqual(['no sample_notifications'], list(result.skip_reasons))

    def test_a_missing_hook_is_named(self) -> None:
        class Case(DriverContractTests, testtools.TestCase):
            pass

        result = testtools.TestResult()
        Case('test_get_all_returns_a_snapshot_event_per_entity').run(result)
        self.assertEqual(1, len(result.errors))
        self.assertIn('Case must define make_plugin()', result.errors[0][1])


class TestSignatureMismatches(testtools.TestCase):
    """:func:`signature_mismatches`, and every installed plugin passing it."""

    def test_a_changed_default_is_named_with_both_signatures(self) -> None:
        self.assertEqual(
            ['notifications(self, event_type, payload, metadata, lookup=no_lookup) overridden '
             'as notifications(self, event_type, payload, metadata, lookup=None)'],
            signature_mismatches(NoLookupDefaultDriver, Driver))

    def test_added_parameters_with_defaults_are_compatible(self) -> None:
        class Patient(ExampleNotifier):
            def notify(self, msg: Message, timeout: float = 1.0) -> Outcome:
                return super().notify(msg)

        self.assertEqual([], signature_mismatches(Patient, NotifierPlugin))

    def test_an_added_parameter_without_default_is_not(self) -> None:
        class Demanding(ExampleNotifier):
            def notify(self, msg: Message, timeout: float) -> Outcome:  # type: ignore[override]
                return super().notify(msg)

        self.assertEqual(1, len(signature_mismatches(Demanding, NotifierPlugin)))

    def test_every_installed_plugin_keeps_the_contracts_signatures(self) -> None:
        for namespace, base in ((registry.DRIVERS, Driver), (registry.NOTIFIERS, NotifierPlugin)):
            for name in registry.installed(namespace):
                cls = registry.plugin_class(namespace, name)
                self.assertEqual([], signature_mismatches(cls, base), f'{namespace} {name}')

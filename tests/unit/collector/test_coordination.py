"""Coordination of several collectors: options, poll slots, and no tooz without a backend.

What several processes do on a real backend is tested in
tests/functional/collector/test_coordination.py.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import fixtures
import testtools
from oslo_config import cfg

from vitrage_ds.collector import coordination, options
from vitrage_ds.collector.coordination import SlotTiming, slot_offset
from vitrage_ds.config import new_config, register_opts
from vitrage_ds.opts import register_service_opts


def vitrage_coordination_opts() -> list[cfg.Opt]:
    """``[coordination] backend_url`` as a host such as Vitrage 15 defines its own."""
    return [cfg.StrOpt('backend_url', secret=True, help="The host's own help text.")]


def vitrage_host() -> cfg.ConfigOpts:
    """A configuration as Vitrage's: its own ``[service_credentials]`` registered."""
    conf = cfg.ConfigOpts()
    conf.register_opts([cfg.StrOpt('region_name'), cfg.StrOpt('interface')],
                       group='service_credentials')
    return conf


class TestOptions(testtools.TestCase):

    def test_no_backend_by_default(self) -> None:
        self.assertIsNone(coordination.backend_url(new_config()))

    def test_the_backend_url_is_secret(self) -> None:
        self.assertTrue(all(opt.secret for opt in coordination.OPTS))

    def test_inside_vitrage_the_hosts_option_is_shared_without_a_collision(self) -> None:
        conf = vitrage_host()
        conf.register_opts(vitrage_coordination_opts(), group='coordination')
        register_opts(conf)
        register_service_opts(conf)
        conf.set_override('backend_url', 'redis://127.0.0.1:6379', 'coordination')
        self.assertEqual('redis://127.0.0.1:6379', coordination.backend_url(conf))

    def test_the_listing_names_the_coordination_group(self) -> None:
        self.assertIn('coordination', dict(options.list_opts()))


class TestSlotTiming(testtools.TestCase):

    def timing(self, now: float, offset: float = 1.0) -> SlotTiming:
        return SlotTiming(60.0, offset, wallclock=lambda: now, initial=5.0, maximum=300.0)

    def test_the_first_run_waits_for_the_next_slots_poll_time(self) -> None:
        self.assertEqual(21.0, self.timing(6000.0 + 40.0).first())

    def test_a_run_at_the_poll_time_waits_a_whole_interval_for_the_next(self) -> None:
        self.assertEqual(60.0, self.timing(6001.0).after_success(0.5))

    def test_every_member_computes_the_same_slot(self) -> None:
        self.assertEqual(self.timing(0.0).slot(6001.0), self.timing(99.0).slot(6060.9))
        self.assertEqual(self.timing(0.0).slot(6001.0) + 1, self.timing(0.0).slot(6061.0))

    def test_failures_still_back_off(self) -> None:
        self.assertEqual([5.0, 10.0], [self.timing(0.0).after_failure(n) for n in (1, 2)])

    def test_a_drivers_offset_is_the_same_everywhere_and_within_a_tenth_of_its_slot(
            self) -> None:
        self.assertEqual(slot_offset('heat.stack', 600.0), slot_offset('heat.stack', 600.0))
        self.assertLessEqual(slot_offset('heat.stack', 600.0), 5.0)
        self.assertLessEqual(slot_offset('aodh', 3.0), 0.3)


class TestWithoutBackend(testtools.TestCase):

    def test_a_collector_without_backend_never_imports_tooz(self) -> None:
        script = textwrap.dedent('''
            import sys
            from vitrage_ds.collector import Collector
            from vitrage_ds.config import new_config
            from vitrage_ds_testing.collector import RecordingSink, scripted_driver
            conf = new_config()
            from vitrage_ds.collector import options
            options.register_opts(conf)
            conf.set_override('listen', False, 'collector')
            driver = scripted_driver(conf=conf)
            collector = Collector(conf, RecordingSink(), drivers={'scripted': driver})
            collector.start()
            collector.poll('scripted')
            collector.stop(5)
            print('tooz' in sys.modules)
        ''')
        result = subprocess.run([sys.executable, '-c', script], capture_output=True,
                                text=True, timeout=60, check=True)
        self.assertEqual('False', result.stdout.strip().splitlines()[-1])


class TestOneHolderPerDriver(testtools.TestCase):
    """Two members on tooz's file backend (one host), in this process."""

    def member(self, url: str) -> coordination.Coordination:
        member = coordination.Coordination(url, 'test', ['heat.stack', 'aodh'])
        member.start()
        self.addCleanup(member.stop)
        return member

    def setUp(self) -> None:
        super().setUp()
        url = f'file://{self.useFixture(fixtures.TempDir()).path}'
        self.first, self.second = self.member(url), self.member(url)

    def test_the_first_to_check_holds_the_driver_and_keeps_it(self) -> None:
        self.assertTrue(self.first.holds('heat.stack'))
        self.assertFalse(self.second.holds('heat.stack'))
        self.assertTrue(self.first.holds('heat.stack'))
        self.assertEqual({'heat.stack'}, self.first.held)

    def test_each_driver_has_its_own_holder(self) -> None:
        self.assertTrue(self.first.holds('heat.stack'))
        self.assertTrue(self.second.holds('aodh'))
        self.assertFalse(self.first.holds('aodh'))

    def test_a_stopped_holders_driver_is_taken_at_the_next_check(self) -> None:
        self.assertTrue(self.first.holds('heat.stack'))
        self.first.stop()
        self.assertTrue(self.second.holds('heat.stack'))

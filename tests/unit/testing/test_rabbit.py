"""RabbitVhost when RabbitMQ cannot be used: skip, or fail under CI=true."""

from __future__ import annotations

import unittest

import fixtures
import testtools

from tests.kit import RabbitUnavailable, RabbitVhost


class UnavailableRabbitTest(testtools.TestCase):

    def _unusable(self) -> RabbitVhost:
        return RabbitVhost(rabbitmqctl='/nonexistent/rabbitmqctl')

    def test_skips_outside_ci(self) -> None:
        self.useFixture(fixtures.EnvironmentVariable('CI'))
        error = self.assertRaises(unittest.SkipTest, self._unusable().setUp)
        self.assertIn('/nonexistent/rabbitmqctl is not on PATH', str(error))

    def test_fails_with_the_reason_under_ci(self) -> None:
        self.useFixture(fixtures.EnvironmentVariable('CI', 'true'))
        error = self.assertRaises(RabbitUnavailable, self._unusable().setUp)
        self.assertEqual('RabbitMQ is required under CI=true: '
                         '/nonexistent/rabbitmqctl is not on PATH', str(error))

    def test_a_failing_rabbitmqctl_is_unavailability_too(self) -> None:
        self.useFixture(fixtures.EnvironmentVariable('CI'))
        vhost = RabbitVhost(rabbitmqctl='false')
        vhost._unavailable = lambda: ''  # type: ignore[method-assign]
        error = self.assertRaises(unittest.SkipTest, vhost.setUp)
        self.assertIn('rabbitmqctl add_vhost vitrage_ds-', str(error))

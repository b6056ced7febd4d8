"""envelope_time: when a bus notification was sent, the one reading of its envelope."""

from __future__ import annotations

import testtools

from vitrage_ds.event import envelope_time, parse_time

NOW = 1_700_000_000.0


def now() -> float:
    return NOW


class EnvelopeTimeTest(testtools.TestCase):

    def test_the_envelopes_timestamp(self) -> None:
        stamp = '2024-05-01 12:00:05.250000'
        self.assertEqual(parse_time(stamp), envelope_time({'timestamp': stamp}, now))

    def test_an_envelope_without_one_is_now(self) -> None:
        self.assertEqual(NOW, envelope_time({'message_id': 'm-1'}, now))

    def test_an_unparsable_one_is_now(self) -> None:
        self.assertEqual(NOW, envelope_time({'timestamp': 'yesterday'}, now))

    def test_one_not_after_the_epoch_is_now(self) -> None:
        for stamp in ('1970-01-01T00:00:00', '1969-12-31T23:00:00'):
            self.assertEqual(NOW, envelope_time({'timestamp': stamp}, now), stamp)

    def test_metadata_that_is_not_a_mapping_is_now(self) -> None:
        self.assertEqual(NOW, envelope_time(None, now))
        self.assertEqual(NOW, envelope_time(['timestamp'], now))

"""The Aodh driver's polling strategy: the listing read as ranges at once, exact calls."""

from __future__ import annotations

from typing import Any

from vitrage_ds.drivers.aodh.ranges import read_marker_ranges
from vitrage_ds.errors import APIError
from tests.unit.http.base import AODH, TOKENS, AodhListing, HTTPTestCase


class MarkerRangesTest(HTTPTestCase):
    """The alarm listing read as ranges at once, split at known ids."""

    IDS = [f'a{i}' for i in range(10)]

    def setUp(self) -> None:
        super().setUp()
        self.aodh = AodhListing(self.IDS)
        self.http.get(f'{AODH}/v2/alarms', json=self.aodh)

    def read(self, starts: list[str], limit: int = 4) -> list[str]:
        return read_marker_ranges(self.client(AODH), 'v2/alarms', 'alarm_id', starts,
                                  lambda item: item['alarm_id'], limit=limit)

    def test_each_range_starts_at_its_marker_and_stops_at_the_next_start(self) -> None:
        ids = self.read(['a2', 'a5'])

        self.assertEqual(self.IDS, ids)
        self.assertEqual(sorted([('POST', TOKENS),
                                 ('GET', f'{AODH}/v2/alarms?limit=1'),
                                 ('GET', f'{AODH}/v2/alarms?limit=4&marker=a0'),
                                 ('GET', f'{AODH}/v2/alarms?limit=4&marker=a2'),
                                 ('GET', f'{AODH}/v2/alarms?limit=4&marker=a5'),
                                 ('GET', f'{AODH}/v2/alarms?limit=4&marker=a9')]),
                         sorted(self.calls()))

    def test_one_item_is_asked_for_alone_before_the_other_ranges(self) -> None:
        self.read(['a2', 'a5'])
        self.assertEqual([('POST', TOKENS), ('GET', f'{AODH}/v2/alarms?limit=1')],
                         self.calls()[:2])

    def test_an_empty_listing_costs_one_request(self) -> None:
        self.aodh.ids.clear()
        self.assertEqual([], self.read(['a2', 'a5']))
        self.assertEqual([('POST', TOKENS), ('GET', f'{AODH}/v2/alarms?limit=1')],
                         self.calls())

    def test_a_range_pages_on_until_it_meets_the_next_start(self) -> None:
        ids = self.read(['a8'], limit=3)
        self.assertEqual(self.IDS, ids)
        self.assertIn(('GET', f'{AODH}/v2/alarms?limit=3&marker=a6'), self.calls())

    def test_starts_out_of_order_still_read_every_item_once(self) -> None:
        ids = self.read(['a7', 'a2'])
        self.assertEqual(sorted(self.IDS), sorted(ids))
        self.assertEqual(len(self.IDS), len(ids))

    def test_a_gone_start_is_not_retried_and_the_listing_is_read_in_one_go(self) -> None:
        self.aodh.ids.remove('a5')

        ids = self.read(['a2', 'a5'])

        self.assertEqual([i for i in self.IDS if i != 'a5'], ids)
        self.assertEqual(1, self.calls().count(('GET', f'{AODH}/v2/alarms?limit=4&marker=a5')))
        self.assertEqual([], self.sleeps)
        self.assertEqual([('GET', f'{AODH}/v2/alarms?limit=4'),
                          ('GET', f'{AODH}/v2/alarms?limit=4&marker=a3'),
                          ('GET', f'{AODH}/v2/alarms?limit=4&marker=a8'),
                          ('GET', f'{AODH}/v2/alarms?limit=4&marker=a9')],
                         self.calls()[-4:])

    def test_a_start_deleted_after_a_ranges_first_page_reads_the_listing_in_one_go(
            self) -> None:
        self.aodh.deleted_after_page.add('a8')  # range 1's first page: a6 a7 a8

        ids = self.read(['a5'], limit=3)

        self.assertEqual([i for i in self.IDS if i != 'a8'], ids)
        self.assertEqual(4, self.calls().count(('GET', f'{AODH}/v2/alarms?limit=3&marker=a8')))
        self.assertEqual([('GET', f'{AODH}/v2/alarms?limit=3'),
                          ('GET', f'{AODH}/v2/alarms?limit=3&marker=a2'),
                          ('GET', f'{AODH}/v2/alarms?limit=3&marker=a5'),
                          ('GET', f'{AODH}/v2/alarms?limit=3&marker=a9')],
                         self.calls()[-4:])

    def test_no_starts_reads_the_listing_in_one_go(self) -> None:
        self.assertEqual(self.IDS, self.read([]))
        self.assertEqual(5, len(self.calls()))  # the token, three pages, an empty one

    def test_a_range_failing_after_its_first_page_raises_after_the_retries(self) -> None:
        self.http.get(f'{AODH}/v2/alarms?limit=3&marker=a3', status_code=503)
        error = self.assertRaises(APIError, self.read, ['a5'], limit=3)
        self.assertEqual(503, error.status)
        self.assertEqual(3, len(self.sleeps))

    def test_a_failure_of_the_first_range_raises_and_is_not_read_again(self) -> None:
        self.http.get(f'{AODH}/v2/alarms?limit=1', status_code=403,
                      json={'error_message': {'faultstring': 'no'}})
        error = self.assertRaises(APIError, self.read, ['a2', 'a5'])
        self.assertEqual(403, error.status)
        self.assertEqual([('POST', TOKENS), ('GET', f'{AODH}/v2/alarms?limit=1')],
                         self.calls())  # no other range started

    def test_what_transform_raises_is_raised(self) -> None:
        def transform(item: dict[str, Any]) -> str:
            if item['alarm_id'] == 'a6':
                raise ValueError('a6 is odd')
            return str(item['alarm_id'])

        error = self.assertRaises(ValueError, read_marker_ranges, self.client(AODH),
                                  'v2/alarms', 'alarm_id', ['a2', 'a5'], transform, limit=4)
        self.assertIn('a6 is odd', str(error))

"""Client calls and paging: the exact HTTP calls they make."""

from __future__ import annotations

import threading
from typing import Any

from vitrage_ds.errors import APIError, MalformedResponse, PageLoopError
from tests.unit.http.base import AODH, HEAT, TOKENS, HTTPTestCase


def _stacks(*ids: str) -> list[dict[str, str]]:
    return [{'id': i, 'stack_name': f'name-{i}'} for i in ids]


def _linked_page(ids: tuple[str, ...], next_query: str | None,
                 host: str = HEAT) -> dict[str, object]:
    """A Heat listing page: its stacks and, unless last, a rel=next link."""
    body: dict[str, object] = {'stacks': _stacks(*ids)}
    if next_query:
        body['links'] = [{'rel': 'next', 'href': f'{host}/stacks?{next_query}'}]
    return body


def _assert_closing_waits_for_the_prefetch(test: HTTPTestCase, pages: Any) -> None:
    """Closing ``pages`` after its first item leaves no prefetch running, and
    the calls are the token, page 1 and the prefetched page 2."""
    next(pages)

    pages.close()

    test.assertEqual([], [t for t in threading.enumerate() if t.name == 'vitrage_ds-prefetch'])
    test.assertEqual(3, len(test.calls()))


class GetTest(HTTPTestCase):

    def test_get_authenticates_then_calls_the_full_url_with_the_query(self) -> None:
        self.http.get(f'{HEAT}/stacks', json={'stacks': []})

        body = self.client().get('stacks', params={'global_tenant': 'true'})

        self.assertEqual({'stacks': []}, body)
        self.assert_calls([('POST', TOKENS),
                           ('GET', f'{HEAT}/stacks?global_tenant=true')])

    def test_every_call_carries_the_timeout(self) -> None:
        self.http.get(f'{HEAT}/stacks', json={'stacks': []})
        self.client(timeout=7.5).get('stacks')
        self.assertEqual(7.5, self.http.last_request.timeout)

    def test_an_empty_body_is_none(self) -> None:
        self.http.delete(f'{AODH}/v2/alarms/a-1', status_code=204)
        self.assertIsNone(self.client(AODH).delete('v2/alarms/a-1'))

    def test_a_redirect_is_an_error_not_a_body(self) -> None:
        self.http.get(f'{HEAT}/stacks/s-1/resources', status_code=302,
                      headers={'Location': f'{HEAT}/stacks/name/s-1/resources'})

        error = self.assertRaises(APIError, self.client().get, 'stacks/s-1/resources')

        self.assertEqual(302, error.status)
        self.assertIn(f'{HEAT}/stacks/name/s-1/resources', str(error))
        self.assert_calls([('POST', TOKENS), ('GET', f'{HEAT}/stacks/s-1/resources')])

    def test_request_returns_a_redirect_as_is(self) -> None:
        self.http.get(f'{HEAT}/stacks/s-1/resources', status_code=302,
                      headers={'Location': f'{HEAT}/stacks/name/s-1/resources'})
        resp = self.client().request('GET', 'stacks/s-1/resources')
        self.assertEqual(302, resp.status_code)


class LinkPagingTest(HTTPTestCase):
    """Heat style: each page but the last has a ``links`` rel=next."""

    def test_follows_next_links_over_three_pages(self) -> None:
        self.http.get(f'{HEAT}/stacks', [
            {'json': _linked_page(('a', 'b'), 'limit=2&marker=b')},
            {'json': _linked_page(('c', 'd'), 'limit=2&marker=d')},
            {'json': _linked_page(('e',), None)},
        ])

        stacks = list(self.client().paginate_links('stacks', 'stacks', {'limit': 2}))

        self.assertEqual(['a', 'b', 'c', 'd', 'e'], [s['id'] for s in stacks])
        self.assert_calls([('POST', TOKENS),
                           ('GET', f'{HEAT}/stacks?limit=2'),
                           ('GET', f'{HEAT}/stacks?limit=2&marker=b'),
                           ('GET', f'{HEAT}/stacks?limit=2&marker=d')])

    def test_a_next_link_on_another_host_is_followed_on_the_endpoint(self) -> None:
        # Behind a proxy Heat may link its own internal address; the token
        # must not go there and the endpoint is what is reachable.
        self.http.get(f'{HEAT}/stacks', [
            {'json': _linked_page(('a',), 'limit=1&marker=a', host='http://internal:8004/v1/p-1')},
            {'json': _linked_page((), None)},
        ])

        stacks = list(self.client().paginate_links('stacks', 'stacks', {'limit': 1}))

        self.assertEqual(['a'], [s['id'] for s in stacks])
        self.assert_calls([('POST', TOKENS),
                           ('GET', f'{HEAT}/stacks?limit=1'),
                           ('GET', f'{HEAT}/stacks?limit=1&marker=a')])

    def test_a_repeated_next_link_is_a_page_loop(self) -> None:
        self.http.get(f'{HEAT}/stacks', [
            {'json': _linked_page(('a',), 'limit=1&marker=a')},
            {'json': _linked_page(('b',), 'limit=1&marker=a')},
        ])

        error = self.assertRaises(
            PageLoopError, list, self.client().paginate_links('stacks', 'stacks', {'limit': 1}))

        self.assertIn('marker=a', str(error))
        self.assert_calls([('POST', TOKENS),
                           ('GET', f'{HEAT}/stacks?limit=1'),
                           ('GET', f'{HEAT}/stacks?limit=1&marker=a')])

    def test_a_page_of_items_already_seen_is_a_page_loop(self) -> None:
        self.http.get(f'{HEAT}/stacks', [
            {'json': _linked_page(('a', 'b'), 'limit=2&marker=b')},
            {'json': _linked_page(('a', 'b'), 'limit=2&marker=b2')},
        ])
        self.assertRaises(PageLoopError, list,
                          self.client().paginate_links('stacks', 'stacks', {'limit': 2}))
        self.assertEqual(3, len(self.calls()))

    def test_a_page_without_the_list_is_malformed(self) -> None:
        self.http.get(f'{HEAT}/stacks', json={'error': 'nope'})
        self.assertRaises(MalformedResponse, list,
                          self.client().paginate_links('stacks', 'stacks'))


class LinkPrefetchTest(HTTPTestCase):
    """``prefetch=True``: the next linked page is asked for while the caller works."""

    def test_the_calls_are_the_same_as_without_prefetch(self) -> None:
        self.http.get(f'{HEAT}/stacks', [
            {'json': _linked_page(('a', 'b'), 'limit=2&marker=b')},
            {'json': _linked_page(('c',), None)},
        ])

        stacks = list(self.client().paginate_links('stacks', 'stacks', {'limit': 2},
                                                   prefetch=True))

        self.assertEqual(['a', 'b', 'c'], [s['id'] for s in stacks])
        self.assert_calls([('POST', TOKENS),
                           ('GET', f'{HEAT}/stacks?limit=2'),
                           ('GET', f'{HEAT}/stacks?limit=2&marker=b')])

    def test_the_next_page_is_asked_for_before_the_first_is_consumed(self) -> None:
        second_asked = threading.Event()

        def second(request: Any, context: Any) -> dict[str, object]:
            second_asked.set()
            return _linked_page((), None)

        self.http.get(f'{HEAT}/stacks', [
            {'json': _linked_page(('a', 'b'), 'limit=2&marker=b')}, {'json': second}])
        pages = self.client().paginate_links('stacks', 'stacks', {'limit': 2}, prefetch=True)

        self.assertEqual('a', next(pages)['id'])
        self.assertTrue(second_asked.wait(10.0))
        self.assertEqual(['b'], [s['id'] for s in pages])

    def test_stopping_early_waits_for_the_page_in_flight(self) -> None:
        self.http.get(f'{HEAT}/stacks', [
            {'json': _linked_page(('a',), 'limit=1&marker=a')},
            {'json': _linked_page((), None)},
        ])
        pages = self.client().paginate_links('stacks', 'stacks', {'limit': 1}, prefetch=True)
        _assert_closing_waits_for_the_prefetch(self, pages)

    def test_a_page_loop_asks_for_nothing_more(self) -> None:
        self.http.get(f'{HEAT}/stacks', [
            {'json': _linked_page(('a',), 'limit=1&marker=a')},
            {'json': _linked_page(('b',), 'limit=1&marker=a')},
        ])

        self.assertRaises(PageLoopError, list, self.client().paginate_links(
            'stacks', 'stacks', {'limit': 1}, prefetch=True))

        self.assertEqual(3, len(self.calls()))


class MarkerPagingTest(HTTPTestCase):
    """Aodh style: ``limit`` and ``marker``, no link; an empty page is the last."""

    def _alarms(self, *ids: str) -> list[dict[str, str]]:
        return [{'alarm_id': i} for i in ids]

    def test_pages_by_marker_until_an_empty_page(self) -> None:
        self.http.get(f'{AODH}/v2/alarms', [
            {'json': self._alarms('a', 'b')},
            {'json': self._alarms('c', 'd')},
            {'json': self._alarms('e')},
            {'json': []},
        ])
        query = [('q.field', 'all_projects'), ('q.op', 'eq'), ('q.value', 'true')]

        alarms = list(self.client(AODH).paginate_marker('v2/alarms', 'alarm_id', query,
                                                        limit=2))

        self.assertEqual(['a', 'b', 'c', 'd', 'e'], [a['alarm_id'] for a in alarms])
        q = 'q.field=all_projects&q.op=eq&q.value=true'
        self.assert_calls([('POST', TOKENS),
                           ('GET', f'{AODH}/v2/alarms?{q}&limit=2'),
                           ('GET', f'{AODH}/v2/alarms?{q}&limit=2&marker=b'),
                           ('GET', f'{AODH}/v2/alarms?{q}&limit=2&marker=d'),
                           ('GET', f'{AODH}/v2/alarms?{q}&limit=2&marker=e')])

    def test_a_page_shorter_than_the_limit_does_not_end_the_listing(self) -> None:
        # A service capping ``limit`` (Aodh's default_api_return_limit, a
        # proxy) must not make the listing look shorter than it is.
        self.http.get(f'{AODH}/v2/alarms', [
            {'json': self._alarms('a')},
            {'json': self._alarms('b')},
            {'json': []},
        ])
        alarms = list(self.client(AODH).paginate_marker('v2/alarms', 'alarm_id', limit=5))
        self.assertEqual(['a', 'b'], [a['alarm_id'] for a in alarms])

    def test_a_full_last_page_costs_one_empty_page(self) -> None:
        self.http.get(f'{AODH}/v2/alarms', [
            {'json': self._alarms('a', 'b')},
            {'json': []},
        ])
        alarms = list(self.client(AODH).paginate_marker('v2/alarms', 'alarm_id', limit=2))
        self.assertEqual(['a', 'b'], [a['alarm_id'] for a in alarms])
        self.assert_calls([('POST', TOKENS),
                           ('GET', f'{AODH}/v2/alarms?limit=2'),
                           ('GET', f'{AODH}/v2/alarms?limit=2&marker=b')])

    def test_a_repeated_page_is_a_page_loop(self) -> None:
        self.http.get(f'{AODH}/v2/alarms', json=self._alarms('a', 'b'))

        error = self.assertRaises(
            PageLoopError, list,
            self.client(AODH).paginate_marker('v2/alarms', 'alarm_id', limit=2))

        self.assertIn("'b'", str(error))
        self.assert_calls([('POST', TOKENS),
                           ('GET', f'{AODH}/v2/alarms?limit=2'),
                           ('GET', f'{AODH}/v2/alarms?limit=2&marker=b')])

    def test_an_item_without_its_id_is_malformed(self) -> None:
        self.http.get(f'{AODH}/v2/alarms', json=[{'name': 'x'}])
        self.assertRaises(MalformedResponse, list,
                          self.client(AODH).paginate_marker('v2/alarms', 'alarm_id'))


class MarkerPrefetchTest(HTTPTestCase):
    """``prefetch=True``: the next page is asked for while the caller works."""

    def _pages(self) -> None:
        self.http.get(f'{AODH}/v2/alarms', [
            {'json': [{'alarm_id': 'a'}, {'alarm_id': 'b'}]},
            {'json': [{'alarm_id': 'c'}]},
            {'json': []},
        ])

    def test_the_calls_are_the_same_as_without_prefetch(self) -> None:
        self._pages()
        alarms = list(self.client(AODH).paginate_marker('v2/alarms', 'alarm_id', limit=2,
                                                        prefetch=True))
        self.assertEqual(['a', 'b', 'c'], [a['alarm_id'] for a in alarms])
        self.assert_calls([('POST', TOKENS),
                           ('GET', f'{AODH}/v2/alarms?limit=2'),
                           ('GET', f'{AODH}/v2/alarms?limit=2&marker=b'),
                           ('GET', f'{AODH}/v2/alarms?limit=2&marker=c')])

    def test_the_next_page_is_asked_for_before_the_first_is_consumed(self) -> None:
        second_asked = threading.Event()

        def second(request: Any, context: Any) -> list[dict[str, str]]:
            second_asked.set()
            return []

        self.http.get(f'{AODH}/v2/alarms', [
            {'json': [{'alarm_id': 'a'}, {'alarm_id': 'b'}]}, {'json': second}])
        pages = self.client(AODH).paginate_marker('v2/alarms', 'alarm_id', limit=2,
                                                  prefetch=True)

        first = next(pages)

        self.assertEqual('a', first['alarm_id'])
        self.assertTrue(second_asked.wait(10.0))
        self.assertEqual(['b'], [a['alarm_id'] for a in pages])

    def test_stopping_early_waits_for_the_page_in_flight(self) -> None:
        self._pages()
        pages = self.client(AODH).paginate_marker('v2/alarms', 'alarm_id', limit=2,
                                                  prefetch=True)
        _assert_closing_waits_for_the_prefetch(self, pages)

    def test_a_failed_prefetched_page_raises_where_it_is_needed(self) -> None:
        self.http.get(f'{AODH}/v2/alarms', [
            {'json': [{'alarm_id': 'a'}]},
            {'status_code': 403, 'json': {'error_message': {'faultstring': 'no'}}}])
        pages = self.client(AODH).paginate_marker('v2/alarms', 'alarm_id', limit=1,
                                                  prefetch=True)
        self.assertEqual('a', next(pages)['alarm_id'])
        error = self.assertRaises(APIError, next, pages)
        self.assertEqual(403, error.status)


class MarkerRangesTest(HTTPTestCase):
    """``read_marker_ranges``: ranges read at once, split at known ids."""

    IDS = [f'a{i}' for i in range(10)]

    def setUp(self) -> None:
        super().setUp()
        self.listing = list(self.IDS)

        def answer(request: Any, context: Any) -> Any:
            marker = request.qs.get('marker', [None])[0]
            limit = int(request.qs['limit'][0])
            start = 0
            if marker is not None:
                if marker not in self.listing:  # as Aodh 23 answers
                    context.status_code = 500
                    return {'error_message': {'faultstring': f'Marker {marker} not found.'}}
                start = self.listing.index(marker) + 1
            return [{'alarm_id': i} for i in self.listing[start:start + limit]]
        self.http.get(f'{AODH}/v2/alarms', json=answer)

    def read(self, starts: list[str], limit: int = 4) -> list[str]:
        return self.client(AODH).read_marker_ranges(
            'v2/alarms', 'alarm_id', starts, lambda item: item['alarm_id'], limit=limit)

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
        self.listing.clear()
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
        self.listing.remove('a5')

        ids = self.read(['a2', 'a5'])

        self.assertEqual([i for i in self.IDS if i != 'a5'], ids)
        self.assertEqual(1, self.calls().count(('GET', f'{AODH}/v2/alarms?limit=4&marker=a5')))
        self.assertEqual([], self.sleeps)
        self.assertEqual([('GET', f'{AODH}/v2/alarms?limit=4'),
                          ('GET', f'{AODH}/v2/alarms?limit=4&marker=a3'),
                          ('GET', f'{AODH}/v2/alarms?limit=4&marker=a8'),
                          ('GET', f'{AODH}/v2/alarms?limit=4&marker=a9')],
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

        error = self.assertRaises(
            ValueError, self.client(AODH).read_marker_ranges,
            'v2/alarms', 'alarm_id', ['a2', 'a5'], transform, limit=4)
        self.assertIn('a6 is odd', str(error))

    def test_paginate_marker_can_start_after_a_marker(self) -> None:
        items = self.client(AODH).paginate_marker('v2/alarms', 'alarm_id', limit=4,
                                                  marker='a6')
        self.assertEqual(['a7', 'a8', 'a9'], [a['alarm_id'] for a in items])

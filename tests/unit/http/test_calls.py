"""Client calls and paging: the exact HTTP calls they make."""

from __future__ import annotations

import threading
from typing import Any

from vitrage_ds.errors import APIError, ConnectionFailed, MalformedResponse, PageLoopError
from vitrage_ds.http import paging
from tests.unit.http.base import AODH, HEAT, TOKENS, AodhListing, HTTPTestCase


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

    def test_paginate_marker_can_start_after_a_marker(self) -> None:
        self.http.get(f'{AODH}/v2/alarms', [{'json': self._alarms('c', 'd')}, {'json': []}])

        items = list(self.client(AODH).paginate_marker('v2/alarms', 'alarm_id', limit=4,
                                                       marker='b'))

        self.assertEqual(['c', 'd'], [a['alarm_id'] for a in items])
        self.assert_calls([('POST', TOKENS),
                           ('GET', f'{AODH}/v2/alarms?limit=4&marker=b'),
                           ('GET', f'{AODH}/v2/alarms?limit=4&marker=d')])


class VanishedMarkerTest(HTTPTestCase):
    """An alarm deleted after a page ended with it: the listing is read again."""

    IDS = ['a', 'b', 'c', 'd', 'e', 'f', 'g']

    def listing(self, *deleted_after_page: str, marker: str | None = None) -> list[str]:
        self.http.get(f'{AODH}/v2/alarms', json=AodhListing(self.IDS, deleted_after_page))
        return self.read(marker)

    def read(self, marker: str | None = None) -> list[str]:
        return [a['alarm_id'] for a in self.client(AODH).paginate_marker(
            'v2/alarms', 'alarm_id', limit=3, marker=marker)]

    def test_the_listing_is_read_again_from_its_start(self) -> None:
        ids = self.listing('c')

        gone = ('GET', f'{AODH}/v2/alarms?limit=3&marker=c')
        self.assert_calls([('POST', TOKENS),
                           ('GET', f'{AODH}/v2/alarms?limit=3'),
                           gone, gone, gone, gone,  # a 500 like any other: retried
                           ('GET', f'{AODH}/v2/alarms?limit=3'),
                           ('GET', f'{AODH}/v2/alarms?limit=3&marker=d'),
                           ('GET', f'{AODH}/v2/alarms?limit=3&marker=g')])
        self.assertEqual(self.IDS, ids)  # c was yielded before it was deleted

    def test_items_already_yielded_are_not_yielded_again(self) -> None:
        ids = self.listing('f')
        self.assertEqual(self.IDS, ids)

    def test_a_second_vanished_marker_raises(self) -> None:
        error = self.assertRaises(APIError, self.listing, 'c', 'd')
        self.assertEqual(500, error.status)
        self.assertIn('marker=d', self.calls()[-1][1])

    def test_a_vanished_start_marker_raises(self) -> None:
        error = self.assertRaises(APIError, self.listing, marker='x')
        self.assertEqual(500, error.status)
        self.assertNotIn(('GET', f'{AODH}/v2/alarms?limit=3'), self.calls())

    def test_another_failure_of_a_later_page_is_not_read_again(self) -> None:
        self.http.get(f'{AODH}/v2/alarms', json=AodhListing(self.IDS))
        self.http.get(f'{AODH}/v2/alarms?limit=3&marker=c', status_code=503)
        error = self.assertRaises(APIError, self.read)
        self.assertEqual(503, error.status)
        self.assertEqual(1, self.calls().count(('GET', f'{AODH}/v2/alarms?limit=3')))

    def test_vanished_marker_is_an_error_naming_a_marker_not_found(self) -> None:
        url = f'{AODH}/v2/alarms'
        self.assertTrue(paging.vanished_marker(
            APIError('GET', url, 500, 'Marker 5d2e not found.')))
        self.assertTrue(paging.vanished_marker(APIError('GET', url, 400, 'marker x not found')))
        self.assertFalse(paging.vanished_marker(APIError('GET', url, 500, 'Internal error')))
        self.assertFalse(paging.vanished_marker(APIError('GET', url, 404, 'Alarm not found')))
        self.assertFalse(paging.vanished_marker(ConnectionFailed('GET', url, 'refused')))


class ShortListingTest(HTTPTestCase):
    """``short_listing``: a small filtered lookup ends at its first short page."""

    def lookup(self, limit: int) -> list[str]:
        client = self.client(AODH)
        pages = paging.marker_pages(client, 'v2/alarms', 'alarm_id', [('q.field', 'name')],
                                    limit)
        return [a['alarm_id'] for a in paging.short_listing(pages, limit)]

    def test_a_short_first_page_is_the_only_request(self) -> None:
        self.http.get(f'{AODH}/v2/alarms', json=[{'alarm_id': 'a'}])

        self.assertEqual(['a'], self.lookup(limit=2))
        self.assert_calls([('POST', TOKENS), ('GET', f'{AODH}/v2/alarms?q.field=name&limit=2')])

    def test_a_full_page_is_followed_by_the_next(self) -> None:
        self.http.get(f'{AODH}/v2/alarms', [{'json': [{'alarm_id': 'a'}, {'alarm_id': 'b'}]},
                                            {'json': [{'alarm_id': 'c'}]}])

        self.assertEqual(['a', 'b', 'c'], self.lookup(limit=2))
        self.assert_calls([('POST', TOKENS),
                           ('GET', f'{AODH}/v2/alarms?q.field=name&limit=2'),
                           ('GET', f'{AODH}/v2/alarms?q.field=name&limit=2&marker=b')])


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

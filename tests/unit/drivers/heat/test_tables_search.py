"""StackSearch: which filters go to Heat, which run here, and the exact calls."""

from __future__ import annotations

from typing import Any

import testtools

from tests.unit.drivers.heat.heat_api import (HOST, OTHER_PROJECT, PROJECT, resource_item,
                                              stack_item)
from tests.unit.drivers.heat.test_tables import CHILD, DB, GONE, P, WEB, TablesTestCase
from vitrage_ds.drivers.heat.search import FoundStack, StackQuery, StackSearch, is_glob
from vitrage_ds.errors import BackendError

GRANDCHILD = '55555555-5555-4555-8555-555555555555'
LISTED = {'global_tenant': ['true'], 'limit': ['1000']}


class TestQuery(testtools.TestCase):
    """StackQuery on its own: validation, server-side parameters, local matching."""

    def test_glob_characters(self) -> None:
        self.assertEqual([True, True, True, False],
                         [is_glob(p) for p in ('web-*', 'w?b', '[wd]b', 'web')])

    def test_exact_filters_are_sent_to_heat(self) -> None:
        query = StackQuery(name='web', status=('CREATE_FAILED', 'UPDATE_COMPLETE'),
                           project='p-1', tags=('blue', 'prod'))
        self.assertEqual([('name', 'web'), ('status', 'CREATE_FAILED'),
                          ('status', 'UPDATE_COMPLETE'), ('tenant', 'p-1'),
                          ('tags_any', 'blue,prod')], query.stack_params())

    def test_bare_statuses_are_sent_to_heat(self) -> None:
        self.assertEqual([('status', 'FAILED'), ('status', 'COMPLETE')],
                         StackQuery(status=('FAILED', 'COMPLETE')).stack_params())

    def test_bare_and_whole_statuses_together_are_not_sent(self) -> None:
        # Heat would list UPDATE stacks only: action=UPDATE for the whole query.
        self.assertEqual([], StackQuery(status=('FAILED', 'UPDATE_COMPLETE')).stack_params())

    def test_tags_alone_are_sent_as_every_one_of_them(self) -> None:
        self.assertEqual([('tags', 'blue,prod')],
                         StackQuery(tags=('blue', 'prod')).stack_params())

    def test_a_name_glob_is_not_sent(self) -> None:
        self.assertEqual([], StackQuery(name='web-*').stack_params())

    def test_nested_results_ask_heat_for_nested_stacks(self) -> None:
        self.assertEqual([('show_nested', 'true')], StackQuery(nested=True).stack_params())

    def test_exact_resource_filters_are_sent_with_the_depth(self) -> None:
        query = StackQuery(resource_type='OS::Heat::None', resource_name='leaf', depth=3)
        self.assertEqual({'nested_depth': 3, 'type': 'OS::Heat::None', 'name': 'leaf'},
                         query.resource_params())

    def test_resource_globs_are_not_sent(self) -> None:
        query = StackQuery(resource_type='OS::Nova::*', resource_name='web-?')
        self.assertEqual({'nested_depth': 5}, query.resource_params())

    def test_a_status_must_end_with_a_heat_status(self) -> None:
        self.assertRaises(ValueError, StackQuery, status=('CREATE',))

    def test_a_tag_cannot_hold_a_comma(self) -> None:
        self.assertRaises(ValueError, StackQuery, tags=('a,b',))

    def test_the_depth_cannot_be_negative(self) -> None:
        self.assertRaises(ValueError, StackQuery, depth=-1)

    def test_name_glob_matches_locally(self) -> None:
        query = StackQuery(name='we?-*')
        self.assertEqual([True, False], [query.matches_stack(stack_item(WEB, n))
                                         for n in ('web-1', 'db-1')])

    def test_a_bare_status_matches_every_action(self) -> None:
        query = StackQuery(status=('FAILED',))
        self.assertEqual([True, True, False], [
            query.matches_stack(stack_item(WEB, 'w', status=s))
            for s in ('CREATE_FAILED', 'UPDATE_FAILED', 'CREATE_COMPLETE')])

    def test_a_whole_status_matches_only_itself(self) -> None:
        query = StackQuery(status=('CREATE_FAILED',))
        self.assertEqual([True, False], [
            query.matches_stack(stack_item(WEB, 'w', status=s))
            for s in ('CREATE_FAILED', 'UPDATE_FAILED')])

    def test_project_from_the_item_or_its_link(self) -> None:
        query = StackQuery(project=OTHER_PROJECT)
        self.assertEqual([True, True, False], [
            query.matches_stack(stack_item(WEB, 'w', project=OTHER_PROJECT)),
            query.matches_stack(stack_item(WEB, 'w', project=OTHER_PROJECT,
                                           with_project=False)),
            query.matches_stack(stack_item(WEB, 'w'))])

    def test_every_tag_must_be_there(self) -> None:
        query = StackQuery(tags=('blue', 'prod'))
        self.assertEqual([True, False, False], [
            query.matches_stack(stack_item(WEB, 'w', tags=t))
            for t in (['prod', 'blue', 'x'], ['blue'], None)])

    def test_resource_type_and_name_must_match_the_same_resource(self) -> None:
        query = StackQuery(resource_type='OS::Nova::*', resource_name='web')
        self.assertEqual([True, False, False], [
            query.matches_resource(resource_item(WEB, 'w', n, resource_type=t))
            for n, t in (('web', 'OS::Nova::Server'), ('db', 'OS::Nova::Server'),
                         ('web', 'OS::Heat::None'))])


class SearchTestCase(TablesTestCase):

    def search(self, with_template: bool = False, **query: Any) -> list[FoundStack]:
        return StackSearch(self.client).search(StackQuery(**query), with_template)


class TestSearchCalls(SearchTestCase):

    def test_stack_filters_are_query_parameters_of_the_listing(self) -> None:
        self.serve_stacks(self.web)
        found = self.search(name='web', status=('COMPLETE',), project=PROJECT,
                            tags=('blue',))
        self.assertEqual([WEB], [f.id for f in found])
        self.assertEqual([('GET', f'{P}/stacks', {
            'name': ['web'], 'status': ['COMPLETE'], 'tenant': [PROJECT],
            'tags_any': ['blue'],
            'global_tenant': ['true'], 'limit': ['1000']})], self.calls())

    def test_repeated_statuses_are_repeated_parameters(self) -> None:
        self.serve_stacks()
        self.search(status=('CREATE_FAILED', 'UPDATE_FAILED'))
        self.assertEqual(['CREATE_FAILED', 'UPDATE_FAILED'],
                         self.http.request_history[0].qs['status'])

    def test_tags_any_is_narrowed_to_every_tag_here(self) -> None:
        one_tag = stack_item(DB, 'db', tags=['blue'])
        self.serve_stacks(self.web, one_tag)
        found = self.search(project=PROJECT, tags=('blue', 'prod'))
        self.assertEqual([WEB], [f.id for f in found])

    def test_what_heat_returns_is_still_matched_locally(self) -> None:
        # Heat reads status=CREATE_FAILED&status=UPDATE_COMPLETE as any of
        # the actions with any of the statuses; UPDATE_FAILED is not asked for.
        failed = stack_item(DB, 'db', status='UPDATE_FAILED')
        self.serve_stacks(self.web, failed)
        found = self.search(status=('CREATE_FAILED', 'UPDATE_COMPLETE'))
        self.assertEqual([], found)

    def test_a_bare_status_with_a_whole_one_finds_every_action_s(self) -> None:
        failed = stack_item(DB, 'db', status='CREATE_FAILED')
        self.serve_stacks(self.web, failed)
        found = self.search(status=('FAILED', 'UPDATE_COMPLETE'))
        self.assertEqual([DB], [f.id for f in found])
        self.assertEqual([('GET', f'{P}/stacks', LISTED)], self.calls())

    def test_a_name_glob_lists_every_stack_and_matches_here(self) -> None:
        self.serve_stacks(self.web, self.db)
        self.assertEqual([WEB], [f.id for f in self.search(name='w*')])
        self.assertEqual([('GET', f'{P}/stacks', LISTED)], self.calls())

    def test_a_resource_filter_reads_each_live_stack_s_tree_with_heat_s_filter(self) -> None:
        gone = stack_item(GONE, 'gone', status='DELETE_IN_PROGRESS')
        self.serve_stacks(self.web, gone, self.db)
        self.serve(self.stack_path(self.web, '/resources'), {'resources': [
            resource_item(GRANDCHILD, 'web-a-x-b-y', 'leaf', resource_type='OS::Heat::None',
                          parent_resource='b')]})
        self.serve(self.stack_path(self.db, '/resources'), {'resources': []})
        found = self.search(resource_type='OS::Heat::None', depth=3)
        query = {'nested_depth': ['3'], 'type': ['OS::Heat::None']}
        self.assertEqual([('GET', f'{P}/stacks', LISTED),
                          ('GET', self.stack_path(self.web, '/resources'), query),
                          ('GET', self.stack_path(self.db, '/resources'), query)],
                         self.calls())
        self.assertEqual([WEB], [f.id for f in found])
        self.assertEqual([{'resource_name': 'leaf', 'resource_type': 'OS::Heat::None',
                           'physical_resource_id': 'phys-leaf', 'stack_id': GRANDCHILD,
                           'stack_name': 'web-a-x-b-y'}], found[0].as_dict()['matches'])

    def test_a_resource_glob_reads_the_whole_tree_and_matches_here(self) -> None:
        self.serve_stacks(self.web)
        self.serve(self.stack_path(self.web, '/resources'), {'resources': [
            resource_item(WEB, 'web', 'server', resource_type='OS::Nova::Server'),
            resource_item(WEB, 'web', 'port', resource_type='OS::Neutron::Port')]})
        found = self.search(resource_type='OS::Nova::*')
        self.assertEqual({'nested_depth': ['5']}, self.http.request_history[-1].qs)
        self.assertEqual(['server'], [m['resource_name'] for m in found[0].matches])

    def test_heat_s_substring_type_match_is_made_exact_here(self) -> None:
        # Heat filters types by substring: type=OS::Heat::Stack also answers
        # an OS::Heat::StackX resource.
        self.serve_stacks(self.web)
        self.serve(self.stack_path(self.web, '/resources'), {'resources': [
            resource_item(WEB, 'web', 'x', resource_type='OS::Heat::StackX')]})
        self.assertEqual([], self.search(resource_type='OS::Heat::Stack'))

    def test_with_template_reads_the_tree_then_every_template(self) -> None:
        self.serve_stacks(self.web)
        child = stack_item(CHILD, 'web-child-x', parent=WEB)
        self.serve(self.stack_path(self.web, '/resources'), {'resources': [
            resource_item(WEB, 'web', 'child', resource_type='child.yaml',
                          nested=('web-child-x', CHILD)),
            resource_item(CHILD, 'web-child-x', 'grand', resource_type='grand.yaml',
                          nested=('web-child-x-grand-y', GRANDCHILD), parent_resource='child'),
            resource_item(GRANDCHILD, 'web-child-x-grand-y', 'leaf',
                          parent_resource='grand')]})
        self.serve(self.stack_path(self.web, '/template'), {'resources': {'child': {}}})
        self.serve(self.stack_path(child, '/template'), {'resources': {'grand': {}}})
        self.serve(f'{P}/stacks/web-child-x-grand-y/{GRANDCHILD}/template',
                   {'resources': {'leaf': {}}})
        (found,) = self.search(with_template=True, depth=4)
        self.assertEqual([('GET', f'{P}/stacks', LISTED),
                          ('GET', self.stack_path(self.web, '/resources'),
                           {'nested_depth': ['4']}),
                          ('GET', self.stack_path(self.web, '/template'), {}),
                          ('GET', self.stack_path(child, '/template'), {}),
                          ('GET', f'{P}/stacks/web-child-x-grand-y/{GRANDCHILD}/template', {})],
                         self.calls())
        self.assertEqual({'resources': {'child': {}}}, found.template)
        self.assertEqual([
            {'stack_id': CHILD, 'stack_name': 'web-child-x', 'parent_id': WEB,
             'resource_name': 'child', 'template': {'resources': {'grand': {}}}},
            {'stack_id': GRANDCHILD, 'stack_name': 'web-child-x-grand-y', 'parent_id': CHILD,
             'resource_name': 'grand', 'template': {'resources': {'leaf': {}}}}],
            found.as_dict(with_template=True)['nested_templates'])

    def test_nothing_found_makes_no_tree_or_template_call(self) -> None:
        self.serve_stacks(self.web)
        self.assertEqual([], self.search(name='db', with_template=True))
        self.assertEqual(1, len(self.calls()))


class TestSearchResults(SearchTestCase):

    def test_a_result_row(self) -> None:
        child = stack_item(CHILD, 'child', parent=WEB, project=OTHER_PROJECT,
                           with_project=False, tags=['x'])
        self.serve_stacks(child)
        self.assertEqual({'id': CHILD, 'name': 'child', 'project': OTHER_PROJECT,
                          'status': 'CREATE_COMPLETE', 'tags': ['x'], 'parent': WEB,
                          'matches': []}, self.search()[0].as_dict())

    def test_results_keep_heat_s_order(self) -> None:
        self.serve_stacks(self.db, self.web)
        self.assertEqual([DB, WEB], [f.id for f in self.search()])


class TestSearchFailures(SearchTestCase):

    def test_a_failed_tree_call_fails_the_search_naming_the_stack(self) -> None:
        self.serve_stacks(self.web)
        self.serve(self.stack_path(self.web, '/resources'), {'error': {'message': 'x'}},
                   status=500)
        error = self.assertRaises(BackendError, self.search, resource_name='leaf')
        self.assertIn(f'resources of stack web ({WEB}) could not be read', str(error))

    def test_a_failed_template_call_fails_the_search(self) -> None:
        self.serve_stacks(self.web)
        self.serve(self.stack_path(self.web, '/resources'), {'resources': []})
        self.serve(self.stack_path(self.web, '/template'), {'error': {'message': 'x'}},
                   status=404)
        error = self.assertRaises(BackendError, self.search, with_template=True)
        self.assertIn(f'template of stack web ({WEB}) could not be read', str(error))

    def test_the_all_projects_403_falls_back_like_the_driver(self) -> None:
        def answer(request: Any, context: Any) -> Any:
            if 'global_tenant' in request.qs:
                context.status_code = 403
                return {'error': {'message': 'no'}}
            return {'stacks': [self.web]}
        self.http.get(f'{HOST}{P}/stacks', json=answer)
        self.assertEqual([WEB], [f.id for f in self.search(project=PROJECT)])
        self.assertEqual({'tenant': [PROJECT], 'limit': ['1000']},
                         self.http.request_history[-1].qs)

"""get_all against the emulated cloud: scale, exact requests, policy fallback, failures."""

from __future__ import annotations

from typing import Any

from tests.functional.drivers import base
from vitrage_ds.drivers.heat import HeatStackDriver
from vitrage_ds.errors import BackendError
from vitrage_ds_testing import load_plugin
from vitrage_ds_testing.cloud import EmulatedCloud


class EmulatedHeatTestCase(base.EmulatedDriverTestCase):
    driver_name = 'heat.stack'
    seed = 6
    log_format = '%(levelname)s %(name)s %(message)s'

    def heat_requests(self) -> list[Any]:
        return self.cloud.requests.filter(service='orchestration')


class TestTenThousandStacks(base.OnePollTestCase):
    """10,000 stacks x 10 resources over 3 projects, all-projects listing allowed.

    One poll for the whole class: the tests read what it returned and asked.
    """

    driver_name = 'heat.stack'
    seed = 6
    global_index_allowed = True
    projects: list[str]
    stacks: list[Any]

    @classmethod
    def populate(cls, cloud: EmulatedCloud) -> None:
        cls.projects = cloud.ensure_projects(3)
        cls.stacks = cloud.heat.populate(10_000, 10, projects=cls.projects)

    def heat_requests(self) -> list[Any]:
        return self.cloud.requests.filter(service='orchestration')

    def test_every_stack_and_resource_is_present_once(self) -> None:
        stacks = [e for e in self.events if e.entity_type == 'heat.stack']
        resources = [e for e in self.events if e.entity_type == 'heat.resource']
        self.assertEqual({s.id for s in self.stacks}, {e.entity_id for e in stacks})
        self.assertEqual(10_000, len(stacks))
        self.assertEqual(100_000, len(resources))
        self.assertEqual(110_000, len({e.key for e in self.events}))

    def test_requests_are_stacks_plus_pages_with_no_redirect(self) -> None:
        counts = {r.route: 0 for r in self.heat_requests()}
        for request in self.heat_requests():
            counts[request.route] += 1
        # 10 full pages of 1,000, then the empty page the 10th page links to.
        self.assertEqual({'heat.stacks.list': 11, 'heat.resources.list': 10_000}, counts)
        self.assertLessEqual(len(self.heat_requests()), 10_000 + 11 + 1)

    def test_every_resources_call_is_on_the_full_path_with_nested_depth(self) -> None:
        expected = {f'/v1/{self.cloud.admin_project_id}/stacks/{s.name}/{s.id}/resources'
                    for s in self.stacks}
        calls = [r for r in self.heat_requests() if r.route == 'heat.resources.list']
        self.assertEqual(expected, {r.path for r in calls})
        self.assertEqual({(('nested_depth', '0'),)}, {tuple(r.params) for r in calls})

    def test_the_listing_asks_every_project_page_by_page(self) -> None:
        pages = [dict(r.params) for r in self.heat_requests() if r.route == 'heat.stacks.list']
        self.assertEqual({'global_tenant': 'true', 'show_hidden': 'true', 'show_nested': 'true',
                          'limit': '1000'}, pages[0])
        self.assertEqual(10, len([p for p in pages if 'marker' in p]))

    def test_every_project_is_covered(self) -> None:
        projects = {e.fields['user_project_id'] for e in self.events}
        self.assertEqual(set(self.projects), projects)
        self.assertEqual({'all_projects'}, {e.fields['scope'] for e in self.events})


class TestNestedStacks(EmulatedHeatTestCase):

    def setUp(self) -> None:
        super().setUp()
        self.cloud.global_index_allowed = True
        self.parents = self.cloud.heat.populate(5, 3, nested=2)

    def test_a_nested_stack_is_a_stack_with_its_parent_and_parent_resource(self) -> None:
        events = {e.key: e for e in self.driver().get_all()}

        parent = self.parents[0]
        children = self.cloud.heat.children(parent.id)
        self.assertEqual(1, len(children))
        child = children[0]
        self.assertEqual(parent.id, events[('heat.stack', child.id)].fields['parent'])
        owner = events[('heat.resource', f'{parent.id}/{child.parent_resource}')]
        self.assertEqual(child.id, owner.fields['nested_stack_id'])
        leaf = next(e for e in events.values()
                    if e.entity_type == 'heat.resource' and e.fields['stack_id'] == child.id)
        self.assertEqual(f'{parent.id}/{child.parent_resource}',
                         leaf.fields['parent_resource_id'])

    def test_nested_depth_reads_the_children_through_their_root(self) -> None:
        events = {e.key: e for e in self.driver(show_nested=False, nested_depth=5).get_all()}

        child = self.cloud.heat.children(self.parents[0].id)[0]
        self.assertNotIn(('heat.stack', child.id), events)
        self.assertEqual(5, len([e for e in events if e[0] == 'heat.stack']))
        self.assertEqual(5 * 3 + 2 * 3, len([e for e in events if e[0] == 'heat.resource']))
        self.assertEqual(5, self.cloud.requests.count('heat.resources.list'))


class TestHiddenStacks(EmulatedHeatTestCase):
    """Heat leaves stacks with a ``hidden_stack_tags`` tag out of listings
    unless asked; their notifications come all the same."""

    def setUp(self) -> None:
        super().setUp()
        self.cloud.heat.hidden_tags = frozenset({'hidden'})
        [self.plain] = self.cloud.heat.populate(1, 1, tags=('plain',))
        [self.hidden] = self.cloud.heat.populate(1, 1, tags=('hidden',))

    def test_a_poll_lists_hidden_stacks_too(self) -> None:
        stacks = {e.entity_id for e in self.driver().get_all() if e.entity_type == 'heat.stack'}
        self.assertEqual({self.plain.id, self.hidden.id}, stacks)
        listings = [dict(r.params) for r in self.heat_requests()
                    if r.route == 'heat.stacks.list']
        self.assertEqual(['true'] * len(listings), [q.get('show_hidden') for q in listings])


class TestPolicyFallback(EmulatedHeatTestCase):
    """Heat's default policy: the all-projects listing answers 403."""

    def setUp(self) -> None:
        super().setUp()
        projects = [self.cloud.admin_project_id, self.cloud.demo_project_id,
                    *self.cloud.ensure_projects(1)]
        self.stacks = self.cloud.heat.populate(30, 2, projects=projects)
        self.cloud.requests.clear()

    def member_driver(self) -> HeatStackDriver:
        """The driver with the demo user's (role member) credentials."""
        conf = self.cloud.make_conf('password', http={'retries': 0}, service_credentials={
            'username': self.cloud.demo_username, 'password': self.cloud.demo_password,
            'project_name': self.cloud.demo_project_name})
        driver: HeatStackDriver = load_plugin('driver', 'heat.stack', conf=conf)
        self.addCleanup(driver.close)
        return driver

    def test_member_credentials_poll_their_own_project(self) -> None:
        events = self.member_driver().get_all()

        own = {s.id for s in self.stacks if s.project_id == self.cloud.demo_project_id}
        self.assertEqual(own, {e.entity_id for e in events if e.entity_type == 'heat.stack'})
        self.assertEqual({'project'}, {e.fields['scope'] for e in events})
        self.assertEqual({self.cloud.demo_project_id},
                         {e.fields['user_project_id'] for e in events})

    def test_admin_credentials_see_every_project_in_the_plain_listing(self) -> None:
        events = self.driver().get_all()

        self.assertEqual({s.id for s in self.stacks},
                         {e.entity_id for e in events if e.entity_type == 'heat.stack'})
        self.assertEqual({'project'}, {e.fields['scope'] for e in events})

    def test_the_calls_are_the_refused_listing_then_the_plain_listing(self) -> None:
        self.member_driver().get_all()

        listings = [dict(r.params) for r in self.heat_requests()
                    if r.route == 'heat.stacks.list']
        self.assertEqual([{'global_tenant': 'true', 'show_hidden': 'true', 'show_nested': 'true',
                           'limit': '1000'},
                          {'show_hidden': 'true', 'show_nested': 'true', 'limit': '1000'}],
                         listings)
        self.assertEqual(2 + 10, len(self.heat_requests()))

    def test_the_policy_is_named_once_over_several_polls(self) -> None:
        driver = self.driver()
        driver.get_all()
        driver.get_all()

        named = [line for line in self.logs.output.splitlines()
                 if 'stacks:global_index' in line and line.startswith('WARNING')]
        self.assertEqual(1, len(named), self.logs.output)

    def test_allowing_the_policy_takes_effect_at_the_next_poll(self) -> None:
        driver = self.driver()
        driver.get_all()
        self.cloud.global_index_allowed = True

        events = driver.get_all()

        self.assertEqual({'all_projects'}, {e.fields['scope'] for e in events})
        self.assertIn('polling every project again', self.logs.output)

    def test_members_allowed_to_list_every_project_cannot_read_them(self) -> None:
        self.cloud.global_index_allowed = True

        error = self.assertRaises(BackendError, self.member_driver().get_all)

        self.assertIn("Heat's admin role", str(error))


class TestPagesAndResourcesOverlap(EmulatedHeatTestCase):
    """The resources calls do not wait for the last page of the listing."""

    def test_a_page_s_resources_are_read_while_the_next_pages_are_served(self) -> None:
        self.cloud.global_index_allowed = True
        self.cloud.heat.populate(3, 1)
        self.cloud.delay('heat.stacks.list', 0.3)

        events = self.driver(page_size=1).get_all()

        routes = [r.route for r in self.heat_requests()]
        last_page = len(routes) - 1 - routes[::-1].index('heat.stacks.list')
        self.assertEqual(3 + 3, len(events))
        self.assertLess(routes.index('heat.resources.list'), last_page, routes)


class TestFailures(EmulatedHeatTestCase):
    """A poll that cannot see everything raises and returns nothing."""

    def setUp(self) -> None:
        super().setUp()
        self.cloud.global_index_allowed = True
        self.stacks = self.cloud.heat.populate(50, 2)

    def test_a_failure_on_page_3_raises(self) -> None:
        self.cloud.fail_on_page('heat.stacks.list', 3, 500)

        error = self.assertRaises(BackendError, self.driver(page_size=10).get_all)

        self.assertIn('500', str(error))
        # Only the stacks of the first two pages had their resources read.
        self.assertLessEqual(self.cloud.requests.count('heat.resources.list'), 20)

    def test_a_failure_on_one_stack_s_resources_raises(self) -> None:
        victim = self.stacks[17]
        self.cloud.fail(f'GET /stacks/{victim.name}/{victim.id}/resources$', 503)

        error = self.assertRaises(BackendError, self.driver().get_all)

        self.assertIn(f'resources of stack {victim.name} ({victim.id}', str(error))

    def test_a_malformed_resources_body_raises(self) -> None:
        victim = self.stacks[3]
        self.cloud.malform(f'GET /stacks/{victim.name}/{victim.id}/resources$')

        self.assertRaises(BackendError, self.driver().get_all)

    def test_a_repeated_page_raises(self) -> None:
        self.cloud.repeat_page('heat.stacks.list', start=2)

        self.assertRaises(BackendError, self.driver(page_size=10).get_all)

    def test_the_next_poll_after_a_failure_is_complete(self) -> None:
        self.cloud.fail('heat.resources.list', 500, times=1)
        driver = self.driver()
        self.assertRaises(BackendError, driver.get_all)

        events = driver.get_all()

        self.assertEqual(50 + 100, len(events))

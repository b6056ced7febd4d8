"""Real clients against the emulated cloud: openstacksdk, vitrage_ds's own, TLS."""

from __future__ import annotations

import os
import types

import fixtures
import openstack
import testtools

from vitrage_ds import errors, registry
from vitrage_ds.http.session import client_factory_from_cloud, client_factory_from_conf
from vitrage_ds_testing import EmulatedCloud


def options(endpoint=None):
    return types.SimpleNamespace(endpoint_override=endpoint)


class TestOpenStackSDK(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(EmulatedCloud(seed=4))
        self.stacks = self.cloud.heat.populate(7, 3)
        self.conn = openstack.connection.Connection(
            auth_url=self.cloud.auth_url, username='admin', password='secret',
            project_name='admin', user_domain_name='Default', project_domain_name='Default',
            region_name='RegionOne')
        self.addCleanup(self.conn.close)

    def test_orchestration_proxy_lists_stacks(self):
        stacks = list(self.conn.orchestration.stacks())
        self.assertEqual([s.name for s in reversed(self.stacks)], [s.name for s in stacks])
        self.assertEqual('CREATE_COMPLETE', stacks[0].status)

    def test_get_stack_follows_the_redirect(self):
        stack = self.conn.orchestration.get_stack(self.stacks[0].id)
        self.assertEqual(self.stacks[0].name, stack.name)
        self.assertEqual(
            [('GET', f'/v1/{self.cloud.admin_project_id}/stacks/{self.stacks[0].id}'),
             ('GET', f'/v1/{self.cloud.admin_project_id}/stacks/{self.stacks[0].name}/'
                     f'{self.stacks[0].id}')],
            self.cloud.requests.calls('orchestration'))

    def test_resources_of_a_stack(self):
        stack = self.conn.orchestration.get_stack(self.stacks[1].id)
        names = [r.name for r in self.conn.orchestration.resources(stack)]
        self.assertEqual(['server_0', 'port_1', 'net_2'], names)

    def test_authenticates_once_with_the_password(self):
        list(self.conn.orchestration.stacks())
        list(self.conn.orchestration.stacks())
        self.assertEqual(1, self.cloud.requests.count('keystone.tokens.create'))


class TestOwnClient(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger())
        self.cloud = self.useFixture(EmulatedCloud(seed=5))
        self.cloud.populate(stacks=9, resources_per_stack=2, alarms=7)

    def heat_client(self, auth_type, **kwargs):
        endpoint = self.cloud.heat_endpoint() if auth_type == 'none' else None
        return self.cloud.client_factory(auth_type, **kwargs)('orchestration',
                                                             options(endpoint))

    def aodh_client(self, auth_type):
        endpoint = self.cloud.aodh_endpoint if auth_type == 'none' else None
        return self.cloud.client_factory(auth_type)('alarming', options(endpoint))

    def test_keystone_auth_and_catalog(self):
        stacks = list(self.heat_client('password').paginate_links('stacks', 'stacks',
                                                                  {'limit': 4}))
        alarms = list(self.aodh_client('password').paginate_marker('v2/alarms', 'alarm_id',
                                                                   limit=3))
        self.assertEqual((9, 7), (len(stacks), len(alarms)))
        self.assertEqual(3, self.cloud.requests.count('heat.stacks.list'))
        # Marker paging stops on an empty page: 3 + 3 + 1 + 0.
        self.assertEqual(4, self.cloud.requests.count('aodh.alarms.list'))

    def test_auth_type_none_with_identity_headers(self):
        stacks = list(self.heat_client('none').paginate_links('stacks', 'stacks'))
        alarms = self.aodh_client('none').get('v2/alarms')
        self.assertEqual((9, 7), (len(stacks), len(alarms)))
        self.assertEqual(0, self.cloud.requests.count('keystone.*'))
        sent = self.cloud.requests.filter('aodh.alarms.list')[0].headers
        self.assertEqual(self.cloud.admin_project_id, sent['x-project-id'])

    def test_expired_token_is_renewed_once_by_keystoneauth(self):
        client = self.heat_client('password')
        client.get('stacks')
        self.cloud.expire_tokens()
        self.assertEqual(9, len(client.get('stacks')['stacks']))
        self.assertEqual(2, self.cloud.requests.count('keystone.tokens.create'))

    def test_make_conf_loads_drivers_that_poll_the_cloud(self):
        self.useFixture(fixtures.FakeLogger())
        for auth_type in ('password', 'none'):
            conf = self.cloud.make_conf(auth_type)
            loaded = registry.load_drivers(conf, ['heat.stack'])
            self.assertEqual({}, loaded.failures)
            self.assertTrue(loaded.plugins['heat.stack'].get_all())

    def test_make_conf_overrides(self):
        conf = self.cloud.make_conf('none', http={'retries': 0},
                                    overrides={'driver.heat.stack': {
                                        'endpoint_override': 'http://127.0.0.1:9/x'}})
        self.assertEqual(0, conf.http.retries)
        self.assertEqual('http://127.0.0.1:9/x', conf['driver.heat.stack'].endpoint_override)

    def test_make_conf_refuses_other_auth_types(self):
        self.assertRaises(ValueError, self.cloud.make_conf, 'token')

    def test_clouds_yaml_for_os_cloud(self):
        path = self.cloud.clouds_yaml(os.path.join(
            self.useFixture(fixtures.TempDir()).path, 'clouds.yaml'))
        self.useFixture(fixtures.EnvironmentVariable('OS_CLIENT_CONFIG_FILE', path))
        conf = self.cloud.make_conf('password')
        for cloud_name in ('emulated', 'emulated-noauth'):
            if cloud_name.endswith('noauth'):
                conf = self.cloud.make_conf('none')
            client = client_factory_from_cloud(cloud_name, conf)('orchestration', options())
            self.assertEqual(9, len(client.get('stacks')['stacks']), cloud_name)


class TestTLS(testtools.TestCase):

    def setUp(self):
        super().setUp()
        self.cloud = self.useFixture(EmulatedCloud(seed=6, tls=True))
        self.cloud.heat.populate(2, 1)

    def test_https_endpoints_and_a_ca_file(self):
        self.assertTrue(self.cloud.auth_url.startswith('https://127.0.0.1:'))
        self.assertTrue(os.path.exists(self.cloud.ca_file))

    def test_client_trusting_the_ca_works(self):
        client = self.cloud.client_factory('password')('orchestration', options())
        self.assertEqual(2, len(client.get('stacks')['stacks']))

    def test_client_without_the_ca_fails_to_connect(self):
        conf = self.cloud.make_conf('none', http={'retries': 0})
        conf.clear_override('cafile', 'service_credentials')
        heat = client_factory_from_conf(conf)('orchestration',
                                              options(self.cloud.heat_endpoint()))
        self.assertRaises(errors.ConnectionFailed, heat.get, 'stacks')

    def test_insecure_skips_verification(self):
        conf = self.cloud.make_conf('none', http={'retries': 0})
        conf.clear_override('cafile', 'service_credentials')
        conf.set_override('insecure', True, 'service_credentials')
        self.useFixture(fixtures.WarningsCapture())
        heat = client_factory_from_conf(conf)('orchestration',
                                              options(self.cloud.heat_endpoint()))
        self.assertEqual(2, len(heat.get('stacks')['stacks']))

    def test_ca_file_is_removed_at_exit(self):
        with EmulatedCloud(tls=True) as other:
            path = other.ca_file
            self.assertTrue(os.path.exists(path))
        self.assertFalse(os.path.exists(path))

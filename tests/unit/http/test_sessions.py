"""Clients built from configuration: endpoints, no discovery, auth types, TLS."""

from __future__ import annotations

import os
import types
import urllib.parse
from typing import Any

import fixtures
import requests
from keystoneauth1 import fixture as ks_fixture

from vitrage_ds import config
from vitrage_ds.config import load_config
from vitrage_ds.drivers.heat.driver import HeatStackDriver
from vitrage_ds.errors import BackendError, ConfigurationError
from vitrage_ds.http.client import Client
from vitrage_ds.http.session import (client_factory_from_cloud, client_factory_from_conf,
                                     client_factory_from_session)
from vitrage_ds.http.transport import PooledSession
from vitrage_ds.plugin import PluginContext
from tests.unit.http.base import (AODH, HEAT, KEYSTONE, PASSWORD, TOKEN, TOKENS, HTTPTestCase,
                                  use_netrc)


def _options(**values: Any) -> Any:
    """A plugin's option group as the factory sees it."""
    return types.SimpleNamespace(**{'endpoint_override': None, **values})


class ConfigTestCase(HTTPTestCase):
    """Clients from a configuration file written by the test."""

    def setUp(self) -> None:
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        # keystoneauth's generic password plugin asks Keystone (never a
        # service) which identity API it speaks.
        self.http.get(KEYSTONE, json=ks_fixture.V3Discovery(KEYSTONE))

    def conf(self, *, extra: str = '', **credentials: str) -> Any:
        """``[service_credentials]`` with ``credentials`` (``timeout = 9``
        unless given; ``timeout=''`` leaves it unset), then ``extra``."""
        credentials.setdefault('timeout', '9')
        path = os.path.join(self.dir, 'vitrage_ds.conf')
        with open(path, 'w') as out:
            out.write('[service_credentials]\n')
            for name, value in credentials.items():
                if value:
                    out.write(f'{name} = {value}\n')
            out.write(extra)
        return load_config(['--config-file', path])

    def password_conf(self, **extra: str) -> Any:
        return self.conf(auth_type='password', auth_url=KEYSTONE, username='vitrage',
                         password=PASSWORD, user_domain_id='default', project_id='p-1',
                         project_domain_id='default', **extra)

    def client_for(self, conf: Any, service_type: str, **options: Any) -> Client:
        return client_factory_from_conf(conf)(service_type, _options(**options))


class FromConfigTest(ConfigTestCase):

    def test_catalog_endpoint_is_called_with_no_version_discovery(self) -> None:
        self.http.get(f'{HEAT}/stacks', json={'stacks': []})
        self.http.get(f'{AODH}/v2/alarms', json=[])
        factory = client_factory_from_conf(self.password_conf())

        factory('orchestration', _options()).get('stacks')
        factory('alarming', _options()).get('v2/alarms')

        # Nothing ever asks http://heat.test:8004/ or http://aodh.test:8042/
        # which versions they serve (real Heat without Keystone answers 404).
        self.assert_calls([('GET', KEYSTONE), ('POST', TOKENS),
                           ('GET', f'{HEAT}/stacks'),
                           ('GET', f'{AODH}/v2/alarms')])
        self.assertEqual([TOKEN, TOKEN], self.auth_tokens()[1:])
        self.assertEqual(9.0, self.http.last_request.timeout)

    def test_each_call_is_bounded_by_the_credentials_timeout(self) -> None:
        self.http.get(f'{HEAT}/stacks', json={'stacks': []})

        self.client_for(self.password_conf(), 'orchestration').get('stacks')

        self.assertEqual(9.0, self.http.last_request.timeout)

    def test_an_unset_timeout_bounds_each_call_with_the_default(self) -> None:
        self.http.get(f'{HEAT}/stacks', json={'stacks': []})

        self.client_for(self.password_conf(timeout=''), 'orchestration').get('stacks')

        self.assertEqual(config.DEFAULT_TIMEOUT, self.http.last_request.timeout)
        self.assertEqual(30.0, config.DEFAULT_TIMEOUT)

    def test_endpoint_override_is_called_with_no_version_discovery(self) -> None:
        other = 'http://heat-override.test:8004/v1/p-9'
        self.http.get(f'{other}/stacks', json={'stacks': []})

        self.client_for(self.password_conf(), 'orchestration',
                        endpoint_override=other).get('stacks')

        self.assert_calls([('GET', KEYSTONE), ('POST', TOKENS), ('GET', f'{other}/stacks')])

    def test_none_auth_with_an_override_sends_the_extra_headers(self) -> None:
        self.http.get(f'{AODH}/v2/alarms', json=[])
        conf = self.conf(auth_type='none')
        conf.set_override('headers', {'X-Roles': 'admin', 'X-Project-Id': 'p-1'}, 'http')

        self.client_for(conf, 'alarming', endpoint_override=AODH).get('v2/alarms')

        self.assert_calls([('GET', f'{AODH}/v2/alarms')])
        sent = self.http.last_request.headers
        self.assertEqual(('admin', 'p-1'), (sent.get('X-Roles'), sent.get('X-Project-Id')))

    def test_none_auth_without_an_override_fails_on_first_use_with_no_call(self) -> None:
        client = self.client_for(self.conf(auth_type='none'), 'alarming')
        self.assertRaises(BackendError, client.get, 'v2/alarms')
        self.assert_calls([])

    def test_a_service_missing_from_the_catalog_is_a_backend_error(self) -> None:
        client = self.client_for(self.password_conf(), 'compute')
        error = self.assertRaises(BackendError, client.get, 'servers')
        self.assertNotIn(PASSWORD, str(error))

    def test_tls_is_verified_by_default(self) -> None:
        client = self.client_for(self.password_conf(), 'orchestration')
        self.assertIs(True, client.session.verify)

    def test_cafile_is_passed_through(self) -> None:
        cafile = os.path.join(self.dir, 'ca.pem')
        client = self.client_for(self.password_conf(cafile=cafile), 'orchestration')
        self.assertEqual(cafile, client.session.verify)

    def test_insecure_turns_verification_off(self) -> None:
        client = self.client_for(self.password_conf(insecure='true'), 'orchestration')
        self.assertIs(False, client.session.verify)

    def test_the_cafile_reaches_the_request(self) -> None:
        secure = 'https://heat.test:8004/v1/p-1'
        self.http.get(f'{secure}/stacks', json={'stacks': []})
        cafile = os.path.join(self.dir, 'ca.pem')

        self.client_for(self.password_conf(cafile=cafile), 'orchestration',
                        endpoint_override=secure).get('stacks')

        self.assertEqual(cafile, self.http.last_request.verify)

    def heat_aodh_heat(self) -> list[Any]:
        """Call Heat, Aodh, then Heat again through one factory; the requests sent."""
        self.http.get(f'{HEAT}/stacks', json={'stacks': []})
        self.http.get(f'{AODH}/v2/alarms', json=[])
        factory = client_factory_from_conf(self.password_conf())
        heat, aodh = factory('orchestration', _options()), factory('alarming', _options())
        sent = []
        for client, path in ((heat, 'stacks'), (aodh, 'v2/alarms'), (heat, 'stacks')):
            client.get(path)
            sent.append(self.http.last_request)
        return sent

    def test_the_environment_s_proxies_reach_each_host_as_no_proxy_says(self) -> None:
        self.useFixture(fixtures.EnvironmentVariable('HTTP_PROXY', 'http://proxy.test:3128'))
        self.useFixture(fixtures.EnvironmentVariable('NO_PROXY', 'aodh.test'))

        proxies = [r.proxies.get('http') for r in self.heat_aodh_heat()]

        self.assertEqual(['http://proxy.test:3128', None, 'http://proxy.test:3128'], proxies)

    def test_a_netrc_entry_still_applies_to_its_host_only(self) -> None:
        use_netrc(self, self.dir, 'machine heat.test login proxyuser password proxypass')

        sent = [r.headers.get('Authorization', '')[:6] for r in self.heat_aodh_heat()]

        self.assertEqual(['Basic ', '', 'Basic '], sent)

    def test_the_environment_is_read_once_per_host(self) -> None:
        looked_up: list[str] = []
        netrc_read: list[str] = []
        lookup = requests.sessions.get_environ_proxies
        netrc = requests.utils.get_netrc_auth

        def counted(url: str, no_proxy: Any = None) -> Any:
            looked_up.append(urllib.parse.urlsplit(url).netloc)
            return lookup(url, no_proxy=no_proxy)

        def counted_netrc(url: str, raise_errors: bool = False) -> Any:
            netrc_read.append(urllib.parse.urlsplit(url).netloc)
            return netrc(url, raise_errors)

        self.useFixture(fixtures.MonkeyPatch('requests.sessions.get_environ_proxies', counted))
        self.useFixture(fixtures.MonkeyPatch('requests.utils.get_netrc_auth', counted_netrc))
        self.http.get(f'{HEAT}/stacks', json={'stacks': []})
        client = self.client_for(self.password_conf(), 'orchestration')

        for _ in range(3):
            client.get('stacks')

        self.assertEqual(['keystone.test:5000', 'heat.test:8004'], looked_up)
        self.assertEqual(['keystone.test:5000', 'heat.test:8004'], netrc_read)


class PoolTest(ConfigTestCase):
    """Connections kept per client: its parallel calls and one page read ahead."""

    def pool_size(self, client: Client) -> int:
        http = client.session.session
        self.assertIsInstance(http, PooledSession)
        return int(http.pool_size)

    def test_a_client_keeps_one_more_connection_than_its_parallel_calls(self) -> None:
        client = self.client_for(self.password_conf(), 'orchestration')
        self.assertEqual((10, 11), (client.max_parallel_calls, self.pool_size(client)))

    def test_a_plugin_s_own_parallel_calls_size_its_pool(self) -> None:
        client = self.client_for(self.password_conf(), 'orchestration', max_parallel_calls=3)
        self.assertEqual((3, 4), (client.max_parallel_calls, self.pool_size(client)))

    def test_a_plugin_s_connections_size_its_pool(self) -> None:
        client = self.client_for(self.password_conf(), 'alarming', max_connections=64)
        self.assertEqual((10, 64), (client.max_parallel_calls, self.pool_size(client)))

    def test_the_old_http_option_name_still_loads(self) -> None:
        path = os.path.join(self.dir, 'old.conf')
        with open(path, 'w') as out:
            out.write('[service_credentials]\nauth_type = none\n[http]\nmax_concurrency = 4\n')
        client = self.client_for(load_config(['--config-file', path]), 'orchestration',
                                 endpoint_override=HEAT)
        self.assertEqual((4, 5), (client.max_parallel_calls, self.pool_size(client)))

    def test_clients_share_one_token(self) -> None:
        self.http.get(f'{HEAT}/stacks', json={'stacks': []})
        self.http.get(f'{AODH}/v2/alarms', json=[])
        factory = client_factory_from_conf(self.password_conf())
        heat, aodh = factory('orchestration', _options()), factory('alarming', _options())

        heat.get('stacks')
        aodh.get('v2/alarms')

        self.assertIsNot(heat.session.session, aodh.session.session)
        self.assertEqual(1, [c[0] for c in self.calls()].count('POST'))


class HostSessionTest(HTTPTestCase):
    """A host's session is used as the host built it."""

    def test_its_adapters_are_left_as_they_are(self) -> None:
        self.http.stop()  # requests-mock would stand in for any adapter
        session = self.password_session()
        retrying = requests.adapters.HTTPAdapter(max_retries=5)
        session.session.mount('http://', retrying)
        factory = client_factory_from_session(session, load_config([]))

        client = factory('orchestration', {'endpoint_override': HEAT,
                                           'max_parallel_calls': 30})

        self.assertIs(session, client.session)
        self.assertIs(retrying, session.session.get_adapter(HEAT))
        self.assertEqual(5, retrying.max_retries.total)
        self.assertEqual(30, client.max_parallel_calls)


class FromCloudTest(HTTPTestCase):
    """``--os-cloud``: a clouds.yaml entry, as the openstack client reads it."""

    def setUp(self) -> None:
        super().setUp()
        self.dir = self.useFixture(fixtures.TempDir()).path
        self.http.get(KEYSTONE, json=ks_fixture.V3Discovery(KEYSTONE))

    def factory(self, cloud: str) -> Any:
        path = os.path.join(self.dir, 'clouds.yaml')
        with open(path, 'w') as out:
            out.write(cloud)
        self.useFixture(fixtures.EnvironmentVariable('OS_CLIENT_CONFIG_FILE', path))
        return client_factory_from_cloud('test', load_config([]))

    def test_catalog_endpoint_from_a_cloud_with_no_version_discovery(self) -> None:
        self.http.get(f'{HEAT}/stacks', json={'stacks': []})
        factory = self.factory(f'''
clouds:
  test:
    auth:
      auth_url: {KEYSTONE}
      username: vitrage
      password: {PASSWORD}
      project_id: p-1
      user_domain_id: default
    region_name: RegionOne
''')
        factory('orchestration', _options()).get('stacks')
        self.assert_calls([('GET', KEYSTONE), ('POST', TOKENS), ('GET', f'{HEAT}/stacks')])

    def test_a_clouds_endpoint_override_and_ca_file(self) -> None:
        other = 'https://heat-override.test:8004/v1/p-9'
        cafile = os.path.join(self.dir, 'ca.pem')
        self.http.get(f'{other}/stacks', json={'stacks': []})
        factory = self.factory(f'''
clouds:
  test:
    auth_type: none
    orchestration_endpoint_override: {other}
    cacert: {cafile}
''')
        client = factory('orchestration', _options())
        client.get('stacks')
        self.assert_calls([('GET', f'{other}/stacks')])
        self.assertEqual(cafile, self.http.last_request.verify)

    def test_an_unknown_cloud_is_a_configuration_error(self) -> None:
        self.assertRaises(ConfigurationError, self.factory, 'clouds: {}\n')


def _multi_endpoint_token() -> dict[str, Any]:
    """A token whose catalog has Heat public and internal in RegionOne,
    public in RegionTwo."""
    token = ks_fixture.V3Token(user_id='u-1', project_id='p-1')
    token.add_service('orchestration').add_standard_endpoints(
        public=HEAT, internal=HEAT_INTERNAL, region='RegionOne')
    token.add_service('orchestration').add_standard_endpoints(
        public=HEAT_TWO, region='RegionTwo')
    return dict(token)


HEAT_INTERNAL = 'http://heat-internal.test:8004/v1/p-1'
HEAT_TWO = 'http://heat-two.test:8004/v1/p-1'


class PluginAdapterOptionsTest(ConfigTestCase):
    """A plugin group's keystoneauth adapter options choose its client's endpoint."""

    def setUp(self) -> None:
        super().setUp()
        self.http.post(TOKENS, status_code=201, json=_multi_endpoint_token(),
                       headers={'X-Subject-Token': TOKEN})
        for url in (HEAT, HEAT_INTERNAL, HEAT_TWO, 'http://heat-override.test/v1/p-1'):
            self.http.get(f'{url}/stacks', json={'stacks': []})

    def stacks_url(self, group: str = '', **credentials: str) -> str:
        """The URL the Heat driver's client calls for ``stacks``, with
        ``group`` as ``[driver.heat.stack]``."""
        conf = self.password_conf(extra=f'[driver.heat.stack]\n{group}', **credentials)
        config.register_plugin_opts(conf, 'driver', HeatStackDriver.name, HeatStackDriver)
        PluginContext(conf, 'driver', HeatStackDriver.name).client('orchestration').get('stacks')
        return str(self.http.last_request.url)

    def test_without_them_the_credentials_interface_and_region_apply(self) -> None:
        self.assertEqual(f'{HEAT}/stacks', self.stacks_url())
        self.assertEqual(f'{HEAT_INTERNAL}/stacks', self.stacks_url(interface='internal'))
        self.assertEqual(f'{HEAT_TWO}/stacks', self.stacks_url(region_name='RegionTwo'))

    def test_valid_interfaces_choose_the_catalog_endpoint(self) -> None:
        self.assertEqual(f'{HEAT_INTERNAL}/stacks',
                         self.stacks_url('valid_interfaces = internal, public\n'))

    def test_region_name_chooses_the_catalog_endpoint(self) -> None:
        self.assertEqual(f'{HEAT_TWO}/stacks',
                         self.stacks_url('region_name = RegionTwo\n', region_name='RegionOne'))

    def test_endpoint_override_replaces_the_catalog(self) -> None:
        self.assertEqual('http://heat-override.test/v1/p-1/stacks',
                         self.stacks_url('endpoint_override = http://heat-override.test/v1/p-1\n'
                                         'valid_interfaces = internal\n'))

    def test_the_retry_counts_reach_the_client(self) -> None:
        conf = self.password_conf(extra='[http]\nretries = 2\n[driver.heat.stack]\n'
                                        'connect_retries = 5\nstatus_code_retries = 0\n')
        config.register_plugin_opts(conf, 'driver', HeatStackDriver.name, HeatStackDriver)
        client = PluginContext(conf, 'driver', HeatStackDriver.name).client('orchestration')
        self.assertEqual((2, 5, 0), (client.retry.retries, client.retry.connect_retries,
                                     client.retry.status_code_retries))

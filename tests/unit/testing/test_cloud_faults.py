"""Fault and latency injection per route, and the request log."""

from __future__ import annotations

import types

import fixtures
import requests

from tests.unit.testing.base import CloudTestCase
from vitrage_ds import errors
from vitrage_ds_testing.cloud import Fault


class FaultTestCase(CloudTestCase):

    def setUp(self):
        super().setUp()
        self.logs = self.useFixture(fixtures.FakeLogger())
        self.cloud.populate(stacks=12, resources_per_stack=2, alarms=12)
        self.stacks_url = f'{self.cloud.heat_endpoint()}/stacks'

    def client(self, service='orchestration', timeout=2, **http):
        options = types.SimpleNamespace(endpoint_override=(
            self.cloud.heat_endpoint() if service == 'orchestration'
            else self.cloud.aodh_endpoint))
        factory = self.cloud.client_factory(
            'none', http={'retries': 0, 'retry_backoff': 0.0, **http},
            service_credentials={'timeout': timeout})
        return factory(service, options)


class TestStatusFaults(FaultTestCase):

    def test_each_status_with_the_services_error_body(self):
        for status in (401, 403, 404, 409, 429, 500, 503):
            self.cloud.clear_faults()
            self.cloud.fail('heat.stacks.list', status)
            resp = self.http.get(self.stacks_url)
            self.assertEqual(status, resp.status_code)
            self.assertEqual('injected fault', resp.json()['error']['message'])

    def test_aodh_faults_use_aodhs_error_body(self):
        self.cloud.fail('aodh.alarms.list', 503)
        resp = self.aodh('GET', '/v2/alarms')
        self.assertEqual(503, resp.status_code)
        self.assertEqual('injected fault', resp.json()['error_message']['faultstring'])

    def test_times_limits_the_failures(self):
        fault = self.cloud.fail('heat.stacks.list', 500, times=2)
        codes = [self.http.get(self.stacks_url).status_code for _ in range(3)]
        self.assertEqual([500, 500, 200], codes)
        self.assertEqual((3, 2), (fault.calls, fault.fired))

    def test_custom_body_and_headers(self):
        self.cloud.fail('heat.stacks.list', 429, body={'slow': 'down'},
                        headers={'Retry-After': '0'})
        resp = self.http.get(self.stacks_url)
        self.assertEqual({'slow': 'down'}, resp.json())
        self.assertEqual('0', resp.headers['Retry-After'])

    def test_regex_route_spec_with_method(self):
        self.cloud.fail(r'GET /v1/[^/]+/stacks$', 409)
        self.assertEqual(409, self.http.get(self.stacks_url).status_code)
        self.assertEqual(200, self.aodh('GET', '/v2/alarms').status_code)

    def test_method_restricts_the_rule(self):
        self.cloud.fail('POST aodh.alarms.*', 500)
        self.assertEqual(200, self.aodh('GET', '/v2/alarms').status_code)
        self.assertEqual(500, self.aodh('POST', '/v2/alarms', json={}).status_code)

    def test_glob_route_spec(self):
        self.cloud.fail('heat.*', 503)
        self.assertEqual(503, self.http.get(self.stacks_url).status_code)

    def test_keystone_route_can_fail(self):
        self.cloud.fail('keystone.tokens.create', 503)
        resp = requests.post(f'{self.cloud.auth_url}/auth/tokens', json={})
        self.assertEqual(503, resp.status_code)

    def test_clear_faults(self):
        self.cloud.fail('heat.stacks.list', 500)
        self.cloud.clear_faults()
        self.assertEqual(200, self.http.get(self.stacks_url).status_code)

    def test_bad_route_spec_is_refused(self):
        self.assertRaises(ValueError, Fault, 'FETCH /x', 'status')
        self.assertRaises(ValueError, Fault, 'heat.*', 'explode')


class TestPagingFaults(FaultTestCase):

    def test_failure_on_page_n(self):
        self.cloud.fail_on_page('heat.stacks.list', 2, 500)
        client = self.client()
        error = self.assertRaises(errors.APIError, list,
                                  client.paginate_links('stacks', 'stacks', {'limit': 5}))
        self.assertEqual(500, error.status)
        self.assertEqual([None, self.cloud.heat.ordered()[4].id],
                         [r.param('marker') for r in self.cloud.requests.filter(
                             'heat.stacks.list')])

    def test_failure_on_page_n_once_is_survived_by_a_retry(self):
        self.cloud.fail_on_page('aodh.alarms.list', 2, 503, times=1)
        client = self.client('alarming', retries=1)
        alarms = list(client.paginate_marker('v2/alarms', 'alarm_id', limit=5))
        self.assertEqual(12, len(alarms))

    def test_repeated_page_is_detected_by_the_link_pager(self):
        self.cloud.repeat_page('heat.stacks.list')
        client = self.client()
        self.assertRaises(errors.PageLoopError, list,
                          client.paginate_links('stacks', 'stacks', {'limit': 5}))

    def test_repeated_page_is_detected_by_the_marker_pager(self):
        self.cloud.repeat_page('aodh.alarms.list')
        client = self.client('alarming')
        self.assertRaises(errors.PageLoopError, list,
                          client.paginate_marker('v2/alarms', 'alarm_id', limit=5))

    def test_repeat_page_serves_the_first_page_again(self):
        self.cloud.repeat_page('heat.stacks.list')
        first = self.http.get(self.stacks_url, params={'limit': 3}).json()
        again = self.http.get(first['links'][0]['href']).json()
        self.assertEqual(first, again)


class TestBodyFaults(FaultTestCase):

    def test_truncated_json(self):
        self.cloud.truncate('heat.stacks.list')
        resp = self.http.get(self.stacks_url)
        self.assertEqual(200, resp.status_code)
        self.assertRaises(ValueError, resp.json)
        self.assertEqual(str(len(resp.content)), resp.headers['Content-Length'])

    def test_malformed_json_is_a_malformed_response(self):
        self.cloud.malform('aodh.alarms.list')
        client = self.client('alarming')
        self.assertRaises(errors.MalformedResponse, client.get, 'v2/alarms')

    def test_malformed_with_a_custom_body(self):
        self.cloud.malform('heat.stacks.list', b'<html>oops</html>')
        self.assertEqual(b'<html>oops</html>', self.http.get(self.stacks_url).content)


class TestConnectionFaults(FaultTestCase):

    def test_drop_closes_the_connection_unanswered(self):
        self.cloud.drop('heat.stacks.list')
        self.assertRaises(requests.ConnectionError, self.http.get, self.stacks_url)

    def test_drop_is_a_connection_failure_for_the_client(self):
        self.cloud.drop('heat.stacks.list', times=1)
        self.assertRaises(errors.ConnectionFailed, self.client().get, 'stacks')
        self.assertEqual(200, self.http.get(self.stacks_url).status_code)

    def test_hang_past_the_client_timeout(self):
        self.cloud.hang('heat.stacks.list', seconds=30)
        client = self.client(timeout=1)  # whole seconds: keystoneauth's option
        self.assertRaises(errors.RequestTimeout, client.get, 'stacks')

    def test_hang_ends_and_drops_after_its_seconds(self):
        self.cloud.hang('heat.stacks.list', seconds=0.05)
        self.assertRaises(requests.ConnectionError, self.http.get, self.stacks_url)

    def test_other_routes_answer_while_one_hangs(self):
        self.cloud.hang('heat.stacks.list', seconds=30)
        self.assertRaises(requests.Timeout, requests.get, self.stacks_url,
                          headers=self.cloud.noauth_headers(), timeout=0.2)
        self.assertEqual(200, self.aodh('GET', '/v2/alarms').status_code)


class TestOutage(FaultTestCase):

    def test_stopped_cloud_refuses_connections_then_recovers_on_the_same_port(self):
        client = self.client()
        port = self.cloud.port
        self.cloud.stop()
        self.assertRaises(errors.ConnectionFailed, client.get, 'stacks')
        self.cloud.start()
        self.assertEqual(port, self.cloud.port)
        self.assertEqual(12, len(client.get('stacks')['stacks']))

    def test_tokens_survive_a_restart(self):
        self.cloud.stop()
        self.cloud.start()
        self.assertEqual(200, self.http.get(self.stacks_url).status_code)


class TestDelays(FaultTestCase):

    def test_fixed_delay_then_normal_answer(self):
        fault = self.cloud.delay('heat.stacks.list', 0.01)
        self.assertEqual(200, self.http.get(self.stacks_url).status_code)
        self.assertEqual(1, fault.fired)

    def test_random_delay_then_normal_answer(self):
        fault = self.cloud.delay('aodh.alarms.list', (0.0, 0.01), times=1)
        self.assertEqual(200, self.aodh('GET', '/v2/alarms').status_code)
        self.assertEqual(200, self.aodh('GET', '/v2/alarms').status_code)
        self.assertEqual((2, 1), (fault.calls, fault.fired))

    def test_delay_combines_with_a_status(self):
        self.cloud.delay('heat.stacks.list', 0.01)
        self.cloud.fail('heat.stacks.list', 503)
        self.assertEqual(503, self.http.get(self.stacks_url).status_code)


class TestRequestLog(FaultTestCase):

    def test_records_method_route_path_params_headers_and_json(self):
        self.cloud.requests.clear()
        self.http.get(self.stacks_url, params=[('limit', '2'), ('sort_keys', 'stack_name')])
        self.aodh('POST', '/v2/alarms', json={'name': 'x'})
        first, second = self.cloud.requests
        self.assertEqual(('GET', 'orchestration', 'heat.stacks.list'),
                         (first.method, first.service, first.route))
        self.assertEqual(f'/v1/{self.cloud.admin_project_id}/stacks', first.path)
        self.assertEqual((('limit', '2'), ('sort_keys', 'stack_name')), first.params)
        self.assertEqual('2', first.param('limit'))
        self.assertIn('x-auth-token', first.headers)
        self.assertEqual({'name': 'x'}, second.json)

    def test_counts_and_calls(self):
        self.cloud.requests.clear()
        self.http.get(self.stacks_url)
        self.http.get(self.stacks_url)
        self.aodh('GET', '/v2/alarms')
        self.assertEqual(2, self.cloud.requests.count('heat.stacks.list'))
        self.assertEqual(3, self.cloud.requests.count(method='GET'))
        self.assertEqual({'heat.stacks.list': 2, 'aodh.alarms.list': 1},
                         self.cloud.requests.counts())
        self.assertEqual([('GET', '/v2/alarms')], self.cloud.requests.calls('alarming'))
        self.assertEqual(3, len(self.cloud.requests))

    def test_failed_requests_are_logged_too(self):
        self.cloud.requests.clear()
        self.cloud.drop('heat.stacks.list')
        self.assertRaises(requests.ConnectionError, self.http.get, self.stacks_url)
        self.assertEqual(1, self.cloud.requests.count('heat.stacks.list'))

    def test_unknown_paths_are_logged_without_a_route(self):
        self.cloud.requests.clear()
        resp = self.http.get(f'{self.cloud.base_url}/nowhere')
        self.assertEqual(404, resp.status_code)
        self.assertEqual(('', ''), (self.cloud.requests[0].route,
                                    self.cloud.requests[0].service))

    def test_wrong_method_on_a_known_path_is_405(self):
        resp = self.http.delete(self.stacks_url)
        self.assertEqual(405, resp.status_code)

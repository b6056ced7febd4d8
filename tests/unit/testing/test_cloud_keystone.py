"""The emulated Keystone: version documents, password tokens, catalog, expiry."""

from __future__ import annotations

import requests

from tests.unit.testing.base import CloudTestCase


def password_body(user: str = 'admin', password: str = 'secret',
                  project: str | None = 'admin') -> dict:
    auth: dict = {'identity': {'methods': ['password'], 'password': {'user': {
        'name': user, 'password': password, 'domain': {'name': 'Default'}}}}}
    if project:
        auth['scope'] = {'project': {'name': project, 'domain': {'name': 'Default'}}}
    return {'auth': auth}


class TestVersions(CloudTestCase):

    def test_root_lists_v3_with_multiple_choices(self):
        resp = requests.get(self.cloud.identity_endpoint)
        self.assertEqual(300, resp.status_code)
        version = resp.json()['versions']['values'][0]
        self.assertEqual('v3.14', version['id'])
        self.assertEqual(f'{self.cloud.auth_url}/', version['links'][0]['href'])

    def test_v3_describes_itself(self):
        resp = requests.get(self.cloud.auth_url)
        self.assertEqual(200, resp.status_code)
        self.assertEqual('stable', resp.json()['version']['status'])


class TestTokens(CloudTestCase):

    def test_password_auth_returns_subject_token_and_catalog(self):
        resp = requests.post(f'{self.cloud.auth_url}/auth/tokens', json=password_body())
        self.assertEqual(201, resp.status_code)
        self.assertTrue(resp.headers['X-Subject-Token'])
        token = resp.json()['token']
        self.assertEqual(self.cloud.admin_project_id, token['project']['id'])
        self.assertEqual(['admin', 'member', 'reader'],
                         [r['name'] for r in token['roles']])
        urls = {e['type']: {ep['interface']: ep['url'] for ep in e['endpoints']}
                for e in token['catalog']}
        self.assertEqual(self.cloud.heat_endpoint(), urls['orchestration']['public'])
        self.assertEqual(self.cloud.aodh_endpoint, urls['alarming']['internal'])
        self.assertEqual(self.cloud.identity_endpoint, urls['identity']['admin'])

    def test_catalog_substitutes_the_scoped_project(self):
        resp = requests.post(f'{self.cloud.auth_url}/auth/tokens',
                             json=password_body('demo', 'demo-secret', 'demo'))
        heat = next(e for e in resp.json()['token']['catalog']
                    if e['type'] == 'orchestration')
        self.assertEqual(self.cloud.heat_endpoint(self.cloud.demo_project_id),
                         heat['endpoints'][0]['url'])

    def test_wrong_password_is_401(self):
        resp = requests.post(f'{self.cloud.auth_url}/auth/tokens',
                             json=password_body(password='wrong'))
        self.assertEqual(401, resp.status_code)
        self.assertEqual(401, resp.json()['error']['code'])

    def test_project_the_user_has_no_role_on_is_401(self):
        resp = requests.post(f'{self.cloud.auth_url}/auth/tokens',
                             json=password_body('demo', 'demo-secret', 'admin'))
        self.assertEqual(401, resp.status_code)

    def test_body_without_auth_is_400(self):
        resp = requests.post(f'{self.cloud.auth_url}/auth/tokens', json={'nope': 1})
        self.assertEqual(400, resp.status_code)

    def test_unscoped_token_has_no_catalog(self):
        resp = requests.post(f'{self.cloud.auth_url}/auth/tokens',
                             json=password_body(project=None))
        self.assertEqual(201, resp.status_code)
        self.assertNotIn('catalog', resp.json()['token'])

    def test_token_rescoping_with_the_token_method(self):
        token = self.cloud.issue_token()
        resp = requests.post(f'{self.cloud.auth_url}/auth/tokens', json={'auth': {
            'identity': {'methods': ['token'], 'token': {'id': token}},
            'scope': {'project': {'id': self.cloud.admin_project_id}}}})
        self.assertEqual(201, resp.status_code)

    def test_validate_token(self):
        subject = self.cloud.issue_token('demo')
        resp = self.http.get(f'{self.cloud.auth_url}/auth/tokens',
                             headers={'X-Subject-Token': subject})
        self.assertEqual(200, resp.status_code)
        self.assertEqual('demo', resp.json()['token']['user']['name'])

    def test_validate_unknown_token_is_404(self):
        resp = self.http.get(f'{self.cloud.auth_url}/auth/tokens',
                             headers={'X-Subject-Token': 'nope'})
        self.assertEqual(404, resp.status_code)


class TestTokenChecks(CloudTestCase):

    def test_expired_token_gets_401_from_heat_and_aodh(self):
        self.cloud.expire_tokens()
        heat = self.heat('/stacks')
        aodh = self.aodh('GET', '/v2/alarms')
        self.assertEqual((401, 401), (heat.status_code, aodh.status_code))
        self.assertIn('Keystone uri=', heat.headers['WWW-Authenticate'])
        self.assertEqual('The request you have made requires authentication.',
                         heat.json()['error']['message'])

    def test_unknown_token_gets_401(self):
        resp = requests.get(f'{self.cloud.heat_endpoint()}/stacks',
                            headers={'X-Auth-Token': 'forged'})
        self.assertEqual(401, resp.status_code)

    def test_no_identity_at_all_gets_401_from_heat(self):
        resp = requests.get(f'{self.cloud.heat_endpoint()}/stacks')
        self.assertEqual(401, resp.status_code)

    def test_tokens_expire_after_their_ttl(self):
        self.cloud.identity.token_ttl = -1
        token = self.cloud.issue_token()
        resp = requests.get(f'{self.cloud.heat_endpoint()}/stacks',
                            headers={'X-Auth-Token': token})
        self.assertEqual(401, resp.status_code)

    def test_noauth_identity_headers_are_accepted(self):
        resp = requests.get(f'{self.cloud.aodh_endpoint}/v2/alarms',
                            headers=self.cloud.noauth_headers())
        self.assertEqual(200, resp.status_code)

"""Heat-shaped bodies and a requests-mock Heat for the driver's unit tests.

Bodies follow Heat 27's API (``heat/api/openstack/v1/views/stacks_view.py``,
``resources.py``) and notification payloads (``format_notification_body``).
"""

from __future__ import annotations

import urllib.parse

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import fixtures
import testtools
from requests_mock.contrib import fixture as rm_fixture

from vitrage_ds_testing import load_plugin, new_test_config

HOST = 'http://heat.test:8004'
PROJECT = 'c0ffee00000000000000000000000001'
OTHER_PROJECT = 'c0ffee00000000000000000000000002'
ENDPOINT = f'{HOST}/v1/{PROJECT}'
STACKS_URL = f'{ENDPOINT}/stacks'
CREATED = '2024-05-01T10:00:00Z'


def stack_url(name: str, stack_id: str, project: str = PROJECT) -> str:
    return f'{HOST}/v1/{project}/stacks/{name}/{stack_id}'


def stack_item(stack_id: str, name: str, *, project: str = PROJECT,
               status: str = 'CREATE_COMPLETE', parent: str | None = None,
               tags: list[str] | None = None, updated: str | None = None,
               owner: str = 'alice', with_project: bool = True) -> dict[str, Any]:
    """One item of ``GET /v1/{project}/stacks`` as Heat 27 lists it."""
    item: dict[str, Any] = {
        'id': stack_id,
        'links': [{'href': stack_url(name, stack_id, project), 'rel': 'self'}],
        'stack_name': name,
        'description': '',
        'stack_status': status,
        'stack_status_reason': f'Stack {status.split("_")[0]} completed successfully',
        'creation_time': CREATED,
        'deletion_time': None,
        'updated_time': updated,
        'stack_owner': owner,
        'parent': parent,
        'stack_user_project_id': 'heat-stack-domain-project',
        'tags': tags,
    }
    if with_project:
        item['project'] = project
    return item


def resource_item(stack_id: str, stack_name: str, name: str, *, project: str = PROJECT,
                  resource_type: str = 'OS::Heat::None', physical: str | None = None,
                  status: str = 'CREATE_COMPLETE', nested: tuple[str, str] | None = None,
                  parent_resource: str | None = None,
                  required_by: Sequence[str] = ()) -> dict[str, Any]:
    """One item of ``GET .../stacks/{name}/{id}/resources``.

    :param nested: ``(name, id)`` of the nested stack the resource owns.
    """
    base = stack_url(stack_name, stack_id, project)
    links = [{'href': f'{base}/resources/{name}', 'rel': 'self'},
             {'href': base, 'rel': 'stack'}]
    if nested is not None:
        links.append({'href': stack_url(nested[0], nested[1], project), 'rel': 'nested'})
    item: dict[str, Any] = {
        'resource_name': name,
        'logical_resource_id': name,
        'physical_resource_id': f'phys-{name}' if physical is None else physical,
        'resource_type': resource_type,
        'resource_status': status,
        'resource_status_reason': 'state changed',
        'creation_time': CREATED,
        'updated_time': '2024-05-01T10:00:05Z',
        'required_by': list(required_by),
        'links': links,
    }
    if parent_resource is not None:
        item['parent_resource'] = parent_resource
    return item


def payload(stack_id: str, name: str, state: str, *, project: str = PROJECT,
            updated: str | None = None, tags: list[str] | None = None,
            description: str = 'a test stack') -> dict[str, Any]:
    """An ``orchestration.stack.*`` payload as Heat 27 sends it."""
    return {
        'tenant_id': project,
        'user_id': 'alice',
        'user_identity': 'u-alice',
        'username': 'alice',
        'stack_identity': stack_id,
        'stack_name': name,
        'state': state,
        'state_reason': f'Stack {state.split("_")[0]} started',
        'create_at': CREATED,
        'tags': tags,
        'updated_at': updated,
        'description': description,
    }


METADATA = {'message_id': 'm-1', 'publisher_id': 'orchestration.host',
            'priority': 'INFO', 'timestamp': '2024-05-01 12:00:00.000000'}


class HeatTestCase(testtools.TestCase):
    """A driver against a requests-mock Heat; the history is every call made."""

    def setUp(self) -> None:
        super().setUp()
        self.http = self.useFixture(rm_fixture.Fixture(case_sensitive=True))
        self.log = self.useFixture(fixtures.FakeLogger(
            name='vitrage_ds', level=10, format='%(levelname)s %(message)s'))

    def driver(self, http: Mapping[str, Any] | None = None, **options: Any) -> Any:
        """The installed ``heat.stack`` driver with ``options`` in its group."""
        conf = new_test_config({'http': {'retry_backoff': 0.0, **(http or {})}})
        driver = load_plugin('driver', 'heat.stack', conf=conf,
                             options={'endpoint_override': ENDPOINT, **options})
        self.addCleanup(driver.close)
        return driver

    def list_stacks(self, pages: Sequence[Sequence[dict[str, Any]]],
                    limit: int = 1000) -> None:
        """Serve ``pages`` of the listing; a full page links the next one like
        Heat does (the same query plus ``marker``)."""
        by_marker: dict[str | None, dict[str, Any]] = {}
        marker: str | None = None
        for page in pages:
            body: dict[str, Any] = {'stacks': list(page)}
            by_marker[marker] = body
            marker = page[-1].get('id') if page else None
        by_marker.setdefault(marker, {'stacks': []})

        def answer(request: Any, context: Any) -> Any:
            query = {k: v[0] for k, v in request.qs.items()}
            body = dict(by_marker[query.pop('marker', None)])
            if len(body['stacks']) == limit:
                query['marker'] = body['stacks'][-1]['id']
                body['links'] = [{'rel': 'next',
                                  'href': f'{STACKS_URL}?{urllib.parse.urlencode(query)}'}]
            return body

        self.http.get(STACKS_URL, json=answer)

    def forbid_global_listing(self, project_pages: Sequence[Sequence[dict[str, Any]]]) -> None:
        """Heat's default policy: 403 to global_tenant, the project's stacks otherwise."""

        def answer(request: Any, context: Any) -> Any:
            if request.qs.get('global_tenant') == ['true']:
                context.status_code = 403
                return {'explanation': 'Access was denied to this resource.',
                        'code': 403,
                        'error': {'message': 'You are not authorized to use '
                                             'stacks:global_index.',
                                  'type': 'Forbidden'},
                        'title': 'Forbidden'}
            return {'stacks': list(project_pages[0])}

        self.http.get(STACKS_URL, json=answer)

    def serve_resources(self, stack: Mapping[str, Any], resources: Iterable[dict[str, Any]],
                        status_code: int = 200, project: str = PROJECT) -> str:
        url = f'{HOST}/v1/{project}/stacks/{stack["stack_name"]}/{stack["id"]}/resources'
        if status_code >= 400:
            self.http.get(url, status_code=status_code,
                          json={'error': {'message': 'boom'}})
        else:
            self.http.get(url, json={'resources': list(resources)})
        return url

    def calls(self) -> list[tuple[str, str, dict[str, list[str]]]]:
        """``(method, path, query)`` of every call made, in order."""
        return [(r.method, r.path, r.qs) for r in self.http.request_history]

    @staticmethod
    def by_key(events: Iterable[Any]) -> dict[tuple[str, str], Any]:
        return {e.key: e for e in events}


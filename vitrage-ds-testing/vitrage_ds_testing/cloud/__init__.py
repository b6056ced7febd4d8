"""An emulated OpenStack cloud (Keystone v3, Heat v1, Aodh v2) for tests.

One threaded HTTP/1.1 server (keep-alive) on ``127.0.0.1``, an ephemeral
port, hosts three services under path prefixes, like a single-host
deployment behind a web server::

    <base>/identity        Keystone: GET / (300), GET /v3,
                           POST/GET /v3/auth/tokens
    <base>/heat-api        Heat:     GET / (300 versions),
                           GET /v1/<p>/stacks, /stacks/<name>/<id>,
                           /stacks/<name>/<id>/resources[/<res>],
                           302 from /stacks/<name-or-id>[/resources|events...];
                           S = /v1/<p>/stacks/<name>/<id>:
                           GET S/template, S/outputs[/<key>], S/events,
                           S/resources/<res>/events[/<event>],
                           S/resources/<res>/metadata,
                           GET/POST S/snapshots, GET/DELETE S/snapshots/<id>,
                           GET /v1/<p>/resource_types,
                           GET/POST /v1/<p>/software_configs, GET .../<id>,
                           GET/POST /v1/<p>/software_deployments,
                           GET/PUT .../<id>  (see :mod:`~.heat_extra_api`)
    <base>/aodh            Aodh:     GET / , GET/POST /v2/alarms,
                           GET/PUT/DELETE /v2/alarms/<id>,
                           GET/PUT /v2/alarms/<id>/state, GET .../history

Quick start::

    cloud = self.useFixture(EmulatedCloud(seed=1))   # or: with EmulatedCloud() as cloud
    cloud.populate(stacks=100, alarms=50, projects=3, nested=5)
    conf = cloud.make_conf('password')               # or 'none'
    drivers = vitrage_ds.registry.load_drivers(conf, ['heat.stack'])
    cloud.fail('heat.stacks.list', 503, times=1)     # faults per route
    cloud.requests.calls('orchestration')            # [(method, path), ...]
    cloud.heat.fail(stack.id, 'boom')                # change + notification

Public API of :class:`EmulatedCloud` (stable):

- ``EmulatedCloud(seed=0, *, tls=False, global_index_allowed=False,
  token_ttl=3600.0)``; ``start()``/``stop()`` (the fixture and ``with``
  call them; ``stop()`` then ``start()`` is an outage and its recovery on
  the same port); ``keystone_service``/``heat_service``/``aodh_service``
  (``service.route(name, method, pattern, handler)`` adds routes).
- Endpoints: ``auth_url`` (Keystone v3), ``identity_endpoint``,
  ``heat_endpoint(project_id=None)`` (full ``.../heat-api/v1/<project>``),
  ``aodh_endpoint``, ``base_url``, ``ca_file`` (with ``tls``).
- Identity: ``username``/``password``/``project_name`` (admin, role
  ``admin``), ``admin_project_id``, ``admin_user_id``; ``demo_username``,
  ``demo_password``, ``demo_project_id``, ``demo_user_id`` (role
  ``member``); ``ensure_projects(n)``; ``expire_tokens()``;
  ``noauth_headers(project_id=None, user_id=None, roles='admin')``;
  ``global_index_allowed`` (settable at any time).
- Configuration: ``make_conf(auth_type='password'|'none', *, overrides=None,
  **groups)``, ``client_factory(auth_type=...)``, ``clouds_yaml(path,
  name='emulated')`` (clouds ``emulated`` and ``emulated-noauth``).
- Content: ``populate(stacks=, resources_per_stack=, alarms=, projects=,
  nested=)``; ``heat`` (:class:`~.heat.HeatStore`: ``populate``,
  ``create_stack``, ``begin``, ``complete``, ``fail``, ``update_stack``,
  ``delete_stack``, ``get``, ``resources``); ``aodh``
  (:class:`~.aodh.AodhStore`: ``populate``, ``create_alarm``,
  ``update_alarm``, ``set_state(alarm_id, state, reason, source='evaluator'
  |'api')``, ``delete_alarm``, ``get``).
- Notifications: ``notifications`` (:class:`~.notifications.NotificationBus`:
  ``sent``, ``of(service, event_type)``, ``clear()``);
  ``publish_to(heat=..., aodh=...)`` with a publisher or a callable
  ``(event_type, payload, priority)``; ``connect_bus(transport)``.
- Faults (route specs: route names such as ``heat.stacks.list``, globs,
  or ``"GET /regex"`` on the service-relative path; every route name, the
  extra Heat routes' (``heat.events.list``, ``heat.snapshots.*``,
  ``heat.software_configs.*``...) included, is in :data:`ROUTES`; see
  :mod:`~.faults`): ``fail(route, status, *, times, start, body, headers)``,
  ``fail_on_page(route, page, status)``, ``delay(route, seconds | (lo, hi))``,
  ``hang(route, seconds)``, ``drop(route)``, ``truncate(route)``,
  ``malform(route, body)``, ``repeat_page(route)``, ``add_fault(...)``,
  ``clear_faults()``. Each returns the :class:`~.faults.Fault` (``calls``,
  ``fired``).
- Request log: ``requests`` (:class:`~.requestlog.RequestLog`: iterate,
  index, ``clear()``, ``filter(route, method, service)``, ``count(...)``,
  ``counts()``, ``calls(service)``), items
  :class:`~.requestlog.LoggedRequest` (``method``, ``service``, ``route``,
  ``path`` below the service prefix, ``params`` pairs, ``headers``
  lower-cased, ``json``).
"""

from vitrage_ds_testing.cloud.aodh import ALARM_TYPES, CREATABLE_TYPES, sample_rule
from vitrage_ds_testing.cloud.emulator import EmulatedCloud
from vitrage_ds_testing.cloud.faults import ROUTES, Fault
from vitrage_ds_testing.cloud.heat import ACTIONS, notification_payload
from vitrage_ds_testing.cloud.notifications import Notification
from vitrage_ds_testing.cloud.requestlog import LoggedRequest

__all__ = [
    'ACTIONS',
    'ALARM_TYPES',
    'CREATABLE_TYPES',
    'EmulatedCloud',
    'Fault',
    'LoggedRequest',
    'Notification',
    'ROUTES',
    'notification_payload',
    'sample_rule',
]

"""The :class:`EmulatedCloud` fixture: Keystone, Heat and Aodh in one process."""

from __future__ import annotations

import shutil
import tempfile
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import fixtures
from oslo_config import cfg

from vitrage_ds_testing.cloud import notifications
from vitrage_ds_testing.cloud.aodh import AodhStore
from vitrage_ds_testing.cloud.aodh_api import AodhService
from vitrage_ds_testing.cloud.faults import Fault, FaultSet
from vitrage_ds_testing.cloud.heat import HeatStore
from vitrage_ds_testing.cloud.heat_api import HeatService
from vitrage_ds_testing.cloud.heat_extra_api import install as install_heat_extras
from vitrage_ds_testing.cloud.keystone import (REGION, Caller, Identity, KeystoneService,
                                               Project, User)
from vitrage_ds_testing.cloud.requestlog import RequestLog
from vitrage_ds_testing.cloud.seed import Ids
from vitrage_ds_testing.cloud.server import Server

__all__ = ['EmulatedCloud']

#: Plugin groups :meth:`EmulatedCloud.make_conf` points at the emulator.
_PLUGIN_GROUPS = {
    ('driver', 'heat.stack'): 'orchestration',
    ('driver', 'aodh'): 'alarming',
    ('notifier', 'aodh'): 'alarming',
}


class EmulatedCloud(fixtures.Fixture):
    """Keystone v3, Heat v1 and Aodh v2 on one loopback port.

    A :class:`fixtures.Fixture` (``self.useFixture(EmulatedCloud())``) and,
    through it, a context manager (``with EmulatedCloud() as cloud:``).
    Content can be seeded and changed before or while it serves.

    :param seed: makes every generated id, name and time reproducible.
    :param tls: serve HTTPS with a certificate from a fresh CA
        (its ``ca_file`` attribute).
    :param global_index_allowed: answer ``global_tenant=true`` listings
        instead of Heat's default-policy 403 (settable later).
    :param token_ttl: lifetime of issued Keystone tokens, in seconds.
    """

    username = 'admin'
    password = 'secret'
    project_name = 'admin'
    demo_username = 'demo'
    demo_password = 'demo-secret'
    demo_project_name = 'demo'

    def __init__(self, seed: int = 0, *, tls: bool = False,
                 global_index_allowed: bool = False, token_ttl: float = 3600.0) -> None:
        super().__init__()
        self.seed = seed
        self.tls = tls
        self.global_index_allowed = global_index_allowed
        self._ids = Ids(seed, 'keystone')
        self._lock = threading.Lock()
        self.identity = Identity(token_ttl)
        self.identity.catalog = self._catalog
        admin_project = self.identity.add_project(Project(self._ids.hex(), self.project_name))
        demo_project = self.identity.add_project(Project(self._ids.hex(),
                                                         self.demo_project_name))
        service_project = self.identity.add_project(Project(self._ids.hex(), 'service'))
        self.admin_project_id = admin_project.id
        self.demo_project_id = demo_project.id
        admin = self.identity.add_user(User(self._ids.hex(), self.username, self.password,
                                            ('admin', 'member', 'reader')))
        demo = self.identity.add_user(User(self._ids.hex(), self.demo_username,
                                           self.demo_password, ('member', 'reader'),
                                           {demo_project.id}))
        aodh_user = self.identity.add_user(User(self._ids.hex(), 'aodh', 'aodh-secret',
                                                ('admin', 'service'), {service_project.id}))
        self.admin_user_id = admin.id
        self.demo_user_id = demo.id
        #: Every request received, in order.
        self.requests = RequestLog()
        #: Every notification the services sent, in order.
        self.notifications = notifications.NotificationBus()
        #: Fault and latency rules in force.
        self.faults = FaultSet(Ids(seed, 'faults').rng)
        #: Heat's stacks (seed with ``populate``, change with its methods).
        self.heat = HeatStore(seed, self.identity, self.notifications, admin_project.id,
                              admin.id)
        self.heat.project_factory = self.ensure_projects
        #: Aodh's alarms (seed with ``populate``, change with its methods).
        self.aodh = AodhStore(seed, self.identity, self.notifications, admin_project.id,
                              admin.id, Caller(aodh_user.id, aodh_user.name,
                                               service_project.id, aodh_user.roles))
        self.aodh.project_factory = self.ensure_projects
        #: The services' routes; more can be added with ``service.route(...)``
        #: (before or after start: the server reads them on each request).
        self.keystone_service = KeystoneService(self.identity)
        self.heat_service = HeatService(self.heat, self.identity,
                                        lambda: self.global_index_allowed)
        install_heat_extras(self.heat_service)  # events, snapshots...
        self.aodh_service = AodhService(self.aodh, self.identity)
        self._server: Server | None = None
        self._port = 0
        self._certs: Any = None
        self._tmpdir: str | None = None
        self.ca_file: str | None = None

    # -- lifecycle ---------------------------------------------------------

    def _setUp(self) -> None:
        self.addCleanup(self._remove_certificates)
        self.start()
        self.addCleanup(self.stop)

    def start(self) -> None:
        """Start serving (idempotent). ``setUp``/``with`` call it.

        After :meth:`stop`, serves again on the same port (and the same
        certificates), so clients configured earlier reconnect: ``stop()``
        then ``start()`` is a service outage (connections refused) and its
        recovery. Content, tokens, faults and the request log are kept.
        """
        with self._lock:
            if self._server is not None:
                return
            ssl_context = None
            if self.tls and self._certs is not None:
                ssl_context = self._certs.server_context()
            elif self.tls:
                from vitrage_ds_testing.cloud.tls import make_certificates
                self._tmpdir = tempfile.mkdtemp(prefix='vitrage_ds-cloud-')
                self._certs = make_certificates(self._tmpdir)
                self.ca_file = self._certs.ca_file
                ssl_context = self._certs.server_context()
            services = [self.keystone_service, self.heat_service, self.aodh_service]
            self._server = Server(services, self.faults, self.requests,
                                  ssl_context=ssl_context, port=self._port)
            self._port = self._server.port
            self._server.start()

    def stop(self) -> None:
        """Stop serving, release hung requests and close connections (idempotent).

        New connections are refused until :meth:`start`. The fixture's
        cleanup (or leaving the ``with`` block) also removes the TLS files.
        """
        with self._lock:
            server, self._server = self._server, None
            if server is not None:
                server.stop()

    def _remove_certificates(self) -> None:
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None
            self._certs = None

    @property
    def server(self) -> Server:
        if self._server is None:
            raise RuntimeError('the emulated cloud is not started')
        return self._server

    # -- endpoints -------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http(s)://127.0.0.1:PORT``."""
        return self.server.base_url

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def identity_endpoint(self) -> str:
        """Keystone's unversioned root (what the catalog lists)."""
        return f'{self.base_url}{KeystoneService.prefix}'

    @property
    def auth_url(self) -> str:
        """Keystone v3's URL, for keystoneauth's ``auth_url``."""
        return f'{self.identity_endpoint}/v3'

    def heat_endpoint(self, project_id: str | None = None) -> str:
        """Heat's full endpoint for ``project_id`` (default admin): ``.../v1/<project>``."""
        return f'{self.base_url}{HeatService.prefix}/v1/{project_id or self.admin_project_id}'

    @property
    def heat_root(self) -> str:
        return f'{self.base_url}{HeatService.prefix}'

    @property
    def aodh_endpoint(self) -> str:
        """Aodh's endpoint (its root; the API is under ``/v2``)."""
        return f'{self.base_url}{AodhService.prefix}'

    def _catalog(self, project_id: str) -> list[dict[str, Any]]:
        def entry(service_type: str, name: str, url: str) -> dict[str, Any]:
            return {'type': service_type, 'name': name,
                    'id': Ids(self.seed, f'catalog.{service_type}').hex(),
                    'endpoints': [{'id': Ids(self.seed, f'{service_type}.{i}').hex(),
                                   'interface': i, 'region_id': REGION, 'region': REGION,
                                   'url': url} for i in ('public', 'internal', 'admin')]}
        return [entry('identity', 'keystone', self.identity_endpoint),
                entry('orchestration', 'heat', self.heat_endpoint(project_id)),
                entry('alarming', 'aodh', self.aodh_endpoint)]

    # -- identity --------------------------------------------------------

    def ensure_projects(self, count: int) -> list[str]:
        """Ids of projects ``project-0`` .. ``project-<count-1>``, created if new.

        Each new project gets a member user ``<project>-user`` (password
        ``secret``) who owns the content seeded there.
        """
        ids = []
        for k in range(count):
            name = f'project-{k}'
            project = self.identity.project_named(name)
            if project is None:
                ids_k = Ids(self.seed, name)
                project = self.identity.add_project(Project(ids_k.hex(), name))
                self.identity.add_user(User(ids_k.hex(), f'{name}-user', 'secret',
                                            ('member', 'reader'), {project.id}))
            ids.append(project.id)
        return ids

    def issue_token(self, username: str | None = None, project_id: str | None = None) -> str:
        """A live token of ``username`` (default admin) scoped to ``project_id``.

        Issued directly, without a request (nothing appears in the log).
        """
        user = self.identity.user_named(username or self.username)
        if user is None:
            raise KeyError(username)
        if project_id is None:
            project_id = min(user.projects) if user.projects else self.admin_project_id
        token_id, _ = self.identity.issue(Caller(user.id, user.name, project_id, user.roles),
                                          ['password'])
        return token_id

    def expire_tokens(self) -> int:
        """Make every token issued so far expired: services answer 401 to them."""
        return self.identity.expire_tokens()

    def noauth_headers(self, project_id: str | None = None, user_id: str | None = None,
                       roles: str = 'admin') -> dict[str, str]:
        """Identity headers of the services' noauth modes (Heat's and Aodh's)."""
        project_id = project_id or self.admin_project_id
        user_id = user_id or self.admin_user_id
        return {'X-Auth-User': self.identity.user_name(user_id), 'X-Auth-Project': project_id,
                'X-User-Id': user_id, 'X-Project-Id': project_id, 'X-Roles': roles}

    # -- faults ------------------------------------------------------------

    def add_fault(self, route: str, kind: str = 'status', **options: Any) -> Fault:
        """Install a :class:`~vitrage_ds_testing.cloud.faults.Fault` rule."""
        return self.faults.add(Fault(route, kind, **options))

    def fail(self, route: str, status: int = 500, *, times: int | None = None,
             start: int = 1, body: Any = None, headers: Mapping[str, str] | None = None
             ) -> Fault:
        """Answer ``status`` (with the service's error body, or ``body``)."""
        return self.add_fault(route, 'status', status=status, times=times, start=start,
                              body=body, headers=dict(headers or {}))

    def fail_on_page(self, route: str, page: int, status: int = 500, *,
                     times: int | None = None) -> Fault:
        """Answer ``status`` from the ``page``-th matching request on."""
        return self.fail(route, status, start=page, times=times)

    def delay(self, route: str, seconds: float | tuple[float, float], *,
              times: int | None = None, start: int = 1) -> Fault:
        """Wait ``seconds`` (or a random time in ``(low, high)``) before answering."""
        return self.add_fault(route, 'delay', delay=seconds, times=times, start=start)

    def hang(self, route: str, seconds: float = 3600.0, *, times: int | None = None,
             start: int = 1) -> Fault:
        """Hold the request ``seconds`` (past any client timeout), then drop it."""
        return self.add_fault(route, 'hang', seconds=seconds, times=times, start=start)

    def drop(self, route: str, *, times: int | None = None, start: int = 1) -> Fault:
        """Close the connection without answering."""
        return self.add_fault(route, 'close', times=times, start=start)

    def truncate(self, route: str, *, times: int | None = None, start: int = 1) -> Fault:
        """Cut the JSON answer in half."""
        return self.add_fault(route, 'truncate', times=times, start=start)

    def malform(self, route: str, body: bytes = b'{"malformed": ', *,
                times: int | None = None, start: int = 1) -> Fault:
        """Answer ``body`` (not JSON) with the normal status."""
        return self.add_fault(route, 'malformed', body=body, times=times, start=start)

    def repeat_page(self, route: str, *, times: int | None = None, start: int = 1) -> Fault:
        """Ignore ``marker``: every later page repeats the first one."""
        return self.add_fault(route, 'repeat_page', times=times, start=start)

    def clear_faults(self) -> None:
        self.faults.clear()

    # -- notifications ---------------------------------------------------

    def publish_to(self, *, heat: Any = None, aodh: Any = None) -> None:
        """Send Heat's and/or Aodh's notifications to a publisher or callable.

        A publisher has ``publish(event_type, payload, priority=...)`` (e.g.
        :class:`vitrage_ds.bus.Publisher` on exchange ``heat``/``aodh``); a
        callable takes ``(event_type, payload, priority)``.
        """
        if heat is not None:
            self.notifications.connect(notifications.HEAT, heat)
        if aodh is not None:
            self.notifications.connect(notifications.AODH, aodh)

    def connect_bus(self, transport: Any, *, topic: str = 'notifications',
                    heat_exchange: str = 'heat', aodh_exchange: str = 'aodh') -> None:
        """Publish on an oslo.messaging ``transport`` as Heat and Aodh do.

        Heat's notifications go to exchange ``heat`` and Aodh's to ``aodh``
        (or the exchanges given), routing key ``<topic>.<priority>``, with
        the real publisher ids (``orchestration.<host>``, ``aodh.api``,
        ``aodh.evaluator``), through :class:`vitrage_ds.bus.Publisher`.
        """
        from vitrage_ds.bus import Publisher

        heat_id = notifications.SERVICES[notifications.HEAT]['publisher_id']
        self.publish_to(heat=Publisher(transport, topic=topic, exchange=heat_exchange,
                                       publisher_id=heat_id))
        aodh = {publisher_id: Publisher(transport, topic=topic, exchange=aodh_exchange,
                                        publisher_id=publisher_id)
                for publisher_id in ('aodh.api', 'aodh.evaluator')}

        def to_aodh(notification: notifications.Notification) -> None:
            aodh[notification.publisher_id].publish(
                notification.event_type, notification.payload,
                priority=notification.priority)
        self.notifications.connect_raw(notifications.AODH, to_aodh)

    # -- configuration ---------------------------------------------------

    def make_conf(self, auth_type: str = 'password', *,
                  overrides: Mapping[str, Mapping[str, Any]] | None = None,
                  **group_overrides: Mapping[str, Any]) -> cfg.ConfigOpts:
        """A parsed configuration whose clients reach this cloud.

        ``password``: ``[service_credentials]`` holds the admin's
        credentials (and ``cafile`` with TLS); endpoints come from the
        catalog. ``none``: ``[service_credentials] auth_type = none``, each
        built-in plugin group's ``endpoint_override`` points here and
        ``[http] headers`` carry the noauth identity headers of the admin.
        The services' groups (``[collector]``, ``[notifier]``) are registered.
        ``overrides`` (``{group: {option: value}}``, ``DEFAULT`` for the top
        level) and keyword groups (``http={'retries': 0}``) come last.
        """
        from vitrage_ds import config, opts

        conf = config.load_config([])
        opts.register_service_opts(conf)  # so [collector] and [notifier] can be overridden
        group = config.CREDENTIALS_GROUP
        if auth_type == 'password':
            from keystoneauth1 import loading as ks_loading
            conf.register_opts(ks_loading.get_auth_plugin_conf_options('password'),
                               group=group)
            values: dict[str, Any] = {
                'auth_type': 'password', 'auth_url': self.auth_url,
                'username': self.username, 'password': self.password,
                'project_name': self.project_name, 'user_domain_name': 'Default',
                'project_domain_name': 'Default', 'region_name': REGION}
            for name, value in values.items():
                conf.set_override(name, value, group)
        elif auth_type == 'none':
            conf.set_override('auth_type', 'none', group)
            conf.set_override('headers', self.noauth_headers(), config.HTTP_GROUP)
        else:
            raise ValueError("auth_type must be 'password' or 'none'")
        if self.ca_file:
            conf.set_override('cafile', self.ca_file, group)
        for (kind, name), service in _PLUGIN_GROUPS.items():
            plugin_group = _register_plugin_group(conf, kind, name)
            if auth_type == 'none':
                endpoint = (self.heat_endpoint() if service == 'orchestration'
                            else self.aodh_endpoint)
                conf.set_override('endpoint_override', endpoint, plugin_group)
        for group_name, options in {**(overrides or {}), **group_overrides}.items():
            for option, value in options.items():
                conf.set_override(option, value, None if group_name == 'DEFAULT'
                                  else group_name)
        return conf

    def client_factory(self, auth_type: str = 'password', **make_conf_options: Any) -> Any:
        """A :data:`~vitrage_ds.plugin.ClientFactory` for this cloud."""
        from vitrage_ds.http.session import client_factory_from_conf
        return client_factory_from_conf(self.make_conf(auth_type, **make_conf_options))

    def clouds_yaml(self, path: str, name: str = 'emulated') -> str:
        """Write a clouds.yaml with clouds ``name`` (password) and ``name-noauth``.

        Point ``OS_CLIENT_CONFIG_FILE`` at ``path`` to use them with
        ``--os-cloud``. Returns ``path``.
        """
        import yaml  # type: ignore[import-untyped]

        password: dict[str, Any] = {
            'auth': {'auth_url': self.auth_url, 'username': self.username,
                     'password': self.password, 'project_name': self.project_name,
                     'user_domain_name': 'Default', 'project_domain_name': 'Default'},
            'region_name': REGION, 'identity_api_version': 3}
        noauth: dict[str, Any] = {
            'auth_type': 'none', 'region_name': REGION,
            'orchestration_endpoint_override': self.heat_endpoint(),
            'alarming_endpoint_override': self.aodh_endpoint}
        if self.ca_file:
            password['cacert'] = noauth['cacert'] = self.ca_file
        with open(path, 'w') as f:
            yaml.safe_dump({'clouds': {name: password, f'{name}-noauth': noauth}}, f)
        return path

    # -- seeding shortcuts -------------------------------------------------

    def populate(self, *, stacks: int = 0, resources_per_stack: int = 10, alarms: int = 0,
                 projects: Sequence[str] | int | None = None, nested: int = 0) -> None:
        """Seed Heat and Aodh at once (see ``heat.populate`` / ``aodh.populate``)."""
        project_ids = self.ensure_projects(projects) if isinstance(projects, int) else projects
        if stacks:
            self.heat.populate(stacks, resources_per_stack, projects=project_ids, nested=nested)
        if alarms:
            self.aodh.populate(alarms, projects=project_ids)


def _register_plugin_group(conf: cfg.ConfigOpts, kind: str, name: str) -> str:
    """Register a plugin's options (or just the adapter options if it cannot load)."""
    from vitrage_ds import config, registry
    from vitrage_ds.plugin import ADAPTER_OPTS

    namespace = registry.DRIVERS if kind == 'driver' else registry.NOTIFIERS
    try:
        return config.register_plugin_opts(conf, kind, name,
                                           registry.plugin_class(namespace, name))
    except Exception:
        group = f'{kind}.{name}'
        conf.register_opts(list(ADAPTER_OPTS), group=group)
        return group

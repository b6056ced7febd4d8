"""Real Heat 27 and Aodh 23 for integration tests, without Keystone.

:class:`RealServices` gives a test the coordinates of running services:
Heat (engine plus two APIs: Heat's default policy, and one that allows
``stacks:global_index``) and Aodh on loopback ports, with their
notifications on a RabbitMQ vhost of the run's own. The services run from a
virtualenv of their own (see :mod:`tests.kit.real_launcher` for
what a run creates and removes); ``tools/real_services.py`` starts and
stops them from a shell.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import unittest
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import fixtures
from oslo_config import cfg

from vitrage_ds import config, registry
from vitrage_ds.bus import Listener, Notification, get_transport
from vitrage_ds.bus import register_opts as register_bus_opts
from vitrage_ds.errors import PluginLoadError, PluginNotFound
from vitrage_ds.http.client import Client
from vitrage_ds.http.session import client_factory_from_conf
from vitrage_ds.notifier import Outcome
from vitrage_ds.plugin import ADAPTER_OPTS
from tests.kit import real_launcher
from tests.kit.real_launcher import (PINS, Coordinates,
                                               ServicesUnavailable, install,
                                               venv_path)
from vitrage_ds_testing.plugins import new_test_config

__all__ = [
    'PINS',
    'Coordinates',
    'NotificationLog',
    'RealServices',
    'ServicesUnavailable',
    'install',
    'real_config',
    'venv_path',
]

#: The plugin groups :func:`real_config` points at the real services.
_PLUGIN_GROUPS = (('driver', registry.DRIVERS, 'heat.stack'),
                  ('driver', registry.DRIVERS, 'aodh'),
                  ('notifier', registry.NOTIFIERS, 'aodh'))


def real_config(coords: Coordinates, project: str, *, user: str = 'vds-user',
                roles: str = 'admin', global_policy: bool = False) -> cfg.ConfigOpts:
    """A vitrage_ds configuration that reaches the real services as ``project``.

    Starts from :func:`~vitrage_ds_testing.new_test_config` (no files,
    ``auth_type = none``) and sets ``[http] headers`` to the identity
    headers of ``project``/``user``/``roles`` (see
    :meth:`Coordinates.headers`) and ``retries = 0``,
    ``[service_credentials] timeout = 30``, ``[DEFAULT] transport_url`` to the run's vhost, and the
    ``endpoint_override`` of ``[driver.heat.stack]`` (``.../v1/<project>``,
    on the ``global_policy`` API when asked), ``[driver.aodh]`` and
    ``[notifier.aodh]``. Those groups are registered here first, with the
    plugin's options when it imports, else with the adapter options only;
    loading the plugins later registers the same options again, harmlessly.
    """
    conf = new_test_config({
        config.HTTP_GROUP: {'headers': coords.headers(project, user, roles), 'retries': 0},
        config.CREDENTIALS_GROUP: {'timeout': 30}})
    register_bus_opts(conf)
    conf.set_override('transport_url', coords.transport_url)
    endpoints = {'driver.heat.stack': coords.heat_endpoint(project, global_policy),
                 'driver.aodh': coords.aodh_url,
                 'notifier.aodh': coords.aodh_url}
    for kind, namespace, name in _PLUGIN_GROUPS:
        try:
            group = config.register_plugin_opts(
                conf, kind, name, registry.plugin_class(namespace, name))
        except (PluginNotFound, PluginLoadError):
            group = f'{kind}.{name}'
            conf.register_opts(list(ADAPTER_OPTS), group=group)
        conf.set_override('endpoint_override', endpoints[group], group)
    return conf


class RealServices(fixtures.Fixture):
    """Coordinates of running real services, started if need be.

    Where the services come from, in order:

    1. the ``VITRAGE_DS_REAL_*`` environment variables, set by
       ``tools/dev.py test integration`` (one run for the whole tier) or by
       ``eval "$(tools/real_services.py start)"``: used as they are, never
       stopped here;
    2. ``owned=True``: a run of this fixture's own, started in ``setUp``
       and stopped at cleanup;
    3. otherwise one run shared by every fixture of this process, started
       on first use (installing the virtualenv if needed, about a minute
       once) and stopped when the interpreter exits, or by a guard process
       as soon as this process is gone (killed by a timeout, say).

    When PostgreSQL or RabbitMQ is missing, or the services cannot be
    installed, the test is skipped with the reason; under ``CI=true`` it
    fails with :class:`ServicesUnavailable` instead.

    :ivar coords: the services' :class:`Coordinates`.
    """

    _shared: Coordinates | None = None
    _shared_error: BaseException | None = None
    _shared_lock = threading.Lock()

    def __init__(self, owned: bool = False) -> None:
        super().__init__()
        self.owned = owned
        self.coords: Coordinates

    def setUp(self) -> None:
        # Unavailability is decided here, not in _setUp: fixtures would turn
        # a SkipTest raised there into an error.
        try:
            super().setUp()
        except fixtures.MultipleExceptions as exc:
            first = exc.args[0][1]
            if isinstance(first, ServicesUnavailable):
                self._unavailable(first)
            raise
        except ServicesUnavailable as exc:
            self._unavailable(exc)

    @staticmethod
    def _unavailable(exc: ServicesUnavailable) -> None:
        if os.environ.get('CI', '').lower() == 'true':
            raise ServicesUnavailable(f'real services are required under CI=true: {exc}') from exc
        raise unittest.SkipTest(f'real services unavailable: {exc}') from exc

    def _setUp(self) -> None:
        from_env = Coordinates.from_env()
        if from_env is not None:
            self.coords = from_env
        elif self.owned:
            self.coords = real_launcher.start(owner_pid=os.getpid())
            self.addCleanup(real_launcher.stop, self.coords.state_dir)
        else:
            self.coords = self._shared_run()

    @classmethod
    def _shared_run(cls) -> Coordinates:
        with cls._shared_lock:
            if cls._shared is None and cls._shared_error is None:
                try:
                    cls._shared = real_launcher.start(owner_pid=os.getpid())
                except Exception as exc:
                    cls._shared_error = exc  # fail every later test fast
                else:
                    atexit.register(real_launcher.stop, cls._shared.state_dir)
            if cls._shared_error is not None:
                raise cls._shared_error
            assert cls._shared is not None
            return cls._shared

    def config(self, project: str, **kwargs: Any) -> cfg.ConfigOpts:
        """:func:`real_config` for these services."""
        return real_config(self.coords, project, **kwargs)

    def heat_client(self, project: str, *, user: str = 'vds-user',
                    global_policy: bool = False) -> Client:
        """vitrage_ds's own client for ``.../v1/<project>`` with ``project``'s identity."""
        conf = self.config(project, user=user, global_policy=global_policy)
        return client_factory_from_conf(conf)('orchestration', conf['driver.heat.stack'])

    def aodh_client(self, project: str, *, user: str = 'vds-user', roles: str = 'admin',
                    composite: bool = False) -> Client:
        """vitrage_ds's own client for the Aodh root with ``project``'s identity.

        :param composite: use the Aodh API kept for creating composite
            alarms (see :attr:`Coordinates.aodh_composite_url`).
        """
        conf = self.config(project, user=user, roles=roles)
        if composite:
            conf.set_override('endpoint_override', self.coords.aodh_composite_url,
                              'driver.aodh')
        return client_factory_from_conf(conf)('alarming', conf['driver.aodh'])


class NotificationLog(fixtures.Fixture):
    """Every notification sent to ``targets`` from ``setUp`` on, in arrival order.

    Listens through :class:`vitrage_ds.bus.Listener` with a pool of its own
    (so it takes nothing from other consumers and sees everything),
    acknowledging each message. Stops and closes the transport at cleanup.

    :param transport_url: e.g. :attr:`Coordinates.transport_url`.
    :param targets: ``(exchange, topic)`` pairs.
    """

    def __init__(self, transport_url: str, targets: Sequence[tuple[str, str]]) -> None:
        super().__init__()
        self.transport_url = transport_url
        self.targets = list(targets)
        self._seen: list[Notification] = []
        self._cond = threading.Condition()

    def _setUp(self) -> None:
        conf = config.new_config()
        transport = get_transport(conf, url=self.transport_url)
        self.addCleanup(transport.cleanup)
        listener = Listener(transport, self.targets, self._record,
                            pool=f'vds-log-{uuid.uuid4().hex[:8]}')
        listener.start()
        self.addCleanup(listener.stop, 10.0)

    def _record(self, note: Notification) -> Outcome:
        with self._cond:
            self._seen.append(note)
            self._cond.notify_all()
        return Outcome.DONE

    @property
    def notifications(self) -> list[Notification]:
        """What arrived so far (a copy)."""
        with self._cond:
            return list(self._seen)

    def wait_for(self, predicate: Callable[[Notification], bool], what: str,
                 timeout: float = 60.0) -> Notification:
        """The first notification (already arrived or to come) that matches.

        :raises AssertionError: none arrived within ``timeout`` seconds; the
            message lists the event types that did.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for note in self._seen:
                    if predicate(note):
                        return note
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [n.event_type for n in self._seen]
                    raise AssertionError(f'no notification {what} within {timeout:.0f} s; '
                                         f'saw {seen}')
                self._cond.wait(min(left, 0.5))

"""The ``vitrage-ds`` command line: a cliff app with pluggable commands.

Commands are entry points in the ``vitrage_ds.cli`` namespace, so each
feature adds its own without editing a shared file. Global options:
``--config-file PATH`` (repeatable; later files win), ``--os-cloud NAME``
(clouds.yaml, as the ``openstack`` client; default ``$OS_CLOUD``),
``--debug`` (tracebacks on errors), ``--version``, plus cliff's ``-v``,
``-q`` and ``--log-file``. Listing commands take ``-f table|json|csv|value``.

A command reaches the shared configuration and API clients through
:func:`app_of`::

    class Collect(cliff.command.Command):
        def take_action(self, parsed_args):
            app = app_of(self)
            conf = app.config()                # parsed once per run
            factory = app.client_factory()     # --os-cloud or [service_credentials]
            app.use_oslo_log()                 # long-running commands only

Errors are printed as one line (the exception's message) and the exit
status is 1; ``--debug`` adds the traceback. An unknown command exits 2;
one that another distribution adds (``demo``: vitrage-ds-testing) says
what to install.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import os
import sys
import warnings
from collections.abc import Sequence
from typing import Any, TextIO

from cliff import app as cliff_app
from cliff import command as cliff_command
from cliff import commandmanager
from oslo_config import cfg
from oslo_log import log as oslo_log

from vitrage_ds import config
from vitrage_ds.errors import ConfigurationError
from vitrage_ds.plugin import ClientFactory

__all__ = ['NAMESPACE', 'VitrageDSApp', 'app_of', 'main']

#: Entry-point namespace of the commands.
NAMESPACE = 'vitrage_ds.cli'

#: Commands another distribution adds, and the distribution to install for them.
_COMMANDS_ELSEWHERE = {'demo': 'vitrage-ds-testing'}

_DESCRIPTION = ('Datasources and notifiers for OpenStack root-cause analysis: '
                'poll drivers, run the collector and the notifier service.')


def _version() -> str:
    try:
        return importlib.metadata.version('vitrage-ds')
    except importlib.metadata.PackageNotFoundError:
        return 'unknown'


class VitrageDSApp(cliff_app.App):
    """The application object commands share (see :func:`app_of`)."""

    NAME = 'vitrage-ds'
    LOG = logging.getLogger('vitrage_ds.cli')

    def __init__(self, stdout: TextIO | None = None, stderr: TextIO | None = None) -> None:
        super().__init__(description=_DESCRIPTION, version=_version(),
                         command_manager=commandmanager.CommandManager(NAMESPACE),
                         deferred_help=True, stdout=stdout, stderr=stderr)
        self._conf: cfg.ConfigOpts | None = None
        self._client_factory: ClientFactory | None = None
        self._handlers: list[logging.Handler] = []
        self._root_level: int | None = None

    def build_option_parser(self, description: str | None, version: str | None,
                            argparse_kwargs: dict[str, Any] | None = None
                            ) -> argparse.ArgumentParser:
        # cliff names the program after argv[0] in --version; ours replaces it.
        kwargs = {**(argparse_kwargs or {}), 'conflict_handler': 'resolve'}
        parser = super().build_option_parser(description, version, kwargs)
        parser.add_argument('--version', action='version', version=f'{self.NAME} {version}')
        parser.add_argument(
            '--config-file', dest='config_files', action='append', default=[],
            metavar='PATH',
            help='A configuration file; repeat for several, later ones win.')
        parser.add_argument(
            '--os-cloud', default=os.environ.get('OS_CLOUD'), metavar='NAME',
            help='Take credentials and endpoints from this clouds.yaml cloud '
                 'instead of [service_credentials] (default: $OS_CLOUD).')
        return parser

    # -- what commands use ----------------------------------------------

    def config(self) -> cfg.ConfigOpts:
        """The configuration from ``--config-file``, parsed on first use.

        ``--debug`` also sets ``[DEFAULT] debug``.

        :raises ConfigurationError: a file is missing or unreadable.
        """
        if self._conf is None:
            args: list[str] = []
            for path in self.options.config_files:
                args += ['--config-file', path]
            try:
                conf = config.load_config(args)
            except cfg.Error as exc:
                raise ConfigurationError(str(exc)) from exc
            if self.options.debug:
                conf.set_override('debug', True)
            self._conf = conf
        return self._conf

    def client_factory(self) -> ClientFactory:
        """The API client factory for plugins: ``--os-cloud`` or the configuration.

        Credentials are read when the first client is built, so commands
        and plugins that make no API call need none.
        """
        if self._client_factory is None:
            self._client_factory = _LazyClientFactory(self.config(), self.options.os_cloud)
        return self._client_factory

    def use_oslo_log(self) -> None:
        """Hand logging over to oslo.log (its options: ``log_file``, ``debug``...).

        For long-running commands (services): replaces cliff's console
        handler so nothing is logged twice.
        """
        root = logging.getLogger()
        for handler in self._handlers:
            root.removeHandler(handler)
        self._handlers = []
        oslo_log.setup(self.config(), 'vitrage_ds')

    # -- cliff hooks ------------------------------------------------------

    def configure_logging(self) -> None:
        root = logging.getLogger()
        before = list(root.handlers)
        self._root_level = root.level
        super().configure_logging()
        self._handlers = [h for h in root.handlers if h not in before]
        # Libraries' chatter stays out of a command's output unless -v.
        if self.options.verbose_level <= 1:
            for noisy in ('stevedore', 'keystoneauth', 'urllib3', 'oslo_messaging'):
                logging.getLogger(noisy).setLevel(logging.WARNING)

    def close_logging(self) -> None:
        """Undo this run's logging set-up (matters when run in-process)."""
        root = logging.getLogger()
        for handler in self._handlers:
            root.removeHandler(handler)
            handler.close()
        self._handlers = []
        if self._root_level is not None:
            root.setLevel(self._root_level)

    def run_subcommand(self, argv: list[str]) -> int:
        if argv and argv[0] in _COMMANDS_ELSEWHERE:
            try:
                self.command_manager.find_command(argv)
            except ValueError:
                dist = _COMMANDS_ELSEWHERE[argv[0]]
                self.stderr.write(f'vitrage-ds {argv[0]} comes with the {dist} distribution: '
                                  f'pip install {dist}\n')
                return 2
        return int(super().run_subcommand(argv))

    def interact(self) -> None:
        # No command given: show the usage rather than cliff's shell.
        self.parser.print_help(self.stdout)


class _LazyClientFactory:
    """Builds the real factory on the first client (see :meth:`VitrageDSApp.client_factory`)."""

    def __init__(self, conf: cfg.ConfigOpts, cloud: str | None) -> None:
        self._conf = conf
        self._cloud = cloud
        self._factory: ClientFactory | None = None

    def __call__(self, service_type: str, options: Any) -> Any:
        if self._factory is None:
            from vitrage_ds.http import session

            if self._cloud:
                self._factory = session.client_factory_from_cloud(self._cloud, self._conf)
            else:
                self._factory = session.client_factory_from_conf(self._conf)
        return self._factory(service_type, options)


def app_of(command: cliff_command.Command) -> VitrageDSApp:
    """The :class:`VitrageDSApp` running ``command``.

    :raises TypeError: the command runs in another cliff application.
    """
    app = command.app
    if not isinstance(app, VitrageDSApp):
        raise TypeError(f'{type(command).__name__} needs the vitrage-ds application, '
                        f'not {type(app).__name__}')
    return app


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``vitrage-ds`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    # oslo.messaging imports oslo.service, whose default backend imports
    # eventlet, which warns on import, as does the dnspython it imports under
    # recent cryptography releases (DSA); vitrage-ds runs no eventlet code
    # and resolves no DNSSEC.
    warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
    warnings.filterwarnings('ignore', message='DSA is deprecated', module=r'dns\.')
    app = VitrageDSApp()
    try:
        return app.run(list(sys.argv[1:] if argv is None else argv))
    except SystemExit as exc:  # --version, --help and argparse errors exit
        if isinstance(exc.code, int) or exc.code is None:
            return exc.code or 0
        print(exc.code, file=sys.stderr)
        return 1
    finally:
        app.close_logging()


if __name__ == '__main__':
    sys.exit(main())

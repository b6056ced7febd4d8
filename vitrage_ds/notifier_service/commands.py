"""``vitrage-ds notifier`` (the service) and ``vitrage-ds publish`` (post one message)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from types import FrameType
from typing import Any

from cliff import command

from vitrage_ds import bus, registry
from vitrage_ds.cli.app import app_of
from vitrage_ds.errors import ConfigurationError
from vitrage_ds.notifier_service import options
from vitrage_ds.notifier_service.publisher import DeducedAlarmPublisher
from vitrage_ds.notifier_service.service import NotifierService

__all__ = ['Notifier', 'Publish']

LOG = logging.getLogger(__name__)


class Notifier(command.Command):
    """Run the notifier service until SIGTERM or SIGINT.

    Listens on ``[notifier] exchange``/``topic`` (the queue Vitrage's own
    notifier consumes, or the ``listener_pool``'s own when set) and calls
    every notifier plugin enabled by ``[DEFAULT] notifiers`` for each
    message. On SIGTERM or SIGINT it stops taking messages, lets those in
    flight finish (at most ``[notifier] stop_timeout`` seconds; unfinished
    ones are redelivered to another process) and exits 0. A plugin that
    fails to load is logged and skipped; with none loaded the command fails.
    """

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        app = app_of(self)
        conf = app.config()
        options.register_opts(conf)
        app.use_oslo_log()
        loaded = registry.load_notifiers(conf, client_factory=app.client_factory())
        if not loaded.plugins:
            raise ConfigurationError(
                'no notifier plugin loaded (enabled: '
                f'{", ".join(conf.notifiers) or "none"}; see "vitrage-ds plugins")')
        stop = threading.Event()
        previous = {sig: signal.signal(sig, _setter(stop))
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        transport = bus.get_transport(conf)
        try:
            service = NotifierService.from_conf(conf, loaded.plugins, transport)
            service.start()
            while not stop.wait(1.0):
                pass
            LOG.info('notifier service stopping: finishing in-flight messages')
            if not service.stop(conf[options.GROUP].stop_timeout):
                LOG.warning('in-flight messages did not finish within %s s; they '
                            'will be redelivered', conf[options.GROUP].stop_timeout)
            LOG.info('notifier service stopped (%d handled, %d requeued, %d rejected)',
                     service.listener.handled, service.listener.requeued,
                     service.listener.rejected)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            for plugin in loaded.plugins.values():
                plugin.close()
            transport.cleanup()
        return 0


def _setter(event: threading.Event) -> Any:
    def handler(signum: int, frame: FrameType | None) -> None:
        event.set()
    return handler


class Publish(command.Command):
    """Post one deduced-alarm message on the graph topic, as a graph would.

    ``vitrage-ds publish activate --vitrage-id ID --name NAME --severity SEV
    --resource RESOURCE [--aodh-id AODH_ID]`` or ``vitrage-ds publish
    deactivate --vitrage-id ID [--aodh-id AODH_ID] [--name NAME --resource
    RESOURCE]``. The message is validated first: an invalid one is refused
    with the wrong field named and nothing is sent. Prints the payload sent.
    Uses ``[DEFAULT] transport_url`` and ``[notifier]`` topic/exchange.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument('action', choices=['activate', 'deactivate'],
                            help='The message to post.')
        parser.add_argument('--vitrage-id', required=True,
                            help="The deduced alarm's id in the graph.")
        parser.add_argument('--name', help="The deduced alarm's name.")
        parser.add_argument('--severity', help='Its severity (activate).')
        parser.add_argument('--resource', dest='affected_resource_id',
                            help='The id of the resource it was raised on.')
        parser.add_argument('--aodh-id', dest='aodh_alarm_id',
                            help='The Aodh alarm, when known.')
        parser.add_argument('--timestamp',
                            help='When the graph changed the alarm (ISO 8601; '
                                 'default: now).')
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        app = app_of(self)
        conf = app.config()
        transport = bus.get_transport(conf)
        try:
            publisher = DeducedAlarmPublisher.from_conf(conf, transport)
            args = parsed_args
            if args.action == 'activate':
                sent: Any = publisher.activate(
                    vitrage_id=args.vitrage_id, name=args.name, severity=args.severity,
                    affected_resource_id=args.affected_resource_id,
                    aodh_alarm_id=args.aodh_alarm_id, timestamp=args.timestamp)
            else:
                sent = publisher.deactivate(
                    vitrage_id=args.vitrage_id, aodh_alarm_id=args.aodh_alarm_id,
                    name=args.name, affected_resource_id=args.affected_resource_id,
                    timestamp=args.timestamp)
            publisher.close()
        finally:
            transport.cleanup()
        self.app.stdout.write(json.dumps({'event_type': sent.event_type,
                                          'payload': sent.to_payload()}) + '\n')
        return 0

"""``vitrage-ds collect``: the collector as a service."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from types import FrameType
from typing import Any

from cliff import command
from oslo_config import cfg

from vitrage_ds._logsafe import safe
from vitrage_ds.cli.app import app_of
from vitrage_ds.collector import options
from vitrage_ds.collector.service import Collector

__all__ = ['Collect']

LOG = logging.getLogger(__name__)


class Collect(command.Command):
    """Run the collector until SIGTERM or SIGINT (or poll once with --once).

    Polls every driver of ``[DEFAULT] drivers`` on its interval, listens to
    their notifications (on the exchanges and topics each declares, unless
    ``[collector] exchanges``/``topics`` replace them; pooled),
    reconciles and delivers the events to ``[collector] sinks`` (JSON lines
    on standard output by default; logs then go to standard error). On
    SIGTERM or SIGINT it stops taking notifications, finishes those in
    flight and the polls in progress, closes the sinks and exits 0.

    ``[collector] stop_timeout`` bounds the exit: work still running after
    it (a handler blocked in a slow API call, a hung poll) is abandoned and
    the process exits at once, at most :data:`EXIT_GRACE` seconds later
    whatever else blocks. A notification abandoned so was never
    acknowledged: the broker gives it to another collector of the pool, or
    to this one when it starts again.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument('--once', action='store_true',
                            help='Poll every driver once, deliver, and exit '
                                 '(non-zero if a poll failed); no listening.')
        parser.add_argument('--mode', choices=['full', 'diff'],
                            help='Override [collector] mode.')
        parser.add_argument('--sink', dest='sinks', action='append', metavar='SPEC',
                            help='Override [collector] sinks (repeatable): stdout, '
                                 'file:PATH, bus:TOPIC or bus:EXCHANGE/TOPIC.')
        parser.add_argument('--no-listen', action='store_true',
                            help='Do not listen to the bus (polls only).')
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        app = app_of(self)
        conf = app.config()
        options.register_opts(conf)
        _apply_arguments(conf, parsed_args)
        if parsed_args.once:  # a one-shot command keeps cliff's console logging
            return _collect_once(conf, app.client_factory())
        app.use_oslo_log()
        stop = threading.Event()
        previous = {sig: signal.signal(sig, _setter(stop))
                    for sig in (signal.SIGTERM, signal.SIGINT)}
        collector: Collector | None = None
        try:
            collector = Collector(conf, client_factory=app.client_factory())
            collector.start()
            while not stop.wait(1.0):
                pass
            timeout = conf[options.GROUP].stop_timeout
            LOG.info('collector stopping: finishing in-flight notifications and polls')
            watchdog = threading.Timer(timeout + EXIT_GRACE, _exit_now,
                                       args=(f'the stop took longer than {timeout} s',))
            watchdog.daemon = True
            watchdog.start()
            drained = collector.stop(timeout)
            listener = collector.listener
            if listener is not None:
                LOG.info('notifications: %d handled, %d requeued, %d rejected',
                         listener.handled, listener.requeued, listener.rejected)
            if not drained:
                # Threads still blocked in slow calls would hold the
                # interpreter's exit for as long as the calls take.
                _exit_now(f'in-flight work did not finish within {timeout} s; '
                          f'unacknowledged notifications will be redelivered')
            watchdog.cancel()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            if collector is not None:
                collector.stop(0)
        return 0


def _apply_arguments(conf: cfg.ConfigOpts, args: argparse.Namespace) -> None:
    group = options.GROUP
    if args.mode:
        conf.set_override('mode', args.mode, group)
    if args.sinks:
        conf.set_override('sinks', args.sinks, group)
    if args.no_listen or args.once:
        conf.set_override('listen', False, group)
    # oslo.log writes to standard output unless told otherwise, which would
    # interleave log lines with the JSON lines of a stdout sink.
    conf.set_default('use_stderr', True)
    if 'stdout' in conf[group].sinks and not conf.log_file:
        conf.set_override('use_stderr', True)


def _collect_once(conf: cfg.ConfigOpts, client_factory: Any) -> int:
    collector = Collector(conf, client_factory=client_factory)
    failed = []
    try:
        for name in collector.drivers:
            try:
                collector.poll(name)
            except Exception as exc:
                LOG.error('poll of %s failed: %s: %s', name, type(exc).__name__,
                          safe(str(exc), 1000))
                failed.append(name)
    finally:
        collector.stop(0)
    return 1 if failed else 0


#: Most seconds the exit may take beyond ``[collector] stop_timeout``.
EXIT_GRACE = 2.0


def _exit_now(reason: str) -> None:
    """Flush the logs and standard streams, then end the process (status 0)."""
    LOG.warning('%s; exiting now', reason)
    for handler in logging.getLogger().handlers:
        try:
            handler.flush()
        except Exception:  # a broken handler must not keep the process alive
            pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    os._exit(0)


def _setter(event: threading.Event) -> Any:
    def handler(signum: int, frame: FrameType | None) -> None:
        event.set()
    return handler

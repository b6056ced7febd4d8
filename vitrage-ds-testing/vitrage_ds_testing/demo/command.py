"""``vitrage-ds demo``: the main job on an emulated cloud, shown as it happens."""

from __future__ import annotations

import argparse
import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from cliff import command

from vitrage_ds.cli.app import app_of
from vitrage_ds_testing.demo.report import JsonReport, Report, TextReport
from vitrage_ds_testing.demo.scenario import Settings, play, seed
from vitrage_ds_testing.demo.stage import Feed, Stage

__all__ = ['Demo']

LOG = logging.getLogger(__name__)


def _bounded(kind: Callable[[str], Any], low: float, high: float) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f'{text!r} is not a number') from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f'{text} is not between {low:g} and {high:g}')
        return value
    return parse


class Demo(command.Command):
    """Run the collector and the notifier service on an emulated cloud, then exit.

    Everything runs in this process, with no outside service and no
    configuration file: an emulated Keystone, Heat and Aodh on a loopback
    port, seeded with stacks (some nested, in several projects) and alarms
    of every Aodh type; the in-process ``fake://`` bus; the ``heat.stack``
    and ``aodh`` drivers loaded through their entry points; the collector
    in diff mode; the notifier service with the ``aodh`` notifier. It shows
    the initial snapshot, then four changes as their notifications and the
    collector's events arrive: a stack updated, a stack failing, an alarm
    firing, and a deduced alarm becoming an Aodh alarm (read back from
    Aodh). Exits 0 when every change was seen, 1 when one did not arrive
    in time.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        defaults = Settings()
        parser.add_argument('--stacks', type=_bounded(int, 1, 2000), default=defaults.stacks,
                            metavar='N', help='Top-level stacks to seed; one in three '
                            f'also gets a nested stack (default {defaults.stacks}).')
        parser.add_argument('--alarms', type=_bounded(int, 0, 10_000),
                            default=defaults.alarms, metavar='N',
                            help='Alarms to seed, cycling through every Aodh alarm type, '
                            'plus the one that fires (default '
                            f'{defaults.alarms}).')
        parser.add_argument('--seed', type=int, default=defaults.seed,
                            help='Seed of the ids and names (default '
                            f'{defaults.seed}).')
        parser.add_argument('--pace', type=_bounded(float, 0, 10), default=defaults.pace,
                            metavar='SECONDS', help='Pause before each change (default '
                            f'{defaults.pace:g}).')
        parser.add_argument('--json', action='store_true',
                            help='Print JSON lines (one object per line, each with a '
                            '"kind") instead of text.')
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> int:
        app = app_of(self)
        if app.options.config_files or app.options.os_cloud:
            LOG.warning('the demo uses its own emulated cloud and configuration; '
                        '--config-file and --os-cloud are ignored')
        settings = Settings(stacks=parsed_args.stacks, alarms=parsed_args.alarms,
                            seed=parsed_args.seed, pace=parsed_args.pace)
        # The services' INFO logs would interleave with what the demo shows;
        # -v -v brings them back.
        with _log_level('vitrage_ds', logging.WARNING if app.options.verbose_level < 2
                        else logging.NOTSET):
            started = time.monotonic()
            with Stage(settings.seed, Feed()) as stage:
                report: Report = (JsonReport(app.stdout) if parsed_args.json
                                  else TextReport(app.stdout, _project_names(stage)))
                cast = seed(stage, settings)
                done = play(stage, cast, report, settings, started)
            report.done(done)
        return 0


@contextlib.contextmanager
def _log_level(name: str, level: int) -> Iterator[None]:
    logger = logging.getLogger(name)
    previous = logger.level
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _project_names(stage: Stage) -> Callable[[Any], str]:
    projects = stage.cloud.identity.projects

    def name(project_id: Any) -> str:
        project = projects.get(project_id) if isinstance(project_id, str) else None
        return project.name if project is not None else str(project_id or '-')
    return name

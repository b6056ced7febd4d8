"""The core's commands: ``plugins`` and ``poll``."""

from __future__ import annotations

import argparse
import importlib.metadata
import json
from collections.abc import Iterable
from typing import Any

from cliff import lister
from keystoneauth1 import session as ks_session

from vitrage_ds import registry
from vitrage_ds.cli.app import app_of
from vitrage_ds.errors import ConfigurationError, PluginLoadError
from vitrage_ds.event import METADATA_KEYS
from vitrage_ds.http.client import Client

__all__ = ['Plugins', 'Poll']

_KINDS = (('driver', registry.DRIVERS), ('notifier', registry.NOTIFIERS))


class Plugins(lister.Lister):
    """List the installed drivers and notifiers and whether each one loads.

    A plugin loads when it imports and constructs; no API call is made and
    no credentials are needed. A failure is shown with its reason.
    """

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        conf = app_of(self).config()
        rows = []
        for kind, namespace in _KINDS:
            targets: dict[str, str] = {}
            for ep in importlib.metadata.entry_points(group=namespace):
                targets.setdefault(ep.name, ep.value)
            loaded = registry.load(namespace, sorted(targets), conf, _offline_client)
            try:
                for name in sorted(targets):
                    rows.append((kind, name, targets[name],
                                 'yes' if name in loaded.plugins else 'no',
                                 loaded.failures.get(name, '')))
            finally:
                for plugin in loaded.plugins.values():
                    plugin.close()
        return ('Kind', 'Name', 'Module', 'Loads', 'Reason'), rows


def _offline_client(service_type: str, options: Any) -> Client:
    """A client that refuses to call anything: listing plugins needs no API."""

    def no_endpoint() -> str:
        raise ConfigurationError('listing plugins makes no API call')

    return Client(ks_session.Session(), no_endpoint)


class Poll(lister.Lister):
    """Poll one driver once (get_all) and print its events, one row each.

    Exits non-zero, printing the error, when the driver is not installed
    (the installed names are listed), fails to load, or the poll fails.
    Columns are the events' fields, then the metadata; nested values are
    shown as JSON except with ``-f json``.
    """

    def get_parser(self, prog_name: str) -> argparse.ArgumentParser:
        parser = super().get_parser(prog_name)
        parser.add_argument('driver', metavar='DRIVER',
                            help='The driver to poll, by entry-point name '
                                 '(see "vitrage-ds plugins").')
        return parser

    def take_action(self, parsed_args: argparse.Namespace) -> tuple[Any, Any]:
        app = app_of(self)
        name = parsed_args.driver
        loaded = registry.load_drivers(app.config(), [name], app.client_factory())
        if name in loaded.failures:
            raise PluginLoadError(registry.DRIVERS, name, loaded.failures[name])
        driver = loaded.plugins[name]
        try:
            events = driver.get_all()
        finally:
            driver.close()
        flats = [e.to_dict() for e in events]
        columns = _columns(flats)
        raw = getattr(parsed_args, 'formatter', 'table') == 'json'
        rows = [[_cell(flat.get(c), raw) for c in columns] for flat in flats]
        return columns, rows


def _columns(flats: Iterable[dict[str, Any]]) -> list[str]:
    fields: dict[str, None] = {}
    for flat in flats:
        fields.update(dict.fromkeys(k for k in flat if k not in METADATA_KEYS))
    return [*fields, *METADATA_KEYS]


def _cell(value: Any, raw: bool) -> Any:
    if raw or not isinstance(value, (dict, list, tuple)):
        return value
    return json.dumps(value, sort_keys=True, default=str)

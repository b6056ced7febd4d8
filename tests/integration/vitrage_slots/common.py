"""What the scripts share: Vitrage's configuration parse and the result file."""

from __future__ import annotations

import json
import sys
from typing import Any


def parse(config_file: str) -> Any:
    """Vitrage's own ``parse_config`` of ``config_file``; returns Vitrage's ``CONF``."""
    from vitrage.common.config import parse_config
    from oslo_config import cfg

    parse_config(['vitrage', '--config-file', config_file])
    return cfg.CONF


def read(path: str) -> Any:
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def write(path: str, result: Any) -> None:
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(result, f, default=str)


def argv(count: int) -> list[str]:
    if len(sys.argv) != count + 1:
        raise SystemExit(f'usage: {sys.argv[0]} ' + ' '.join(['ARG'] * count))
    return sys.argv[1:]

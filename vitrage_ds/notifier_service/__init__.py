"""The notifier service and its graph-side publisher.

:class:`DeducedAlarmPublisher` is what a graph or evaluator calls to post
deduced-alarm messages; :class:`NotifierService` (``vitrage-ds notifier``)
consumes them and calls every enabled notifier plugin. Both read the
``[notifier]`` options (:mod:`vitrage_ds.notifier_service.options`).

Both are imported on first use, so reading the options (which every
configuration does) does not load the message bus.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from vitrage_ds.notifier_service.publisher import DeducedAlarmPublisher
    from vitrage_ds.notifier_service.service import NotifierService

__all__ = ['DeducedAlarmPublisher', 'NotifierService']

_LAZY = {
    'DeducedAlarmPublisher': 'vitrage_ds.notifier_service.publisher',
    'NotifierService': 'vitrage_ds.notifier_service.service',
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')

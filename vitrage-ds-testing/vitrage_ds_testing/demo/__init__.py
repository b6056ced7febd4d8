"""``vitrage-ds demo``: the whole job on an emulated cloud, in one process.

:mod:`~vitrage_ds_testing.demo.stage` wires the services together,
:mod:`~vitrage_ds_testing.demo.scenario` seeds the cloud and makes the scripted
changes, :mod:`~vitrage_ds_testing.demo.report` shows them (text or JSON lines),
:mod:`~vitrage_ds_testing.demo.command` is the command.
"""

from vitrage_ds_testing.demo.command import Demo

__all__ = ['Demo']

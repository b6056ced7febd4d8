"""The Aodh notifier: each deduced alarm becomes exactly one Aodh event alarm.

Messages come in every shape :mod:`vitrage_ds.deduced` parses (vitrage_ds's
own, the seed's, a Vitrage 15 graph's ``GraphNotifier``); each shape gives
the same alarm: an event alarm named ``<name>_<affected_resource_id>`` whose
query holds ``resource_id`` and, when the message has one, ``vitrage_id``.
Messages about one deduced alarm are told apart from others by their
:attr:`~vitrage_ds.deduced.DeducedAlarm.key`.

One deduced-alarm message walks through these modules in this order; each
uses only modules after it, so each is entered once
(``tests/unit/notifiers/test_aodh_layout.py`` keeps it so):

:mod:`~vitrage_ds.notifiers.aodh.plugin`
    :class:`AodhNotifier`, the plugin: options, the event types it takes,
    parsing and dating the message, the outcome it answers, and how a
    failure maps to one (``notify`` never raises).
:mod:`~vitrage_ds.notifiers.aodh.mirror`
    What the message does to its Aodh alarm (activate, deactivate), and the
    guarantees: exactly one alarm per deduced alarm, the newest message
    wins, one request per state change of a known alarm.
:mod:`~vitrage_ds.notifiers.aodh.store`
    What this process knows of the alarms (per-deduced-alarm locks, bounded
    caches, the order an alarm holds), and the writes a message and a
    repair both make.
:mod:`~vitrage_ds.notifiers.aodh.alarms`
    The requests to Aodh, one method each, on the paths and queries of
    :mod:`vitrage_ds.aodh_api` (shared with the Aodh driver).
:mod:`~vitrage_ds.notifiers.aodh.record`
    An alarm as Aodh holds it: whether it is a deduced alarm's, the order
    of the newest message it holds, the survivor of duplicates, and the
    request bodies.
:mod:`~vitrage_ds.notifiers.aodh.watchlist`
    The bookkeeping of the writes still to check; the write wakes the
    verifier.
:mod:`~vitrage_ds.notifiers.aodh.verifier`
    Later, on its own thread, its own walk: the verification rounds that
    check those writes, delete duplicates and repair older states written
    over ours, or over a newer state the alarm's history records (through
    the store); :meth:`AodhNotifier.close` waits for the final checks.

:mod:`~vitrage_ds.notifiers.aodh.keyed` holds the bounded map and the
per-key locks the store uses.
"""

from vitrage_ds.notifiers.aodh.plugin import (AODH_SEVERITIES, DEFAULT_SEVERITY_MAP,
                                              VITRAGE_SEVERITIES, AodhNotifier)

__all__ = ['AODH_SEVERITIES', 'DEFAULT_SEVERITY_MAP', 'VITRAGE_SEVERITIES', 'AodhNotifier']

"""What one notifier process wrote to Aodh and still has to check.

The Aodh notifier writes a known alarm with one ``PUT`` and checks it later,
in batches (:mod:`vitrage_ds.notifiers.aodh.verifier`). This module is the
bookkeeping of those checks: one :class:`Written` per deduced alarm, with
when it was written and when its last check is due. It makes no request.

Every written alarm gets a first check ``interval`` seconds after the write
(repeated after each repair) and a final one at or after
:attr:`Written.final_check`: its message's time plus ``window``, plus
``interval`` (the first check doubles as the final one when the message is
that late already). It is forgotten after the final check found it in
order. Thread-safe.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading

from vitrage_ds._logsafe import safe
from vitrage_ds.deduced import DeducedAlarm, Order

__all__ = ['Watchlist', 'Written']

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(eq=False)
class Written:
    """A write of this process to the Aodh alarm of one deduced alarm.

    :ivar key: the deduced alarm's :attr:`~vitrage_ds.deduced.DeducedAlarm.key`.
    :ivar aodh_name: the Aodh alarm's name.
    :ivar message: the message written (what a repair writes again).
    :ivar order: its order; the alarm must hold it or a newer one.
    :ivar state: the state written (``alarm`` or ``ok``).
    :ivar written_at: when the write (or the last repair) completed.
    :ivar final_check: the last check is due at or after this time.
    :ivar checked: a check found the alarm in order since the last write.
    :ivar repairs: how often a check had to write it again.
    :ivar description: when a check wrote back a newer state the alarm's
        history recorded (see :meth:`Watchlist.restored`), the description
        written (``order`` and ``state`` are then that state's): what a
        repair writes again instead of ``message``.
    :ivar severity: the severity written with ``description``, if any.
    """

    key: str
    aodh_name: str
    message: DeducedAlarm
    order: Order
    state: str
    written_at: float
    final_check: float
    checked: bool = False
    repairs: int = 0
    description: str | None = None
    severity: str | None = None


class Watchlist:
    """The :class:`Written` entries still to check, at most ``capacity``.

    When full, adding evicts the least recently written entry, with a
    warning: that alarm is no longer checked.

    :param capacity: the most entries kept.
    :param interval: seconds between a write and its first check.
    :param window: seconds after its message's time that a write may still
        be overwritten by an older message (``reorder_window``).
    """

    def __init__(self, capacity: int, interval: float, window: float) -> None:
        self._capacity = capacity
        self._interval = interval
        self._window = window
        self._entries: collections.OrderedDict[str, Written] = collections.OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def wrote(self, message: DeducedAlarm, order: Order, state: str, aodh_name: str,
              now: float) -> bool:
        """Watch the write of ``message`` (applied as ``order``, in ``state``)
        that completed at ``now``; see :meth:`add`."""
        final = max(order.micros / 1_000_000 + self._window, now) + self._interval
        return self.add(Written(message.key, aodh_name, message, order, state, now, final))

    def add(self, entry: Written) -> bool:
        """Watch ``entry``, replacing the deduced alarm's previous one.

        The final check stays at least as late as the replaced entry's.

        :returns: whether the list was empty before.
        """
        with self._lock:
            was_empty = not self._entries
            previous = self._entries.pop(entry.key, None)
            if previous is not None:
                entry.final_check = max(entry.final_check, previous.final_check)
            self._entries[entry.key] = entry
            while len(self._entries) > self._capacity:
                _, evicted = self._entries.popitem(last=False)
                LOG.warning('more than %d Aodh alarms written and not yet verified: '
                            'no longer verifying the one of deduced alarm %s (raise '
                            'cache_size or lower verify_interval)', self._capacity,
                            safe(evicted.key))
            return was_empty

    def get(self, key: str) -> Written | None:
        """The entry of the deduced alarm ``key``, if watched."""
        with self._lock:
            return self._entries.get(key)

    def entries(self) -> list[Written]:
        """Every entry, least recently written first."""
        with self._lock:
            return list(self._entries.values())

    def due(self, now: float) -> list[Written]:
        """The entries whose first or final check is due at ``now``."""
        with self._lock:
            return [e for e in self._entries.values()
                    if e.final_check <= now
                    or (not e.checked and e.written_at + self._interval <= now)]

    def latest_final_check(self) -> float | None:
        """When the last final check is due; ``None`` when nothing is watched."""
        with self._lock:
            return max((e.final_check for e in self._entries.values()), default=None)

    def checked(self, entry: Written, listed_at: float) -> None:
        """A listing taken at ``listed_at`` found ``entry``'s alarm in order.

        Forgets the entry when that was its final check.
        """
        with self._lock:
            if self._entries.get(entry.key) is not entry:
                return
            entry.checked = True
            if entry.final_check <= listed_at:
                del self._entries[entry.key]

    def rewritten(self, entry: Written, at: float) -> None:
        """``entry`` was written again at ``at`` (a repair): check it again."""
        with self._lock:
            entry.repairs += 1
            entry.written_at = at
            entry.checked = False

    def restored(self, entry: Written, order: Order, state: str, description: str,
                 severity: str | None, at: float) -> None:
        """``entry``'s alarm was written back at ``at`` to a newer state its
        history recorded, ``order`` in ``state`` (a repair): from now on the
        alarm must hold that order, and a repair writes that state again."""
        with self._lock:
            entry.order = order
            entry.state = state
            entry.description = description
            entry.severity = severity
            entry.repairs += 1
            entry.written_at = at
            entry.checked = False

    def discard(self, entry: Written) -> None:
        """Stop watching ``entry`` (unless a newer write replaced it)."""
        with self._lock:
            if self._entries.get(entry.key) is entry:
                del self._entries[entry.key]

    def forget(self, key: str) -> None:
        """Stop watching the deduced alarm ``key`` (its alarm was deleted)."""
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> list[Written]:
        """Stop watching everything; return what was watched."""
        with self._lock:
            left = list(self._entries.values())
            self._entries.clear()
            return left

"""Several collectors sharing the polls through a tooz backend.

With ``[coordination] backend_url`` set, every collector of a deployment
joins one tooz group per driver (``<[collector] coordination_group>.<driver>``)
and polls a driver only while it holds that driver's lock: **one holder
per driver**, the others stand by. Notifications are not coordinated here:
the pooled listener already gives each one to a single member.

Guarantees (clocks of the members synchronised, as NTP keeps them):

* **Poll slots.** Time is cut into slots of the driver's poll interval,
  aligned on the wall clock; a driver's polls start at a fixed offset into
  each slot (the same on every member, derived from the driver's name).
  At that moment each member asks whether it holds the lock, taking it if
  it is free; only the holder polls. So within one slot a driver is polled
  by one member (a failed poll's retries aside, which are the holder's).
* **Failover.** The holder's lock lives as long as its heartbeats (tooz's
  heart thread); a member killed stops holding it once the backend's
  timeout passed, and the next slot's check hands it to another member:
  its work is polled again within one interval plus the backend's timeout.
* **Joining.** A new member polls nothing until it holds a lock, and it
  takes a free lock only at a slot's poll time, never in the middle of a
  slot whose poll another member may already have made: no entity gets
  two snapshots in one slot, and nothing waits more than a slot.
* **Deletions.** Each poll is a driver's whole snapshot by one member, so
  a deletion is never inferred from a part of the work.
* **Backend trouble.** A member that cannot reach the backend, or finds
  its lock lost (its heartbeats stopped longer than the timeout), does not
  poll: the driver may go unpolled for a slot, never polled twice. A member
  whose process stalls longer than the backend's timeout and then resumes
  may poll once more in the slot its successor polled (tooz locks carry no
  fencing token); the check right before each poll keeps that window small.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterable
from typing import Any

from oslo_config import cfg

from vitrage_ds._logsafe import safe
from vitrage_ds.collector._throttle import Throttle
from vitrage_ds.collector.scheduler import Timing

__all__ = [
    'GROUP',
    'OPTS',
    'Coordination',
    'SlotTiming',
    'backend_url',
    'list_opts',
    'register_opts',
]

LOG = logging.getLogger(__name__)

GROUP = 'coordination'

#: A host that has its own ``[coordination] backend_url`` (Vitrage does) keeps
#: it and the collectors read it too: :func:`register_opts` adds this one only
#: where the host has none. A host registers its options before vitrage_ds's,
#: as Vitrage's ``parse_config`` does before any datasource loads.
OPTS: list[cfg.Opt] = [
    cfg.StrOpt('backend_url',
               secret=True,
               help='tooz URL of the coordination backend the collectors share '
                    '(redis://, etcd3+http://, zookeeper://, file:// for one '
                    'host). Unset: each collector polls every driver itself.'),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register ``[coordination]`` on ``conf`` unless the host already has it.

    A host's own ``backend_url`` (Vitrage's) is left as it is and read by
    the collector too: one coordination backend per deployment.
    """
    if GROUP not in conf or 'backend_url' not in conf[GROUP]:
        conf.register_opts(OPTS, group=GROUP)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    """The ``[coordination]`` group, for the option listings."""
    return [(GROUP, list(OPTS))]


def backend_url(conf: cfg.ConfigOpts) -> str | None:
    """The configured backend, or ``None`` (no coordination)."""
    register_opts(conf)
    return conf[GROUP].backend_url or None


def slot_offset(driver: str, interval: float) -> float:
    """Seconds into each slot at which ``driver`` is polled, the same on every member.

    Spreads drivers over the first tenth of their slot (at most 5 s), as the
    jitter spreads them without coordination.
    """
    spread = min(interval * 0.1, 5.0)
    return spread * (zlib.crc32(driver.encode('utf-8')) % 1000) / 1000.0


class SlotTiming(Timing):
    """Runs at ``offset`` seconds into each wall-clock slot of ``interval``.

    Success and the first run wait for the next slot's poll time; failures
    back off as :class:`Timing` does (the holder's own retries).
    """

    def __init__(self, interval: float, offset: float, *, wallclock: Callable[[], float],
                 initial: float = 5.0, maximum: float = 300.0) -> None:
        super().__init__(interval, jitter=0.0, initial=initial, maximum=maximum)
        self.offset = offset
        self._wallclock = wallclock

    def slot(self, when: float) -> int:
        """The slot ``when`` (POSIX seconds) falls in."""
        return int((when - self.offset) // self.interval)

    def until_next(self) -> float:
        """Seconds until the next slot's poll time (never 0: a slot polls once)."""
        now = self._wallclock()
        return (self.slot(now) + 1) * self.interval + self.offset - now

    def first(self) -> float:
        return self.until_next()

    def after_success(self, elapsed: float) -> float:
        return self.until_next()


class Coordination:
    """One collector's membership: a tooz coordinator, a group and a lock per driver.

    :param url: the tooz backend URL (``redis://...``, ``etcd3+http://...``,
        ``zookeeper://...``, ``file:///...``).
    :param group: the prefix of the group and lock names.
    :param drivers: the names of the drivers this member runs.
    :param member_id: this member's id (default: host, pid and a random part).
    """

    def __init__(self, url: str, group: str, drivers: Iterable[str], *,
                 member_id: str | None = None) -> None:
        self.url = url
        self.group = group
        self.drivers = list(drivers)
        self.member_id = member_id or (
            f'{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}')
        self._coordinator: Any = None
        self._locks: dict[str, Any] = {}
        self._held: set[str] = set()
        self._lock = threading.Lock()
        self._trouble = Throttle(60.0, clock=time.monotonic)

    def start(self) -> None:
        """Connect, start heartbeating and join each driver's group.

        :raises tooz.ToozError: the backend refused; nothing is left running.
        """
        from tooz import coordination as tooz_coordination

        coordinator = tooz_coordination.get_coordinator(
            self.url, self.member_id.encode('utf-8'))
        coordinator.start(start_heart=True)
        try:
            for driver in self.drivers:
                group = self._name(driver)
                try:
                    coordinator.join_group_create(group)
                except tooz_coordination.MemberAlreadyExist:
                    pass
                self._locks[driver] = coordinator.get_lock(self._name(driver) + b'.poll')
        except BaseException:
            _quietly(coordinator.stop)
            raise
        self._coordinator = coordinator
        LOG.info('coordination: member %s of %s (drivers %s)', self.member_id,
                 self.group, ', '.join(self.drivers))

    def stop(self) -> None:
        """Release the locks held and leave the groups; their work moves at once."""
        coordinator, self._coordinator = self._coordinator, None
        if coordinator is None:
            return
        with self._lock:
            for driver in list(self._held):
                _quietly(self._locks[driver].release)
            self._held.clear()
        _quietly(coordinator.stop)  # leaves the groups, stops the heart

    def holds(self, driver: str) -> bool:
        """Whether this member polls ``driver`` now: it holds the lock or takes it.

        Called right before each poll. A lock held is checked with the backend
        (a heartbeat that fails means it was lost); a free one is taken.
        Never raises: backend trouble means "not now" (logged once a minute).
        """
        lock = self._locks[driver]
        with self._lock:
            try:
                if driver in self._held:
                    # Locks that expire (Redis, etcd, memcached) say whether
                    # this member still owns them; the others (file, ZooKeeper's
                    # session-bound ones) are held as long as the member lives.
                    beat = getattr(lock, 'heartbeat', None)
                    if beat is None or beat() is not False:
                        return True
                    self._held.discard(driver)
                    LOG.warning('coordination: lost the %s poll lock; another member '
                                'polls it', driver)
                if lock.acquire(blocking=False):
                    self._held.add(driver)
                    LOG.info('coordination: this member now polls %s', driver)
                    return True
                return False
            except Exception as exc:
                if driver in self._held:
                    self._held.discard(driver)
                    _quietly(lock.release)
                if self._trouble.add(1):
                    LOG.warning('coordination: the backend failed (%s: %s); %s is not '
                                'polled by this member until it answers', type(exc).__name__,
                                safe(str(exc), 300), driver)
                return False

    @property
    def held(self) -> set[str]:
        """The drivers this member polls (as of its last check)."""
        with self._lock:
            return set(self._held)

    def _name(self, driver: str) -> bytes:
        return f'{self.group}.{driver}'.encode()


def _quietly(action: Callable[[], object]) -> None:
    try:
        action()
    except Exception:
        LOG.warning('coordination: cleaning up failed', exc_info=True)

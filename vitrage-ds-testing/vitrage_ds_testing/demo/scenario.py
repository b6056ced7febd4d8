"""The demo's script: what the cloud holds, and the changes made to it.

:func:`seed` fills the emulated cloud before anything polls it;
:func:`play` starts the services, shows the initial snapshot, then makes
the scripted changes (:data:`STEPS`) one at a time, each shown as its
notifications and the collector's events arrive, and waits for each to be
fully seen before the next.
"""

from __future__ import annotations

import dataclasses
import time
import urllib.parse
from collections.abc import Callable
from typing import TYPE_CHECKING

from vitrage_ds.deduced import DeducedAlarmActivate, format_time
from vitrage_ds_testing.demo.report import Done, ReadBack, Report, Scene
from vitrage_ds_testing.demo.stage import Emitted, Sent, Stage
from vitrage_ds_testing.demo.summary import ALARM, Snapshot
from vitrage_ds.errors import VitrageDSError
from vitrage_ds.event import Action, Event

if TYPE_CHECKING:
    from vitrage_ds_testing.cloud import EmulatedCloud

__all__ = ['Cast', 'DemoFailed', 'STEPS', 'Settings', 'play', 'seed']

#: Projects the seeded content is spread over.
PROJECTS = 3
#: Resources of every seeded stack (the first is a server).
RESOURCES_PER_STACK = 3
#: Seconds without a new item after a change is complete before the next one.
QUIET = 0.25
#: The failing stack.
FAILING_STACK = 'web-frontend'
#: The alarm that fires, on the updated stack's server.
WATCH_ALARM = 'cpu_high'
#: The deduced alarm the graph raises on the updated stack.
DEDUCED_NAME = 'stack_degraded'
DEDUCED_SEVERITY = 'critical'


class DemoFailed(VitrageDSError):
    """Something the demo waited for did not happen in time."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """The demo's knobs (the command's options).

    :ivar stacks: top-level stacks seeded; one in three also gets a nested one.
    :ivar alarms: alarms seeded, cycling through every Aodh alarm type.
    :ivar seed: makes ids and names reproducible.
    :ivar pace: seconds to pause before each change, to read along.
    :ivar timeout: most seconds to wait for any one thing.
    """

    stacks: int = 12
    alarms: int = 16
    seed: int = 1
    pace: float = 1.0
    timeout: float = 10.0


@dataclasses.dataclass(frozen=True)
class Cast:
    """The seeded entities the script is about.

    :ivar stack_id: the stack that is updated (and degraded).
    :ivar stack_name: its name.
    :ivar project_id: its project, where the failing stack is created too.
    :ivar server_id: the physical id of its server, watched by the alarm.
    :ivar alarm_id: the alarm that fires.
    :ivar vitrage_id: the deduced alarm's id in the graph.
    """

    stack_id: str
    stack_name: str
    project_id: str
    server_id: str
    alarm_id: str
    vitrage_id: str


def seed(stage: Stage, settings: Settings) -> Cast:
    """Seed the cloud: stacks (some nested) and alarms of every type in
    :data:`PROJECTS` projects, plus the ``cpu_high`` alarm (state ``ok``)
    on the server of the newest top-level stack. Sends no notification.
    """
    from vitrage_ds_testing.cloud import sample_rule
    from vitrage_ds_testing.cloud.seed import derived_uuid

    cloud = stage.cloud
    projects = cloud.ensure_projects(PROJECTS)
    stacks = cloud.heat.populate(settings.stacks, RESOURCES_PER_STACK, projects=projects,
                                 nested=settings.stacks // 3)
    cloud.aodh.populate(settings.alarms, projects=projects)
    stack = stacks[-1]
    server = cloud.heat.resources(stack)[0]
    alarm = cloud.aodh.create_alarm(
        WATCH_ALARM, 'gnocchi_resources_threshold',
        sample_rule('gnocchi_resources_threshold', server.physical_id),
        project_id=stack.project_id, severity='moderate', state='ok',
        description=f'CPU of {stack.name}/{server.name} above 80%', notify=False)
    return Cast(stack.id, stack.name, stack.project_id, server.physical_id,
                alarm['alarm_id'], derived_uuid(settings.seed, 'demo', DEDUCED_NAME))


class Run:
    """One run of the script on a started :class:`Stage`, shown on a report."""

    def __init__(self, stage: Stage, cast: Cast, report: Report, settings: Settings,
                 started: float) -> None:
        self.stage = stage
        self.cast = cast
        self.report = report
        self.settings = settings
        self.started = started
        self._steps = 0

    @property
    def cloud(self) -> EmulatedCloud:
        return self.stage.cloud

    def elapsed(self, at: float) -> float:
        """Seconds from the start of the demo to ``at`` (``time.monotonic()``)."""
        return at - self.started

    def begin(self, key: str, title: str) -> None:
        """Pause (``pace``), then announce the next change."""
        time.sleep(self.settings.pace)
        self._steps += 1
        self.report.step(self._steps, key, title)

    def until(self, last: Callable[[Event], bool], what: str) -> None:
        """Show what arrives until an event ``last`` accepts, then until quiet.

        :raises DemoFailed: no such event within ``timeout`` seconds.
        """
        deadline = time.monotonic() + self.settings.timeout
        while True:
            item = self.stage.feed.get(deadline - time.monotonic())
            if item is None:
                raise DemoFailed(f'{what} did not arrive within {self.settings.timeout} s')
            self.show(item)
            if isinstance(item, Emitted) and any(last(e) for e in item.events):
                break
        self.settle()

    def settle(self) -> None:
        """Show whatever else arrives until :data:`QUIET` seconds pass without any."""
        while (item := self.stage.feed.get(QUIET)) is not None:
            self.show(item)

    def show(self, item: Sent | Emitted) -> None:
        if isinstance(item, Sent):
            self.report.sent(item, self.elapsed(item.at))
        else:
            self.report.emitted(item, self.elapsed(item.at))


def _is(entity_id: str, field: str, value: str) -> Callable[[Event], bool]:
    return lambda e: e.entity_id == entity_id and e.fields.get(field) == value


def snapshot(run: Run, began: float) -> None:
    """Show the init snapshot once every driver delivered it.

    :param began: when the collector started (``time.monotonic()``).
    :raises DemoFailed: a first poll failed or took longer than ``timeout``.
    """
    stage = run.stage
    collector = stage.collector
    assert collector is not None
    deadline = began + run.settings.timeout
    events: list[Event] = []
    while not all(s.runs for s in collector.poll_states.values()):
        failing = {n: s.last_error for n, s in collector.poll_states.items() if s.failures}
        if failing:
            raise DemoFailed('the first poll failed: ' + '; '.join(
                f'{name}: {error}' for name, error in failing.items()))
        if time.monotonic() > deadline:
            raise DemoFailed(f'the first polls did not finish within {run.settings.timeout} s')
        time.sleep(0.02)
    ended = began
    while (item := stage.feed.get(0)) is not None:
        if isinstance(item, Emitted):
            events.extend(e for e in item.events if e.action is Action.INIT_SNAPSHOT)
            ended = max(ended, item.at)
    run.report.snapshot(Snapshot(tuple(events), ended - began,
                                 frozenset({run.cast.stack_id, run.cast.alarm_id})))


def stack_updated(run: Run) -> None:
    """Heat updates a stack: ``update.start`` then ``update.end`` with its resources."""
    cast = run.cast
    run.begin('stack-updated', f'A stack is updated: {cast.stack_name} gets a new '
                               f'description (Heat: update.start, then update.end)')
    run.cloud.heat.update_stack(cast.stack_id, description='Resized by the demo')
    run.until(_is(cast.stack_id, 'status', 'UPDATE_COMPLETE'), 'the stack update')


def stack_failed(run: Run) -> None:
    """A new stack fails: ``create.start``, then ``create.error`` at ERROR priority."""
    heat = run.cloud.heat
    run.begin('stack-failed', f'A new stack fails to create: {FAILING_STACK} (Heat: '
                              f'create.start, then create.error at ERROR priority)')
    stack = heat.create_stack(FAILING_STACK, project_id=run.cast.project_id,
                              resources=RESOURCES_PER_STACK, complete=False,
                              description='A stack the demo breaks')
    heat.fail(stack.id, 'Resource CREATE failed: ResourceInError: '
                        'resources.server_0: Went to status ERROR due to "No valid host"')
    run.until(_is(stack.id, 'status', 'CREATE_FAILED'), 'the stack failure')


def alarm_fired(run: Run) -> None:
    """Aodh's evaluator moves ``cpu_high`` from ok to alarm (``alarm.state_transition``)."""
    cast = run.cast
    run.begin('alarm-fired', f'An alarm fires: {WATCH_ALARM} on the server of '
                             f'{cast.stack_name} (Aodh evaluator: alarm.state_transition)')
    run.cloud.aodh.set_state(cast.alarm_id, 'alarm',
                             'Transition to alarm due to 3 samples outside threshold, '
                             'most recent: 93.5', source='evaluator')
    run.until(_is(cast.alarm_id, 'state', 'alarm'), 'the alarm transition')


def deduced_alarm(run: Run) -> None:
    """The graph publishes a deduced alarm; the Aodh notifier makes it an Aodh alarm.

    Shown: the ``vitrage.deduced_alarm.activate`` message, Aodh's
    ``alarm.creation`` caused by the notifier, the collector's event about
    the new alarm, and the alarm read back through Aodh's API.
    """
    cast, stage = run.cast, run.stage
    run.begin('deduced-alarm', f'The graph deduces {DEDUCED_NAME} on {cast.stack_name} '
                               f'from {WATCH_ALARM}; the aodh notifier makes it an Aodh '
                               f'alarm')
    assert stage.publisher is not None and stage.notifier is not None
    mark = len(run.cloud.requests)
    message = DeducedAlarmActivate(
        vitrage_id=cast.vitrage_id, name=DEDUCED_NAME, severity=DEDUCED_SEVERITY,
        affected_resource_id=cast.stack_id, timestamp=format_time(round(time.time() * 1e6)))
    stage.feed.put(Sent(stage.graph_exchange, stage.graph_topic, message.event_type, 'info',
                        'vitrage.graph', message.to_payload(), time.monotonic()))
    stage.publisher.publish(message)
    run.until(lambda e: (e.entity_type == ALARM and e.fields.get('state') == 'alarm'
                         and e.fields.get('vitrage_id') == cast.vitrage_id),
              'the Aodh alarm of the deduced alarm')
    listener = stage.notifier.listener
    deadline = time.monotonic() + run.settings.timeout
    while listener.handled < 1:  # the notifier acknowledges after its read-back
        if time.monotonic() > deadline:
            raise DemoFailed('the notifier service did not finish the message')
        time.sleep(0.02)
    run.settle()
    calls = [f'{r.method} /{r.path.lstrip("/")}' for r in run.cloud.requests.snapshot()[mark:]
             if r.service == 'alarming']
    run.report.read_back(_read_back(run, f'{DEDUCED_NAME}_{cast.stack_id}', calls))


def _read_back(run: Run, name: str, notifier_calls: list[str]) -> ReadBack:
    """List the Aodh alarms named ``name`` through Aodh's API, as anyone would."""
    from vitrage_ds.http.session import client_factory_from_conf

    conf = run.stage.conf
    assert conf is not None
    client = client_factory_from_conf(conf)('alarming', conf['notifier.aodh'])
    params = [('q.field', 'name'), ('q.op', 'eq'), ('q.value', name)]
    alarms = client.get('v2/alarms', params=params)
    return ReadBack(f'GET /v2/alarms?{urllib.parse.urlencode(params)}',
                    list(alarms or []), notifier_calls)


#: The scripted changes, in order.
STEPS: tuple[Callable[[Run], None], ...] = (stack_updated, stack_failed, alarm_fired,
                                            deduced_alarm)


def scene(stage: Stage) -> Scene:
    """What runs on a started stage."""
    conf, collector = stage.conf, stage.collector
    assert conf is not None and collector is not None
    return Scene(cloud_url=stage.cloud.base_url, seed=stage.cloud.seed,
                 transport_url=str(conf.transport_url), drivers=list(collector.drivers),
                 mode=conf['collector'].mode, listening=collector.targets,
                 notifiers=list(stage.notifiers),
                 graph=(stage.graph_exchange, stage.graph_topic))


def play(stage: Stage, cast: Cast, report: Report, settings: Settings,
         started: float) -> Done:
    """Run the script on a started stage; stop it; return how it ended.

    :raises DemoFailed: something did not happen within ``timeout``.
    """
    run = Run(stage, cast, report, settings, started)
    began = time.monotonic()
    stage.go()
    report.scene(scene(stage))
    snapshot(run, began)
    for step in STEPS:
        step(run)
    collector, notifier = stage.collector, stage.notifier
    assert collector is not None and notifier is not None
    stage.stop()
    return Done(seconds=time.monotonic() - started,
                notifications=collector.listener.handled if collector.listener else 0,
                messages=notifier.listener.handled, stopped_cleanly=stage.stopped_cleanly)

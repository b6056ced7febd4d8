"""How the demo shows what happens: aligned text for people, JSON lines for programs.

Both reports receive the same calls, in this order: :meth:`~Report.scene`
once, :meth:`~Report.snapshot` once, then for each scripted change
:meth:`~Report.step` followed by its :meth:`~Report.sent` and
:meth:`~Report.emitted` items as they arrive (and :meth:`~Report.read_back`
for the deduced alarm), and :meth:`~Report.done` once. Every line is
flushed as it is written.
"""

from __future__ import annotations

import dataclasses
import json
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any, Protocol

from vitrage_ds_testing.demo.stage import Emitted, Sent
from vitrage_ds_testing.demo.summary import ALARM, RESOURCE, STACK, Snapshot, tally
from vitrage_ds.event import Event

__all__ = ['Done', 'JsonReport', 'ReadBack', 'Report', 'Scene', 'TextReport']

#: Sample rows shown per entity type.
SAMPLES = 4
#: Width the text report wraps its long lines at (timeline rows are narrower).
WIDTH = 112


@dataclasses.dataclass(frozen=True)
class Scene:
    """What runs, for the report's header."""

    cloud_url: str
    seed: int
    transport_url: str
    drivers: Sequence[str]
    mode: str
    listening: Sequence[tuple[str, str]]
    notifiers: Sequence[str]
    graph: tuple[str, str]


@dataclasses.dataclass(frozen=True)
class ReadBack:
    """The deduced alarm's Aodh alarm, read back through Aodh's API.

    :ivar request: the call made, e.g. ``GET /v2/alarms?q.field=name...``.
    :ivar alarms: what Aodh answered (one alarm when all went well).
    :ivar notifier_calls: ``METHOD /path`` of the Aodh notifier's calls.
    """

    request: str
    alarms: Sequence[Mapping[str, Any]]
    notifier_calls: Sequence[str]


@dataclasses.dataclass(frozen=True)
class Done:
    """How the run ended."""

    seconds: float
    notifications: int
    messages: int
    stopped_cleanly: bool


class Report(Protocol):
    """Receives what the demo shows (see the module docstring for the order)."""

    def scene(self, scene: Scene) -> None: ...

    def snapshot(self, snapshot: Snapshot) -> None: ...

    def step(self, number: int, key: str, title: str) -> None: ...

    def sent(self, item: Sent, elapsed: float) -> None: ...

    def emitted(self, item: Emitted, elapsed: float) -> None: ...

    def read_back(self, read: ReadBack) -> None: ...

    def done(self, done: Done) -> None: ...


# -- text ---------------------------------------------------------------------

#: The timeline's columns: (title, width); the last one is not padded.
_COLUMNS = (('TIME', 7), ('KIND', 5), ('WHERE', 13), ('EVENT TYPE', 32),
            ('NAME', 24), ('STATUS', 0))
_INDENT = '  '
#: Where continuation lines start: under EVENT TYPE.
_DETAIL_AT = len(_INDENT) + sum(width + 2 for _, width in _COLUMNS[:3])


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[:width - 3] + '...'


def _row(*cells: str) -> str:
    parts = []
    for (_, width), cell in zip(_COLUMNS, cells, strict=True):
        parts.append(_cut(cell, width).ljust(width) if width else cell)
    return (_INDENT + '  '.join(parts)).rstrip()


def _table(header: Sequence[str], rows: Sequence[Sequence[str]],
           right: Sequence[int] = (), indent: str = _INDENT) -> list[str]:
    """Rows aligned under ``header``; columns in ``right`` right-aligned."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [str(c).rjust(w) if i in right else str(c).ljust(w)
                 for i, (c, w) in enumerate(zip(row, widths, strict=True))]
        lines.append((indent + '  '.join(cells)).rstrip())
    return lines


def _wrap(line: str, indent: int) -> list[str]:
    """``line`` wrapped at :data:`WIDTH`, continued ``indent`` spaces in."""
    lines = textwrap.wrap(line, WIDTH, subsequent_indent=' ' * indent,
                          break_long_words=False, break_on_hyphens=False) or [line]
    return [part.replace(_GLUE, ' ') for part in lines]


#: Joins a name to its count so that wrapping never separates them.
_GLUE = '\xa0'


def _counts(pairs: Sequence[tuple[str, int]]) -> str:
    return ', '.join(f'{name}{_GLUE}{count}' for name, count in pairs)


def _detail(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """An Aodh notification's ``detail``: a dict, or a JSON string from evaluators."""
    detail = payload.get('detail')
    if isinstance(detail, str):
        try:
            detail = json.loads(detail)
        except ValueError:
            return {}
    return detail if isinstance(detail, Mapping) else {}


def _event_name(event: Event) -> str:
    fields = event.fields
    if event.entity_type == RESOURCE:
        return f'{fields.get("stack_name")}/{fields.get("resource_name")}'
    return str(fields.get('name') or event.entity_id)


def _event_status(event: Event) -> str:
    if event.deleted:
        return 'deleted'
    fields = event.fields
    return str(fields.get('status') or fields.get('state') or '')


class TextReport:
    """Aligned, readable text: a header, the snapshot's tables, the timeline.

    :param stream: where lines go (flushed after each call).
    :param project_name: a project's display name from its id.
    """

    def __init__(self, stream: IO[str], project_name: Callable[[Any], str]) -> None:
        self._out = stream
        self._project = project_name

    def _print(self, *lines: str) -> None:
        for line in lines:
            self._out.write(line + '\n')
        self._out.flush()

    def scene(self, scene: Scene) -> None:
        listening = ', '.join(f'{ex}/{topic}' for ex, topic in scene.listening)
        self._print(
            'vitrage-ds demo: the collector and the notifier service on an emulated cloud, '
            'all in this process',
            *_table(('', ''), [
                ('cloud', f'Keystone, Heat and Aodh emulated at {scene.cloud_url} '
                          f'(seed {scene.seed})'),
                ('bus', f'{scene.transport_url} (oslo.messaging, in-process)'),
                ('collector', f'drivers {", ".join(scene.drivers)}; {scene.mode} mode; '
                              f'listening on {listening}'),
                ('notifier', f'{", ".join(scene.notifiers)} notifier, listening on '
                             f'{scene.graph[0]}/{scene.graph[1]}')])[1:])

    def snapshot(self, snapshot: Snapshot) -> None:
        counts = snapshot.counts
        rows = []
        for entity_type, count in counts.items():
            rows.append((entity_type, str(count), self._breakdown(snapshot, entity_type)))
        lines = _table(('ENTITY TYPE', 'COUNT', 'BREAKDOWN'), rows, right=(1,))
        indent = lines[0].index('BREAKDOWN')
        wrapped = [part for line in lines for part in _wrap(line, indent)]
        self._print('', f'Initial snapshot: the first complete poll of each driver '
                        f'(init_snapshot), {len(snapshot.events)} events in '
                        f'{snapshot.seconds:.1f} s', *wrapped)
        stacks = snapshot.of(STACK)
        if stacks:
            self._print('', *_table(
                ('STACK', 'PROJECT', 'STATUS', 'PARENT'),
                [(str(e.fields.get('name')), self._project(e.fields.get('user_project_id')),
                  _event_status(e), self._parent(snapshot, e.fields.get('parent')))
                 for e in self._sample(stacks, nested=True)]),
                f'{_INDENT}({min(SAMPLES, len(stacks))} of {len(stacks)} stacks)')
        alarms = snapshot.of(ALARM)
        if alarms:
            self._print('', *_table(
                ('ALARM', 'TYPE', 'STATE', 'SEVERITY', 'PROJECT'),
                [(str(e.fields.get('name')), str(e.fields.get('type')), _event_status(e),
                  str(e.fields.get('severity')), self._project(e.fields.get('project_id')))
                 for e in self._sample(alarms)]),
                f'{_INDENT}({min(SAMPLES, len(alarms))} of {len(alarms)} alarms)')
        self._print('', 'Changes, as they happen: "bus" is a notification a service '
                        'published (exchange, priority),',
                    '"event" what the collector delivered (entity type); times since the start',
                    _row(*(title for title, _ in _COLUMNS)))

    def _breakdown(self, snapshot: Snapshot, entity_type: str) -> str:
        if entity_type == STACK:
            count = snapshot.counts[STACK]
            nested = snapshot.nested_stacks
            return (f'{count - nested} top-level, {nested} nested, in '
                    f'{snapshot.projects} projects; '
                    f'{_counts(tally(snapshot.fields(STACK, "status")))}')
        if entity_type == RESOURCE:
            return _counts(tally(snapshot.fields(RESOURCE, 'resource_type')))
        if entity_type == ALARM:
            return (f'{_counts(tally(snapshot.fields(ALARM, "state")))}; types: '
                    f'{_counts(tally(snapshot.fields(ALARM, "type")))}')
        return ''

    @staticmethod
    def _sample(events: Sequence[Event], nested: bool = False) -> list[Event]:
        """The first :data:`SAMPLES` events, one nested stack among them if any."""
        sample = list(events[:SAMPLES])
        if nested and not any(e.fields.get('parent') for e in sample):
            child = next((e for e in events if e.fields.get('parent')), None)
            if child is not None:
                sample[-1] = child
        return sample

    def _parent(self, snapshot: Snapshot, parent: Any) -> str:
        if not parent:
            return '-'
        for event in snapshot.events:
            if event.entity_type == STACK and event.entity_id == parent:
                return str(event.fields.get('name'))
        return str(parent)

    def step(self, number: int, key: str, title: str) -> None:
        self._print('', *_wrap(f'{number}. {title}', len(f'{number}. ')))

    def sent(self, item: Sent, elapsed: float) -> None:
        payload = item.payload
        where = f'{item.exchange} {item.priority.upper()}'
        if item.exchange == 'heat':
            name, status = payload.get('stack_name'), payload.get('state')
        elif item.exchange == 'aodh':
            detail = _detail(payload)
            name = detail.get('name') or f'alarm {str(payload.get("alarm_id"))[:8]}'
            status = detail.get('state')
        else:
            name, status = payload.get('name'), payload.get('severity')
        self._print(_row(f'+{elapsed:.2f}s', 'bus', where, item.event_type,
                         str(name or ''), str(status or '')))
        if 'vitrage_id' in payload:
            self._more(f'vitrage_id {payload["vitrage_id"]}, affected_resource_id '
                       f'{payload.get("affected_resource_id")}')

    def emitted(self, item: Emitted, elapsed: float) -> None:
        for event in item.events:
            self._print(_row(f'+{elapsed:.2f}s', 'event', event.entity_type,
                             str(event.event_type or event.action.value),
                             _event_name(event), _event_status(event)))
            fields = event.fields
            if event.entity_type == STACK and str(fields.get('status')).endswith('_FAILED'):
                self._more(f'reason: {fields.get("status_reason")}')
            elif event.entity_type == ALARM and fields.get('vitrage_deduced'):
                self._more(f'deduced alarm {fields.get("vitrage_id")}, severity '
                           f'{fields.get("severity")}, project '
                           f'{self._project(fields.get("project_id"))}')
            elif event.entity_type == ALARM and fields.get('state') == 'alarm':
                self._more(f'reason: {fields.get("state_reason")}')

    def _more(self, text: str) -> None:
        self._print(*_wrap(' ' * _DETAIL_AT + text, _DETAIL_AT))

    def read_back(self, read: ReadBack) -> None:
        lines = [f'{_INDENT}Read back from Aodh:', f'{_INDENT * 2}{read.request}']
        for alarm in read.alarms:
            rule = alarm.get('event_rule') or {}
            query = ', '.join(f'{q.get("field")} {q.get("op")} {q.get("value")}'
                              for q in rule.get('query') or [] if isinstance(q, Mapping))
            table = _table(('', ''), [
                ('alarm_id', str(alarm.get('alarm_id'))),
                ('name', str(alarm.get('name'))),
                ('type', f'{alarm.get("type")}, event_type {rule.get("event_type")!r}'),
                ('query', query),
                ('state', f'{alarm.get("state")}, severity {alarm.get("severity")}'),
                ('project', self._project(alarm.get('project_id')))], indent=' ' * 4)
            lines += [part for row in table[1:] for part in _wrap(row, 14)]
        if not read.alarms:
            lines.append('    (no such alarm)')
        lines += _wrap(f'{_INDENT}The aodh notifier\'s calls to Aodh: '
                       f'{", ".join(read.notifier_calls) or "none"}', 4)
        self._print(*lines)

    def done(self, done: Done) -> None:
        how = 'all stopped cleanly' if done.stopped_cleanly else (
            'some work was still in flight at the stop')
        messages = f'{done.messages} message' + ('' if done.messages == 1 else 's')
        self._print('', *_wrap(
            f'Done in {done.seconds:.1f} s: the collector handled {done.notifications} '
            f'notifications, the notifier service {messages}; {how}.', 0), *_wrap(
            'In production: "vitrage-ds collect" and "vitrage-ds notifier" on a real cloud '
            'and bus; see README.rst.', 0))


# -- JSON lines ----------------------------------------------------------------

class JsonReport:
    """One JSON object per line, each with a ``kind``.

    ``scene``; ``snapshot`` (the counts and breakdowns of
    :meth:`Snapshot.as_dict`) followed by one ``event`` line per snapshot
    event (``step`` 0); then per change a ``step`` line (``step``, ``key``,
    ``title``) and its ``notification`` and ``event`` lines (``elapsed``
    seconds; an event line's ``event`` is :meth:`Event.to_dict`); an
    ``aodh_alarm`` line for the read-back; and ``done``.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._out = stream
        self._step = 0

    def _write(self, kind: str, **fields: Any) -> None:
        self._out.write(json.dumps({'kind': kind, **fields}, default=str,
                                   ensure_ascii=False) + '\n')
        self._out.flush()

    def scene(self, scene: Scene) -> None:
        self._write('scene', **dataclasses.asdict(scene))

    def snapshot(self, snapshot: Snapshot) -> None:
        self._write('snapshot', **snapshot.as_dict())
        for event in snapshot.events:
            self._write('event', step=0, elapsed=None, event=event.to_dict())

    def step(self, number: int, key: str, title: str) -> None:
        self._step = number
        self._write('step', step=number, key=key, title=title)

    def sent(self, item: Sent, elapsed: float) -> None:
        self._write('notification', step=self._step, elapsed=round(elapsed, 3),
                    exchange=item.exchange, topic=item.topic, priority=item.priority,
                    publisher_id=item.publisher_id, event_type=item.event_type,
                    payload=item.payload)

    def emitted(self, item: Emitted, elapsed: float) -> None:
        for event in item.events:
            self._write('event', step=self._step, elapsed=round(elapsed, 3),
                        event=event.to_dict())

    def read_back(self, read: ReadBack) -> None:
        self._write('aodh_alarm', step=self._step, request=read.request,
                    alarms=list(read.alarms), notifier_calls=list(read.notifier_calls))

    def done(self, done: Done) -> None:
        self._write('done', **{**dataclasses.asdict(done), 'seconds': round(done.seconds, 3)})

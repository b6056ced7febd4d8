"""The Heat datasource: stacks and their resources, from polls and notifications.

The API calls of one poll (:meth:`HeatStackDriver.get_all`), all on the
orchestration endpoint ``{endpoint} = .../v1/{project_id}``:

1. ``GET {endpoint}/stacks?global_tenant=true&show_nested=true&limit=N``,
   then each page's ``rel=next`` link until a page has none. Heat's default
   policy answers 403 to ``global_tenant``: the driver then logs once that
   the policy ``stacks:global_index`` must allow the credentials, and lists
   ``GET {endpoint}/stacks?show_nested=true&limit=N`` instead; every event
   says which with its ``scope`` field (``all_projects`` or ``project``).
   That plain listing holds the credentials' own project, except that Heat
   27 shows callers with its admin role every project's stacks there too.
   The all-projects listing is tried again at every poll, so allowing the
   policy takes effect without a restart.
2. For each stack not being deleted, one
   ``GET {endpoint}/stacks/{stack_name}/{stack_id}/resources?nested_depth=D``,
   with at most ``max_concurrency`` calls in flight. The full name/id path
   needs no redirect and no per-stack ``GET`` of the stack itself.

That is ``stacks + pages`` requests (one more after a 403). Nested stacks are
listed as stacks of their own (``show_nested``), each with its own resources
call; ``nested_depth`` is for setups that list top-level stacks only.

On a notification (:meth:`HeatStackDriver.handle_notification`) the payload
gives the stack's event; after ``*.end`` and ``*.error`` one resources call
(not retried, at most ``max_concurrency`` at once across notifications)
gives its resources' events. ``*.start`` makes no call, and
``delete.start``/``delete.end`` are deletes without a call.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.parse
from collections.abc import Generator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from oslo_config import cfg

from vitrage_ds._logsafe import safe
from vitrage_ds.driver import Driver, Lookup
from vitrage_ds.drivers.heat import links
from vitrage_ds.drivers.heat.events import (DELETED_STATUSES, RESOURCE, STACK,
                                            Observation, StackInfo,
                                            resource_events, stack_event)
from vitrage_ds.drivers.heat.fields import (STACK_FROM_LISTING,
                                            STACK_FROM_NOTIFICATION, FieldError,
                                            map_fields)
from vitrage_ds.drivers.heat.notifications import EVENT_TYPES, parse_event_type
from vitrage_ds.errors import (APIError, BackendError, ConfigurationError,
                               MalformedResponse, VitrageDSError)
from vitrage_ds.event import Action, Event, Phase, parse_time
from vitrage_ds.plugin import PluginContext

if TYPE_CHECKING:
    from vitrage_ds.http.client import Client

__all__ = ['ALL_PROJECTS', 'GLOBAL_INDEX_POLICY', 'PROJECT', 'HeatStackDriver']

LOG = logging.getLogger(__name__)

#: ``scope`` of events when the poll listed every project's stacks.
ALL_PROJECTS = 'all_projects'
#: ``scope`` of events when the poll listed the credentials' project only.
PROJECT = 'project'
#: The Heat policy that must allow the all-projects listing.
GLOBAL_INDEX_POLICY = 'stacks:global_index'

def _unknown(entity_type: str, entity_id: str) -> Mapping[str, Any] | None:
    return None


class HeatStackDriver(Driver):
    """Heat stacks (``heat.stack``) and stack resources (``heat.resource``).

    Guarantees, beyond the :class:`~vitrage_ds.driver.Driver` contract:

    * :meth:`get_all` makes exactly the calls the module docstring lists; a
      failed page or a failed resources call of any stack raises
      :class:`~vitrage_ds.errors.BackendError` naming the call, so a stack is
      never reported without its resources.
    * Stacks being or having been deleted come out as deletes, without
      their resources.
    * Events from a poll and from a notification about the same stack state
      carry the same fields, except the ones Heat's API does not expose
      (``description``, ``owner``: notifications only, declared in
      :attr:`notification_only_fields`) and ``parent`` (polls, and
      notifications when the lookup knows it). A notification keeps the
      ``owner``/``owner_name`` the lookup knows (the creator's) rather than
      the payload's user, who made the change.
    * :meth:`handle_notification` never raises; malformed input is logged
      (the wrong key and type, never its value) and dropped.
    """

    name = 'heat.stack'
    default_poll_interval = 600.0
    entity_types = (STACK, RESOURCE)
    event_types = EVENT_TYPES
    exchanges = ('heat',)
    #: Heat's stack listing has no description and no user id at all.
    notification_only_fields = {STACK: ('description', 'owner')}

    options = (
        cfg.BoolOpt('all_projects', default=True,
                    help='List every project\'s stacks (global_tenant=true). '
                         'Needs the Heat policy "stacks:global_index" to allow '
                         'these credentials (Heat\'s default denies it); when it '
                         'is refused, the credentials\' own project is polled '
                         'and a warning says so. Reading other projects\' '
                         'resources also needs Heat\'s admin role.'),
        cfg.BoolOpt('show_nested', default=True,
                    help='List nested stacks as heat.stack entities of their '
                         'own (show_nested=true), each with its own resources '
                         'call. When false, only top-level stacks are listed '
                         'and nested_depth decides how much of their nested '
                         'trees the resources calls return.'),
        cfg.IntOpt('nested_depth', default=0, min=0,
                   help='nested_depth of each resources call: how many levels '
                        'of nested stacks\' resources it also returns. Must be '
                        '0 when show_nested is true (nested stacks have their '
                        'own call then).'),
        cfg.IntOpt('page_size', default=1000, min=0,
                   help='Stacks asked for per page of the stack listing '
                        '(limit); 0 asks for all of them in one response.'),
        cfg.IntOpt('max_parallel_calls', deprecated_name='max_concurrency', min=1,
                   help='Most resources calls in flight at once; by default '
                        '[http] max_parallel_calls.'),
    )

    def __init__(self, context: PluginContext) -> None:
        super().__init__(context)
        if self.conf.show_nested and self.conf.nested_depth:
            raise ConfigurationError(
                f'[{context.group}] nested_depth = {self.conf.nested_depth} needs '
                f'show_nested = false: with show_nested, nested stacks are polled '
                f'as stacks of their own and would be read twice')
        self._lock = threading.Lock()
        self._client: Client | None = None
        self._slots: threading.BoundedSemaphore | None = None
        self._own_project: str | None = None
        self._scope = ALL_PROJECTS if self.conf.all_projects else PROJECT
        # Whether the last poll is known to have seen one project only.
        self._one_project = False
        self._refused = False

    # -- the API ---------------------------------------------------------

    def _api(self) -> Client:
        with self._lock:
            if self._client is None:
                self._client = self.context.client('orchestration')
                self._slots = threading.BoundedSemaphore(self._client.max_concurrency)
            return self._client

    def _listing_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {}
        if self.conf.show_nested:
            params['show_nested'] = 'true'
        if self.conf.page_size:
            params['limit'] = self.conf.page_size
        return params

    def _list_stacks(self, api: Client) -> tuple[Generator[Any, None, None], str]:
        """Every stack item, and the scope they cover.

        The first page is read here (a 403 on it is the all-projects policy:
        then the credentials' own project is listed); each later page is
        read as the items are consumed, asked for while the caller works on
        the page before. Closing the listing waits for a page in flight.
        """
        params = self._listing_params()
        if self.conf.all_projects:
            try:
                listing = _started(api.paginate_links(
                    'stacks', 'stacks', {'global_tenant': 'true', **params}, prefetch=True))
            except APIError as exc:
                if exc.status != 403:
                    raise
                self._policy_refused(exc)
            else:
                if self._refused:
                    LOG.info('Heat now allows the all-projects stack listing: '
                             'polling every project again')
                    self._refused = False
                return listing, ALL_PROJECTS
        return _started(api.paginate_links('stacks', 'stacks', params, prefetch=True)), PROJECT

    def _policy_refused(self, exc: APIError) -> None:
        if self._refused:
            LOG.debug('all-projects stack listing still refused: %s', exc)
            return
        self._refused = True
        LOG.warning(
            'Heat refused to list every project\'s stacks (%s): polling only the '
            'project of the credentials, and the events say scope=%s. To see '
            'every project, allow the Heat policy "%s" for these credentials '
            '(e.g. "%s": "rule:deny_stack_user" in Heat\'s policy file) or set '
            '[%s] all_projects = false to poll one project on purpose.',
            exc, PROJECT, GLOBAL_INDEX_POLICY, GLOBAL_INDEX_POLICY, self.context.group)

    @staticmethod
    def _resources_path(stack: StackInfo) -> str:
        name = urllib.parse.quote(stack.name or '', safe='')
        return f'stacks/{name}/{urllib.parse.quote(stack.id, safe="")}/resources'

    def _get_resources(self, api: Client, stack: StackInfo, retry: bool | None) -> list[Any]:
        path = self._resources_path(stack)
        body = api.get(path, params={'nested_depth': self.conf.nested_depth}, retry=retry)
        items = body.get('resources') if isinstance(body, dict) else None
        if not isinstance(items, list):
            raise MalformedResponse('GET', api.url(path), "expected a list under 'resources'")
        return items

    # -- get_all ---------------------------------------------------------

    def get_all(self) -> list[Event]:
        """Every stack and every resource of every stack, or raise.

        :raises vitrage_ds.errors.BackendError: a page of the listing or the
            resources call of any stack failed, or Heat answered a body
            without the ids the events need.
        """
        with self.gc_paused():
            return self._poll()

    def _poll(self) -> list[Event]:
        obs = Observation(time.time(), Action.SNAPSHOT, None, Phase.END, self.name)
        api = self._api()
        listing, scope = self._list_stacks(api)
        self._scope = scope
        events: dict[tuple[str, str], Event] = {}
        listed = deleting = 0
        named_project = False

        def live_stacks() -> Iterator[StackInfo]:
            # Read by the fan-out as it goes: the resources calls of a page's
            # stacks run while the next page is on its way.
            nonlocal listed, deleting, named_project
            for item in listing:
                fields, info = self._listed_stack(api, item, scope)
                event = stack_event(fields, obs)
                events[event.key] = event
                listed += 1
                named_project = named_project or 'project' in item
                if fields['status'] in DELETED_STATUSES:
                    deleting += 1
                else:
                    yield info

        try:
            batches = api.fan_out(lambda info: self._poll_resources(api, info, obs),
                                  live_stacks())
        finally:
            listing.close()
        # Heat names each stack's project only to admin callers, and shows
        # admins every project's stacks even without global_tenant.
        self._one_project = scope == PROJECT and listed > 0 and not named_project
        for batch in batches:
            events.update((event.key, event) for event in batch)
        LOG.info('polled %d stacks (%d being deleted) and %d resources, scope %s',
                 listed, deleting, len(events) - listed, scope)
        return list(events.values())

    def _listed_stack(self, api: Client, item: Any, scope: str
                      ) -> tuple[dict[str, Any], StackInfo]:
        where = api.url('stacks')
        if not isinstance(item, Mapping):
            raise MalformedResponse('GET', where, f'a stack is a {type(item).__name__}')
        try:
            fields, problems = map_fields(STACK_FROM_LISTING, item)
        except FieldError as exc:
            raise MalformedResponse('GET', where, f'a stack has no usable {exc}') from None
        if problems:
            LOG.warning('stack %s: wrong values read as none: %s',
                        fields['stack_id'], '; '.join(problems))
        if fields['name'] is None:
            raise MalformedResponse('GET', where,
                                    f'stack {fields["stack_id"]} has no usable stack_name')
        if fields['user_project_id'] is None:
            fields['user_project_id'] = links.project(item)
        fields['scope'] = scope
        return fields, StackInfo(fields['stack_id'], fields['name'],
                                 fields['user_project_id'], fields['parent'], scope)

    def _poll_resources(self, api: Client, stack: StackInfo, obs: Observation) -> list[Event]:
        try:
            items = self._get_resources(api, stack, retry=None)
            return resource_events(items, stack, obs)
        except FieldError as exc:
            raise MalformedResponse('GET', api.url(self._resources_path(stack)),
                                    str(exc)) from None
        except MalformedResponse:
            raise  # its message names the stack's URL already
        except BackendError as exc:
            hint = ''
            if isinstance(exc, APIError) and exc.status == 404:
                hint = (' (deleted during the poll, or these credentials may list '
                        'other projects\' stacks but not read them: that needs '
                        'Heat\'s admin role)')
            raise BackendError(f'resources of stack {stack.name} ({stack.id}, project '
                               f'{stack.project}) could not be read: {exc}{hint}') from exc

    # -- notifications ---------------------------------------------------

    def handle_notification(self, event_type: str, payload: Any,
                            metadata: Mapping[str, Any],
                            lookup: Lookup = _unknown) -> list[Event]:
        """The stack's event and, after ``*.end``/``*.error``, its resources'.

        The stack event is a delete for ``delete.start``, ``delete.end`` and
        any payload whose state is ``DELETE_IN_PROGRESS``/``DELETE_COMPLETE``.
        Its version is the payload's ``updated_at`` (or ``create_at``), the
        envelope's ``timestamp``, and the phase (``start`` before
        ``end``/``error``). When the resources call fails (the stack was
        deleted meanwhile, Heat is down) the stack event still comes out and
        the failure is logged. While the polls are known to cover only the
        credentials' project (scope ``project`` and a listing without
        ``project`` keys, which Heat gives to callers without its admin
        role), notifications about other projects' stacks are dropped, so
        that a poll does not delete what they add. Never raises.
        """
        try:
            return self._notification(event_type, payload, metadata, lookup)
        except Exception:  # the bus listener must never see an exception
            LOG.exception('Heat notification %s dropped: unexpected error', safe(event_type))
            return []

    def _notification(self, event_type: str, payload: Any, metadata: Any,
                      lookup: Lookup) -> list[Event]:
        notice = parse_event_type(event_type)
        if notice is None:
            LOG.warning('notification dropped: %s is not a Heat stack event type',
                        safe(event_type))
            return []
        if not isinstance(payload, Mapping):
            LOG.warning('%s dropped: the payload is a %s, not an object',
                        safe(event_type), type(payload).__name__)
            return []
        try:
            fields, problems = map_fields(STACK_FROM_NOTIFICATION, payload)
        except FieldError as exc:
            LOG.warning('%s dropped: no usable %s', safe(event_type), safe(str(exc)))
            return []
        stack_id = fields['stack_id']
        if problems:
            LOG.warning('%s for stack %s: wrong values read as none: %s',
                        safe(event_type), safe(stack_id), safe('; '.join(problems)))
        if not self._in_scope(fields['user_project_id']):
            LOG.debug('%s for stack %s of project %s dropped: polls cover only '
                      'project %s', safe(event_type), safe(stack_id),
                      safe(fields['user_project_id']), self._own_project)
            return []
        self._complete_from_lookup(fields, lookup)
        fields['scope'] = self._scope
        obs = Observation(_observed(metadata), Action.UPDATE, event_type,
                          Phase.END if notice.finished else Phase.START, self.name)
        deleted = notice.deletes or fields['status'] in DELETED_STATUSES
        events = [stack_event(fields, obs, deleted)]
        if notice.finished and not deleted:
            events.extend(self._notified_resources(fields, obs))
        return events

    @staticmethod
    def _complete_from_lookup(fields: dict[str, Any], lookup: Lookup) -> None:
        """What the cache knows better than the payload.

        The parent is never in payloads. The owner is the stack's creator,
        while a payload names whoever made this change (an admin updating
        someone's stack): a known owner is kept. A missing name is filled in.
        """
        known = lookup(STACK, fields['stack_id'])
        if not isinstance(known, Mapping):
            return
        for key in ('parent', 'owner', 'owner_name'):
            value = known.get(key)
            if isinstance(value, str) and value:
                fields[key] = value
        name = known.get('name')
        if fields['name'] is None and isinstance(name, str) and name:
            fields['name'] = name

    def _in_scope(self, project: str | None) -> bool:
        if not self._one_project or project is None:
            return True
        own = self._project()
        return own is None or project == own

    def _project(self) -> str | None:
        """The credentials' project: the last segment of Heat's endpoint
        (``.../v1/{project_id}``); ``None`` when it cannot be known."""
        if self._own_project is None:
            try:
                endpoint = self._api().endpoint
            except VitrageDSError:
                return None
            segments = [s for s in urllib.parse.urlsplit(endpoint).path.split('/') if s]
            if len(segments) >= 2:
                self._own_project = urllib.parse.unquote(segments[-1])
        return self._own_project

    def _notified_resources(self, fields: Mapping[str, Any],
                            obs: Observation) -> list[Event]:
        stack = StackInfo(fields['stack_id'], fields['name'], fields['user_project_id'],
                          fields['parent'], fields['scope'])
        if stack.name is None:
            LOG.warning('%s for stack %s: no stack_name, so its resources were not '
                        'fetched (the next poll reads them)', safe(obs.event_type),
                        safe(stack.id))
            return []
        try:
            api = self._api()
            assert self._slots is not None
            with self._slots:
                items = self._get_resources(api, stack, retry=False)
            return resource_events(items, stack, obs)
        except APIError as exc:
            if exc.status == 404:
                LOG.info('%s: stack %s (%s) no longer exists, so it has no resources '
                         'to read', safe(obs.event_type), safe(stack.name), safe(stack.id))
            else:
                LOG.warning('%s: resources of stack %s (%s) not read, the next poll '
                            'will: %s', safe(obs.event_type), safe(stack.name),
                            safe(stack.id), safe(str(exc)))
        except (VitrageDSError, FieldError) as exc:
            LOG.warning('%s: resources of stack %s (%s) not read, the next poll will: %s',
                        safe(obs.event_type), safe(stack.name), safe(stack.id),
                        safe(str(exc)))
        return []


def _observed(metadata: Any) -> float:
    """The bus envelope's timestamp, or now when it has none."""
    stamp = metadata.get('timestamp') if isinstance(metadata, Mapping) else None
    seconds = parse_time(stamp)
    return seconds if seconds is not None and seconds > 0 else time.time()


T = TypeVar('T')


def _started(items: Generator[T, None, None]) -> Generator[T, None, None]:
    """``items`` with its first item taken already (so its first request has
    been made, and has raised here if it failed); closing the result closes
    ``items``."""
    try:
        first = next(items)
    except StopIteration:
        return items

    def resumed() -> Generator[T, None, None]:
        try:
            yield first
            yield from items
        finally:
            items.close()

    return resumed()

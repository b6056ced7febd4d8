"""The Heat datasource: stacks and their resources, from polls and notifications.

The driver is its API calls plus its field mapping
(:mod:`~vitrage_ds.drivers.heat.fields`): the calls go through
:class:`~vitrage_ds.drivers.heat.api.HeatAPI`, which knows Heat's paths,
paging and policy fallback, on the core's HTTP client. The calls of one poll
(:meth:`HeatStackDriver.get_all`), all on the orchestration endpoint
``{endpoint} = .../v1/{project_id}``:

1. ``GET {endpoint}/stacks?global_tenant=true&show_hidden=true&show_nested=true&limit=N``,
   then each page's ``rel=next`` link until a page has none. Heat's default
   policy answers 403 to ``global_tenant``: the driver then logs once that
   the policy ``stacks:global_index`` must allow the credentials, and lists
   ``GET {endpoint}/stacks?show_hidden=true&show_nested=true&limit=N`` instead
   (``show_hidden``: stacks carrying one of Heat's ``[DEFAULT]
   hidden_stack_tags`` are left out of listings otherwise, while their
   notifications still come, so each would come and go); every event
   says which with its ``scope`` field (``all_projects`` or ``project``).
   That plain listing holds the credentials' own project, except that Heat
   27 shows callers with its admin role every project's stacks there too.
   The all-projects listing is tried again at every poll, so allowing the
   policy takes effect without a restart.
2. For each stack not being deleted, one
   ``GET {endpoint}/stacks/{stack_name}/{stack_id}/resources?nested_depth=D``,
   with at most ``max_parallel_calls`` calls in flight. The full name/id path
   needs no redirect and no per-stack ``GET`` of the stack itself.

That is ``stacks + pages`` requests (one more after a 403). Nested stacks are
listed as stacks of their own (``show_nested``), each with its own resources
call; ``nested_depth`` is for setups that list top-level stacks only.

On a notification (:meth:`HeatStackDriver.notifications`) the payload
gives the stack's event; after ``*.end`` and ``*.error`` one resources call
(not retried, at most ``max_parallel_calls`` at once across notifications)
gives its resources' events. ``*.start`` makes no call, and
``delete.start``/``delete.end`` are deletes without a call.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from oslo_config import cfg

from vitrage_ds import config
from vitrage_ds._coalesce import SharedReads
from vitrage_ds._logsafe import safe
from vitrage_ds.driver import Driver, Lookup, no_lookup
from vitrage_ds.drivers.heat import links
from vitrage_ds.drivers.heat.api import (ALL_PROJECTS, GLOBAL_INDEX_POLICY, PROJECT,
                                         RESOURCES, STACKS, HeatAPI, path)
from vitrage_ds.drivers.heat.events import (DELETED_STATUSES, RESOURCE, STACK,
                                            Observation, StackInfo,
                                            resource_events, stack_event)
from vitrage_ds.drivers.heat.fields import (STACK_FROM_LISTING,
                                            STACK_FROM_NOTIFICATION, FieldError,
                                            map_fields)
from vitrage_ds.drivers.heat.notifications import EVENT_TYPES, parse_event_type
from vitrage_ds.errors import (APIError, BackendError, ConfigurationError,
                               MalformedResponse, VitrageDSError)
from vitrage_ds.event import Action, Event, Phase, envelope_time
from vitrage_ds.plugin import Lazy, PluginContext

if TYPE_CHECKING:
    from vitrage_ds.plugin import ClientFactory

__all__ = ['ALL_PROJECTS', 'GLOBAL_INDEX_POLICY', 'NOTIFICATION_LEAD', 'PROJECT', 'HeatStackDriver']

LOG = logging.getLogger(__name__)

#: Seconds by which Heat's notification of a stack's new state may come
#: before that state is in its database: Heat 27 sends the notification,
#: then stores the state, so a listing read in between shows a stack still
#: in progress after its ``*.end`` was sent. A poll's in-progress stack
#: counts as read that long before the poll began: such a reading never
#: passes for newer than a notification sent just before it (the next poll
#: repairs what a lost notification left out).
NOTIFICATION_LEAD = 2.0


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
    * :meth:`notifications` never raises; malformed input is logged
      (the wrong key and type, never its value) and dropped.
    """

    name = 'heat.stack'
    service_type = 'orchestration'
    default_poll_interval = 600.0
    entity_types = (STACK, RESOURCE)
    event_types = EVENT_TYPES
    exchanges = ('heat',)
    topics = ('notifications',)
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
        self._connection = Lazy(self._connect)
        self._own_project: str | None = None
        self._scope = ALL_PROJECTS if self.conf.all_projects else PROJECT
        # Whether the last poll is known to have seen one project only.
        self._one_project = False
        # Notifications about one stack arriving together share a resources read.
        self._notified_reads: SharedReads[list[Any]] = SharedReads()

    # -- the API ---------------------------------------------------------

    @classmethod
    def api_from_config(cls, conf: cfg.ConfigOpts,
                        client_factory: ClientFactory | None = None) -> tuple[HeatAPI, Any]:
        """The Heat API this driver reads, and its option group, for other
        readers of Heat (the tables, the search) without a driver.

        Registers ``[driver.heat.stack]`` on ``conf`` if needed; the client
        has the group's ``endpoint_override`` and ``max_parallel_calls`` and the
        credentials ``client_factory`` gives (default:
        ``[service_credentials]``). No call is made.
        """
        group = config.register_plugin_opts(conf, 'driver', cls.name, cls)
        context = PluginContext(conf, 'driver', cls.name, client_factory)
        options = context.options
        return HeatAPI(context.client('orchestration'), all_projects=options.all_projects,
                       page_size=options.page_size, group=group), options

    def _connect(self) -> tuple[HeatAPI, threading.BoundedSemaphore]:
        client = self.context.client('orchestration')
        return (HeatAPI(client, all_projects=self.conf.all_projects,
                        page_size=self.conf.page_size, group=self.context.group),
                threading.BoundedSemaphore(client.max_parallel_calls))

    @property
    def api(self) -> HeatAPI:
        """The Heat API of this driver's client (built at first use)."""
        return self._connection()[0]

    def _resource_slots(self) -> threading.BoundedSemaphore:
        """Bounds the resources calls notifications make at once."""
        return self._connection()[1]

    def _get_resources(self, stack: StackInfo, retry: bool | None) -> list[Any]:
        return self.api.resources(stack.name or '', stack.id,
                                  {'nested_depth': self.conf.nested_depth}, retry=retry)

    # -- get_all ---------------------------------------------------------

    def get_all(self) -> list[Event]:
        """Every stack and every resource of every stack, or raise.

        :raises vitrage_ds.errors.BackendError: a page of the listing or the
            resources call of any stack failed, or Heat answered a body
            without the ids the events need.
        """
        return self._poll()

    def _poll(self) -> list[Event]:
        obs = Observation(time.time(), Action.SNAPSHOT, None, Phase.END, self.name)
        # An in-progress stack may already have been announced finished.
        in_progress = dataclasses.replace(obs, observed=obs.observed - NOTIFICATION_LEAD)
        heat = self.api
        params = {'show_hidden': 'true'}
        if self.conf.show_nested:
            params['show_nested'] = 'true'
        listing, scope = heat.list_stacks(params, prefetch=True)
        self._scope = scope
        events: dict[tuple[str, str], Event] = {}
        listed = deleting = 0
        named_project = False

        def live_stacks() -> Iterator[StackInfo]:
            # Read by the fan-out as it goes: the resources calls of a page's
            # stacks run while the next page is on its way.
            nonlocal listed, deleting, named_project
            for item in listing:
                fields, info = self._listed_stack(heat, item, scope)
                status = fields['status']
                event = stack_event(fields, in_progress if isinstance(status, str)
                                    and status.endswith('_IN_PROGRESS') else obs)
                events[event.key] = event
                listed += 1
                named_project = named_project or 'project' in item
                if fields['status'] in DELETED_STATUSES:
                    deleting += 1
                else:
                    yield info

        try:
            batches = heat.client.fan_out(lambda info: self._poll_resources(heat, info, obs),
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

    @staticmethod
    def _listed_stack(heat: HeatAPI, item: Any, scope: str
                      ) -> tuple[dict[str, Any], StackInfo]:
        where = heat.client.url(STACKS)
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

    def _poll_resources(self, heat: HeatAPI, stack: StackInfo, obs: Observation
                        ) -> list[Event]:
        try:
            items = self._get_resources(stack, retry=None)
            return resource_events(items, stack, obs)
        except FieldError as exc:
            where = path(RESOURCES, {'stack_name': stack.name or '', 'stack_id': stack.id})
            raise MalformedResponse('GET', heat.client.url(where), str(exc)) from None
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

    def notifications(self, event_type: str, payload: Any,
                      metadata: Mapping[str, Any],
                      lookup: Lookup = no_lookup) -> list[Event]:
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
        self._complete_from_lookup(fields, lookup)
        if not self._in_scope(fields['user_project_id']):
            LOG.debug('%s for stack %s of project %s dropped: polls cover only '
                      'project %s', safe(event_type), safe(stack_id),
                      safe(fields['user_project_id']), self._own_project)
            return []
        fields['scope'] = self._scope
        obs = Observation(envelope_time(metadata), Action.UPDATE, event_type,
                          Phase.END if notice.finished else Phase.START, self.name)
        deleted = notice.deletes or fields['status'] in DELETED_STATUSES
        events = [stack_event(fields, obs, deleted)]
        if notice.finished and not deleted:
            events.extend(self._notified_resources(fields, obs))
        return events

    @staticmethod
    def _complete_from_lookup(fields: dict[str, Any], lookup: Lookup) -> None:
        """What the cache knows better than the payload.

        The parent is never in payloads. The owner is the stack's creator
        and the project the stack's, while a payload names whoever made this
        change and the project of that request (an admin of another project
        updating someone's stack): a known owner and project are kept. A
        missing name is filled in.
        """
        known = lookup(STACK, fields['stack_id'])
        if not isinstance(known, Mapping):
            return
        for key in ('parent', 'owner', 'owner_name', 'user_project_id'):
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
                endpoint = self.api.client.endpoint
            except VitrageDSError:
                return None
            segments = [s for s in urllib.parse.urlsplit(endpoint).path.split('/') if s]
            if len(segments) >= 2:
                self._own_project = urllib.parse.unquote(segments[-1])
        return self._own_project

    def _read_notified(self, stack: StackInfo) -> list[Any]:
        with self._resource_slots():
            return self._get_resources(stack, retry=False)

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
            items = self._notified_reads.read(
                (stack.id, stack.name), lambda: self._read_notified(stack))
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

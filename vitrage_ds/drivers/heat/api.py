"""Heat's orchestration API v1, as every reader of Heat in vitrage_ds calls it.

The driver (:mod:`~vitrage_ds.drivers.heat.driver`), the tables
(:mod:`~vitrage_ds.drivers.heat.tables`) and the search
(:mod:`~vitrage_ds.drivers.heat.search`) make their calls through
:class:`HeatAPI`; the HTTP machinery (retries, paging loops, fan-out) is the
core's :class:`~vitrage_ds.http.client.Client`. What lives here is Heat's own
knowledge:

* the paths, below the endpoint ``.../v1/{project_id}``, as templates whose
  ``{placeholders}`` are filled URL-quoted (:func:`path`). A stack is always
  addressed by its name and id (``stacks/{stack_name}/{stack_id}``), which
  Heat serves without the redirect a bare id costs;
* how each listing pages (:data:`PAGING`): the stack listing follows
  ``rel=next`` links, events and software configs page by
  ``limit``/``marker`` without links, the rest answer in one body;
* the stack listing's policy fallback (:meth:`HeatAPI.list_stacks`): Heat's
  default policy answers 403 to ``global_tenant=true``; the credentials'
  own project is listed instead and one warning names the policy
  ``stacks:global_index``, until a later listing is allowed again;
* the shape of each answer: the body key holding it, a list or an object,
  checked before anything is read (:class:`~vitrage_ds.errors.MalformedResponse`
  names the URL otherwise).
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from collections.abc import Generator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from vitrage_ds.errors import APIError, MalformedResponse

if TYPE_CHECKING:
    from vitrage_ds.http.client import Client

__all__ = [
    'ALL_PROJECTS', 'EVENT', 'EVENTS', 'GLOBAL_INDEX_POLICY', 'LINKS', 'MARKER', 'ONE_BODY',
    'PAGING', 'PROJECT', 'RESOURCE_METADATA', 'RESOURCE_TYPES', 'RESOURCES', 'SNAPSHOTS',
    'SOFTWARE_CONFIG', 'SOFTWARE_CONFIGS', 'SOFTWARE_DEPLOYMENTS', 'STACK', 'STACKS',
    'TEMPLATE', 'HeatAPI', 'path',
]

LOG = logging.getLogger(__name__)

#: The scope of a stack listing that covered every project (``global_tenant``).
ALL_PROJECTS = 'all_projects'
#: The scope of a stack listing that covered the credentials' project only.
PROJECT = 'project'
#: The Heat policy that must allow the all-projects listing.
GLOBAL_INDEX_POLICY = 'stacks:global_index'

# -- paths -----------------------------------------------------------------------

STACKS = 'stacks'
STACK = 'stacks/{stack_name}/{stack_id}'
RESOURCES = f'{STACK}/resources'
RESOURCE_METADATA = f'{RESOURCES}/{{resource_name}}/metadata'
EVENTS = f'{STACK}/events'
#: One event in detail: the summary's keys, ``resource_type`` and the
#: ``resource_properties`` the resource had when the event happened.
EVENT = f'{RESOURCES}/{{resource_name}}/events/{{event_id}}'
SNAPSHOTS = f'{STACK}/snapshots'
TEMPLATE = f'{STACK}/template'
RESOURCE_TYPES = 'resource_types'
SOFTWARE_CONFIGS = 'software_configs'
SOFTWARE_CONFIG = 'software_configs/{config_id}'
SOFTWARE_DEPLOYMENTS = 'software_deployments'

# -- paging ------------------------------------------------------------------------

#: Pages with ``rel=next`` links.
LINKS = 'links'
#: Pages by ``limit``/``marker`` (the last item's ``id``), without links.
MARKER = 'marker'
#: Answers everything in one body.
ONE_BODY = 'none'

#: How each listing pages; any other path answers in one body.
PAGING: Mapping[str, str] = {STACKS: LINKS, EVENTS: MARKER, SOFTWARE_CONFIGS: MARKER}


def path(template: str, refs: Mapping[str, Any]) -> str:
    """``template`` with its placeholders filled from ``refs``, each URL-quoted
    whole (a ``/`` in a name stays inside its segment).

    :raises KeyError: a placeholder has no value (``None`` counts as none).
    """
    quoted = {k: urllib.parse.quote(str(v), safe='') for k, v in refs.items()
              if v is not None}
    return template.format_map(quoted)


class HeatAPI:
    """Heat's calls on one orchestration :class:`~vitrage_ds.http.client.Client`.

    Thread-safe, as the client is: fan-out calls share one instance.

    :param client: the client of the endpoint ``.../v1/{project_id}``.
    :param all_projects: list every project's stacks when Heat allows it.
    :param page_size: ``limit`` of paged listings; 0 asks for the stacks in
        one response (other listings then ask for 1000 at a time).
    :param group: the option group that configures these calls, named in
        the policy warning.
    """

    def __init__(self, client: Client, *, all_projects: bool = True, page_size: int = 1000,
                 group: str = 'driver.heat.stack') -> None:
        self.client = client
        self.all_projects = all_projects
        self.page_size = page_size
        self.group = group
        self._lock = threading.Lock()
        self._refused = False

    # -- the stack listing -----------------------------------------------

    def list_stacks(self, params: Mapping[str, Any], *, prefetch: bool = False
                    ) -> tuple[Generator[Any, None, None], str]:
        """Every stack item of ``GET stacks?<params>&limit=<page_size>`` (all
        pages; no ``limit`` when :attr:`page_size` is 0), and the scope.

        With ``all_projects``, ``global_tenant=true`` is asked first; a 403
        to its first page is Heat's policy, and the credentials' project is
        listed instead (Heat 27 shows callers with its admin role every
        project's stacks there too). The first warning names the policy;
        later refusals are logged at debug until a listing is allowed
        again. The listing is asked for every time, so allowing the policy
        takes effect at once.

        The first page is read here (its failure raises here); later pages
        as the items are consumed (with ``prefetch``, each asked for while
        the caller works on the page before). Closing the listing waits for
        a page in flight.

        :returns: the items and :data:`ALL_PROJECTS` or :data:`PROJECT`.
        :raises BackendError: a page failed (a 403 on a later page too).
        """
        query = dict(params)
        if self.page_size:
            query['limit'] = self.page_size
        if self.all_projects:
            try:
                listing = _started(self.client.paginate_links(
                    STACKS, 'stacks', {'global_tenant': 'true', **query}, prefetch=prefetch))
            except APIError as exc:
                if exc.status != 403:
                    raise
                self._policy_refused(exc)
            else:
                self._policy_allowed()
                return listing, ALL_PROJECTS
        return _started(self.client.paginate_links(STACKS, 'stacks', query,
                                                   prefetch=prefetch)), PROJECT

    def _policy_refused(self, exc: APIError) -> None:
        with self._lock:
            warned, self._refused = self._refused, True
        if warned:
            LOG.debug('all-projects stack listing still refused: %s', exc)
            return
        LOG.warning(
            'Heat refused to list every project\'s stacks (%s): polling only the '
            'project of the credentials. To see every project, allow the Heat policy '
            '"%s" for these credentials (e.g. "%s": "rule:deny_stack_user" in Heat\'s '
            'policy file) or set [%s] all_projects = false to read one project on '
            'purpose.', exc, GLOBAL_INDEX_POLICY, GLOBAL_INDEX_POLICY, self.group)

    def _policy_allowed(self) -> None:
        with self._lock:
            refused, self._refused = self._refused, False
        if refused:
            LOG.info('Heat now allows the all-projects stack listing: polling every '
                     'project again')

    # -- every other call --------------------------------------------------

    def resources(self, stack_name: str, stack_id: str, params: Mapping[str, Any], *,
                  retry: bool | None = None) -> list[Any]:
        """``GET stacks/{stack_name}/{stack_id}/resources?<params>``: the items.

        :param retry: as :meth:`~vitrage_ds.http.client.Client.request`.
        :raises BackendError: the call failed or the body has no list.
        """
        refs = {'stack_name': stack_name, 'stack_id': stack_id}
        return self.read(RESOURCES, refs, 'resources', params, retry=retry)

    def template(self, stack_name: str, stack_id: str) -> Any:
        """``GET stacks/{stack_name}/{stack_id}/template``: the template as stored."""
        return self.client.get(path(TEMPLATE, {'stack_name': stack_name,
                                               'stack_id': stack_id}))

    def read(self, template: str, refs: Mapping[str, Any], key: str | None,
             params: Mapping[str, Any] | None = None, *, single: bool = False,
             retry: bool | None = None) -> list[Any]:
        """The items of the call ``template`` (filled from ``refs``), all pages.

        Pages as :data:`PAGING` says (``limit`` is :attr:`page_size`). The
        stack listing, with its policy fallback, is :meth:`list_stacks`.

        :param key: the body key holding the answer; ``None``: the body.
        :param single: the answer is one object: returned as a one-item list.
        :param retry: for a call answered in one body, as
            :meth:`~vitrage_ds.http.client.Client.request`.
        :raises ValueError: ``template`` is the stack listing.
        :raises MalformedResponse: a placeholder has no value in ``refs``, or
            the answer is not a list (an object with ``single``).
        :raises BackendError: a call failed.
        """
        try:
            where = path(template, refs)
        except KeyError as exc:
            raise MalformedResponse('GET', self.client.url(template),
                                    f'no {exc.args[0]} to call it with') from None
        paging = PAGING.get(template, ONE_BODY)
        if paging == LINKS:
            raise ValueError(f'{template} is read by list_stacks')
        query = dict(params or {})
        if paging == MARKER:
            return list(self.client.paginate_marker(where, 'id', query,
                                                    limit=self.page_size or 1000, key=key))
        body = self.client.get(where, params=query or None, retry=retry)
        answer = body if key is None else (
            body.get(key) if isinstance(body, Mapping) else None)
        if not isinstance(answer, Mapping if single else list):
            what = 'an object' if single else 'a list'
            under = f' under {key!r}' if key else ''
            raise MalformedResponse('GET', self.client.url(where), f'expected {what}{under}')
        return [answer] if single else list(answer)


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

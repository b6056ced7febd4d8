"""Keystone v3, just enough for keystoneauth: password tokens and a catalog.

Also the identity store Heat and Aodh consult to turn a request into a
:class:`Caller`: an ``X-Auth-Token`` must be a live token (an unknown or
expired one gets keystonemiddleware's 401); without a token the noauth
identity headers are trusted, as the services' ``noauth`` modes do.
"""

from __future__ import annotations

import dataclasses
import datetime
import threading
import uuid
from collections.abc import Callable
from typing import Any

from vitrage_ds_testing.cloud.server import HTTPError, Request, Response, Service, error_body

__all__ = ['Caller', 'Identity', 'KeystoneService', 'Project', 'User']

DOMAIN = {'id': 'default', 'name': 'Default'}
REGION = 'RegionOne'
_AUTH_REQUIRED = 'The request you have made requires authentication.'


@dataclasses.dataclass(frozen=True)
class Project:
    id: str
    name: str


@dataclasses.dataclass
class User:
    id: str
    name: str
    password: str
    roles: tuple[str, ...]
    #: Projects the user may scope to; ``None``: any.
    projects: set[str] | None = None


@dataclasses.dataclass(frozen=True)
class Caller:
    """Who made a request, as the services see it."""

    user_id: str
    user_name: str
    project_id: str
    roles: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return 'admin' in self.roles


@dataclasses.dataclass
class _Token:
    caller: Caller
    issued: datetime.datetime
    expires: datetime.datetime
    methods: list[str]


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


def isotime(when: datetime.datetime) -> str:
    return when.strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z'


class Identity:
    """Users, projects and tokens; thread-safe."""

    def __init__(self, token_ttl: float) -> None:
        self.token_ttl = token_ttl
        self.projects: dict[str, Project] = {}
        self.users: dict[str, User] = {}
        self._tokens: dict[str, _Token] = {}
        self._lock = threading.Lock()
        self.catalog: Callable[[str], list[dict[str, Any]]] = lambda project_id: []

    def add_project(self, project: Project) -> Project:
        with self._lock:
            self.projects[project.id] = project
        return project

    def add_user(self, user: User) -> User:
        with self._lock:
            self.users[user.id] = user
        return user

    def project_named(self, name: str) -> Project | None:
        return next((p for p in self.projects.values() if p.name == name), None)

    def user_named(self, name: str) -> User | None:
        return next((u for u in self.users.values() if u.name == name), None)

    def user_name(self, user_id: str) -> str:
        user = self.users.get(user_id)
        return user.name if user else user_id

    # -- tokens ----------------------------------------------------------

    def issue(self, caller: Caller, methods: list[str]) -> tuple[str, _Token]:
        token_id = uuid.uuid4().hex
        issued = _now()
        token = _Token(caller, issued, issued + datetime.timedelta(seconds=self.token_ttl),
                       methods)
        with self._lock:
            self._tokens[token_id] = token
        return token_id, token

    def expire_tokens(self) -> int:
        """Make every issued token expired; returns how many."""
        past = _now() - datetime.timedelta(seconds=1)
        with self._lock:
            for token in self._tokens.values():
                token.expires = past
            return len(self._tokens)

    def live_token(self, token_id: str) -> _Token | None:
        with self._lock:
            token = self._tokens.get(token_id)
        if token is None or token.expires <= _now():
            return None
        return token

    def caller(self, request: Request) -> Caller | None:
        """The request's caller: its token's, or the noauth headers'.

        A live ``X-Auth-Token`` wins. Otherwise the noauth identity headers
        (``X-User-Id``/``X-Auth-User``, ``X-Project-Id``/``X-Auth-Project``,
        ``X-Roles``) are trusted when present, whatever token comes along
        (keystoneauth's ``none`` plugin sends ``X-Auth-Token: notused``).

        :returns: ``None`` when the request carries no identity at all.
        :raises HTTPError: 401 (keystonemiddleware's body) for an unknown
            or expired token without identity headers.
        """
        token_id = request.header('X-Auth-Token')
        token = self.live_token(token_id) if token_id else None
        if token is not None:
            return token.caller
        user_id = request.header('X-User-Id') or request.header('X-Auth-User')
        project_id = request.header('X-Project-Id') or request.header('X-Auth-Project')
        if not user_id and not project_id:
            if token_id:
                raise HTTPError(unauthorized(request))
            return None
        roles = tuple(r.strip() for r in (request.header('X-Roles') or '').split(',')
                      if r.strip())
        user_id = user_id or ''
        return Caller(user_id, self.user_name(user_id), project_id or '', roles)

    def token_body(self, token: _Token) -> dict[str, Any]:
        caller = token.caller
        project = self.projects.get(caller.project_id)
        body: dict[str, Any] = {
            'methods': token.methods,
            'user': {'domain': dict(DOMAIN), 'id': caller.user_id, 'name': caller.user_name,
                     'password_expires_at': None},
            'audit_ids': [uuid.uuid4().hex[:22]],
            'expires_at': isotime(token.expires),
            'issued_at': isotime(token.issued),
        }
        if project is not None:
            body.update({
                'project': {'domain': dict(DOMAIN), 'id': project.id, 'name': project.name},
                'is_domain': False,
                'roles': [{'id': _role_id(r), 'name': r} for r in caller.roles],
                'catalog': self.catalog(project.id),
            })
        return {'token': body}


def _role_id(name: str) -> str:
    return uuid.uuid5(uuid.NAMESPACE_DNS, f'role.{name}').hex


def unauthorized(request: Request) -> Response:
    """keystonemiddleware's 401, with its ``WWW-Authenticate`` header."""
    return Response(401, error_body(401, _AUTH_REQUIRED),
                    {'WWW-Authenticate': f"Keystone uri='{request.root_url}'"})


class KeystoneService(Service):
    """``/identity``: version documents and ``/v3/auth/tokens``."""

    name = 'identity'
    prefix = '/identity'

    def __init__(self, identity: Identity) -> None:
        super().__init__()
        self.identity = identity
        self.route('keystone.root', 'GET', r'/?', self._root)
        self.route('keystone.version', 'GET', r'/v3/?', self._version)
        self.route('keystone.tokens.create', 'POST', r'/v3/auth/tokens/?', self._create_token)
        self.route('keystone.tokens.validate', 'GET', r'/v3/auth/tokens/?', self._validate)

    def error(self, status: int, message: str = '') -> Response:
        return Response(status, error_body(status, message or 'injected fault'))

    def _version_doc(self, request: Request) -> dict[str, Any]:
        return {
            'id': 'v3.14', 'status': 'stable', 'updated': '2020-04-07T00:00:00Z',
            'links': [{'rel': 'self', 'href': f'{request.root_url}/v3/'}],
            'media-types': [{'base': 'application/json',
                             'type': 'application/vnd.openstack.identity-v3+json'}],
        }

    def _root(self, request: Request) -> Response:
        return Response(300, {'versions': {'values': [self._version_doc(request)]}})

    def _version(self, request: Request) -> Response:
        return Response(200, {'version': self._version_doc(request)})

    def _create_token(self, request: Request) -> Response:
        try:
            auth = (request.json() or {})['auth']
            identity = auth['identity']
            methods = list(identity['methods'])
        except (ValueError, KeyError, TypeError):
            return Response(400, error_body(400, 'Expecting to find auth in request body.'))
        if 'password' in methods:
            user = self._password_user(identity.get('password') or {})
        elif 'token' in methods:
            user = self._token_user(identity.get('token') or {})
        else:
            user = None
        if user is None:
            return Response(401, error_body(401, _AUTH_REQUIRED))
        try:
            project = self._scope(auth.get('scope'), user)
        except LookupError:
            return Response(401, error_body(401, _AUTH_REQUIRED))
        caller = Caller(user.id, user.name, project.id if project else '',
                        user.roles if project else ())
        token_id, token = self.identity.issue(caller, methods)
        return Response(201, self.identity.token_body(token), {'X-Subject-Token': token_id})

    def _password_user(self, password: dict[str, Any]) -> User | None:
        spec = password.get('user') or {}
        user = (self.identity.users.get(spec.get('id', '')) if spec.get('id')
                else self.identity.user_named(spec.get('name', '')))
        if user is None or user.password != spec.get('password'):
            return None
        return user

    def _token_user(self, spec: dict[str, Any]) -> User | None:
        token = self.identity.live_token(spec.get('id', ''))
        return self.identity.users.get(token.caller.user_id) if token else None

    def _scope(self, scope: Any, user: User) -> Project | None:
        """The project to scope to (``None``: unscoped). :raises LookupError: refused."""
        if not scope:
            return None
        spec = scope.get('project') if isinstance(scope, dict) else None
        if not isinstance(spec, dict):
            raise LookupError('only project scope is supported')
        project = (self.identity.projects.get(spec.get('id', '')) if spec.get('id')
                   else self.identity.project_named(spec.get('name', '')))
        if project is None or (user.projects is not None and project.id not in user.projects):
            raise LookupError('no such project for the user')
        return project

    def _validate(self, request: Request) -> Response:
        caller_token = self.identity.live_token(request.header('X-Auth-Token') or '')
        if caller_token is None:
            return unauthorized(request)
        subject = self.identity.live_token(request.header('X-Subject-Token') or '')
        if subject is None:
            return Response(404, error_body(404, 'Could not find token.'))
        return Response(200, self.identity.token_body(subject))


def require_caller(identity: Identity, request: Request) -> Caller:
    """The caller, or a 401 when the request carries no identity at all."""
    caller = identity.caller(request)
    if caller is None:
        raise HTTPError(unauthorized(request))
    return caller

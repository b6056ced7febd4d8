"""The exceptions vitrage_ds raises.

Every message names what failed and why, and never carries a credential:
URLs are stripped of user info and query strings are not echoed when they
could hold a token.
"""

from __future__ import annotations

from collections.abc import Iterable

from vitrage_ds._logsafe import safe_url

__all__ = [
    'VitrageDSError',
    'ConfigurationError',
    'PluginNotFound',
    'PluginLoadError',
    'BackendError',
    'APIError',
    'ConnectionFailed',
    'RequestTimeout',
    'MalformedResponse',
    'PageLoopError',
    'DeliveryFailed',
    'InvalidMessage',
]


class VitrageDSError(Exception):
    """Base class of every error vitrage_ds raises on purpose."""


class ConfigurationError(VitrageDSError):
    """The configuration cannot work as written (a missing or wrong option)."""


class PluginNotFound(VitrageDSError):
    """A plugin name was enabled or asked for but no such plugin is installed."""

    def __init__(self, namespace: str, missing: Iterable[str],
                 installed: Iterable[str]) -> None:
        self.namespace = namespace
        self.missing = sorted(missing)
        self.installed = sorted(installed)
        super().__init__(
            f"no {namespace} plugin named {', '.join(self.missing)}; "
            f"installed: {', '.join(self.installed) or '(none)'}")


class PluginLoadError(VitrageDSError):
    """An installed plugin failed to import or to construct."""

    def __init__(self, namespace: str, name: str, reason: str) -> None:
        self.namespace = namespace
        self.name = name
        self.reason = reason
        super().__init__(f"{namespace} plugin {name!r} failed to load: {reason}")


class BackendError(VitrageDSError):
    """A service a plugin depends on failed or answered something unusable.

    ``Driver.get_all()`` raises this (or a subclass) instead of returning a
    partial snapshot, so that a failed poll never looks like deletions.
    """


class APIError(BackendError):
    """An HTTP call answered an error status.

    :ivar method: the HTTP method.
    :ivar url: the URL called, without user info, query string or fragment
        (as every error here keeps it, whatever it was given).
    :ivar status: the HTTP status code.
    :ivar detail: the service's own error message, when it gave one.
    """

    def __init__(self, method: str, url: str, status: int, detail: str = '') -> None:
        self.method = method
        self.url = safe_url(url)
        self.status = status
        self.detail = detail
        msg = f'{method} {self.url} answered {status}'
        if detail:
            msg += f': {detail}'
        super().__init__(msg)

    @property
    def transient(self) -> bool:
        """Whether the same call may succeed later: 408, 429 and 5xx."""
        return self.status in (408, 429) or self.status >= 500


class ConnectionFailed(BackendError):
    """The service could not be reached (refused, reset, DNS, TLS)."""

    def __init__(self, method: str, url: str, reason: str) -> None:
        self.method = method
        self.url = safe_url(url)
        super().__init__(f'{method} {self.url} failed: {reason}')


class RequestTimeout(BackendError):
    """The service did not answer within the configured timeout."""

    def __init__(self, method: str, url: str, timeout: float | None) -> None:
        self.method = method
        self.url = safe_url(url)
        super().__init__(f'{method} {self.url} timed out after {timeout} s')


class MalformedResponse(BackendError):
    """The service answered 2xx with a body that is not what the API promises."""

    def __init__(self, method: str, url: str, reason: str) -> None:
        self.method = method
        self.url = safe_url(url)
        super().__init__(f'{method} {self.url} answered a malformed body: {reason}')


class PageLoopError(BackendError):
    """A paged listing returned a page it had returned before."""

    def __init__(self, url: str, marker: str) -> None:
        self.url = safe_url(url)
        self.marker = marker
        super().__init__(f'paging {self.url} repeated the page after marker {marker!r}')


class DeliveryFailed(BackendError):
    """A message could not be handed to the broker; it may not have been sent."""


class InvalidMessage(VitrageDSError, ValueError):
    """A message is refused before it reaches the bus; ``field`` names the culprit."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        super().__init__(f'invalid {field!r}: {reason}')

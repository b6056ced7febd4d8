"""What a failed call says: URLs without secrets, the service's own message, waits."""

from __future__ import annotations

import email.utils
import re
import time

import requests

from vitrage_ds._logsafe import safe, safe_url
from vitrage_ds.errors import ConnectionFailed

__all__ = ['TLSFailed', 'detail', 'retry_after', 'safe_url', 'why']

#: The most characters of a service's error message that errors and logs show.
_SHOWN = 300


class TLSFailed(ConnectionFailed):
    """A TLS handshake or certificate failure: retrying cannot fix it."""


def detail(resp: requests.Response) -> str:
    """The service's own error message from an error body, shortened, with
    the request's token (should a service echo it) masked, as one printable
    line (:func:`~vitrage_ds._logsafe.safe`): it reaches error messages and
    log lines."""
    text = _service_message(resp)
    token = resp.request.headers.get('X-Auth-Token') if resp.request is not None else None
    if isinstance(token, str) and token:
        text = text.replace(token, '***')  # before shortening: no prefix of it stays
    return safe(text[:_SHOWN + 1], _SHOWN)  # one more: a longer one ends in ...


def _service_message(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip()
    if isinstance(body, dict):
        # Heat: {"error": {"message": ...}}; Aodh: {"error_message": {"faultstring": ...}}
        for key in ('error', 'error_message'):
            inner = body.get(key)
            if isinstance(inner, dict):
                for field in ('message', 'faultstring', 'explanation'):
                    if inner.get(field):
                        return str(inner[field])
            elif isinstance(inner, str):
                return inner
        for key in ('faultstring', 'message', 'explanation', 'title'):
            if body.get(key):
                return str(body[key])
    return str(body)


def retry_after(resp: requests.Response) -> float:
    """Seconds the service asked to wait (delta or HTTP date), at most 60."""
    value = resp.headers.get('Retry-After', '').strip()
    if not value:
        return 0.0
    try:
        return max(0.0, min(float(value), 60.0))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return 0.0
    return max(0.0, min(when.timestamp() - time.time(), 60.0))


_ERRNO = re.compile(r'\[Errno -?\d+\][^"\')\]]*')


def why(exc: BaseException) -> str:
    """A short reason for a connection failure, without the URL it names."""
    found = _ERRNO.search(str(exc))
    if found:
        return f'{type(exc).__name__}: {found.group(0).strip()}'
    return type(exc).__name__

"""What a failed call says: URLs without secrets, the service's own message, waits."""

from __future__ import annotations

import email.utils
import re
import time
import urllib.parse

import requests

from vitrage_ds._logsafe import safe
from vitrage_ds.errors import ConnectionFailed

__all__ = ['TLSFailed', 'detail', 'retry_after', 'safe_url', 'why']


class TLSFailed(ConnectionFailed):
    """A TLS handshake or certificate failure: retrying cannot fix it."""


def safe_url(url: str) -> str:
    """``url`` without user info, query string or fragment, for messages and logs."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ''
    if parts.port:
        host = f'{host}:{parts.port}'
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, '', ''))


def detail(resp: requests.Response) -> str:
    """The service's own error message from an error body, shortened, with
    the request's token (should a service echo it) masked, as one printable
    line (:func:`~vitrage_ds._logsafe.safe`): it reaches error messages and
    log lines."""
    text = _service_message(resp)
    token = resp.request.headers.get('X-Auth-Token') if resp.request is not None else None
    if isinstance(token, str) and token:
        text = text.replace(token, '***')
    return safe(text, 300)


def _service_message(resp: requests.Response) -> str:
    try:
        body = resp.json()
    except ValueError:
        return resp.text.strip()[:300]
    if isinstance(body, dict):
        # Heat: {"error": {"message": ...}}; Aodh: {"error_message": {"faultstring": ...}}
        for key in ('error', 'error_message'):
            inner = body.get(key)
            if isinstance(inner, dict):
                for field in ('message', 'faultstring', 'explanation'):
                    if inner.get(field):
                        return str(inner[field])[:300]
            elif isinstance(inner, str):
                return inner[:300]
        for key in ('faultstring', 'message', 'explanation', 'title'):
            if body.get(key):
                return str(body[key])[:300]
    return str(body)[:300]


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

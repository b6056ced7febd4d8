"""Values from the bus, and URLs, made safe for a log line.

A notification's fields (an alarm id, a stack name, a message id, an event
type) are chosen by whoever can publish on the bus. Logged raw, a newline in
one starts a forged line of the service log. :func:`safe` turns any value
into one printable line of bounded length; every log call that holds a
bus-derived value passes it through here. :func:`safe_url` strips the
credentials a configured endpoint may carry.
"""

from __future__ import annotations

import urllib.parse

__all__ = ['MAX_LOGGED', 'safe', 'safe_url']

#: The most characters of one value a log line shows.
MAX_LOGGED = 200


def safe(value: object, limit: int = MAX_LOGGED) -> str:
    """``value`` as one printable line of at most about ``limit`` characters.

    Strings made only of printable characters come back as they are (so
    ordinary ids read as before); anything else is shown as its
    :func:`repr`, which escapes newlines, other control characters and the
    Unicode line and paragraph separators. Longer results are cut and end
    in ``...``. Never raises.
    """
    if isinstance(value, str) and value.isprintable():
        text = value
    else:
        try:
            text = ascii(value) if isinstance(value, str) else repr(value)
        except Exception:  # a hostile __repr__ must not break the log call
            text = f'<unprintable {type(value).__name__}>'
        if not text.isprintable():
            text = ascii(text)
    if len(text) > limit:
        return f'{text[:limit]}...'
    return text


def safe_url(url: str) -> str:
    """``url`` without user info, query string or fragment, for messages and
    logs. Idempotent; a relative path comes back as it is."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ''
    if parts.port:
        host = f'{host}:{parts.port}'
    return urllib.parse.urlunsplit((parts.scheme, host, parts.path, '', ''))

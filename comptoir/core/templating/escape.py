"""Escaping for HTML built in Python in a page's hot loops (timeline rows, action lists)."""

from __future__ import annotations

import html


def esc(value: object) -> str:
    """Escape for text and double-quoted attributes: & < > " ' (as django.utils.html.escape).

    Django's `escape` wraps the same replacement in a lazy-string check and a SafeString,
    which cost more than the escaping itself in a loop. Unlike autoescape, it escapes a
    SafeString too: give it values, never markup.
    """
    return html.escape(str(value), quote=True)

"""Highlighted text made safe: escape everything, then turn the engine's markers into <mark>."""

from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

START, STOP = "\x02", "\x03"
_PAIR = re.compile("\x02([^\x02\x03]*)\x03")
_STRAY = re.compile("[\x02\x03]")


def marked(text: str) -> SafeString:
    """`text` with U+0002…U+0003 pairs as <mark>…</mark>; everything else is escaped.

    The markers survive escaping (they are not HTML-special) and the indexed text never holds
    them, so only the engine's pairs become tags; an unpaired marker is dropped.
    """
    escaped = str(escape(text or ""))
    html = _STRAY.sub("", _PAIR.sub(r"<mark>\1</mark>", escaped))
    # Safe: escaped text plus our own <mark> tags.
    return mark_safe(html)


def has_mark(text: str) -> bool:
    return START in (text or "")

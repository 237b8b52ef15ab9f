"""Template helpers of the ticket page."""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Iterable

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from comptoir.tickets.models import Attachment, Message

register = template.Library()

# A whole src attribute value that is a cid: reference, as the sanitizer writes attributes
# (double-quoted, with any quote inside escaped).
_CID_SRC = re.compile(r'(\ssrc=")cid:([^"]*)(")')


@register.filter
def with_inline_images(message: Message) -> SafeString:
    """The message's sanitized HTML with its `cid:` images pointing at their attachments."""
    return message_html(message, message.attachments.all())


def message_html(message: Message, attachments: Iterable[Attachment]) -> SafeString:
    """`message.body_html` (sanitized) with its `cid:` images pointing at `attachments`.

    Only whole `src="cid:…"` values are replaced, by a URL of ours, and only when the id is
    exactly one of this message's inline attachments: the sanitized markup around them is
    never cut or re-joined, so an id chosen by the sender cannot open an attribute.
    """
    urls = {
        a.content_id: reverse("attachment_download", args=[a.pk])
        for a in attachments
        if a.content_id
    }
    if not urls:
        return mark_safe(message.body_html)

    def replace(match: re.Match[str]) -> str:
        url = urls.get(htmllib.unescape(match.group(2)))
        if url is None:
            return match.group(0)
        return f"{match.group(1)}{htmllib.escape(url)}{match.group(3)}"

    return mark_safe(_CID_SRC.sub(replace, message.body_html))

"""Template helpers of the ticket page."""

from __future__ import annotations

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from comptoir.tickets.models import Message

register = template.Library()


@register.filter
def with_inline_images(message: Message) -> SafeString:
    """The message's sanitized HTML with its `cid:` images pointing at their attachments.

    The HTML was sanitized when stored (only `cid:` image sources survive); replacing those
    references with our own attachment URLs adds nothing an attacker controls.
    """
    html = message.body_html
    for attachment in message.attachments.all():
        if attachment.content_id and f"cid:{attachment.content_id}" in html:
            url = reverse("attachment_download", args=[attachment.pk])
            html = html.replace(f"cid:{attachment.content_id}", url)
    return mark_safe(html)

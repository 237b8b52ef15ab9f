"""The public page of a history link (`/h/<token>/`) and its attachments, for contacts.

No login: the signed token is the only credential. Every answer is `noindex`, never cached
by shared caches, sends no Referer onwards (the token is in the URL), and is rate-limited
per IP address: all requests under a generous limit, refused tokens under a tight one.
"""

from __future__ import annotations

import html as html_lib
import re
from typing import TypeVar

from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET

from comptoir.accounts.views import client_ip
from comptoir.core import ratelimit
from comptoir.core.files import safe_file_response
from comptoir.core.sanitize import sanitize_html
from comptoir.responses.history_link import (
    LinkRefused,
    OpenedLink,
    history_attachment,
    history_link_open,
    history_messages,
)
from comptoir.tickets.models import Message

_R = TypeVar("_R", bound=HttpResponseBase)
LANGUAGES = ("fr", "en")
REQUEST_LIMIT = 120  # per IP and window, every request
REFUSED_LIMIT = 20  # per IP and window, refused tokens
WINDOW_S = 300
_CID_SRC = re.compile(r'(\ssrc=")cid:([^"]*)(")')


def _language(request: HttpRequest, opened: OpenedLink | None = None) -> str:
    """`?lang=`, else the browser's Accept-Language, else the contact's, else French."""
    wanted = request.GET.get("lang", "")
    if wanted in LANGUAGES:
        return wanted
    weighted = []
    for i, part in enumerate(request.headers.get("Accept-Language", "").split(",")):
        code, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        primary = code.split("-")[0].lower()
        if primary in LANGUAGES and weight > 0:
            weighted.append((-weight, i, primary))
    if weighted:
        return min(weighted)[2]
    contact = opened.ticket.contact if opened and opened.ticket.contact_id else None
    if contact is not None and contact.language in LANGUAGES:
        return contact.language
    return "fr"


def _private(response: _R) -> _R:
    response["X-Robots-Tag"] = "noindex, nofollow, noarchive"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "private, no-store"
    return response


def _limited(request: HttpRequest) -> bool:
    ip = client_ip(request)
    if ratelimit.is_limited([("history-ip", ip)], limit=REQUEST_LIMIT) or ratelimit.is_limited(
        [("history-refused-ip", ip)], limit=REFUSED_LIMIT
    ):
        return True
    ratelimit.record_failure([("history-ip", ip)], window_s=WINDOW_S)
    return False


def _refusal(request: HttpRequest, status: int) -> HttpResponse:
    language = _language(request)
    with translation.override(language):
        response = render(
            request, "responses/history_refused.html", {"status": status}, status=status
        )
    response["Content-Language"] = language
    return _private(response)


def _open(request: HttpRequest, token: str) -> OpenedLink | HttpResponse:
    if _limited(request):
        return _refusal(request, 429)
    try:
        return history_link_open(token)
    except LinkRefused as exc:
        if exc.status == 403:
            ratelimit.record_failure(
                [("history-refused-ip", client_ip(request))], window_s=WINDOW_S
            )
        return _refusal(request, exc.status)


def _body(message: Message, token: str) -> SafeString:
    """Sanitized HTML (again: defence in depth) with `cid:` images served through the token."""
    html = sanitize_html(message.body_html)
    urls = {
        a.content_id: reverse("history_link_attachment", args=[token, a.pk])
        for a in message.attachments.all()
        if a.content_id
    }

    def replace(match: re.Match[str]) -> str:
        url = urls.get(html_lib.unescape(match.group(2)))
        if url is None:
            return match.group(0)
        return f"{match.group(1)}{html_lib.escape(url)}{match.group(3)}"

    return mark_safe(_CID_SRC.sub(replace, html))  # sanitized just above


@require_GET
def history_link_page(request: HttpRequest, token: str) -> HttpResponse:
    """The contact's exchanges on the ticket, as they stood when the link was sent."""
    opened = _open(request, token)
    if isinstance(opened, HttpResponse):
        return opened
    language = _language(request, opened)
    rows = []
    for m in history_messages(opened):
        rows.append(
            {
                "message": m,
                "html": _body(m, token) if m.body_html else None,
                "attachments": [a for a in m.attachments.all() if not a.is_inline],
            }
        )
    context = {
        "ticket": opened.ticket,
        "link": opened.link,
        "rows": rows,
        "token": token,
        "language": language,
        "other_language": "en" if language == "fr" else "fr",
    }
    with translation.override(language):
        response = render(request, "responses/history_page.html", context)
    response["Content-Language"] = language
    response["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'self' 'unsafe-inline'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
    return _private(response)


@require_GET
def history_link_attachment(
    request: HttpRequest, token: str, attachment_id: int
) -> HttpResponseBase:
    """A file of one of the shown messages, through the same token and the same checks."""
    opened = _open(request, token)
    if isinstance(opened, HttpResponse):
        return opened
    attachment = history_attachment(opened, attachment_id)
    if attachment is None:
        return _refusal(request, 403)
    return _private(
        safe_file_response(attachment.file, attachment.filename, attachment.content_type)
    )

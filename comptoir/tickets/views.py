"""Agent pages on tickets: the inbox, the ticket page and attachment downloads."""

from __future__ import annotations

import unicodedata
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from comptoir.accounts.models import User
from comptoir.accounts.selectors import queue_list, workspace_list
from comptoir.channels.email.replies import reply_recipient
from comptoir.core.errors import NotFound
from comptoir.core.files import safe_file_response
from comptoir.core.htmx import render_page_or_partial, wants_partial
from comptoir.solicitations.timeline import group_threads
from comptoir.tickets.models import (
    Channel,
    Priority,
    Status,
    Ticket,
)
from comptoir.tickets.selectors import (
    ALL,
    MINE,
    OPEN,
    UNASSIGNED,
    UNREAD_COUNT_CAP,
    UNREAD_FILTER_CAP,
    InboxFilters,
    attachment_get,
    inbox_status_counts,
    inbox_version,
    row_stamps,
    ticket_get,
    ticket_list,
    ticket_page_stamps,
    unread_count,
)
from comptoir.tickets.selectors_timeline import ticket_timeline_folded
from comptoir.tickets.timeline_rows import timeline_rows

TIMELINE_SHOW = ("all", "messages", "events")
# Histories longer than this open folded: the first item, a link, the latest items.
TIMELINE_FOLD_AT = 40
TIMELINE_KEEP_LATEST = 25


def _page_number(value: str | None) -> int:
    try:
        return max(1, int(value or 1))
    except ValueError:
        return 1


def _agent(request: HttpRequest) -> User:
    # Every view here is behind login_required: the user is an agent, never anonymous.
    return cast(User, request.user)


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    """Tickets the agent may see, those needing attention first, filtered and paginated.

    The page polls itself with its version stamp in `X-Inbox-Version`: the answer is 204
    while nothing it shows has changed, so that polling costs the counts and the page's
    index reads, never loading or rendering tickets.
    """
    user = _agent(request)
    filters = InboxFilters.from_params(request.GET)
    counts = inbox_status_counts(user=user, filters=filters)
    unread = unread_count(user=user, filters=filters)
    page_number = _page_number(request.GET.get("page"))
    known = request.headers.get("X-Inbox-Version")
    if known and wants_partial(request):
        stamps = ticket_page_stamps(
            user=user, filters=filters, page=page_number, total=counts[filters.status]
        )
        if known == inbox_version(counts=counts, unread=unread, page=page_number, stamps=stamps):
            return HttpResponse(status=204)
    # The tab of the current status already holds the page's total.
    page = ticket_list(user=user, filters=filters, page=page_number, total=counts[filters.status])
    workspaces = list(workspace_list(user=user))
    queues = list(queue_list(user=user, workspace_id=filters.workspace_id))
    _prepare_inbox_rows(page.tickets, {w.pk: w.name for w in workspaces})
    queue_groups: dict[str, list[Any]] = {}
    for queue in queues:
        queue_groups.setdefault(queue.workspace.name, []).append(queue)
    status_tabs = [(ALL, _("All"), counts[ALL]), (OPEN, _("Open"), counts[OPEN])] + [
        (value, label, counts[value]) for value, label in Status.choices
    ]
    context = {
        "page": page,
        "filters": filters,
        "status_tabs": status_tabs,
        "channels": Channel.choices,
        "queue_groups": sorted(queue_groups.items()),
        "workspaces": workspaces,
        "show_workspace": len(workspaces) > 1,
        "assignee_choices": [("", _("Everyone")), (MINE, _("Mine")), (UNASSIGNED, _("Unassigned"))],
        "is_filtered": bool(
            filters.channel
            or filters.queue_id
            or filters.assignee
            or filters.workspace_id
            or filters.unread
        ),
        "unread_count": unread,
        "unread_capped": unread > UNREAD_COUNT_CAP,
        "unread_cap": UNREAD_COUNT_CAP,
        # Under the unread filter the counts stop at a cap: say so rather than mislead.
        "unread_filter_capped": filters.unread and counts[ALL] > UNREAD_FILTER_CAP,
        "unread_filter_cap": UNREAD_FILTER_CAP,
        # The version the page was rendered at: the page's own requests carry it.
        "version": inbox_version(
            counts=counts, unread=unread, page=page_number, stamps=row_stamps(page.tickets)
        ),
        "poll_ms": int(getattr(settings, "INBOX_POLL_SECONDS", 10) * 1000),
    }
    return render_page_or_partial(request, "tickets/inbox.html", "inbox-results", context)


def _truncated(text: str, length: int) -> str:
    """`truncatechars`, without its walk over every character when no cut is possible."""
    text = unicodedata.normalize("NFC", text)
    return text if len(text) <= length else Truncator(text).chars(length)


def _prepare_inbox_rows(tickets: list[Ticket], workspace_names: dict[int, str]) -> None:
    """Give each ticket of the page the strings its row shows, computed once per page.

    In the template each of these costs a variable lookup chain, a `get_FOO_display` (which
    rebuilds the choices dict on every call), a `{% url %}` or a date filter per row: about
    two thirds of the inbox's time went into rendering 25 rows that way.
    """
    channels = {value: str(label) for value, label in Channel.choices}
    statuses = {value: str(label) for value, label in Status.choices}
    priorities = {value: str(label) for value, label in Priority.choices}
    no_subject = _("(no subject)")
    time_format = get_format("SHORT_DATETIME_FORMAT")
    # Every ticket URL has the same shape: reverse once, then fill in each id.
    url_pattern = reverse("ticket_detail", args=[987654321]).replace("987654321", "{}")
    for ticket in tickets:
        created = timezone.localtime(ticket.created_at)
        assignee = ticket.assignee
        ticket.row = {  # type: ignore[attr-defined]
            "url": url_pattern.format(ticket.pk),
            "subject": _truncated(ticket.subject, 120) if ticket.subject else no_subject,
            "requester": ticket.requester_label or "—",
            "channel": channels.get(ticket.channel, ticket.channel),
            "status": statuses.get(ticket.status, ticket.status),
            "priority": priorities.get(ticket.priority, ticket.priority),
            "workspace": workspace_names.get(ticket.workspace_id, ""),
            "assignee": str(assignee) if assignee else "",
            "initials": assignee.initials if assignee else "",
            "created_iso": created.isoformat(),
            "created": dateformat.format(created, time_format),
        }
        ticket.workspace_name = ticket.row["workspace"]  # type: ignore[attr-defined]


@login_required
@require_GET
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The ticket's header and its timeline of messages and events, oldest first."""
    try:
        ticket = ticket_get(user=_agent(request), ticket_id=ticket_id)
    except NotFound as exc:
        raise Http404 from exc
    show = request.GET.get("show", ALL)
    if show not in TIMELINE_SHOW:
        show = ALL
    # A long history opens on its first item and its latest ones, as mail clients fold a
    # long thread: the page stays fast to render and the agent lands on what is new.
    full = request.GET.get("full") == "1"
    timeline = ticket_timeline_folded(
        ticket=ticket,
        kinds=show,
        fold_at=None if full else TIMELINE_FOLD_AT,
        keep_latest=TIMELINE_KEEP_LATEST,
    )
    context = {
        "ticket": ticket,
        "rows": group_threads(ticket=ticket, rows=timeline_rows(timeline.items)),
        "hidden_count": timeline.hidden_count,
        # The composer's collision check, known from the timeline without a query.
        "newest_message_id": timeline.newest_message_id,
        "reply_to_address": reply_recipient(ticket=ticket),
        "show": show,
        "show_choices": [
            ("all", _("Everything")),
            ("messages", _("Messages only")),
            ("events", _("Events only")),
        ],
    }
    return render_page_or_partial(request, "tickets/ticket_detail.html", "ticket-main", context)


@login_required
@require_GET
def attachment_download(request: HttpRequest, attachment_id: int) -> FileResponse:
    """Serve an attachment as a download that browsers never render or sniff."""
    try:
        attachment = attachment_get(user=_agent(request), attachment_id=attachment_id)
    except NotFound as exc:
        raise Http404 from exc
    return safe_file_response(attachment.file, attachment.filename, attachment.content_type)

"""Reads on tickets, always scoped to the workspaces the acting user holds a role in."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL

from comptoir.accounts.models import User
from comptoir.accounts.rights import visible_workspace_ids
from comptoir.core.errors import NotFound
from comptoir.tickets.models import (
    Attachment,
    Channel,
    Event,
    InboxCount,
    Message,
    MessageKind,
    Status,
    Ticket,
)

OPEN = "open"
ALL = "all"
MINE = "mine"
UNASSIGNED = "unassigned"


@dataclass(frozen=True)
class InboxFilters:
    """The inbox's filters; every value has been checked against its choices."""

    status: str = ALL  # all | open | a Status value
    channel: str = ""  # "" or a Channel value
    queue_id: int | None = None
    assignee: str = ""  # "" | mine | unassigned
    workspace_id: int | None = None

    @classmethod
    def from_params(cls, params: Any) -> InboxFilters:
        """Build filters from query parameters, ignoring values that are not valid choices."""
        status = params.get("status") or ALL
        if status not in (ALL, OPEN, *Status.values):
            status = ALL
        channel = params.get("channel") or ""
        if channel not in Channel.values:
            channel = ""
        assignee = params.get("assignee") or ""
        if assignee not in (MINE, UNASSIGNED):
            assignee = ""
        return cls(
            status=status,
            channel=channel,
            queue_id=_int_or_none(params.get("queue")),
            assignee=assignee,
            workspace_id=_int_or_none(params.get("workspace")),
        )


def _int_or_none(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


@dataclass
class InboxPage:
    tickets: list[Ticket]
    page: int
    page_size: int
    total: int
    num_pages: int = field(init=False)

    def __post_init__(self) -> None:
        self.num_pages = max(1, math.ceil(self.total / self.page_size))

    @property
    def has_next(self) -> bool:
        return self.page < self.num_pages

    @property
    def has_previous(self) -> bool:
        return self.page > 1


def _scope(user: User, filters: InboxFilters) -> list[int]:
    workspace_ids = visible_workspace_ids(user)
    if filters.workspace_id is not None:
        workspace_ids = [w for w in workspace_ids if w == filters.workspace_id]
    return workspace_ids


def _filtered(qs: QuerySet[Any], user: User, filters: InboxFilters, *, on_counts: bool) -> Any:
    if filters.status == OPEN:
        qs = qs.exclude(status=Status.CLOSED)
    elif filters.status != ALL:
        qs = qs.filter(status=filters.status)
    if filters.channel:
        qs = qs.filter(channel=filters.channel)
    if filters.queue_id is not None:
        qs = qs.filter(queue_id=filters.queue_id)
    assignee_field = "assignee_key" if on_counts else "assignee_id"
    if filters.assignee == MINE:
        qs = qs.filter(**{assignee_field: user.pk})
    elif filters.assignee == UNASSIGNED:
        qs = qs.filter(**({"assignee_key": 0} if on_counts else {"assignee__isnull": True}))
    return qs


def ticket_list(
    *,
    user: User,
    filters: InboxFilters,
    page: int = 1,
    page_size: int | None = None,
    total: int | None = None,
) -> InboxPage:
    """One page of the tickets the user may see, newest first, with the exact total.

    `total`, when the caller already has it (from `inbox_status_counts`), saves a query.
    """
    page_size = page_size or settings.INBOX_PAGE_SIZE
    workspace_ids = _scope(user, filters)
    if total is None:
        total = inbox_total(user=user, filters=filters, workspace_ids=workspace_ids)
    num_pages = max(1, math.ceil(total / page_size))
    page = min(max(1, page), num_pages)
    if not workspace_ids or total == 0:
        return InboxPage(tickets=[], page=1, page_size=page_size, total=0)
    qs = _filtered(Ticket.objects.all(), user, filters, on_counts=False)
    offset = (page - 1) * page_size
    tickets = list(
        _newest(qs, workspace_ids, offset + page_size)
        .select_related("queue", "contact", "assignee")
        .order_by("-created_at", "-id")[offset : offset + page_size]
    )
    return InboxPage(tickets=tickets, page=page, page_size=page_size, total=total)


def _newest(qs: QuerySet[Ticket], workspace_ids: list[int], limit: int) -> QuerySet[Ticket]:
    """`qs` limited to the `limit` newest tickets of each workspace, still one query.

    `workspace_id IN (a, b) ORDER BY created_at` cannot walk one index in order, so both
    databases read and sort every matching row (seconds at a million tickets). One index
    range per workspace, each stopping at `limit`, reads at most `limit` rows per workspace;
    the outer query then sorts those few.
    """
    if len(workspace_ids) == 1:
        return qs.filter(workspace_id=workspace_ids[0])
    parts: list[str] = []
    params: list[object] = []
    for i, workspace_id in enumerate(workspace_ids):
        newest = (qs.filter(workspace_id=workspace_id).order_by("-created_at", "-id").values("pk"))[
            :limit
        ]
        sql, sub_params = newest.query.sql_with_params()
        parts.append(f"SELECT * FROM ({sql}) AS w{i}")
        params.extend(sub_params)
    # Our own compiled SQL and parameters: nothing from the request is spliced in.
    ids = RawSQL(" UNION ALL ".join(parts), params)
    return qs.filter(pk__in=ids, workspace_id__in=workspace_ids)


def ticket_list_after(
    *,
    user: User,
    filters: InboxFilters,
    after: tuple[datetime, int] | None,
    limit: int,
) -> list[Ticket]:
    """Keyset page for the API: tickets strictly older than the (created_at, id) cursor."""
    workspace_ids = _scope(user, filters)
    if not workspace_ids:
        return []
    qs = _filtered(Ticket.objects.all(), user, filters, on_counts=False)
    if after is not None:
        created_at, pk = after
        qs = qs.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=pk))
    return list(
        _newest(qs, workspace_ids, limit)
        .select_related("queue", "contact", "assignee", "workspace")
        .order_by("-created_at", "-id")[:limit]
    )


def inbox_total(
    *, user: User, filters: InboxFilters, workspace_ids: list[int] | None = None
) -> int:
    """Exact number of tickets matching the filters, read from the maintained counts."""
    if workspace_ids is None:
        workspace_ids = _scope(user, filters)
    if not workspace_ids:
        return 0
    qs = _filtered(
        InboxCount.objects.filter(workspace_id__in=workspace_ids), user, filters, on_counts=True
    )
    return int(qs.aggregate(n=Sum("count"))["n"] or 0)


def inbox_status_counts(*, user: User, filters: InboxFilters) -> dict[str, int]:
    """Counts per status (and "open", "all") under the other filters, for the inbox tabs."""
    workspace_ids = _scope(user, filters)
    base = InboxFilters(
        status=ALL,
        channel=filters.channel,
        queue_id=filters.queue_id,
        assignee=filters.assignee,
        workspace_id=filters.workspace_id,
    )
    counts = {s: 0 for s in Status.values}
    if workspace_ids:
        rows = (
            _filtered(
                InboxCount.objects.filter(workspace_id__in=workspace_ids),
                user,
                base,
                on_counts=True,
            )
            .values("status")
            .annotate(n=Sum("count"))
            .order_by()
        )
        for row in rows:
            counts[row["status"]] = int(row["n"] or 0)
    counts[ALL] = sum(counts[s] for s in Status.values)
    counts[OPEN] = counts[ALL] - counts[Status.CLOSED]
    return counts


def ticket_get(*, user: User, ticket_id: int) -> Ticket:
    """The ticket if the user may see it; NotFound otherwise (foreign tenants included)."""
    ticket = (
        Ticket.objects.filter(pk=ticket_id, workspace_id__in=visible_workspace_ids(user))
        .select_related("workspace", "queue", "contact", "assignee", "contact_reason")
        .first()
    )
    if ticket is None:
        raise NotFound("ticket")
    return ticket


@dataclass(frozen=True)
class TimelineItem:
    kind: str  # "message" | "event"
    created_at: datetime
    message: Message | None = None
    event: Event | None = None


def ticket_timeline(*, ticket: Ticket, kinds: str = ALL) -> list[TimelineItem]:
    """Messages and history events of a ticket, oldest first (kinds: all|messages|events)."""
    items: list[TimelineItem] = []
    if kinds in (ALL, "messages"):
        messages = (
            Message.objects.filter(ticket=ticket)
            .select_related("author")
            .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("id")))
            .order_by("created_at", "id")
        )
        items += [TimelineItem("message", m.created_at, message=m) for m in messages]
    if kinds in (ALL, "events"):
        events = (
            Event.objects.filter(ticket=ticket)
            .select_related("author")
            .order_by("created_at", "id")
        )
        items += [TimelineItem("event", e.created_at, event=e) for e in events]
    # Stable: at equal times, events (ticket created) come before the message that made them.
    items.sort(key=lambda i: (i.created_at, 0 if i.kind == "event" else 1))
    return items


def attachment_get(*, user: User, attachment_id: int) -> Attachment:
    """An attachment of a ticket the user may see."""
    attachment = (
        Attachment.objects.filter(
            pk=attachment_id, message__ticket__workspace_id__in=visible_workspace_ids(user)
        )
        .select_related("message")
        .first()
    )
    if attachment is None:
        raise NotFound("attachment")
    return attachment


def contact_visible_messages(*, ticket: Ticket) -> QuerySet[Message]:
    """Messages a contact may ever see on this ticket (never notes nor solicitations)."""
    return Message.objects.filter(
        ticket=ticket, kind__in=[MessageKind.INBOUND, MessageKind.OUTBOUND, MessageKind.AUTOMATIC]
    ).order_by("created_at", "id")

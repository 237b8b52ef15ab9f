"""Ticket routes: the inbox list (keyset pages), one ticket with its timeline, read state."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.errors import HttpError, ValidationError

from comptoir.accounts.rights import visible_workspace_ids
from comptoir.api.auth import agent
from comptoir.api.pagination import InvalidCursor, list_cursor_decode, list_cursor_encode
from comptoir.api.schemas import (
    ErrorOut,
    TicketDetail,
    TicketPage,
    ValidationErrorOut,
    ticket_item,
    timeline_entry,
)
from comptoir.core.errors import NotFound
from comptoir.tickets.models import Channel, Status
from comptoir.tickets.selectors import (
    ATTENTION_FIRST,
    ORDERS,
    InboxFilters,
    inbox_total,
    list_cursor,
    ticket_get,
    ticket_list_after,
)
from comptoir.tickets.selectors_timeline import ticket_timeline_folded
from comptoir.tickets.services import ticket_mark_read, ticket_mark_unread

router = Router(tags=["tickets"])


def _filters(params: dict[str, Any]) -> InboxFilters:
    """The inbox's own parsing, but a value it would silently drop is a 422 here."""
    filters = InboxFilters.from_params(params)
    kept = {
        "status": filters.status,
        "channel": filters.channel,
        "assignee": filters.assignee,
        "queue": filters.queue_id,
        "workspace": filters.workspace_id,
        "unread": filters.unread,
    }
    errors = [
        {
            "loc": ["query", name],
            "msg": f"invalid value {value!r}",
            "type": "value_error",
        }
        for name, value in params.items()
        if value is not None and value != "" and value is not False and kept[name] != value
    ]
    if errors:
        raise ValidationError(errors)
    return filters


@router.get(
    "/tickets",
    response={200: TicketPage, 400: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="List tickets",
    description=(
        "Tickets the agent may see, with the inbox's filters. Default order `attention`, "
        "as the inbox: new tickets and tickets with an unread inbound message first, latest "
        "activity first, then the others newest first; a ticket moves to the front when a "
        "message arrives, so to walk every ticket once use `order=newest` (creation time, "
        "which never changes). Keyset pagination: follow `next_cursor` until it is null. "
        "`total` counts every page."
    ),
)
def tickets_list(
    request: HttpRequest,
    status: str | None = Query(
        None, description="all (default), open (not closed), or " + ", ".join(Status.values)
    ),
    channel: str | None = Query(None, description="One of " + ", ".join(Channel.values)),
    queue: int | None = Query(None, description="Queue id"),
    assignee: str | None = Query(None, description="mine or unassigned"),
    workspace: int | None = Query(None, description="Workspace id"),
    unread: bool = Query(False, description="Only tickets with an unread inbound message"),
    order: str = Query(ATTENTION_FIRST, description="attention (default) or newest"),
    cursor: str | None = Query(None, description="`next_cursor` of the previous page"),
    limit: int = Query(25, ge=1, le=100),
) -> dict[str, Any]:
    user = agent(request)
    filters = _filters(
        {
            "status": status,
            "channel": channel,
            "assignee": assignee,
            "queue": queue,
            "workspace": workspace,
            "unread": unread,
        }
    )
    if order not in ORDERS:
        raise ValidationError(
            [{"loc": ["query", "order"], "msg": f"invalid value {order!r}", "type": "value_error"}]
        )
    if filters.workspace_id is not None and filters.workspace_id not in visible_workspace_ids(user):
        raise NotFound("workspace")
    after = None
    if cursor:
        try:
            after = list_cursor_decode(cursor)
        except InvalidCursor:
            raise HttpError(400, "Invalid cursor.") from None
    # One row more than asked tells whether another page exists without a second query.
    rows = ticket_list_after(user=user, filters=filters, after=after, limit=limit + 1, order=order)
    page = rows[:limit]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = list_cursor_encode(list_cursor(page[-1], order=order))
    return {
        "items": [ticket_item(t) for t in page],
        "next_cursor": next_cursor,
        "total": inbox_total(user=user, filters=filters),
    }


@router.get(
    "/tickets/{ticket_id}",
    response={200: TicketDetail, 404: ErrorOut},
    summary="Get a ticket with its timeline",
)
def tickets_detail(request: HttpRequest, ticket_id: int) -> dict[str, Any]:
    ticket = ticket_get(user=agent(request), ticket_id=ticket_id)
    data = ticket_item(ticket)
    data["contact_reason"] = (
        {"id": ticket.contact_reason.pk, "name": ticket.contact_reason.name}
        if ticket.contact_reason
        else None
    )
    timeline = ticket_timeline_folded(ticket=ticket, fold_at=None)  # the API never folds
    data["timeline"] = [timeline_entry(item) for item in timeline.items]
    return data


class ReadStateOut(Schema):
    id: int
    has_unread: bool


@router.post(
    "/tickets/{ticket_id}/read",
    response={200: ReadStateOut, 404: ErrorOut},
    summary="Mark a ticket read",
    description=(
        "Records that the calling agent read every inbound message of the ticket and clears "
        "its unread badge for everyone (the inbox marks a ticket read after 3 seconds on "
        "screen)."
    ),
)
def tickets_read(request: HttpRequest, ticket_id: int) -> dict[str, Any]:
    user = agent(request)
    ticket = ticket_get(user=user, ticket_id=ticket_id)
    ticket_mark_read(ticket=ticket, agent=user)
    return {"id": ticket.pk, "has_unread": ticket.has_unread}


@router.post(
    "/tickets/{ticket_id}/unread",
    response={200: ReadStateOut, 404: ErrorOut},
    summary="Mark a ticket unread again",
    description="Shows the unread badge again, for every agent; recorded in the history.",
)
def tickets_unread(request: HttpRequest, ticket_id: int) -> dict[str, Any]:
    user = agent(request)
    ticket = ticket_get(user=user, ticket_id=ticket_id)
    ticket_mark_unread(ticket=ticket, agent=user)
    return {"id": ticket.pk, "has_unread": ticket.has_unread}

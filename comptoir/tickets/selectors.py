"""Reads on tickets, always scoped to the workspaces the acting user holds a role in."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import F, OrderBy, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce

from comptoir.accounts.models import User
from comptoir.accounts.rights import visible_workspace_ids
from comptoir.core.errors import NotFound
from comptoir.core.joined_rows import BIGINT_MAX, id_in, load_joined
from comptoir.tickets.models import (
    Attachment,
    Channel,
    InboxCount,
    Message,
    Status,
    Ticket,
)

OPEN = "open"
ALL = "all"
MINE = "mine"
UNASSIGNED = "unassigned"

# Orders of a list: tickets needing attention first (the inbox), or plain newest first.
ATTENTION_FIRST = "attention"
NEWEST = "newest"
ORDERS = (ATTENTION_FIRST, NEWEST)

# New tickets, and tickets with an inbound message no agent has read: they lead the inbox.
# Written exactly as the condition of the partial index `ticket_ws_attention`, so that both
# databases recognise the index from the query.
ATTENTION = Q(has_unread=True) | Q(status=Status.NEW)
# Beyond this many unread tickets the inbox says "99+": counting them costs a read each.
UNREAD_COUNT_CAP = 99
# Under the unread filter, the tabs and the pager count at most this many (then say so).
UNREAD_FILTER_CAP = 1000


def activity() -> Coalesce:
    """Last activity of a ticket, the key of `ticket_ws_attention` (a new message moves it)."""
    return Coalesce("last_message_at", "created_at")


def _attention_order() -> tuple[OrderBy, OrderBy]:
    return (activity().desc(), F("id").desc())


_NEWEST_ORDER = ("-created_at", "-id")
# A workspace id no row has, compiled into `_newest`'s SQL once then replaced by each id.
_ANY_WORKSPACE = -917_364_285


@dataclass(frozen=True)
class InboxFilters:
    """The inbox's filters; every value has been checked against its choices."""

    status: str = ALL  # all | open | a Status value
    channel: str = ""  # "" or a Channel value
    queue_id: int | None = None
    assignee: str = ""  # "" | mine | unassigned
    workspace_id: int | None = None
    unread: bool = False  # only tickets with an unread inbound message

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
            unread=str(params.get("unread") or "").lower() in ("1", "true", "on", "yes"),
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
    if filters.unread and not on_counts:
        # The counts table knows nothing of read state: callers count unread tickets apart.
        qs = qs.filter(has_unread=True)
    return qs


def ticket_list(
    *,
    user: User,
    filters: InboxFilters,
    page: int = 1,
    page_size: int | None = None,
    total: int | None = None,
) -> InboxPage:
    """One page of the tickets the user may see, in the inbox's order, with the exact total.

    The order: new tickets and tickets with an unread inbound message first, latest
    activity first (a new message moves its ticket up); then every other ticket, newest
    first. `total`, when the caller already has it (from `inbox_status_counts`), saves a
    query.
    """
    page_size = page_size or settings.INBOX_PAGE_SIZE
    workspace_ids = _scope(user, filters)
    if total is None:
        total = inbox_total(user=user, filters=filters, workspace_ids=workspace_ids)
    num_pages = max(1, math.ceil(total / page_size))
    page = min(max(1, page), num_pages)
    if not workspace_ids or total == 0:
        return InboxPage(tickets=[], page=1, page_size=page_size, total=0)
    tickets = _attention_first_page(
        user,
        filters,
        workspace_ids,
        (page - 1) * page_size,
        page_size,
        lambda qs: qs.select_related("queue", "contact", "assignee"),
    )
    return InboxPage(tickets=tickets, page=page, page_size=page_size, total=total)


# What the inbox's live refresh compares: a row changes when any of these does (every
# service write stamps updated_at; reading a ticket only flips has_unread).
_ROW_STAMP_FIELDS = ("pk", "updated_at", "has_unread")


def ticket_page_stamps(
    *, user: User, filters: InboxFilters, page: int, total: int, page_size: int | None = None
) -> list[tuple[Any, ...]]:
    """The (id, updated_at, has_unread) of the rows `ticket_list` would show on that page.

    The same index reads as the page itself, without loading or rendering the tickets: what
    the inbox's poll costs when nothing changed.
    """
    page_size = page_size or settings.INBOX_PAGE_SIZE
    workspace_ids = _scope(user, filters)
    num_pages = max(1, math.ceil(total / page_size))
    page = min(max(1, page), num_pages)
    if not workspace_ids or total == 0:
        return []
    return _attention_first_page(
        user,
        filters,
        workspace_ids,
        (page - 1) * page_size,
        page_size,
        lambda qs: qs.values_list(*_ROW_STAMP_FIELDS),
    )


def row_stamps(tickets: Sequence[Ticket]) -> list[tuple[Any, ...]]:
    """`ticket_page_stamps` computed from tickets already loaded."""
    return [(t.pk, t.updated_at, t.has_unread) for t in tickets]


def inbox_version(
    *, counts: dict[str, int], unread: int, page: int, stamps: Sequence[tuple[Any, ...]]
) -> str:
    """A short stamp of everything an inbox page shows that another agent's work can change."""
    text = repr((sorted(counts.items()), unread, page, [tuple(map(str, s)) for s in stamps]))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _has_rest(filters: InboxFilters) -> bool:
    # Under these filters every ticket needs attention: nothing comes after that part.
    return not filters.unread and filters.status != Status.NEW


def _not_attention(qs: QuerySet[Ticket]) -> QuerySet[Ticket]:
    return qs.filter(has_unread=False).exclude(status=Status.NEW)


def _attention_first_page(
    user: User,
    filters: InboxFilters,
    workspace_ids: list[int],
    offset: int,
    size: int,
    finish: Callable[[QuerySet[Ticket]], QuerySet[Any]],
) -> list[Any]:
    """`size` rows from `offset` of the attention part followed by the rest, `finish`ed.

    Each part is read in its own index order (`ticket_ws_attention`, then the newest-first
    indexes); the attention part is counted only when the page starts past its end.
    """
    qs = _filtered(Ticket.objects.all(), user, filters, on_counts=False)
    attention = qs.filter(ATTENTION)
    order = _attention_order()
    rows = list(
        finish(_newest(attention, workspace_ids, offset + size, order).order_by(*order))[
            offset : offset + size
        ]
    )
    if len(rows) == size or not _has_rest(filters):
        return rows
    if rows or offset == 0:
        rest_offset = 0
    else:
        rest_offset = offset - attention.filter(workspace_id__in=workspace_ids).count()
    wanted = size - len(rows)
    rest = _not_attention(qs)
    rows += list(
        finish(
            _newest(rest, workspace_ids, rest_offset + wanted, _NEWEST_ORDER).order_by(
                *_NEWEST_ORDER
            )
        )[rest_offset : rest_offset + wanted]
    )
    return rows


def _newest(
    qs: QuerySet[Ticket],
    workspace_ids: list[int],
    limit: int,
    order: Sequence[Any] = _NEWEST_ORDER,
) -> QuerySet[Ticket]:
    """`qs` limited to the `limit` first tickets of each workspace in `order`, still one query.

    `workspace_id IN (a, b) ORDER BY created_at` cannot walk one index in order, so both
    databases read and sort every matching row (seconds at a million tickets). One index
    range per workspace, each stopping at `limit`, reads at most `limit` rows per workspace;
    the outer query then sorts those few (the caller orders it again by `order`).
    """
    if len(workspace_ids) == 1:
        return qs.filter(workspace_id=workspace_ids[0])
    # Each range differs only by its workspace parameter: compile the SQL once (compiling
    # costs more than running it) and fill in each workspace.
    first = qs.filter(workspace_id=_ANY_WORKSPACE).order_by(*order).values("pk")[:limit]
    sql, sub_params = first.query.sql_with_params()
    slots = [i for i, value in enumerate(sub_params) if value == _ANY_WORKSPACE]
    parts: list[str] = []
    params: list[object] = []
    for i, workspace_id in enumerate(workspace_ids):
        if len(slots) == 1:
            own = list(sub_params)
            own[slots[0]] = workspace_id
        else:  # the placeholder value was not a lone parameter: compile this one
            one = qs.filter(workspace_id=workspace_id).order_by(*order).values("pk")[:limit]
            sql, own_params = one.query.sql_with_params()
            own = list(own_params)
        parts.append(f"SELECT * FROM ({sql}) AS w{i}")
        params.extend(own)
    # Our own compiled SQL and parameters: nothing from the request is spliced in.
    ids = RawSQL(" UNION ALL ".join(parts), params)
    return qs.filter(pk__in=ids, workspace_id__in=workspace_ids)


@dataclass(frozen=True)
class ListCursor:
    """Where a keyset page stopped: the part (0 attention, 1 the rest), its key and id."""

    part: int
    key: datetime
    pk: int


def list_cursor(ticket: Ticket, *, order: str) -> ListCursor:
    """The cursor that continues a list after `ticket`."""
    if order == ATTENTION_FIRST and (ticket.has_unread or ticket.status == Status.NEW):
        return ListCursor(0, ticket.last_message_at or ticket.created_at, ticket.pk)
    return ListCursor(1, ticket.created_at, ticket.pk)


def ticket_list_after(
    *,
    user: User,
    filters: InboxFilters,
    after: ListCursor | None,
    limit: int,
    order: str = NEWEST,
) -> list[Ticket]:
    """Keyset page for the API, in `order` (newest: created_at; attention: as the inbox).

    The newest-first order never changes under a client walking it; the attention order
    does (a ticket with a new message moves to the front), as the inbox does.
    """
    workspace_ids = _scope(user, filters)
    if not workspace_ids:
        return []
    qs = _filtered(Ticket.objects.all(), user, filters, on_counts=False)

    def finish(part: QuerySet[Ticket], part_order: Sequence[Any], n: int) -> list[Ticket]:
        return list(
            _newest(part, workspace_ids, n, part_order)
            .select_related("queue", "contact", "assignee", "workspace")
            .order_by(*part_order)[:n]
        )

    def older(part: QuerySet[Ticket], field_name: str, cursor: ListCursor) -> QuerySet[Ticket]:
        before = Q(**{f"{field_name}__lt": cursor.key})
        return part.filter(before | Q(**{field_name: cursor.key, "id__lt": cursor.pk}))

    if order == NEWEST:
        if after is not None:
            qs = older(qs, "created_at", after)
        return finish(qs, _NEWEST_ORDER, limit)
    rows: list[Ticket] = []
    if after is None or after.part == 0:
        attention = qs.filter(ATTENTION).alias(activity=activity())
        if after is not None:
            attention = older(attention, "activity", after)
        rows = finish(attention, _attention_order(), limit)
        if len(rows) == limit or not _has_rest(filters):
            return rows
        after = None
    rest = _not_attention(qs)
    if after is not None:
        rest = older(rest, "created_at", after)
    return rows + finish(rest, _NEWEST_ORDER, limit - len(rows))


def _unread_tickets(user: User, filters: InboxFilters, workspace_ids: list[int]) -> QuerySet[Any]:
    # Every column these filters read is in the partial index `ticket_ws_unread`: counting
    # fetches no table row.
    return _filtered(
        Ticket.objects.filter(workspace_id__in=workspace_ids),
        user,
        replace(filters, unread=True),
        on_counts=False,
    )


def _first_rows(
    qs: QuerySet[Any], workspace_ids: list[int], limit: int, column: str
) -> tuple[str, list[Any]]:
    """SQL of `column` for at most `limit` rows of `qs` per workspace, in no order.

    Each workspace's range stops at `limit`; selecting only indexed columns lets the database
    answer from the index alone.
    """
    parts: list[str] = []
    params: list[Any] = []
    for i, workspace_id in enumerate(workspace_ids):
        one = qs.filter(workspace_id=workspace_id).order_by().values(column)[:limit]
        sql, own = one.query.sql_with_params()
        parts.append(f"SELECT * FROM ({sql}) AS w{i}")
        params.extend(own)
    return " UNION ALL ".join(parts), params


def unread_count(*, user: User, filters: InboxFilters, cap: int = UNREAD_COUNT_CAP) -> int:
    """Tickets with an unread inbound message under the other filters, up to `cap` + 1.

    Reads the partial index `ticket_ws_unread` of each workspace and stops after `cap` + 1
    entries, so the cost does not grow with the backlog (the inbox shows "99+").
    """
    workspace_ids = _scope(user, filters)
    if not workspace_ids:
        return 0
    sql, params = _first_rows(
        _unread_tickets(user, filters, workspace_ids), workspace_ids, cap + 1, "pk"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS unread", params)
        return min(cap + 1, int(cursor.fetchone()[0]))


def inbox_total(
    *, user: User, filters: InboxFilters, workspace_ids: list[int] | None = None
) -> int:
    """Exact number of tickets matching the filters, read from the maintained counts.

    Under the unread filter, counted from the partial attention index instead, up to
    `UNREAD_FILTER_CAP` + 1.
    """
    if workspace_ids is None:
        workspace_ids = _scope(user, filters)
    if not workspace_ids:
        return 0
    if filters.unread:
        return unread_count(user=user, filters=filters, cap=UNREAD_FILTER_CAP)
    qs = _filtered(
        InboxCount.objects.filter(workspace_id__in=workspace_ids), user, filters, on_counts=True
    )
    return int(qs.aggregate(n=Sum("count"))["n"] or 0)


def inbox_status_counts(*, user: User, filters: InboxFilters) -> dict[str, int]:
    """Counts per status (and "open", "all") under the other filters, for the inbox tabs."""
    workspace_ids = _scope(user, filters)
    base = replace(filters, status=ALL)
    counts = {s: 0 for s in Status.values}
    if workspace_ids:
        if filters.unread:
            # From the partial index: a read per unread ticket, so at most the first
            # UNREAD_FILTER_CAP + 1 of each workspace (exact at a desk whose agents keep up).
            sql, params = _first_rows(
                _unread_tickets(user, base, workspace_ids),
                workspace_ids,
                UNREAD_FILTER_CAP + 1,
                "status",
            )
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT status, COUNT(*) FROM ({sql}) AS unread GROUP BY status", params
                )
                rows = [{"status": status, "n": n} for status, n in cursor.fetchall()]
        else:
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
    # Every ticket page and action starts here: a plain join (load_joined) spares the ORM's
    # ~1 ms of building this six-table select_related on each call.
    workspaces = visible_workspace_ids(user)
    # Out of the key's range (a forged URL), the ORM answers "no row"; a plain query would
    # fail on the conversion.
    if not workspaces or not isinstance(ticket_id, int) or not 0 < ticket_id <= BIGINT_MAX:
        raise NotFound("ticket")
    quote = connection.ops.quote_name
    matching, params = id_in(workspaces)
    found = load_joined(
        Ticket,
        where=f"t.{quote('id')} = %s AND t.{quote('workspace_id')} {matching}",
        params=[ticket_id, *params],
        related=("workspace", "queue", "contact", "assignee", "contact_reason"),
    )
    if not found:
        raise NotFound("ticket")
    return found[0]


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
    """Messages a contact may ever see on this ticket (never notes nor solicitations).

    The one filter for everything customer-facing: CONTACT_VISIBLE_KINDS.
    """
    from comptoir.tickets.models import CONTACT_VISIBLE_KINDS

    return Message.objects.filter(ticket=ticket, kind__in=CONTACT_VISIBLE_KINDS).order_by(
        "created_at", "id"
    )

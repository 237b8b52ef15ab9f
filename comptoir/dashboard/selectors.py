"""Today's figures per workspace and queue, and tickets per channel over 30 days.

Every figure is defined in docs/subsystems/dashboard.md. "Today" is the local calendar day
of `settings.TIME_ZONE` that contains `now`; each query reads one index range (see the
docstrings), so the page costs the same at a thousand tickets or a million.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import Count, IntegerField, Q, Sum
from django.db.models.expressions import RawSQL

from comptoir.accounts.models import Queue, User, Workspace
from comptoir.accounts.rights import visible_workspace_ids
from comptoir.core import clock
from comptoir.core.errors import NotFound
from comptoir.tickets.models import Channel, InboxCount, Message, MessageKind, Status, Ticket

CHART_DAYS = 30


@dataclass
class Figures:
    """The five figures of one row (a queue, a workspace's total, or everything shown)."""

    new: int = 0
    open: int = 0
    unassigned: int = 0
    closed: int = 0
    # Seconds from creation to first reply, one per ticket first answered today.
    response_times: list[float] = field(default_factory=list)

    @property
    def first_responses(self) -> int:
        return len(self.response_times)

    @property
    def median_first_response(self) -> float | None:
        """Median in seconds; None when no ticket got its first reply today."""
        return statistics.median(self.response_times) if self.response_times else None

    def add(self, other: Figures) -> None:
        self.new += other.new
        self.open += other.open
        self.unassigned += other.unassigned
        self.closed += other.closed
        self.response_times.extend(other.response_times)

    @property
    def is_empty(self) -> bool:
        return not (self.new or self.open or self.unassigned or self.closed or self.response_times)


@dataclass
class QueueRow:
    queue_id: int
    name: str
    figures: Figures


@dataclass
class WorkspaceBlock:
    workspace_id: int
    name: str
    queues: list[QueueRow]
    total: Figures


@dataclass
class ChannelSeries:
    channel: str
    label: str
    counts: list[int]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass
class Chart:
    days: list[date]
    series: list[ChannelSeries]

    @property
    def day_totals(self) -> list[int]:
        return [sum(s.counts[i] for s in self.series) for i in range(len(self.days))]


@dataclass
class Dashboard:
    now: datetime
    day: date
    workspace_id: int | None
    workspaces: list[WorkspaceBlock]
    total: Figures
    chart: Chart


def local_midnight(day: date) -> datetime:
    """The instant the local day `day` starts (DST-safe: zoneinfo resolves the offset)."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))


def local_day(now: datetime) -> date:
    return now.astimezone(ZoneInfo(settings.TIME_ZONE)).date()


def dashboard_figures(
    *, user: User, workspace_id: int | None = None, now: datetime | None = None
) -> Dashboard:
    """Today's figures for the workspaces `user` may see (or only `workspace_id`).

    Raises NotFound when `workspace_id` is not one of the user's workspaces.
    """
    now = now or clock.now()
    ids = visible_workspace_ids(user)
    if workspace_id is not None:
        if workspace_id not in ids:
            raise NotFound("workspace")
        ids = [workspace_id]
    day = local_day(now)
    start, end = local_midnight(day), local_midnight(day + timedelta(days=1))
    workspaces = list(Workspace.objects.filter(pk__in=ids).order_by("name", "pk"))
    queues = list(Queue.objects.filter(workspace_id__in=ids).order_by("name", "pk"))

    rows: dict[tuple[int, int], Figures] = {}

    def row(ws: int, queue: int) -> Figures:
        return rows.setdefault((ws, queue), Figures())

    if ids:
        for r in _open_counts(ids):
            f = row(r["workspace_id"], r["queue_id"])
            f.open, f.unassigned = r["open"] or 0, r["unassigned"] or 0
        for r in _new_counts(ids, start, end):
            row(r["workspace_id"], r["queue_id"]).new = r["n"]
        for r in _closed_counts(ids, start, end):
            row(r["workspace_id"], r["queue_id"]).closed = r["n"]
        tenant_ids = sorted({w.tenant_id for w in workspaces})
        for ws_id, queue_id, seconds in _first_responses(ids, tenant_ids, start, end):
            row(ws_id, queue_id).response_times.append(seconds)

    blocks: list[WorkspaceBlock] = []
    grand = Figures()
    for ws in workspaces:
        block = WorkspaceBlock(ws.pk, ws.name, [], Figures())
        for q in queues:
            if q.workspace_id != ws.pk:
                continue
            f = rows.get((ws.pk, q.pk), Figures())
            # An archived queue is listed only while tickets still count in it.
            if q.is_active or not f.is_empty:
                block.queues.append(QueueRow(q.pk, q.name, f))
            block.total.add(f)
        blocks.append(block)
        grand.add(block.total)
    return Dashboard(
        now=now,
        day=day,
        workspace_id=workspace_id,
        workspaces=blocks,
        total=grand,
        chart=_chart(ids, day),
    )


def _open_counts(ids: list[int]) -> list[Mapping[str, Any]]:
    """Open and unassigned now, from the maintained InboxCount rows (exact, a few hundred)."""
    return list(
        InboxCount.objects.filter(workspace_id__in=ids)
        .exclude(status=Status.CLOSED)
        .values("workspace_id", "queue_id")
        .annotate(open=Sum("count"), unassigned=Sum("count", filter=Q(assignee_key=0)))
        .order_by()
    )


def _new_counts(ids: list[int], start: datetime, end: datetime) -> list[Mapping[str, Any]]:
    """Tickets created today: one range of index ticket_ws_recent per workspace."""
    return list(
        Ticket.objects.filter(workspace_id__in=ids, created_at__gte=start, created_at__lt=end)
        .values("workspace_id", "queue_id")
        .annotate(n=Count("id"))
        .order_by()
    )


def _closed_counts(ids: list[int], start: datetime, end: datetime) -> list[Mapping[str, Any]]:
    """Tickets closed now whose closing happened today.

    `status_changed_at` is stamped when a ticket enters a status, so for a closed ticket it
    is its closing time: the partial index dashboard_ticket_closed_day (closed tickets by
    workspace and that time, queue included) answers without touching the table.
    """
    return list(
        Ticket.objects.filter(
            workspace_id__in=ids,
            status=Status.CLOSED,
            status_changed_at__gte=start,
            status_changed_at__lt=end,
        )
        .values("workspace_id", "queue_id")
        .annotate(n=Count("id"))
        .order_by()
    )


def _first_responses(
    ids: list[int], tenant_ids: list[int], start: datetime, end: datetime
) -> list[tuple[int, int, float]]:
    """(workspace, queue, seconds) for each ticket whose first reply was sent today.

    Today's replies come from the partial index dashboard_message_reply_time (outbound
    messages by tenant and time), grouped per ticket first, so that "no outbound message
    before today" is checked once per ticket, on message_ticket_time (that ticket's own
    messages). The duration is computed by the database. Raw SQL because the ORM can only
    check the earlier replies per message, not per ticket (twice the work at a million).
    """
    if not tenant_ids:
        return []
    qn, adapt = connection.ops.quote_name, connection.ops.adapt_datetimefield_value
    messages, tickets = qn(Message._meta.db_table), qn(Ticket._meta.db_table)
    if connection.vendor == "postgresql":
        seconds = "EXTRACT(EPOCH FROM (f.first_at - t.created_at))"
    else:
        seconds = "(julianday(f.first_at) - julianday(t.created_at)) * 86400.0"
    outbound = f"'{MessageKind.OUTBOUND.value}'"  # a constant of ours: the partial index's own
    sql = f"""
        SELECT t.workspace_id, t.queue_id, {seconds}
        FROM (
            SELECT m.ticket_id AS ticket_id, MIN(m.created_at) AS first_at
            FROM {messages} m
            WHERE m.tenant_id IN ({", ".join(["%s"] * len(tenant_ids))})
              AND m.kind = {outbound} AND m.created_at >= %s AND m.created_at < %s
            GROUP BY m.ticket_id
        ) f
        JOIN {tickets} t ON t.id = f.ticket_id
        WHERE t.workspace_id IN ({", ".join(["%s"] * len(ids))})
          AND NOT EXISTS (
            SELECT 1 FROM {messages} p
            WHERE p.ticket_id = f.ticket_id AND p.kind = {outbound} AND p.created_at < %s
          )
    """
    params = [*tenant_ids, adapt(start), adapt(end), *ids, adapt(start)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    # To the millisecond: SQLite's julianday arithmetic is off by some microseconds. A reply
    # stamped before its ticket (imported history) counts as immediate.
    return [(ws, queue, max(0.0, round(float(sec), 3))) for ws, queue, sec in rows]


def _day_index(bounds: list[datetime]) -> RawSQL:
    """The index of the day each ticket's created_at falls in, `bounds` being the midnights.

    A balanced tree of `CASE WHEN created_at < <midnight> THEN … ELSE … END`: five
    comparisons a row instead of up to 29 for a flat CASE (a third of the chart's time on
    SQLite at a million tickets). Written as SQL because Django spends longer compiling 29
    `When` lookups than the database spends on the query. The values are adapted as the ORM
    would (naive UTC text on SQLite); only our own midnights are passed, as parameters.
    """
    adapt, qn = connection.ops.adapt_datetimefield_value, connection.ops.quote_name
    column = f"{qn(Ticket._meta.db_table)}.{qn('created_at')}"

    def node(first: int, last: int) -> tuple[str, list[Any]]:
        if first == last:
            return str(first), []
        middle = (first + last + 1) // 2  # the first day of the upper half
        lower, lower_params = node(first, middle - 1)
        upper, upper_params = node(middle, last)
        sql = f"CASE WHEN {column} < %s THEN {lower} ELSE {upper} END"
        return sql, [adapt(bounds[middle]), *lower_params, *upper_params]

    sql, params = node(0, len(bounds) - 2)
    return RawSQL(sql, params, output_field=IntegerField())


def _chart(ids: list[int], today: date) -> Chart:
    """Tickets created per local day and channel over the last CHART_DAYS days.

    The day of each ticket is found by comparing created_at with the days' local midnights
    (`_day_index`), which is exact across DST changes on both databases and needs no time
    zone support in the database.
    """
    days = [today - timedelta(days=CHART_DAYS - 1 - i) for i in range(CHART_DAYS)]
    bounds = [local_midnight(d) for d in days] + [local_midnight(today + timedelta(days=1))]
    counts: dict[str, list[int]] = {c: [0] * CHART_DAYS for c in Channel.values}
    if ids:
        rows = (
            Ticket.objects.filter(
                workspace_id__in=ids,
                # Every channel, named: SQLite then reads the covering index
                # ticket_ws_chan_recent, one range per workspace and channel, instead of
                # visiting the table for each ticket's channel (half the chart's time).
                channel__in=Channel.values,
                created_at__gte=bounds[0],
                created_at__lt=bounds[-1],
            )
            .annotate(day=_day_index(bounds))
            .values("channel", "day")
            .annotate(n=Count("id"))
            .order_by()
        )
        for r in rows:
            series = counts.setdefault(r["channel"], [0] * CHART_DAYS)
            series[r["day"]] += r["n"]
    labels = dict(Channel.choices)
    return Chart(
        days=days,
        # Channels without a ticket in the window would only add empty columns and legends.
        series=[ChannelSeries(c, str(labels.get(c, c)), n) for c, n in counts.items() if any(n)],
    )

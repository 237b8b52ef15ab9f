"""Keep InboxCount rows in step with tickets; services call these in their transaction."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Count, F

from comptoir.tickets.models import InboxCount, Ticket

CountKey = tuple[int, int, str, str, int]


def count_key(ticket: Ticket) -> CountKey:
    return (
        ticket.workspace_id,
        ticket.queue_id,
        ticket.channel,
        ticket.status,
        ticket.assignee_id or 0,
    )


def _bump(key: CountKey, delta: int) -> None:
    workspace_id, queue_id, channel, status, assignee_key = key
    lookup = {
        "workspace_id": workspace_id,
        "queue_id": queue_id,
        "channel": channel,
        "status": status,
        "assignee_key": assignee_key,
    }
    if InboxCount.objects.filter(**lookup).update(count=F("count") + delta):
        return
    try:
        with transaction.atomic():
            InboxCount.objects.create(count=delta, **lookup)
    except IntegrityError:
        # Another transaction created the row between our update and insert.
        InboxCount.objects.filter(**lookup).update(count=F("count") + delta)


def counts_move(old: CountKey | None, new: CountKey | None) -> None:
    """Move one ticket from the `old` combination to the `new` one (None: absent)."""
    if old == new:
        return
    # A fixed order of updates keeps two transactions from locking rows crosswise.
    changes = sorted(
        [(k, d) for k, d in ((old, -1), (new, 1)) if k is not None], key=lambda kd: kd[0]
    )
    for key, delta in changes:
        _bump(key, delta)


def counts_add(deltas: dict[CountKey, int]) -> None:
    """Apply many ticket moves at once, aggregated per combination (bulk creation)."""
    for key in sorted(k for k, d in deltas.items() if d):
        _bump(key, deltas[key])


def counts_rebuild(workspace_ids: list[int] | None = None) -> int:
    """Recompute the counts from the tickets (after bulk imports); returns rows written."""
    tickets = Ticket.objects.all()
    counts = InboxCount.objects.all()
    if workspace_ids is not None:
        tickets = tickets.filter(workspace_id__in=workspace_ids)
        counts = counts.filter(workspace_id__in=workspace_ids)
    rows = (
        tickets.values("workspace_id", "queue_id", "channel", "status", "assignee_id")
        .annotate(n=Count("id"))
        .order_by()
    )
    with transaction.atomic():
        counts.delete()
        objs = [
            InboxCount(
                workspace_id=r["workspace_id"],
                queue_id=r["queue_id"],
                channel=r["channel"],
                status=r["status"],
                assignee_key=r["assignee_id"] or 0,
                count=r["n"],
            )
            for r in rows
        ]
        InboxCount.objects.bulk_create(objs, batch_size=1000)
    return len(objs)

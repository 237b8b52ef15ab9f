"""The waiting-message sweep: find tickets waiting too long, send each stay's message once.

Selection is one indexed query per (message in force, watched status): tickets of the
message's queues in that status since before the threshold, without a send for this stay
(index ticket_waiting_due, then the unique key of WaitingMessageSend). Each send then runs
in its own transaction that locks the ticket, checks every rule again on fresh data, and
writes the send record, the timeline message and the outbox row together: a crash leaves
all three or none, and a second sweep (another scheduler, a retry) hits the unique key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Exists, F, Max, OuterRef

from comptoir.channels.email.outbound import InvalidEmail, address_only
from comptoir.channels.email.outbound_batch import Draft, email_send_many
from comptoir.core import clock
from comptoir.tickets.bulk import rows_update
from comptoir.tickets.models import Event, EventKind, Message, MessageKind, Ticket
from comptoir.waiting.models import (
    WATCHED_STATUSES,
    WaitingMessage,
    WaitingMessageAssignment,
    WaitingMessageSend,
)
from comptoir.waiting.rendering import render_subject_and_body

logger = logging.getLogger(__name__)

KIND = "waiting_message"
# The WHERE clause of index ticket_waiting_due (tickets/models.py), spelled as SQLite and
# PostgreSQL print it; constant text, no input ever reaches it.
WATCHED_SQL = '"tickets_ticket"."status" IN ({})'.format(
    ", ".join(f"'{status}'" for status in WATCHED_STATUSES)
)
BATCH = 500


@dataclass
class SweepResult:
    selected: int = 0
    sent: int = 0
    skipped: int = 0
    select_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


def messages_in_force() -> dict[int, WaitingMessage]:
    """{queue id: the message in force there}; a queue's assignment beats its workspace's."""
    from comptoir.accounts.models import Queue

    by_queue: dict[int, WaitingMessage] = {}
    by_workspace: dict[int, WaitingMessage] = {}
    for a in WaitingMessageAssignment.objects.select_related("waiting_message"):
        if a.queue_id is not None:
            by_queue[a.queue_id] = a.waiting_message
        else:
            by_workspace[a.workspace_id] = a.waiting_message
    if by_workspace:
        for queue_id, workspace_id in Queue.objects.filter(
            workspace_id__in=list(by_workspace)
        ).values_list("pk", "workspace_id"):
            by_queue.setdefault(queue_id, by_workspace[workspace_id])
    return by_queue


def due_stays(*, now: datetime, limit: int | None = None) -> list[tuple[int, int, str]]:
    """(ticket id, waiting message id, status) of every stay due now.

    Only ids come back (no datetimes to convert, no sort): at a million tickets the
    selection is one index range per queue and status. The send re-reads the locked row,
    whose `status_changed_at` names the stay.
    """
    in_force = messages_in_force()
    groups: dict[tuple[int, str], tuple[WaitingMessage, list[int]]] = {}
    for queue_id, message in in_force.items():
        for status in WATCHED_STATUSES:
            if message.hours_for(status):
                groups.setdefault((message.pk, status), (message, []))[1].append(queue_id)
    already_sent = WaitingMessageSend.objects.filter(
        ticket_id=OuterRef("pk"),
        status=OuterRef("status"),
        status_entered_at=OuterRef("status_changed_at"),
    )
    due: list[tuple[int, int, str]] = []
    for (message_id, status), (message, queue_ids) in groups.items():
        hours = message.hours_for(status) or 0
        rows = (
            Ticket.objects.filter(
                queue_id__in=queue_ids,
                status=status,
                status_changed_at__lte=now - timedelta(hours=hours),
            )
            # Repeats the partial index's condition as literal SQL: SQLite uses a partial
            # index only when the query states its WHERE clause as written, and a bound
            # parameter (what `status__in` would send) is not (index ticket_waiting_due).
            .extra(where=[WATCHED_SQL])
            .filter(~Exists(already_sent))
            .order_by()
            .values_list("pk", flat=True)
        )
        if limit is not None:
            rows = rows[: max(0, limit - len(due))]
        due.extend((pk, message_id, status) for pk in rows)
        if limit is not None and len(due) >= limit:
            break
    return due


def _recipients(tickets: list[Ticket]) -> dict[int, str]:
    """Where each ticket's mail goes (as `reply_recipient`, in one query for the batch)."""
    from comptoir.contacts.models import ContactIdentity, IdentityKind

    by_contact: dict[int, str] = {}
    contact_ids = {t.contact_id for t in tickets if t.contact_id}
    for contact_id, value in (
        ContactIdentity.objects.filter(contact_id__in=contact_ids, kind=IdentityKind.EMAIL)
        .order_by("contact_id", "-is_primary", "id")
        .values_list("contact_id", "value")
    ):
        by_contact.setdefault(contact_id, value)
    result = {}
    for t in tickets:
        address = by_contact.get(t.contact_id or 0) or t.requester_email
        try:
            result[t.pk] = address_only(address) if address else ""
        except InvalidEmail:
            result[t.pk] = ""
    return result


def waiting_send_batch(stays: list[tuple[int, int, str]], *, now: datetime) -> int:
    """Send the waiting messages of many stays in one transaction; how many were queued.

    Every rule is checked again on the locked rows. A unique-key clash (a
    concurrent sweep on another database connection) rolls the whole batch back: the
    caller then goes one stay at a time.
    """
    wanted = {ticket_id: (message_id, status) for ticket_id, message_id, status in stays}
    with transaction.atomic():
        tickets = list(
            Ticket.objects.select_for_update(of=("self",))
            .select_related("contact", "queue", "workspace")
            .filter(pk__in=list(wanted))
            .order_by("pk")
        )
        in_force = messages_in_force()
        served = set(
            WaitingMessageSend.objects.filter(ticket_id__in=list(wanted)).values_list(
                "ticket_id", "status", "status_entered_at"
            )
        )
        last_reply = dict(
            Message.objects.filter(ticket_id__in=list(wanted), kind=MessageKind.OUTBOUND)
            .values("ticket_id")
            .annotate(last=Max("created_at"))
            .values_list("ticket_id", "last")
        )
        recipients = _recipients(tickets)
        chosen: list[tuple[Ticket, WaitingMessage, str]] = []
        for ticket in tickets:
            message_id, status = wanted[ticket.pk]
            entered = ticket.status_changed_at
            message = in_force.get(ticket.queue_id)
            hours = message.hours_for(status) if message else None
            if (
                ticket.status != status
                or message is None
                or message.pk != message_id
                or not hours
                or ticket.status_changed_at > now - timedelta(hours=hours)
                or (ticket.pk, status, entered) in served
                or (last_reply.get(ticket.pk) or entered - timedelta(seconds=1)) >= entered
                or not recipients.get(ticket.pk)
            ):
                continue
            chosen.append((ticket, message, recipients[ticket.pk]))
        if not chosen:
            return 0
        sends = WaitingMessageSend.objects.bulk_create(
            [
                WaitingMessageSend(
                    tenant_id=t.tenant_id,
                    ticket_id=t.pk,
                    waiting_message=m,
                    status=t.status,
                    status_entered_at=t.status_changed_at,
                    sent_at=now,
                )
                for t, m, _ in chosen
            ]
        )
        rendered = [
            render_subject_and_body(m.title, m.body, ticket=t, recipient=to, now=now)
            for t, m, to in chosen
        ]
        timeline = Message.objects.bulk_create(
            [
                Message(
                    tenant_id=t.tenant_id,
                    ticket_id=t.pk,
                    kind=MessageKind.AUTOMATIC,
                    subject=subject[:998],
                    body_text=body,
                    to=[to],
                    created_at=now,
                )
                for (t, _m, to), (subject, body) in zip(chosen, rendered, strict=True)
            ]
        )
        Ticket.objects.filter(pk__in=[t.pk for t, _m, _to in chosen]).update(
            message_count=F("message_count") + 1, last_message_at=now, updated_at=now
        )
        outgoing = email_send_many(
            [
                Draft(
                    ticket=t,
                    ticket_message=msg,
                    to=[to],
                    subject=subject,
                    body_text=body,
                    kind=KIND,
                    idempotency_key=_key(t.pk, t.status, t.status_changed_at),
                    auto_submitted="auto-generated",
                )
                for (t, _m, to), (subject, body), msg in zip(
                    chosen, rendered, timeline, strict=True
                )
            ],
            now=now,
        )
        by_message = {o.ticket_message_id: o for o in outgoing}
        for msg in timeline:
            sent = by_message[msg.pk]
            msg.message_id = sent.message_id
            msg.subject = sent.subject
            msg.sender_email = address_only(sent.from_email)
        # One UPDATE run with a parameter set per row: bulk_update's CASE per field and row
        # cost more than the rest of the batch's writes on PostgreSQL.
        rows_update(timeline, ["message_id", "subject", "sender_email"])
        for send, msg in zip(sends, timeline, strict=True):
            send.message = msg
        rows_update(sends, ["message"])
        Event.objects.bulk_create(
            [
                Event(
                    tenant_id=t.tenant_id,
                    ticket_id=t.pk,
                    kind=EventKind.WAITING_MESSAGE,
                    data={"title": m.title, "status": t.status, "message_id": msg.pk, "to": to},
                    created_at=now,
                )
                for (t, m, to), msg in zip(chosen, timeline, strict=True)
            ]
        )
        return len(chosen)


def _key(ticket_id: int, status: str, entered: datetime) -> str:
    return f"waiting:{ticket_id}:{status}:{entered.isoformat()}"


def waiting_sweep(*, now: datetime | None = None, batch: int = BATCH) -> SweepResult:
    """Send every waiting message that is due now (the periodic task, every minute)."""
    import time

    now = now or clock.now()
    result = SweepResult()
    started = time.perf_counter()
    due = due_stays(now=now)
    result.select_seconds = time.perf_counter() - started
    result.selected = len(due)
    for start in range(0, len(due), batch):
        chunk = due[start : start + batch]
        try:
            sent = waiting_send_batch(chunk, now=now)
        except Exception:
            # A clash with another sweep or one bad ticket: settle this chunk one by one.
            logger.info("waiting-message batch fell back to one stay at a time", exc_info=True)
            sent = _one_by_one(chunk, now=now, result=result)
        result.sent += sent
        result.skipped += len(chunk) - sent
    return result


def _one_by_one(chunk: list[tuple[int, int, str]], *, now: datetime, result: SweepResult) -> int:
    sent = 0
    for stay in chunk:
        ticket_id = stay[0]
        try:
            sent += waiting_send_batch([stay], now=now)
        except IntegrityError:
            continue  # another sweep served this stay between our checks and our insert
        except Exception as exc:  # one bad ticket must not stop the others
            logger.exception("waiting message for ticket %s failed", ticket_id)
            result.errors.append(f"{ticket_id}: {type(exc).__name__}: {exc}")
    return sent

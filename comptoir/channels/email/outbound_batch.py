"""The one door for outgoing mail, for many automatic emails at once.

Same checks and same rows as `outbound.email_send`, written with one query per table
instead of a handful per email: the waiting-message sweep queues thousands in a minute.
Runs inside the caller's transaction; rows whose idempotency key exists are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from comptoir.channels.email import ids
from comptoir.channels.email.models import OutgoingEmail, OutgoingStatus
from comptoir.channels.email.outbound import (
    AUTO_SUBMITTED_VALUES,
    _has_breaker,
    check_header_value,
    format_address,
    from_address_for,
    subject_with_token,
)
from comptoir.channels.email.threads import ThreadIndex
from comptoir.core.errors import DomainError
from comptoir.tickets.models import Message, Ticket


@dataclass
class Draft:
    """One email to queue: to a ticket's correspondent, without attachments or thread ids."""

    ticket: Ticket
    ticket_message: Message | None
    to: Sequence[str]
    subject: str
    body_text: str
    idempotency_key: str
    kind: str
    auto_submitted: str = ""
    body_html: str = ""


def email_send_many(drafts: Sequence[Draft], *, now: datetime) -> list[OutgoingEmail]:
    """Queue every draft whose key is new, in the caller's transaction; delivery after commit."""
    for d in drafts:
        if not d.idempotency_key or _has_breaker(d.idempotency_key):
            raise DomainError("an idempotency key is required")
        if d.auto_submitted not in AUTO_SUBMITTED_VALUES:
            raise DomainError(f"unknown Auto-Submitted value {d.auto_submitted!r}")
    existing = set(
        OutgoingEmail.objects.filter(
            idempotency_key__in=[d.idempotency_key for d in drafts]
        ).values_list("idempotency_key", flat=True)
    )
    senders: dict[tuple[int, int, int], str] = {}
    rows = []
    for d in drafts:
        if d.idempotency_key in existing:
            continue
        existing.add(d.idempotency_key)
        ticket = d.ticket
        to_list = [format_address(a) for a in d.to]
        if not to_list:
            raise DomainError(_("An email needs at least one recipient."))
        # The sender depends on the queue's or workspace's mailbox only.
        key = (ticket.tenant_id, ticket.workspace_id, ticket.queue_id)
        if key not in senders:
            senders[key] = format_address(from_address_for(tenant=ticket.tenant_id, ticket=ticket))
        subject = check_header_value(_("subject"), d.subject).strip()
        rows.append(
            OutgoingEmail(
                tenant_id=ticket.tenant_id,
                ticket=ticket,
                ticket_message=d.ticket_message,
                idempotency_key=d.idempotency_key,
                kind=d.kind,
                from_email=senders[key],
                to=to_list,
                cc=[],
                reply_to="",
                subject=subject_with_token(subject, ticket)[:998],
                body_text=d.body_text,
                body_html=d.body_html,
                message_id=ids.make_message_id(),
                auto_submitted=d.auto_submitted,
                attachment_ids=[],
                status=OutgoingStatus.QUEUED,
                next_attempt_at=now,
                created_at=now,
            )
        )
    created = OutgoingEmail.objects.bulk_create(rows)
    index = ThreadIndex()
    for row in created:
        index.record(tenant_id=row.tenant_id, ticket_id=row.ticket_id or 0, ids=[row.message_id])
    index.flush()
    pks = [row.pk for row in created]

    def schedule() -> None:
        # One task for the lot: the worker sends them in batches over one SMTP connection.
        from comptoir.channels.email.tasks_outbound import schedule_delivery_many

        schedule_delivery_many(pks)

    transaction.on_commit(schedule)
    return created

"""Acknowledgment of receipt: the automatic mail confirming a new request.

The workspace's acknowledgment applies to all its queues unless a queue has its own
(its override, which may also switch it off for that queue).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction

from comptoir.channels.email.autoreply import address_is_flagged, auto_reply_claim
from comptoir.channels.email.models import Acknowledgment, OutgoingEmail
from comptoir.channels.email.outbound import (
    InvalidEmail,
    address_only,
    email_send,
    valid_message_ids,
)
from comptoir.core import clock
from comptoir.responses import merge
from comptoir.tickets.models import MessageKind, Ticket
from comptoir.tickets.services import message_add

KIND = "acknowledgment"
# Beside the merge fields of response templates, the delay the workspace announces.
EXTRA_FIELDS = ("delay_hours",)


def template_unknown_variables(text: str, workspace_id: int | None = None) -> list[str]:
    """The merge fields of `text` the renderer does not know, in order of appearance."""
    return merge.unknown_fields(text or "", workspace_id, extra=EXTRA_FIELDS)


def template_validate(text: str, workspace_id: int | None = None) -> None:
    """Refuse a text using merge fields outside the allow-list (raised at save time)."""
    if unknown := template_unknown_variables(text, workspace_id):
        raise ValidationError(str(merge.UnknownMergeFields(unknown)))


def acknowledgment_for(*, ticket: Ticket) -> Acknowledgment | None:
    """The queue's override if it has one, else the workspace's acknowledgment."""
    override = Acknowledgment.objects.filter(queue_id=ticket.queue_id).first()
    if override is not None:
        return override
    return Acknowledgment.objects.filter(
        workspace_id=ticket.workspace_id, queue__isnull=True
    ).first()


@transaction.atomic
def acknowledgment_send(
    *,
    ticket: Ticket,
    recipient: str,
    in_reply_to: str = "",
    references: Sequence[str] = (),
    now: datetime | None = None,
) -> OutgoingEmail | None:
    """Queue the acknowledgment of a new ticket, or None (off, flagged address, window)."""
    now = now or clock.now()
    key = f"ack:{ticket.pk}"
    # A redelivered mail reaches here again: the first acknowledgment is the answer.
    existing = OutgoingEmail.objects.filter(idempotency_key=key).first()
    if existing is not None:
        return existing
    ack = acknowledgment_for(ticket=ticket)
    if ack is None or not ack.is_enabled:
        return None
    try:
        address = address_only(recipient)
    except InvalidEmail:
        return None
    if address_is_flagged(tenant_id=ticket.tenant_id, address=address):
        return None
    if not auto_reply_claim(tenant_id=ticket.tenant_id, correspondent=address, kind=KIND, now=now):
        return None
    # The one renderer of every outgoing text; a history link, if the text has one, is
    # issued now, bound to this mail's moment.
    context = merge.MergeContext(
        ticket=ticket,
        now=now,
        extra={"delay_hours": ack.delay_hours},
        recipient=address,
        issue_history_link=True,
    )
    subject = merge.render(ack.subject, one_line=True, context=context).text
    body = merge.render(ack.body, context=context).text
    message = message_add(
        ticket=ticket,
        kind=MessageKind.AUTOMATIC,
        body_text=body,
        subject=subject,
        to=[address],
        now=now,
    )
    outgoing = email_send(
        tenant=ticket.tenant_id,
        to=[recipient],
        subject=subject,
        body_text=body,
        kind=KIND,
        idempotency_key=key,
        ticket=ticket,
        ticket_message=message,
        # Ids come from the customer's mail: a malformed one is dropped, not a reason to fail.
        in_reply_to=next(iter(valid_message_ids([in_reply_to])), ""),
        references=valid_message_ids(references),
        auto_submitted="auto-replied",
        now=now,
    )
    message.message_id = outgoing.message_id
    message.subject = outgoing.subject
    message.sender_email = address_only(outgoing.from_email)
    message.in_reply_to = outgoing.in_reply_to
    message.references = outgoing.references
    message.save(
        update_fields=["message_id", "subject", "sender_email", "in_reply_to", "references"]
    )
    return outgoing

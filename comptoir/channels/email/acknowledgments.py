"""Acknowledgment of receipt: the automatic mail confirming a new request.

The workspace's acknowledgment applies to all its queues unless a queue has its own
(its override, which may also switch it off for that queue).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from comptoir.channels.email.autoreply import address_is_flagged, auto_reply_claim
from comptoir.channels.email.models import Acknowledgment, OutgoingEmail
from comptoir.channels.email.outbound import (
    InvalidEmail,
    address_only,
    email_send,
    valid_message_ids,
)
from comptoir.core import clock
from comptoir.tickets.models import MessageKind, Ticket
from comptoir.tickets.services import message_add

# The merge fields an acknowledgment may use; the templates issue brings the full renderer.
ALLOWED_VARIABLES = ("contact.name", "ticket.number", "ticket.subject", "delay_hours")
_VARIABLE = re.compile(r"\{\{\s*([A-Za-z0-9_.]*)\s*\}\}")

KIND = "acknowledgment"


def template_unknown_variables(text: str) -> list[str]:
    """The variables of `text` that the renderer does not know, in order of appearance."""
    unknown: list[str] = []
    for name in _VARIABLE.findall(text or ""):
        if name not in ALLOWED_VARIABLES and name not in unknown:
            unknown.append(name)
    return unknown


def template_validate(text: str) -> None:
    """Refuse a template using variables outside the allow-list (raised at save time)."""
    if unknown := template_unknown_variables(text):
        raise ValidationError(
            _("Unknown variables: %(names)s. Allowed: %(allowed)s.")
            % {
                "names": ", ".join(f"{{{{{n}}}}}" for n in unknown),
                "allowed": ", ".join(f"{{{{{n}}}}}" for n in ALLOWED_VARIABLES),
            }
        )


def template_render(text: str, values: Mapping[str, object], *, one_line: bool = False) -> str:
    """Replace allowed variables by their values; `one_line` flattens values (for subjects)."""

    def value(match: re.Match[str]) -> str:
        raw = values.get(match.group(1), "")
        result = "" if raw is None else str(raw)
        return " ".join(result.split()) if one_line else result

    rendered = _VARIABLE.sub(value, text or "")
    return " ".join(rendered.split()) if one_line else rendered


def acknowledgment_for(*, ticket: Ticket) -> Acknowledgment | None:
    """The queue's override if it has one, else the workspace's acknowledgment."""
    override = Acknowledgment.objects.filter(queue_id=ticket.queue_id).first()
    if override is not None:
        return override
    return Acknowledgment.objects.filter(
        workspace_id=ticket.workspace_id, queue__isnull=True
    ).first()


def _contact_name(ticket: Ticket) -> str:
    if ticket.contact_id and ticket.contact and ticket.contact.full_name:
        return ticket.contact.full_name
    return ticket.requester_name


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
    values = {
        "contact.name": _contact_name(ticket),
        "ticket.number": ticket.number,
        "ticket.subject": ticket.subject,
        "delay_hours": ack.delay_hours,
    }
    subject = template_render(ack.subject, values, one_line=True)
    body = template_render(ack.body, values)
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

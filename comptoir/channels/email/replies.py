"""An agent's email reply to the contact, from the ticket page."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from comptoir.accounts.models import User
from comptoir.accounts.rights import Right, has_right
from comptoir.channels.email.outbound import (
    address_only,
    email_send,
    from_address_for,
    valid_message_ids,
)
from comptoir.contacts.models import ContactIdentity, IdentityKind
from comptoir.core import clock
from comptoir.core.errors import DomainError, NotAllowed
from comptoir.core.sanitize import html_to_text, sanitize_html
from comptoir.tickets.models import Message, MessageKind, Status, Ticket
from comptoir.tickets.services import NewAttachment, message_add, ticket_change_status

# References kept on a reply: the thread's root and the most recent ids.
MAX_REFERENCES = 20


def reply_recipient(*, ticket: Ticket) -> str:
    """Where a reply goes: the contact's primary email, else the address the ticket came from."""
    if ticket.contact_id:
        identity = (
            ContactIdentity.objects.filter(contact_id=ticket.contact_id, kind=IdentityKind.EMAIL)
            .order_by("-is_primary", "id")
            .first()
        )
        if identity is not None:
            return identity.value
    return ticket.requester_email


def reply_subject(subject: str) -> str:
    """ "Re: <subject>", without stacking "Re:" on a subject that has one."""
    subject = " ".join(subject.split())
    if subject[:3].lower() == "re:":
        return subject
    return f"Re: {subject}" if subject else "Re:"


def _thread_of(ticket: Ticket) -> tuple[str, list[str]]:
    last = (
        ticket.messages.filter(kind=MessageKind.INBOUND)
        .exclude(message_id="")
        .order_by("-created_at", "-id")
        .first()
    )
    if last is None:
        return "", []
    refs = [r for r in last.references.split() if r]
    if last.message_id not in refs:
        refs.append(last.message_id)
    if len(refs) > MAX_REFERENCES:
        refs = refs[:1] + refs[-(MAX_REFERENCES - 1) :]
    # Ids come from the customer's mail: a malformed one is dropped rather than refused.
    parent = valid_message_ids([last.message_id])
    return (parent[0] if parent else ""), valid_message_ids(refs)


@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    author: User,
    body_text: str,
    body_html: str = "",
    attachments: Sequence[NewAttachment] = (),
    now: datetime | None = None,
) -> Message:
    """Send the agent's reply to the contact by email and wait for the contact's answer."""
    now = now or clock.now()
    if not has_right(author, ticket.workspace_id, Right.USE_REQUEST_MESSAGES):
        raise NotAllowed(_("You may not reply on this request."))
    body_html = sanitize_html(body_html)
    if body_html and not body_text.strip():
        body_text = html_to_text(body_html)
    if not body_text.strip() and not attachments:
        raise DomainError(_("The reply is empty."))
    recipient = reply_recipient(ticket=ticket)
    if not recipient:
        raise DomainError(
            _("This request has no email address to reply to: link a contact with an email first.")
        )
    sender = from_address_for(tenant=ticket.tenant_id, ticket=ticket)
    in_reply_to, references = _thread_of(ticket)
    message = message_add(
        ticket=ticket,
        kind=MessageKind.OUTBOUND,
        author=author,
        body_text=body_text,
        body_html=body_html,
        sender_email=address_only(sender),
        sender_name=author.get_full_name() or str(author),
        to=[recipient],
        attachments=attachments,
        now=now,
    )
    outgoing = email_send(
        tenant=ticket.tenant_id,
        to=[recipient],
        subject=reply_subject(ticket.subject),
        body_text=body_text,
        body_html=body_html,
        kind="reply",
        idempotency_key=f"reply:{message.pk}",
        ticket=ticket,
        ticket_message=message,
        in_reply_to=in_reply_to,
        references=references,
        attachments=list(message.attachments.order_by("id")),
        from_email=sender,
        now=now,
    )
    message.message_id = outgoing.message_id
    message.subject = outgoing.subject
    message.in_reply_to = outgoing.in_reply_to
    message.references = outgoing.references
    message.save(update_fields=["message_id", "subject", "in_reply_to", "references"])
    ticket_change_status(ticket=ticket, status=Status.AWAITING_CONTACT, author=author, now=now)
    return message

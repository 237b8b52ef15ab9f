"""Reads of the inbound pipeline, scoped to what the acting agent may see."""

from __future__ import annotations

from dataclasses import dataclass

from comptoir.accounts.models import User
from comptoir.accounts.rights import visible_workspace_ids
from comptoir.channels.email.filters import without_control_headers
from comptoir.channels.email.models import InboundEmail, Mailbox
from comptoir.core.errors import NotFound


@dataclass(frozen=True)
class InboundOriginal:
    """The whole received email behind a ticket message ("show the full original")."""

    inbound_id: int
    ticket_id: int
    subject: str
    from_email: str
    from_name: str
    to: tuple[str, ...]
    cc: tuple[str, ...]
    reply_to: tuple[str, ...]
    headers: dict[str, str]
    body_text: str  # the whole text, quoted history and signature included
    body_html: str  # the whole HTML, sanitized
    raw_size: int


def inbound_original(*, user: User, message_id: int) -> InboundOriginal:
    """The full parsed original of an inbound ticket message the agent may see."""
    row = (
        InboundEmail.objects.filter(
            ticket_message_id=message_id,
            ticket_message__ticket__workspace_id__in=visible_workspace_ids(user),
        )
        .order_by("pk")
        .first()
    )
    if row is None:
        raise NotFound("message")
    from comptoir.channels.email.parse import parse_email

    parsed = parse_email(bytes(row.raw))
    return InboundOriginal(
        inbound_id=row.pk,
        ticket_id=row.ticket_id or 0,
        subject=parsed.subject,
        from_email=parsed.from_email,
        from_name=parsed.from_name,
        to=parsed.to,
        cc=parsed.cc,
        reply_to=parsed.reply_to,
        headers=without_control_headers(parsed.headers),
        body_text=parsed.body_text,
        body_html=parsed.body_html,
        raw_size=row.size,
    )


def mailbox_for_agent(*, user: User, address: str) -> Mailbox:
    """The active mailbox `address` of a workspace the agent sees; NotFound otherwise.

    Another tenant's mailbox answers exactly like a missing one.
    """
    if user.tenant_id is None:
        raise NotFound("mailbox")
    mailbox = (
        Mailbox.objects.filter(
            address__iexact=address.strip(),
            is_active=True,
            tenant_id=user.tenant_id,
            workspace_id__in=visible_workspace_ids(user),
        )
        .select_related("queue")
        .first()
    )
    if mailbox is None:
        raise NotFound("mailbox")
    return mailbox

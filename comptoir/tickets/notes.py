"""Internal notes: messages agents leave on a ticket for each other, never for the contact.

A note is a `Message` of kind `note`. It is never sent and never selected for anything the
contact sees: every customer-facing read goes through `CONTACT_VISIBLE_KINDS`
(`tickets.selectors.contact_visible_messages`), and the outgoing mail door
(`channels/email/outbound.py::email_send`) refuses any attachment of a note.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from comptoir.accounts.models import User
from comptoir.accounts.rights import Right, has_right
from comptoir.core import clock
from comptoir.core.errors import NotAllowed
from comptoir.tickets.composed import composed_clean
from comptoir.tickets.models import Message, MessageKind, Ticket
from comptoir.tickets.services import NewAttachment, message_add


@transaction.atomic
def note_add(
    *,
    ticket: Ticket,
    author: User,
    body_html: str = "",
    body_text: str = "",
    attachments: Sequence[NewAttachment] = (),
    now: datetime | None = None,
) -> Message:
    """Add an internal note (text, attachments, inline images) that only agents see."""
    now = now or clock.now()
    if not has_right(author, ticket.workspace_id, Right.USE_REQUEST_MESSAGES):
        raise NotAllowed(_("You may not write on this request."))
    composed = composed_clean(
        body_html=body_html,
        body_text=body_text,
        attachments=attachments,
        empty_error=_("The note is empty."),
    )
    return message_add(
        ticket=ticket,
        kind=MessageKind.NOTE,
        author=author,
        body_text=composed.body_text,
        body_html=composed.body_html,
        sender_name=author.get_full_name() or str(author),
        attachments=composed.attachments,
        now=now,
    )

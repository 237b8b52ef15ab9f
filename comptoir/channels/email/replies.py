"""An agent's email reply to the contact, from the ticket page and the API.

Collision: the composer remembers the newest message the agent had seen when it opened
(`seen_message_id`). A reply is refused with `ReplyConflict` when a message the contact can
see arrived since (the contact wrote again, or a colleague answered): the agent reviews it
first, then sends anyway with the newer id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from comptoir.accounts.models import User
from comptoir.accounts.rights import Right, has_right
from comptoir.channels.email.composed_mail import agent_mail_add, agent_mail_send, answer_ids
from comptoir.contacts.models import ContactIdentity, IdentityKind
from comptoir.core import clock
from comptoir.core.errors import Conflict, DomainError, NotAllowed, NotFound
from comptoir.tickets.composed import Composed, composed_clean
from comptoir.tickets.models import Message, MessageKind, Status, Ticket
from comptoir.tickets.selectors import contact_visible_messages
from comptoir.tickets.services import NewAttachment, ticket_change_status


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


class ReplyConflict(Conflict):
    """Messages the agent has not seen arrived after the composer was opened."""

    def __init__(self, message: str, newer: list[Message]) -> None:
        super().__init__(message)
        self.newer = newer


def messages_since(*, ticket: Ticket, seen_message_id: int) -> list[Message]:
    """Messages the contact can see that are newer than `seen_message_id`, oldest first."""
    return list(
        contact_visible_messages(ticket=ticket)
        .filter(pk__gt=seen_message_id)
        .select_related("author")
        .prefetch_related("attachments")
    )


def newest_message_id(*, ticket: Ticket) -> int:
    """The id the composer carries as "seen" when it opens (0 for a ticket without messages)."""
    return (
        Message.objects.filter(ticket=ticket).order_by("-id").values_list("pk", flat=True).first()
        or 0
    )


def agent_composed(
    *,
    user: User,
    ticket: Ticket,
    body_html: str,
    body_text: str,
    attachments: Sequence[NewAttachment],
    template_id: int | None,
    template_attachment_ids: Iterable[int],
    empty_error: str,
) -> Composed:
    """What the agent wrote, with their files and the template's files they kept, checked."""
    files = [
        *attachments,
        *template_attachments(
            user=user, ticket=ticket, template_id=template_id, kept_ids=template_attachment_ids
        ),
    ]
    return composed_clean(
        body_html=body_html, body_text=body_text, attachments=files, empty_error=empty_error
    )


def template_attachments(
    *, user: User, ticket: Ticket, template_id: int | None, kept_ids: Iterable[int] = ()
) -> list[NewAttachment]:
    """Copies of the files the agent kept from the response template chosen in the composer.

    The template must be offered to this agent on this ticket (same workspace, active, in
    scope) and every kept id must be one of its files: a forged or stale id is refused
    (DomainError) rather than sent without the agent knowing.
    """
    kept = set(kept_ids)
    if template_id is None:
        if kept:
            raise DomainError(_("Template files were sent without their template."))
        return []
    from comptoir.responses.selectors import template_for_ticket
    from comptoir.responses.services import template_files_for_message

    try:
        template = template_for_ticket(user=user, ticket=ticket, template_id=template_id)
    except NotFound as exc:
        raise DomainError(
            _(
                "The chosen response template is no longer available on this request "
                "(deactivated, out of scope or unknown): choose another one."
            )
        ) from exc
    own = set(template.attachments.values_list("pk", flat=True))
    if not kept <= own:
        raise DomainError(_("Some files of the response template are unknown: choose it again."))
    return template_files_for_message(template, exclude_ids=own - kept)


def _thread_of(ticket: Ticket) -> tuple[str, list[str]]:
    # Only the contact's own mails give the thread: never a note's or a solicitation's ids.
    last = (
        contact_visible_messages(ticket=ticket)
        .filter(kind=MessageKind.INBOUND)
        .exclude(message_id="")
        .order_by("-created_at", "-id")
        .first()
    )
    return answer_ids(last)


@transaction.atomic
def ticket_reply(
    *,
    ticket: Ticket,
    author: User,
    body_text: str = "",
    body_html: str = "",
    attachments: Sequence[NewAttachment] = (),
    seen_message_id: int | None = None,
    template_id: int | None = None,
    template_attachment_ids: Iterable[int] = (),
    now: datetime | None = None,
) -> Message:
    """Send the agent's reply to the contact by email and wait for the contact's answer.

    With `seen_message_id`, refuse (ReplyConflict) if the contact wrote, or anyone answered,
    after that message. With `template_id`, attach the template's files the agent kept
    (`template_attachment_ids`). Merge fields left in the text are rendered at send time;
    a `{{ticket.history_link}}` issues the link, recorded with this message.
    """
    now = now or clock.now()
    if not has_right(author, ticket.workspace_id, Right.USE_REQUEST_MESSAGES):
        raise NotAllowed(_("You may not reply on this request."))
    composed = agent_composed(
        user=author,
        ticket=ticket,
        body_html=body_html,
        body_text=body_text,
        attachments=attachments,
        template_id=template_id,
        template_attachment_ids=template_attachment_ids,
        empty_error=_("The reply is empty."),
    )
    # The ticket's row lock serialises replies and inbound mail on this ticket, so the
    # check below sees whatever committed before us.
    Ticket.objects.select_for_update().filter(pk=ticket.pk).values_list("pk", flat=True).first()
    if seen_message_id is not None:
        newer = messages_since(ticket=ticket, seen_message_id=seen_message_id)
        if newer:
            raise ReplyConflict(
                _("New messages arrived on this request after you opened the composer."),
                newer,
            )
    recipient = reply_recipient(ticket=ticket)
    if not recipient:
        raise DomainError(
            _("This request has no email address to reply to: link a contact with an email first.")
        )
    mail = agent_mail_add(
        ticket=ticket,
        author=author,
        composed=composed,
        typed_text=body_text,
        recipient=recipient,
        kind=MessageKind.OUTBOUND,
        now=now,
    )
    message = mail.message
    in_reply_to, references = _thread_of(ticket)
    agent_mail_send(
        mail,
        ticket=ticket,
        subject=reply_subject(ticket.subject),
        kind="reply",
        in_reply_to=in_reply_to,
        references=references,
        now=now,
    )
    ticket_change_status(ticket=ticket, status=Status.AWAITING_CONTACT, author=author, now=now)
    return message

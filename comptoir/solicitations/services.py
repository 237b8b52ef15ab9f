"""Sending a solicitation, replying in its thread, and recording the outside person's answers.

Everything goes through the one email door (`email_send`). The thread's mails carry their
own subject token (`ids.thread_token`), never the ticket's: an answer that lost its headers
can reach its thread, never the customer's conversation.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from comptoir.accounts.models import User
from comptoir.accounts.rights import Right, has_right
from comptoir.channels.email import ids
from comptoir.channels.email.composed_mail import agent_mail_add, agent_mail_send, answer_ids
from comptoir.channels.email.models import Mailbox
from comptoir.channels.email.outbound import (
    InvalidEmail,
    address_only,
    check_header_value,
)
from comptoir.channels.email.replies import agent_composed, reply_recipient
from comptoir.core import clock
from comptoir.core.errors import DomainError, NotAllowed
from comptoir.solicitations.models import Solicitation, SolicitationMessage, SolicitationStatus
from comptoir.tickets.models import Event, EventKind, Message, MessageKind, Status, Ticket
from comptoir.tickets.services import NewAttachment, ticket_change_status


def recipient_clean(*, ticket: Ticket, recipient: str) -> str:
    """The solicited address, lower-cased; refuses what would leak or loop (DomainError)."""
    value = (recipient or "").strip()
    if not value:
        raise DomainError(_("Enter the email address of the person to solicit."))
    try:
        address = address_only(value)
    except InvalidEmail as exc:
        raise DomainError(
            _("“%(address)s” is not a valid email address.") % {"address": value}
        ) from exc
    contact_address = (reply_recipient(ticket=ticket) or "").lower()
    if address in {contact_address, (ticket.requester_email or "").lower()} - {""}:
        raise DomainError(
            _(
                "This address is the request's contact: a solicitation is for people outside "
                "the conversation. Reply to the contact instead."
            )
        )
    if Mailbox.objects.filter(address__iexact=address).exists():
        raise DomainError(
            _("This address is one of our own mailboxes: the mail would come back as a request.")
        )
    return address


def subject_clean(subject: str) -> str:
    """One line, not empty (the thread's token is added when sending)."""
    value = " ".join((subject or "").split())
    if not value:
        raise DomainError(_("Enter a subject."))
    try:
        return check_header_value(_("subject"), value)[:900]
    except InvalidEmail as exc:
        raise DomainError(str(exc)) from exc


def thread_subject(solicitation: Solicitation) -> str:
    """The subject a reply in the thread starts from: "Re: " + the thread's last subject."""
    last = (
        Message.objects.filter(solicitation_link__solicitation=solicitation)
        .exclude(subject="")
        .order_by("-created_at", "-id")
        .values_list("subject", flat=True)
        .first()
    )
    subject = _without_token(last or solicitation.subject)
    return subject if subject[:3].lower() == "re:" else f"Re: {subject}"


def _without_token(subject: str) -> str:
    return " ".join(ids.strip_thread_tokens(subject).split())


def _thread_refs(solicitation: Solicitation) -> tuple[str, list[str]]:
    """In-Reply-To and References for the next mail of the thread: its last message."""
    last = (
        Message.objects.filter(solicitation_link__solicitation=solicitation)
        .exclude(message_id="")
        .order_by("-created_at", "-id")
        .first()
    )
    return answer_ids(last)


def _send(
    *,
    solicitation: Solicitation,
    author: User,
    subject: str,
    body_html: str,
    body_text: str,
    attachments: Sequence[NewAttachment],
    template_id: int | None,
    template_attachment_ids: Iterable[int],
    await_external: bool,
    now: datetime,
) -> Message:
    """One agent mail in the thread: render, record, queue; the thread waits for an answer."""
    ticket = solicitation.ticket
    composed = agent_composed(
        user=author,
        ticket=ticket,
        body_html=body_html,
        body_text=body_text,
        attachments=attachments,
        template_id=template_id,
        template_attachment_ids=template_attachment_ids,
        empty_error=_("The message is empty."),
    )
    # The history link, if the text names it, is issued for the solicited person.
    in_reply_to, references = _thread_refs(solicitation)
    mail = agent_mail_add(
        ticket=ticket,
        author=author,
        composed=composed,
        typed_text=body_text,
        recipient=solicitation.recipient_email,
        kind=MessageKind.SOLICITATION_OUT,
        now=now,
    )
    message = mail.message
    SolicitationMessage.objects.create(solicitation=solicitation, message=message)
    agent_mail_send(
        mail,
        ticket=ticket,
        subject=subject,
        kind="solicitation",
        in_reply_to=in_reply_to,
        references=references,
        subject_token=ids.thread_token(ticket.tenant_id, ticket.number, solicitation.number),
        now=now,
    )
    solicitation.status = SolicitationStatus.WAITING
    solicitation.last_message_at = now
    solicitation.save(update_fields=["status", "last_message_at"])
    _await(ticket, author, solicitation, await_external, now)
    return message


def _check_right(author: User, ticket: Ticket) -> None:
    if not has_right(author, ticket.workspace_id, Right.USE_REQUEST_MESSAGES):
        raise NotAllowed(_("You may not write on this request."))


def _await(
    ticket: Ticket, author: User, solicitation: Solicitation, wait: bool, now: datetime
) -> None:
    """Record whether the request waits for this thread; move it to awaiting_external if so."""
    solicitation.awaits = wait
    fields = ["awaits"]
    if wait and ticket.status != Status.AWAITING_EXTERNAL:
        ticket_change_status(
            ticket=ticket,
            status=Status.AWAITING_EXTERNAL,
            author=author,
            reason=_("Solicitation sent to %(address)s")
            % {"address": solicitation.recipient_email},
            now=now,
        )
        solicitation.moved_at = ticket.status_changed_at
        fields.append("moved_at")
    solicitation.save(update_fields=fields)


def _back_to_process(ticket: Ticket, answered: Solicitation) -> bool:
    """Whether the answer ends a wait that solicitations alone started and still hold."""
    if ticket.status != Status.AWAITING_EXTERNAL or not answered.awaits:
        return False
    threads = Solicitation.objects.filter(ticket_id=ticket.pk)
    if (
        threads.filter(awaits=True, status=SolicitationStatus.WAITING)
        .exclude(pk=answered.pk)
        .exists()
    ):
        return False  # another thread the agent asked to wait for has not answered yet
    # This stay in awaiting_external began with a solicitation, and nobody transferred or
    # moved the request since (a transfer to an external agent keeps the same status).
    if not threads.filter(moved_at=ticket.status_changed_at).exists():
        return False
    return not Event.objects.filter(
        ticket_id=ticket.pk,
        kind__in=[EventKind.STATUS, EventKind.TRANSFER],
        created_at__gt=ticket.status_changed_at,
    ).exists()


@transaction.atomic
def solicitation_send(
    *,
    ticket: Ticket,
    author: User,
    recipient: str,
    subject: str,
    body_html: str = "",
    body_text: str = "",
    attachments: Sequence[NewAttachment] = (),
    template_id: int | None = None,
    template_attachment_ids: Iterable[int] = (),
    await_external: bool = False,
    now: datetime | None = None,
) -> Solicitation:
    """Open a new solicitation thread on the ticket and send its first email."""
    now = now or clock.now()
    _check_right(author, ticket)
    address = recipient_clean(ticket=ticket, recipient=recipient)
    subject = subject_clean(subject)
    # The ticket's row lock numbers the ticket's threads one after the other.
    Ticket.objects.select_for_update().filter(pk=ticket.pk).values_list("pk", flat=True).first()
    last = Solicitation.objects.filter(ticket=ticket).aggregate(n=Max("number"))["n"] or 0
    solicitation = Solicitation.objects.create(
        tenant_id=ticket.tenant_id,
        workspace_id=ticket.workspace_id,
        ticket=ticket,
        number=last + 1,
        recipient_email=address,
        subject=subject,
        created_by=author,
        created_at=now,
        last_message_at=now,
    )
    _send(
        solicitation=solicitation,
        author=author,
        subject=subject,
        body_html=body_html,
        body_text=body_text,
        attachments=attachments,
        template_id=template_id,
        template_attachment_ids=template_attachment_ids,
        await_external=await_external,
        now=now,
    )
    return solicitation


@transaction.atomic
def solicitation_reply(
    *,
    solicitation: Solicitation,
    author: User,
    subject: str,
    body_html: str = "",
    body_text: str = "",
    attachments: Sequence[NewAttachment] = (),
    template_id: int | None = None,
    template_attachment_ids: Iterable[int] = (),
    await_external: bool = False,
    now: datetime | None = None,
) -> Message:
    """Write again in a solicitation's thread, always to the address solicited."""
    now = now or clock.now()
    ticket = solicitation.ticket
    _check_right(author, ticket)
    subject = subject_clean(_without_token(subject))
    locked = Solicitation.objects.select_for_update().get(pk=solicitation.pk)
    message = _send(
        solicitation=locked,
        author=author,
        subject=subject,
        body_html=body_html,
        body_text=body_text,
        attachments=attachments,
        template_id=template_id,
        template_attachment_ids=template_attachment_ids,
        await_external=await_external,
        now=now,
    )
    solicitation.refresh_from_db()
    return message


def solicitation_answered(
    *,
    solicitation: Solicitation,
    ticket: Ticket,
    message: Message,
    is_auto_reply: bool,
    now: datetime,
) -> None:
    """An email from outside was added to the thread: link it, update the thread and ticket.

    Called by the inbound routing in its transaction, after it added `message` (kind
    `solicitation_in`, which marks the ticket unread); `ticket` is the routing's instance of
    the thread's ticket, kept current. Never touches the ticket's contact.
    An automatic reply (out of office) is shown in the thread but answers nothing.
    """
    locked = Solicitation.objects.select_for_update().get(pk=solicitation.pk)
    sender = (message.sender_email or "").lower()
    SolicitationMessage.objects.create(
        solicitation=locked, message=message, unexpected_sender=sender != locked.recipient_email
    )
    locked.last_message_at = now
    fields = ["last_message_at"]
    if not is_auto_reply:
        locked.status = SolicitationStatus.ANSWERED
        locked.answered_at = now
        fields += ["status", "answered_at"]
    locked.save(update_fields=fields)
    if is_auto_reply:
        return
    if ticket.status == Status.CLOSED:
        ticket_change_status(
            ticket=ticket,
            status=Status.TO_PROCESS,
            author=None,
            reason=_("Reopened by an answer to a solicitation"),
            now=now,
        )
    elif _back_to_process(ticket, locked):
        ticket_change_status(
            ticket=ticket,
            status=Status.TO_PROCESS,
            author=None,
            reason=_("The solicited person answered"),
            now=now,
        )

"""Writes on tickets: each service runs in one transaction and records its history event."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from comptoir.accounts.models import Membership, Queue, Tenant, User
from comptoir.accounts.rights import Right, RoleCode, has_right
from comptoir.contacts.models import Contact
from comptoir.core import clock
from comptoir.core.errors import DomainError, NotAllowed
from comptoir.tickets.counts import count_key, counts_move
from comptoir.tickets.models import (
    Attachment,
    Channel,
    ContactReason,
    Event,
    EventKind,
    Message,
    MessageKind,
    MessageRead,
    Priority,
    Status,
    Ticket,
)
from comptoir.tickets.safe_names import safe_filename


@dataclass(frozen=True)
class NewAttachment:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"
    content_id: str = ""
    is_inline: bool = False


def attachment_stored(message: Message, new: NewAttachment) -> Attachment:
    """The attachment's file written to storage under a safe name; the row is not saved yet."""
    attachment = Attachment(
        tenant_id=message.tenant_id,
        message=message,
        filename=safe_filename(new.filename),
        content_type=new.content_type,
        size=len(new.content),
        content_id=new.content_id,
        is_inline=new.is_inline,
    )
    attachment.file.save(new.filename, ContentFile(new.content), save=False)
    return attachment


def _event(ticket: Ticket, kind: str, author: User | None, now: datetime, **data: Any) -> Event:
    return Event.objects.create(
        tenant_id=ticket.tenant_id,
        ticket=ticket,
        kind=kind,
        author=author,
        data=data,
        created_at=now,
    )


def _next_number(tenant_id: int) -> int:
    # The UPDATE takes the tenant row's lock until commit: numbers never repeat or skip.
    Tenant.objects.filter(pk=tenant_id).update(last_ticket_number=F("last_ticket_number") + 1)
    return Tenant.objects.values_list("last_ticket_number", flat=True).get(pk=tenant_id)


@transaction.atomic
def ticket_create(
    *,
    queue: Queue,
    channel: str,
    subject: str,
    contact: Contact | None = None,
    requester_email: str = "",
    requester_name: str = "",
    author: User | None = None,
    priority: str = Priority.LOW,
    now: datetime | None = None,
) -> Ticket:
    """Open a new ticket in `queue`, numbered in its tenant's sequence, status new."""
    now = now or clock.now()
    if channel not in Channel.values:
        raise DomainError(f"unknown channel {channel!r}")
    if contact is not None and contact.tenant_id != queue.tenant_id:
        raise DomainError("contact of another tenant")
    ticket = Ticket.objects.create(
        tenant_id=queue.tenant_id,
        workspace_id=queue.workspace_id,
        queue=queue,
        number=_next_number(queue.tenant_id),
        channel=channel,
        subject=subject.strip()[:998],
        contact=contact,
        requester_email=requester_email.lower()[:320],
        requester_name=requester_name[:200],
        priority=priority,
        status=Status.NEW,
        status_changed_at=now,
        created_at=now,
        updated_at=now,
    )
    counts_move(None, count_key(ticket))
    _event(ticket, EventKind.CREATED, author, now, channel=channel)
    return ticket


@transaction.atomic
def message_add(
    *,
    ticket: Ticket,
    kind: str,
    body_text: str = "",
    body_html: str = "",
    author: User | None = None,
    sender_email: str = "",
    sender_name: str = "",
    subject: str = "",
    to: Sequence[str] = (),
    cc: Sequence[str] = (),
    message_id: str = "",
    in_reply_to: str = "",
    references: str = "",
    attachments: Sequence[NewAttachment] = (),
    is_auto_reply: bool = False,
    now: datetime | None = None,
) -> Message:
    """Add a message to a ticket; body_html must already be sanitized by the caller's channel."""
    now = now or clock.now()
    if kind not in MessageKind.values:
        raise DomainError(f"unknown message kind {kind!r}")
    message = Message.objects.create(
        tenant_id=ticket.tenant_id,
        ticket=ticket,
        kind=kind,
        author=author,
        # Column limits: a channel's oversized header must not make the whole message fail.
        sender_email=sender_email[:320],
        sender_name=sender_name[:200],
        to=list(to),
        cc=list(cc),
        subject=subject[:998],
        body_text=body_text,
        body_html=body_html,
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        is_auto_reply=is_auto_reply,
        created_at=now,
    )
    for a in attachments:
        attachment_stored(message, a).save()
    updates: dict[str, Any] = {
        "message_count": F("message_count") + 1,
        "last_message_at": now,
        "updated_at": now,
    }
    if kind in (MessageKind.INBOUND, MessageKind.SOLICITATION_IN):
        updates["has_unread"] = True
    Ticket.objects.filter(pk=ticket.pk).update(**updates)
    ticket.refresh_from_db(fields=["message_count", "last_message_at", "updated_at", "has_unread"])
    return message


def _lock(ticket: Ticket) -> None:
    """Re-read the fields the inbox counts depend on, with the row locked until commit.

    The caller's object may be stale (an agent's page, a batch's cache): deciding from it
    would let two concurrent changes both move the ticket out of the same old count.
    """
    fresh = (
        Ticket.objects.select_for_update()
        .only("status", "status_changed_at", "assignee_id", "queue_id", "workspace_id", "channel")
        .get(pk=ticket.pk)
    )
    ticket.status = fresh.status
    ticket.status_changed_at = fresh.status_changed_at
    ticket.assignee_id = fresh.assignee_id
    ticket.queue_id = fresh.queue_id
    ticket.workspace_id = fresh.workspace_id
    ticket.channel = fresh.channel


def _set_status(
    ticket: Ticket, status: str, author: User | None, now: datetime, reason: str = ""
) -> bool:
    if status not in Status.values:
        raise DomainError(f"unknown status {status!r}")
    _lock(ticket)
    if ticket.status == status:
        return False
    old_key = count_key(ticket)
    old = ticket.status
    ticket.status = status
    ticket.status_changed_at = now
    ticket.updated_at = now
    ticket.save(update_fields=["status", "status_changed_at", "updated_at"])
    counts_move(old_key, count_key(ticket))
    extra = {"reason": reason} if reason else {}
    _event(ticket, EventKind.STATUS, author, now, old=old, new=status, **extra)
    return True


@transaction.atomic
def ticket_change_status(
    *,
    ticket: Ticket,
    status: str,
    author: User | None,
    reason: str = "",
    now: datetime | None = None,
) -> Ticket:
    """Move the ticket to `status`, stamping when it entered it (waiting messages count from it)."""
    _set_status(ticket, status, author, now or clock.now(), reason)
    return ticket


@transaction.atomic
def ticket_close(*, ticket: Ticket, author: User | None, now: datetime | None = None) -> Ticket:
    """Close the ticket; a later inbound message reopens it."""
    _set_status(ticket, Status.CLOSED, author, now or clock.now())
    return ticket


@transaction.atomic
def ticket_assign(
    *, ticket: Ticket, assignee: User | None, author: User | None, now: datetime | None = None
) -> Ticket:
    """Give the ticket to `assignee` (None: unassign); the assignee must work in its workspace."""
    now = now or clock.now()
    if (
        assignee is not None
        and not assignee.memberships.filter(workspace_id=ticket.workspace_id).exists()
    ):
        raise DomainError("the assignee does not work in this workspace")
    _lock(ticket)
    if ticket.assignee_id == (assignee.pk if assignee else None):
        return ticket
    old_key = count_key(ticket)
    old = ticket.assignee
    ticket.assignee = assignee
    ticket.updated_at = now
    ticket.save(update_fields=["assignee", "updated_at"])
    counts_move(old_key, count_key(ticket))
    _event(
        ticket,
        EventKind.ASSIGNMENT,
        author,
        now,
        old=str(old) if old else "",
        new=str(assignee) if assignee else "",
        new_id=assignee.pk if assignee else None,
    )
    return ticket


@transaction.atomic
def ticket_qualify(
    *,
    ticket: Ticket,
    author: User | None,
    priority: str | None = None,
    contact_reason: ContactReason | None = None,
    clear_contact_reason: bool = False,
    now: datetime | None = None,
) -> Ticket:
    """Set priority and/or contact reason; one history event lists what changed."""
    now = now or clock.now()
    changes: dict[str, dict[str, str]] = {}
    if priority is not None and priority != ticket.priority:
        if priority not in Priority.values:
            raise DomainError(f"unknown priority {priority!r}")
        changes["priority"] = {"old": ticket.priority, "new": priority}
        ticket.priority = priority
    if contact_reason is not None or clear_contact_reason:
        if contact_reason is not None and contact_reason.workspace_id != ticket.workspace_id:
            raise DomainError("contact reason of another workspace")
        if ticket.contact_reason_id != (contact_reason.pk if contact_reason else None):
            old = ticket.contact_reason
            changes["contact_reason"] = {
                "old": str(old) if old else "",
                "new": str(contact_reason) if contact_reason else "",
            }
            ticket.contact_reason = contact_reason
    if changes:
        ticket.updated_at = now
        ticket.save(update_fields=["priority", "contact_reason", "updated_at"])
        _event(ticket, EventKind.QUALIFICATION, author, now, changes=changes)
    return ticket


@transaction.atomic
def ticket_edit_subject(
    *, ticket: Ticket, subject: str, author: User | None, now: datetime | None = None
) -> Ticket:
    """Rename the ticket; the old subject stays in the history."""
    now = now or clock.now()
    subject = " ".join(subject.split())[:998]
    if not subject:
        raise DomainError("the subject cannot be empty")
    if subject != ticket.subject:
        old = ticket.subject
        ticket.subject = subject
        ticket.updated_at = now
        ticket.save(update_fields=["subject", "updated_at"])
        _event(ticket, EventKind.SUBJECT, author, now, old=old, new=subject)
    return ticket


@transaction.atomic
def ticket_link_contact(
    *, ticket: Ticket, contact: Contact | None, author: User | None, now: datetime | None = None
) -> Ticket:
    """Link the ticket to a contact of the same tenant (None: unlink)."""
    now = now or clock.now()
    if contact is not None and contact.tenant_id != ticket.tenant_id:
        raise DomainError("contact of another tenant")
    if ticket.contact_id == (contact.pk if contact else None):
        return ticket
    old = ticket.contact
    ticket.contact = contact
    ticket.updated_at = now
    ticket.save(update_fields=["contact", "updated_at"])
    _event(
        ticket,
        EventKind.CONTACT,
        author,
        now,
        old=str(old) if old else "",
        new=str(contact) if contact else "",
        new_id=contact.pk if contact else None,
    )
    return ticket


@transaction.atomic
def ticket_mark_read(*, ticket: Ticket, agent: User, now: datetime | None = None) -> int:
    """Record that `agent` read every inbound message of the ticket; clears the unread badge."""
    now = now or clock.now()
    unread = list(
        ticket.messages.filter(kind__in=[MessageKind.INBOUND, MessageKind.SOLICITATION_IN])
        .exclude(reads__agent=agent)
        .values_list("pk", flat=True)
    )
    MessageRead.objects.bulk_create(
        [MessageRead(message_id=pk, agent=agent, read_at=now) for pk in unread],
        ignore_conflicts=True,
    )
    if ticket.has_unread:
        Ticket.objects.filter(pk=ticket.pk).update(has_unread=False)
        ticket.has_unread = False
    return len(unread)


@transaction.atomic
def ticket_mark_unread(*, ticket: Ticket, agent: User, now: datetime | None = None) -> Ticket:
    """Show the unread badge again, for everyone, until an agent reads the ticket."""
    now = now or clock.now()
    last_inbound = (
        ticket.messages.filter(kind__in=[MessageKind.INBOUND, MessageKind.SOLICITATION_IN])
        .order_by("-created_at", "-id")
        .first()
    )
    if last_inbound is not None:
        MessageRead.objects.filter(message=last_inbound).delete()
    if Ticket.objects.filter(pk=ticket.pk, has_unread=False).update(has_unread=True):
        _event(ticket, EventKind.UNREAD, agent, now)
    ticket.has_unread = True
    return ticket


# Agent actions: transfer and take back ------------------------------------------------

# Who a ticket may be handed to, and the status it waits in meanwhile.
TRANSFER_STATUSES: dict[str, str] = {
    "expert": Status.AWAITING_EXPERT,
    "external": Status.AWAITING_EXTERNAL,
}


def ticket_require_handling(*, ticket: Ticket, user: User) -> None:
    """Refuse (NotAllowed) an agent without the right to handle requests in the workspace."""
    if not has_right(user, ticket.workspace_id, Right.HANDLE_TICKETS):
        raise NotAllowed(_("You may not handle requests in this workspace."))


def _hand_over(
    ticket: Ticket, *, status: str, assignee: User, author: User, now: datetime, **data: Any
) -> None:
    """Move status and assignee together, with one TRANSFER event saying who and to whom."""
    old_key = count_key(ticket)
    old_status = ticket.status
    old_assignee = ticket.assignee  # re-read: _lock reset the id, dropping a stale cache
    if ticket.status != status:
        ticket.status = status
        ticket.status_changed_at = now
    ticket.assignee = assignee
    ticket.updated_at = now
    ticket.save(update_fields=["status", "status_changed_at", "assignee", "updated_at"])
    counts_move(old_key, count_key(ticket))
    _event(
        ticket,
        EventKind.TRANSFER,
        author,
        now,
        old_status=old_status,
        new_status=status,
        old=str(old_assignee) if old_assignee else "",
        new=str(assignee),
        new_id=assignee.pk,
        **data,
    )


@transaction.atomic
def ticket_transfer(
    *, ticket: Ticket, to: User, target: str, author: User, now: datetime | None = None
) -> Ticket:
    """Hand the ticket to an expert or an external agent, who gets it assigned."""
    now = now or clock.now()
    ticket_require_handling(ticket=ticket, user=author)
    status = TRANSFER_STATUSES.get(target)
    if status is None:
        raise DomainError(_("Transfer to an expert or to an external agent."))
    membership = (
        Membership.objects.filter(user=to, workspace_id=ticket.workspace_id, user__is_active=True)
        .select_related("role")
        .first()
    )
    if membership is None:
        raise DomainError(_("%(name)s does not work in this workspace.") % {"name": to})
    if Right.HANDLE_TICKETS not in {*membership.role.rights, *membership.extra_rights}:
        raise DomainError(_("%(name)s may not handle requests in this workspace.") % {"name": to})
    if target == "external" and membership.role.code != RoleCode.EXTERNAL_AGENT:
        raise DomainError(_("%(name)s is not an external agent of this workspace.") % {"name": to})
    _lock(ticket)
    if ticket.status == Status.CLOSED:
        raise DomainError(_("This request is closed: reopen it before transferring it."))
    if ticket.status == status and ticket.assignee_id == to.pk:
        return ticket
    _hand_over(
        ticket,
        status=status,
        assignee=to,
        author=author,
        now=now,
        action="transfer",
        target=target,
    )
    return ticket


@transaction.atomic
def ticket_take_back(*, ticket: Ticket, author: User, now: datetime | None = None) -> Ticket:
    """Take a transferred ticket back: to process again, assigned to the agent taking it."""
    now = now or clock.now()
    ticket_require_handling(ticket=ticket, user=author)
    _lock(ticket)
    if ticket.status not in TRANSFER_STATUSES.values():
        raise DomainError(_("This request is not transferred: there is nothing to take back."))
    _hand_over(
        ticket,
        status=Status.TO_PROCESS,
        assignee=author,
        author=author,
        now=now,
        action="take_back",
    )
    return ticket


@transaction.atomic
def ticket_reopen(*, ticket: Ticket, author: User, now: datetime | None = None) -> Ticket:
    """Reopen a closed ticket: it goes back to the desk of tickets to process."""
    ticket_require_handling(ticket=ticket, user=author)
    _lock(ticket)
    if ticket.status != Status.CLOSED:
        raise DomainError(_("This request is not closed."))
    _set_status(ticket, Status.TO_PROCESS, author, now or clock.now())
    return ticket

"""The public, expiring link to a contact's exchanges on one ticket (`{{ticket.history_link}}`).

The token is signed with the deployment's secret (django.core.signing) and carries the link
row's id with the tenant, ticket, contact, cut-off and expiry it was issued for; the server
checks the signature, then that the row still says the same thing, is not revoked, has not
expired and that the ticket is still open. Every refusal is one of two answers: 403 (not a
link of ours, or revoked) or 410 (expired, or the ticket is closed).

What the page shows (`history_messages`): inbound messages from the contact and outbound
messages to the contact created strictly before the cut-off (the moment the carrying
message was sent). Never internal notes, solicitations, history events, nor automatic
messages: acknowledgments, waiting messages and automatic replies carry nothing of the
exchange, and inbound out-of-office answers (`is_auto_reply`) are left out for the same
reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext as _

from comptoir.accounts.models import User
from comptoir.accounts.rights import Right, has_right
from comptoir.core import clock
from comptoir.core.errors import DomainError, NotAllowed
from comptoir.responses.models import HistoryLink
from comptoir.tickets.models import (
    Attachment,
    Event,
    EventKind,
    Message,
    MessageKind,
    Status,
    Ticket,
)

SALT = "comptoir.responses.history-link"
VALIDITY = timedelta(days=7)
# Shown kinds: CONTACT_VISIBLE_KINDS without the automatic messages (see the module doc).
SHOWN_KINDS = (MessageKind.INBOUND, MessageKind.OUTBOUND)


class LinkRefused(DomainError):
    """The link may not be shown: `status` 403 (not ours, revoked) or 410 (expired, closed)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def public_base_url() -> str:
    """Where contacts reach this deployment (COMPTOIR_PUBLIC_URL), without a trailing slash."""
    base = getattr(settings, "COMPTOIR_PUBLIC_URL", "") or os.environ.get(
        "COMPTOIR_PUBLIC_URL", "http://localhost:8000"
    )
    return str(base).rstrip("/")


def _stamp(moment: datetime) -> int:
    return int(moment.timestamp() * 1_000_000)


def _payload(link: HistoryLink) -> dict[str, Any]:
    return {
        "l": link.pk,
        "t": link.tenant_id,
        "k": link.ticket_id,
        "p": link.contact_id_at_issue or 0,
        "c": _stamp(link.cutoff_at),
        "e": _stamp(link.expires_at),
    }


def history_link_token(link: HistoryLink) -> str:
    """The signed token of a link (the same every time for the same row)."""
    return signing.dumps(_payload(link), salt=SALT, compress=True)


def history_link_url(link: HistoryLink, *, language: str = "") -> str:
    """The absolute URL of a link's public page, in `language` when given."""
    url = public_base_url() + reverse("history_link_page", args=[history_link_token(link)])
    return f"{url}?lang={language}" if language else url


def _default_recipient(ticket: Ticket) -> str:
    from comptoir.contacts.models import ContactIdentity, IdentityKind

    if ticket.contact_id:
        value = (
            ContactIdentity.objects.filter(contact_id=ticket.contact_id, kind=IdentityKind.EMAIL)
            .order_by("-is_primary", "id")
            .values_list("value", flat=True)
            .first()
        )
        if value:
            return value
    return ticket.requester_email


@transaction.atomic
def history_link_create(
    *,
    ticket: Ticket,
    recipient: str = "",
    now: datetime | None = None,
    issued_by: User | None = None,
    message: Message | None = None,
) -> HistoryLink:
    """Issue a link showing the exchanges before `now`, valid for seven days."""
    now = now or clock.now()
    link = HistoryLink.objects.create(
        tenant_id=ticket.tenant_id,
        ticket=ticket,
        contact_id_at_issue=ticket.contact_id,
        recipient=(recipient or _default_recipient(ticket))[:320],
        message=message,
        issued_by=issued_by if issued_by is not None and issued_by.pk else None,
        cutoff_at=now,
        expires_at=now + VALIDITY,
        created_at=now,
    )
    Event.objects.create(
        tenant_id=ticket.tenant_id,
        ticket=ticket,
        kind=EventKind.HISTORY_LINK,
        author=link.issued_by,
        data={"recipient": link.recipient, "expires_at": link.expires_at.isoformat()},
        created_at=now,
    )
    return link


def history_link_issue(
    *,
    ticket: Ticket,
    recipient: str = "",
    now: datetime | None = None,
    issued_by: User | None = None,
    message: Message | None = None,
) -> str:
    """Issue a link when a message carrying `{{ticket.history_link}}` is sent; its URL.

    Call it inside the sending transaction with the send time as `now`: messages created
    before that moment are shown, later ones need a new link.
    """
    link = history_link_create(
        ticket=ticket, recipient=recipient, now=now, issued_by=issued_by, message=message
    )
    language = ""
    if ticket.contact_id and ticket.contact and ticket.contact.language:
        language = ticket.contact.language
    return history_link_url(link, language=language)


@transaction.atomic
def history_link_revoke(*, link: HistoryLink, user: User, now: datetime | None = None) -> None:
    """Make a link answer 403 from now on (idempotent); for agents who write on the ticket."""
    if not has_right(user, link.ticket.workspace_id, Right.USE_REQUEST_MESSAGES):
        raise NotAllowed(_("You may not revoke links on this request."))
    if link.revoked_at is None:
        link.revoked_at = now or clock.now()
        link.revoked_by = user
        link.save(update_fields=["revoked_at", "revoked_by"])


@dataclass(frozen=True)
class OpenedLink:
    link: HistoryLink
    ticket: Ticket


def history_link_open(token: str, *, now: datetime | None = None) -> OpenedLink:
    """The link a token names, if it may be shown now; LinkRefused(403|410) otherwise."""
    now = now or clock.now()
    try:
        data = signing.loads(token, salt=SALT)
        link_id = int(data["l"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise LinkRefused(403, "bad signature") from None
    link = (
        HistoryLink.objects.select_related("ticket", "ticket__contact").filter(pk=link_id).first()
    )
    if link is None or data != _payload(link):
        # Signed by us but not for this row (another tenant's ticket, a changed expiry).
        raise LinkRefused(403, "mismatch")
    ticket = link.ticket
    if link.revoked_at is not None:
        raise LinkRefused(403, "revoked")
    if ticket.tenant_id != link.tenant_id:
        raise LinkRefused(403, "tenant")
    if link.contact_id_at_issue and ticket.contact_id != link.contact_id_at_issue:
        # The ticket now belongs to someone else: their exchanges are not this reader's.
        raise LinkRefused(403, "contact changed")
    if now >= link.expires_at:
        raise LinkRefused(410, "expired")
    if ticket.status == Status.CLOSED or _closed_since(link):
        raise LinkRefused(410, "closed")
    return OpenedLink(link=link, ticket=ticket)


def _closed_since(link: HistoryLink) -> bool:
    # Closing ends the link for good: reopening the ticket later does not revive it.
    return Event.objects.filter(
        ticket_id=link.ticket_id,
        kind=EventKind.STATUS,
        data__new=Status.CLOSED.value,
        created_at__gte=link.created_at,
    ).exists()


def history_messages(opened: OpenedLink) -> QuerySet[Message]:
    """The messages a link shows, oldest first (see the module doc for what is left out)."""
    return (
        Message.objects.filter(
            ticket_id=opened.ticket.pk,
            tenant_id=opened.link.tenant_id,
            kind__in=SHOWN_KINDS,
            is_auto_reply=False,
            created_at__lt=opened.link.cutoff_at,
        )
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )


def history_attachment(opened: OpenedLink, attachment_id: int) -> Attachment | None:
    """An attachment of one of the shown messages, else None."""
    return (
        Attachment.objects.filter(
            pk=attachment_id, message__in=history_messages(opened).values("pk")
        )
        .select_related("message")
        .first()
    )

"""Routing: turn one parsed, filtered email into ticket writes, through the tickets services.

Runs inside the caller's transaction (process.py): the ticket, its message, attachments,
threading index, bounce records and the acknowledgment's outbox row commit together or not
at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from comptoir.channels.email.filters import Decision, requester_address
from comptoir.channels.email.models import (
    AddressFlag,
    InboundEmail,
    InboundStatus,
    Mailbox,
    OutgoingEmail,
    OutgoingStatus,
)
from comptoir.channels.email.parsed import ParsedEmail
from comptoir.channels.email.threads import (
    ThreadIndex,
    normalize_id,
    referenced_ids,
    thread_ids,
)
from comptoir.contacts.models import Contact, ContactIdentity, IdentityKind
from comptoir.contacts.normalize import normalize_identity
from comptoir.tickets.models import Channel, Message, MessageKind, Status, Ticket
from comptoir.tickets.services import (
    NewAttachment,
    message_add,
    ticket_change_status,
    ticket_create,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    status: str  # an InboundStatus
    ticket: Ticket | None = None
    message: Message | None = None
    note: str = ""  # why it was ignored, kept in InboundEmail.error
    created_ticket: bool = False


def contact_for_address(*, tenant_id: int, address: str) -> Contact | None:
    """The contact of this tenant that owns the email address, if any."""
    if not address:
        return None
    identity = (
        ContactIdentity.objects.filter(
            tenant_id=tenant_id,
            kind=IdentityKind.EMAIL,
            value=normalize_identity(IdentityKind.EMAIL, address),
        )
        .select_related("contact")
        .first()
    )
    return identity.contact if identity else None


class RouteContext:
    """Lookups shared by the mails of one transaction, fetched in bulk for a batch."""

    def __init__(self) -> None:
        self.index = ThreadIndex()
        self._contacts: dict[tuple[int, str], Contact | None] = {}
        self._our_addresses: dict[str, bool] = {}

    def prefetch(self, mails: list[tuple[int, ParsedEmail]]) -> None:
        """One query per kind of lookup for all `mails` (tenant id, parsed) of a batch."""
        by_tenant: dict[int, list[ParsedEmail]] = {}
        for tenant_id, parsed in mails:
            by_tenant.setdefault(tenant_id, []).append(parsed)
        for tenant_id, parsed_list in by_tenant.items():
            self.index.prefetch(tenant_id, [i for p in parsed_list for i in thread_ids(p)])
            addresses = {
                normalize_identity(IdentityKind.EMAIL, a)
                for a in (requester_address(p) for p in parsed_list)
                if a
            }
            for address in addresses:
                self._contacts.setdefault((tenant_id, address), None)
            for identity in ContactIdentity.objects.filter(
                tenant_id=tenant_id, kind=IdentityKind.EMAIL, value__in=list(addresses)
            ).select_related("contact"):
                self._contacts[(tenant_id, identity.value)] = identity.contact
        senders = {p.from_email.lower() for _t, p in mails if p.from_email}
        for address in senders:
            self._our_addresses.setdefault(address, False)
        for address in (
            Mailbox.objects.annotate(lower=Lower("address"))
            .filter(lower__in=list(senders))
            .values_list("lower", flat=True)
        ):
            self._our_addresses[address] = True

    def contact(self, *, tenant_id: int, address: str) -> Contact | None:
        key = (tenant_id, normalize_identity(IdentityKind.EMAIL, address))
        if key not in self._contacts:
            self._contacts[key] = contact_for_address(tenant_id=tenant_id, address=address)
        return self._contacts[key]

    def is_our_mailbox(self, address: str) -> bool:
        address = address.lower()
        if not address:
            return False
        if address not in self._our_addresses:
            self._our_addresses[address] = Mailbox.objects.filter(address__iexact=address).exists()
        return self._our_addresses[address]


def _attachments(parsed: ParsedEmail) -> list[NewAttachment]:
    return [
        NewAttachment(
            filename=a.filename,
            content=a.content,
            content_type=a.content_type or "application/octet-stream",
            content_id=a.content_id,
            is_inline=a.is_inline,
        )
        for a in parsed.attachments
    ]


def _add_inbound(
    *, ticket: Ticket, parsed: ParsedEmail, decision: Decision, now: datetime
) -> Message:
    # The visible part is the message; the whole mail stays in InboundEmail.raw and is
    # shown by selectors_inbound.inbound_original ("full original").
    return message_add(
        ticket=ticket,
        kind=MessageKind.INBOUND,
        body_text=parsed.visible_text or parsed.body_text,
        body_html=parsed.visible_html or parsed.body_html,
        sender_email=parsed.from_email,
        sender_name=parsed.from_name,
        subject=parsed.subject,
        to=list(parsed.to),
        cc=list(parsed.cc),
        message_id=normalize_id(parsed.message_id),
        in_reply_to=normalize_id(parsed.in_reply_to[0]) if parsed.in_reply_to else "",
        references=" ".join(referenced_ids(parsed)),
        attachments=_attachments(parsed),
        is_auto_reply=decision.is_auto_reply,
        now=now,
    )


def _wake(ticket: Ticket, now: datetime) -> None:
    """The contact answered: a closed ticket reopens, a ticket awaiting the contact moves on."""
    if ticket.status == Status.CLOSED:
        ticket_change_status(
            ticket=ticket,
            status=Status.TO_PROCESS,
            author=None,
            reason=_("Reopened by a reply from the contact"),
            now=now,
        )
    elif ticket.status == Status.AWAITING_CONTACT:
        ticket_change_status(
            ticket=ticket,
            status=Status.TO_PROCESS,
            author=None,
            reason=_("The contact answered"),
            now=now,
        )


def _acknowledge(*, ticket: Ticket, parsed: ParsedEmail, recipient: str, now: datetime) -> None:
    try:
        from comptoir.channels.email.acknowledgments import acknowledgment_send
    except ImportError as exc:
        # Only the module's absence is tolerated (built in parallel); a broken one must fail.
        if exc.name != "comptoir.channels.email.acknowledgments":
            raise
        return
    message_id = normalize_id(parsed.message_id)
    references = [*referenced_ids(parsed), *([message_id] if message_id else [])]
    acknowledgment_send(
        ticket=ticket,
        recipient=recipient,
        in_reply_to=message_id,
        references=references,
        now=now,
    )


def _flag_address(*, tenant_id: int, address: str, detail: str, now: datetime) -> None:
    address = address.strip().lower()[:320]
    if not address:
        return
    updated = AddressFlag.objects.filter(tenant_id=tenant_id, address=address).update(
        count=F("count") + 1, last_at=now, detail=detail, reason="bounce"
    )
    if updated:
        return
    try:
        with transaction.atomic():
            AddressFlag.objects.create(
                tenant_id=tenant_id, address=address, reason="bounce", detail=detail, last_at=now
            )
    except IntegrityError:
        # Flagged concurrently by another bounce: count this one too.
        AddressFlag.objects.filter(tenant_id=tenant_id, address=address).update(
            count=F("count") + 1, last_at=now, detail=detail
        )


def _route_bounce(*, row: InboundEmail, parsed: ParsedEmail, now: datetime) -> Outcome:
    bounce = parsed.bounce
    assert bounce is not None
    candidates = [
        c
        for c in (
            bounce.original_message_id.strip("<> "),
            normalize_id(bounce.original_message_id),
            *referenced_ids(parsed),
        )
        if c
    ]
    outgoing = (
        OutgoingEmail.objects.filter(tenant_id=row.tenant_id, message_id__in=candidates)
        .select_related("ticket")
        .order_by("created_at", "id")
        .first()
        if candidates
        else None
    )
    failed = bounce.action.lower() == "failed"
    recipients = list(bounce.failed_recipients) or (list(outgoing.to) if outgoing else [])
    diagnostic = " ".join(filter(None, [bounce.status, bounce.diagnostic])).strip()
    if failed:
        for address in recipients:
            _flag_address(tenant_id=row.tenant_id, address=address, detail=diagnostic, now=now)
    if outgoing is None:
        return Outcome(
            InboundStatus.IGNORED,
            note=f"delivery report ({bounce.action}) for mail we did not send",
        )
    if failed and outgoing.status != OutgoingStatus.FAILED:
        OutgoingEmail.objects.filter(pk=outgoing.pk).update(
            status=OutgoingStatus.FAILED, last_error=f"bounced: {diagnostic}"[:4000]
        )
    if outgoing.ticket is None:
        return Outcome(InboundStatus.PROCESSED, note="delivery report recorded on the outbox")
    who = ", ".join(recipients) or "?"
    if failed:
        text = _("Delivery failed to %(to)s: %(diagnostic)s") % {
            "to": who,
            "diagnostic": diagnostic,
        }
    else:
        text = _("Delivery report (%(action)s) for %(to)s: %(diagnostic)s") % {
            "action": bounce.action,
            "to": who,
            "diagnostic": diagnostic,
        }
    # An internal note: the contact never sees delivery reports.
    message = message_add(
        ticket=outgoing.ticket,
        kind=MessageKind.NOTE,
        body_text=text,
        sender_email=parsed.from_email,
        sender_name=parsed.from_name or _("Mail delivery system"),
        subject=parsed.subject,
        message_id=normalize_id(parsed.message_id),
        now=now,
    )
    return Outcome(InboundStatus.PROCESSED, ticket=outgoing.ticket, message=message)


def route(
    *,
    row: InboundEmail,
    mailbox: Mailbox,
    parsed: ParsedEmail,
    decision: Decision,
    now: datetime,
    context: RouteContext | None = None,
) -> Outcome:
    """Record the email where it belongs: its ticket, a new ticket, or nowhere (loops).

    With a shared `context`, the caller flushes `context.index` before committing.
    """
    own_context = context is None
    ctx = context or RouteContext()
    if decision.drop:
        return Outcome(InboundStatus.IGNORED, note=decision.drop)
    if decision.is_bounce:
        return _route_bounce(row=row, parsed=parsed, now=now)
    tenant_id = row.tenant_id
    match = ctx.index.find(tenant_id=tenant_id, parsed=parsed)
    requester = requester_address(parsed)
    created = False
    if match is not None:
        ticket = match.ticket
        message = _add_inbound(ticket=ticket, parsed=parsed, decision=decision, now=now)
        if not decision.is_auto_reply:
            _wake(ticket, now)
    else:
        ticket = ticket_create(
            queue=mailbox.queue,
            channel=Channel.EMAIL,
            subject=parsed.subject.strip() or _("(no subject)"),
            contact=ctx.contact(tenant_id=tenant_id, address=requester),
            requester_email=requester,
            requester_name=parsed.from_name if requester == parsed.from_email else "",
            now=now,
        )
        created = True
        ctx.index.tickets[ticket.pk] = ticket
        message = _add_inbound(ticket=ticket, parsed=parsed, decision=decision, now=now)
    ctx.index.record(tenant_id=tenant_id, ticket_id=ticket.pk, ids=thread_ids(parsed))
    if own_context:
        ctx.index.flush()
    if created and decision.auto_reply_allowed and requester:
        _acknowledge(ticket=ticket, parsed=parsed, recipient=requester, now=now)
    return Outcome(InboundStatus.PROCESSED, ticket=ticket, message=message, created_ticket=created)

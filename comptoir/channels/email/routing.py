"""Routing: turn one parsed, filtered email into ticket writes, through the tickets services.

Runs inside the caller's transaction (process.py): the ticket, its message, attachments,
threading index, bounce records and the acknowledgment's outbox row commit together or not
at all.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from comptoir.channels.email.acknowledgments import acknowledgment_send
from comptoir.channels.email.filters import Decision, requester_address
from comptoir.channels.email.ids import find_reply_token
from comptoir.channels.email.models import (
    Acknowledgment,
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
)
from comptoir.contacts.models import Contact, ContactIdentity, IdentityKind
from comptoir.contacts.normalize import normalize_identity
from comptoir.solicitations.inbound import SolicitationFinder, cited_ids
from comptoir.solicitations.models import Solicitation
from comptoir.solicitations.services import solicitation_answered
from comptoir.tickets.bulk import (
    NewMessage,
    NewTicket,
    instance_maker,
    messages_add_bulk,
    ticket_number_last,
    tickets_create_bulk,
)
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
    message_pk: int | None = None  # the batch path gives the message's id, not an instance

    @property
    def message_id(self) -> int | None:
        """The id of the message the email became, if any."""
        return self.message.pk if self.message is not None else self.message_pk


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
        self.solicitations = SolicitationFinder()
        self._contacts: dict[tuple[int, str], Contact | None] = {}
        self._our_addresses: dict[str, bool] = {}

    def prefetch(self, mails: list[tuple[int, ParsedEmail]]) -> None:
        """One query per kind of lookup for all `mails` (tenant id, parsed) of a batch."""
        by_tenant: dict[int, list[ParsedEmail]] = {}
        for tenant_id, parsed in mails:
            by_tenant.setdefault(tenant_id, []).append(parsed)
        for tenant_id, parsed_list in by_tenant.items():
            self.index.prefetch(tenant_id, [i for p in parsed_list for i in self.index.ids_of(p)])
            self.solicitations.prefetch(tenant_id, [i for p in parsed_list for i in cited_ids(p)])
            tokens = (find_reply_token(p.subject, tenant_id) for p in parsed_list)
            self.index.prefetch_numbers(tenant_id, [n for n in tokens if n is not None])
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


def _inbound_message(*, ticket: Ticket, parsed: ParsedEmail, decision: Decision) -> NewMessage:
    # The visible part is the message; the whole mail stays in InboundEmail.raw and is
    # shown by selectors_inbound.inbound_original ("full original").
    return NewMessage(
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
    )


def _add_inbound(
    *, ticket: Ticket, parsed: ParsedEmail, decision: Decision, now: datetime
) -> Message:
    new = _inbound_message(ticket=ticket, parsed=parsed, decision=decision)
    values: dict[str, Any] = {f.name: getattr(new, f.name) for f in fields(new)}
    return message_add(**values, now=now)


def _new_ticket(
    *, mailbox: Mailbox, parsed: ParsedEmail, requester: str, ctx: RouteContext
) -> NewTicket:
    return NewTicket(
        queue=mailbox.queue,
        channel=Channel.EMAIL,
        subject=parsed.subject.strip() or _("(no subject)"),
        contact=ctx.contact(tenant_id=mailbox.tenant_id, address=requester),
        requester_email=requester,
        requester_name=parsed.from_name if requester == parsed.from_email else "",
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


def _route_solicitation_answer(
    *,
    parsed: ParsedEmail,
    decision: Decision,
    solicitation: Solicitation,
    now: datetime,
    ctx: RouteContext,
) -> Outcome:
    """Into the solicitation's thread, never the customer's conversation nor a new ticket."""
    ticket = ctx.index.ticket(solicitation.ticket_id)
    new = replace(
        _inbound_message(ticket=ticket, parsed=parsed, decision=decision),
        kind=MessageKind.SOLICITATION_IN,
    )
    values: dict[str, Any] = {f.name: getattr(new, f.name) for f in fields(new)}
    message = message_add(**values, now=now)
    solicitation_answered(
        solicitation=solicitation,
        ticket=ticket,
        message=message,
        is_auto_reply=decision.is_auto_reply,
        now=now,
    )
    ids = ctx.index.ids_of(parsed)
    ctx.index.record(tenant_id=ticket.tenant_id, ticket_id=ticket.pk, ids=ids, normalized=True)
    ctx.solicitations.record(tenant_id=ticket.tenant_id, ids=ids, solicitation_id=solicitation.pk)
    return Outcome(InboundStatus.PROCESSED, ticket=ticket, message=message)


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
    answered = ctx.solicitations.find(tenant_id=tenant_id, parsed=parsed)
    if answered is not None:
        outcome = _route_solicitation_answer(
            parsed=parsed, decision=decision, solicitation=answered, now=now, ctx=ctx
        )
        if own_context:
            ctx.index.flush()
        return outcome
    match = ctx.index.find(tenant_id=tenant_id, parsed=parsed)
    requester = requester_address(parsed)
    created = False
    if match is not None:
        ticket = match.ticket
        message = _add_inbound(ticket=ticket, parsed=parsed, decision=decision, now=now)
        if not decision.is_auto_reply:
            _wake(ticket, now)
    else:
        new = _new_ticket(mailbox=mailbox, parsed=parsed, requester=requester, ctx=ctx)
        values: dict[str, Any] = {f.name: getattr(new, f.name) for f in fields(new)}
        ticket = ticket_create(**values, now=now)
        created = True
        ctx.index.tickets[ticket.pk] = ticket
        message = _add_inbound(ticket=ticket, parsed=parsed, decision=decision, now=now)
    ctx.index.record(
        tenant_id=tenant_id, ticket_id=ticket.pk, ids=ctx.index.ids_of(parsed), normalized=True
    )
    if own_context:
        ctx.index.flush()
    if created and decision.auto_reply_allowed and requester:
        _acknowledge(ticket=ticket, parsed=parsed, recipient=requester, now=now)
    return Outcome(InboundStatus.PROCESSED, ticket=ticket, message=message, created_ticket=created)


@dataclass(frozen=True)
class BatchItem:
    row: InboundEmail
    mailbox: Mailbox
    parsed: ParsedEmail
    decision: Decision


def _acknowledgments_on(tenant_id: int, cache: dict[int, bool]) -> bool:
    # Without any enabled acknowledgment in the tenant, acknowledgment_send would answer
    # None for every ticket after two queries each: ask once per batch instead.
    if tenant_id not in cache:
        cache[tenant_id] = Acknowledgment.objects.filter(
            tenant_id=tenant_id, is_enabled=True
        ).exists()
    return cache[tenant_id]


def route_batch(
    *, items: Sequence[BatchItem], now: datetime, context: RouteContext
) -> list[Outcome]:
    """`route` for many mails at once, same decisions, writes in bulk; in the caller's transaction.

    Threads are resolved in memory in arrival order, so mails of one conversation within the
    batch land on one ticket (new tickets are provisional until written, numbered as
    `ticket_create` would number them one by one). The caller flushes `context.index`.
    Acknowledgments are queued after the batch's inbound messages.
    """
    ctx = context
    index = ctx.index
    outcomes: list[Outcome | None] = [None] * len(items)
    new_tickets: list[NewTicket] = []
    placeholders: list[Ticket] = []
    next_number: dict[int, int] = {}
    plan: list[tuple[int, Ticket, NewMessage, bool]] = []  # item, ticket, message, created
    # Unsaved tickets standing for the new ones (Ticket() cost ~80 µs each in the profile).
    make_placeholder = instance_maker(Ticket, ["tenant_id", "number", "status", "created_at"])
    for i, item in enumerate(items):
        parsed, decision = item.parsed, item.decision
        tenant_id = item.row.tenant_id
        if decision.drop:
            outcomes[i] = Outcome(InboundStatus.IGNORED, note=decision.drop)
            continue
        if decision.is_bounce:
            # Rare, and never creates a ticket: the one-by-one route, inline.
            outcomes[i] = _route_bounce(row=item.row, parsed=parsed, now=now)
            continue
        answered = ctx.solicitations.find(tenant_id=tenant_id, parsed=parsed)
        if answered is not None:
            # An outside person's answer to a solicitation: rare, written inline.
            outcomes[i] = _route_solicitation_answer(
                parsed=parsed, decision=decision, solicitation=answered, now=now, ctx=ctx
            )
            continue
        match = index.find(tenant_id=tenant_id, parsed=parsed)
        created = match is None
        if match is not None:
            ticket = match.ticket
            if ticket.pk is not None and not decision.is_auto_reply:
                _wake(ticket, now)
        else:
            requester = requester_address(parsed)
            new = _new_ticket(mailbox=item.mailbox, parsed=parsed, requester=requester, ctx=ctx)
            if tenant_id not in next_number:
                next_number[tenant_id] = ticket_number_last(tenant_id=tenant_id)
            next_number[tenant_id] += 1
            ticket = make_placeholder(
                {
                    "tenant_id": tenant_id,
                    "number": next_number[tenant_id],
                    "status": Status.NEW,
                    "created_at": now,
                }
            )
            index.provisional(tenant_id=tenant_id, ticket=ticket)
            new_tickets.append(new)
            placeholders.append(ticket)
        message = _inbound_message(ticket=ticket, parsed=parsed, decision=decision)
        plan.append((i, ticket, message, created))
        index.record(
            tenant_id=tenant_id,
            ticket_id=index.key_of(ticket),
            ids=index.ids_of(parsed),
            normalized=True,
        )
    saved = tickets_create_bulk(tickets=new_tickets, now=now)
    real: dict[int, Ticket] = {}
    mapping: dict[int, int] = {}
    for placeholder, ticket in zip(placeholders, saved, strict=True):
        if (placeholder.tenant_id, placeholder.number) != (ticket.tenant_id, ticket.number):
            # Numbers were taken meanwhile: reply tokens may have been misread.
            raise RuntimeError("ticket numbers moved during a batch")
        real[id(placeholder)] = ticket
        mapping[index.key_of(placeholder)] = ticket.pk
    index.resolve(mapping)
    for ticket in saved:
        index.tickets[ticket.pk] = ticket
    for _i, ticket, message, _created in plan:
        message.ticket = real.get(id(ticket), ticket)
    message_pks = messages_add_bulk(messages=[m for _i, _t, m, _c in plan], now=now)
    acks_on: dict[int, bool] = {}
    for (i, _t, planned, created), message_pk in zip(plan, message_pks, strict=True):
        ticket = planned.ticket
        outcomes[i] = Outcome(
            InboundStatus.PROCESSED, ticket=ticket, message_pk=message_pk, created_ticket=created
        )
        item = items[i]
        requester = requester_address(item.parsed)
        if (
            created
            and item.decision.auto_reply_allowed
            and requester
            and _acknowledgments_on(ticket.tenant_id, acks_on)
        ):
            _acknowledge(ticket=ticket, parsed=item.parsed, recipient=requester, now=now)
    assert all(o is not None for o in outcomes)
    return [o for o in outcomes if o is not None]

"""Fixtures of the solicitation tests: Boutique's mailbox and a ticket from Alice by email."""

from __future__ import annotations

from email.utils import make_msgid

import pytest

from comptoir.channels.email.models import InboundEmail, Mailbox, OutgoingEmail
from comptoir.channels.email.process import inbound_process
from comptoir.channels.email.store import inbound_store
from comptoir.contacts.models import ContactIdentity
from comptoir.solicitations.models import Solicitation
from comptoir.tickets.models import Channel, MessageKind, Ticket
from comptoir.tickets.services import message_add, ticket_create

CUSTOMER_TEXT = "Mon colis n'est jamais arrivé."
SUPPLIER = "logistique@transporteur.example"


@pytest.fixture
def mailbox(cast) -> Mailbox:
    return Mailbox.objects.create(
        tenant=cast.tenant,
        workspace=cast.boutique,
        queue=cast.boutique_queue,
        address="support@boutique.test",
    )


@pytest.fixture
def ticket(cast, mailbox) -> Ticket:
    """Alice's email ticket with her first mail (a real Message-ID to thread on)."""
    ContactIdentity.objects.get_or_create(
        tenant=cast.tenant, contact=cast.alice, kind="email", value="alice@example.com"
    )
    ticket = ticket_create(
        queue=cast.boutique_queue,
        channel=Channel.EMAIL,
        subject="Colis perdu",
        contact=cast.alice,
        requester_email="alice@example.com",
    )
    message_add(
        ticket=ticket,
        kind=MessageKind.INBOUND,
        body_text=CUSTOMER_TEXT,
        sender_email="alice@example.com",
        message_id="first.alice@example.com",
    )
    return ticket


def outgoing_of(solicitation: Solicitation) -> OutgoingEmail:
    """The latest email queued in the thread."""
    return OutgoingEmail.objects.filter(
        ticket_message__solicitation_link__solicitation=solicitation
    ).latest("id")


def answer_raw(
    *,
    to_mail: OutgoingEmail | None,
    sender: str = SUPPLIER,
    subject: str | None = None,
    body: str = "Le colis est au dépôt de Lyon.",
    headers: bool = True,
    message_id: str | None = None,
) -> bytes:
    """An answer from outside, as a mail client writes it (In-Reply-To/References)."""
    if subject is None:
        subject = "Re: " + (to_mail.subject if to_mail else "")
    lines = [
        f"From: Transporteur <{sender}>",
        "To: support@boutique.test",
        f"Subject: {subject}",
        "Date: Mon, 23 Nov 2026 10:00:00 +0100",
        f"Message-ID: {message_id or make_msgid(domain='transporteur.example')}",
    ]
    if headers and to_mail is not None:
        lines.append(f"In-Reply-To: <{to_mail.message_id}>")
        refs = " ".join(f"<{r}>" for r in [*to_mail.references.split(), to_mail.message_id])
        lines.append(f"References: {refs}")
    lines += ["Content-Type: text/plain; charset=utf-8", "", body]
    return ("\r\n".join(lines) + "\r\n").encode()


def receive(raw: bytes, mailbox: Mailbox) -> InboundEmail:
    """Store and process one inbound mail as the transports do."""
    row, _created = inbound_store(raw=raw, transport="http", mailbox=mailbox, schedule=False)
    inbound_process(inbound_id=row.pk)
    row.refresh_from_db()
    return row

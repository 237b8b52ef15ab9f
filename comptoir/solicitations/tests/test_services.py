"""Sending solicitations and threading the answers back, through the real inbound path."""

from __future__ import annotations

import pytest

from comptoir.channels.email.ids import thread_token
from comptoir.channels.email.models import InboundStatus
from comptoir.channels.email.process import inbound_process_many
from comptoir.channels.email.replies import _thread_of
from comptoir.channels.email.store import inbound_store
from comptoir.core.errors import DomainError, NotAllowed
from comptoir.solicitations.models import Solicitation, SolicitationMessage, SolicitationStatus
from comptoir.solicitations.services import (
    solicitation_reply,
    solicitation_send,
    thread_subject,
)
from comptoir.tickets.models import Message, MessageKind, Status, Ticket

from .conftest import SUPPLIER, answer_raw, outgoing_of, receive

pytestmark = pytest.mark.django_db


def _message(pk: int | None) -> Message:
    assert pk is not None
    return Message.objects.get(pk=pk)


def _solicit(cast, ticket, recipient=SUPPLIER, **kwargs) -> Solicitation:
    return solicitation_send(
        ticket=ticket,
        author=cast.boutique_agent,
        recipient=recipient,
        subject=kwargs.pop("subject", "Colis perdu"),
        body_html=kwargs.pop("body_html", "<p>Pouvez-vous localiser le colis 123 ?</p>"),
        **kwargs,
    )


def test_sending_opens_a_numbered_thread_and_queues_one_mail_with_its_own_token(cast, ticket):
    first = _solicit(cast, ticket)
    second = _solicit(cast, ticket, recipient="Entrepôt <Stock@Entrepot.example>")

    assert (first.number, second.number) == (1, 2)
    assert second.recipient_email == "stock@entrepot.example"
    mail = outgoing_of(first)
    assert mail.to == [SUPPLIER]
    assert mail.kind == "solicitation"
    assert mail.subject == f"Colis perdu {thread_token(cast.tenant.pk, ticket.number, 1)}"
    # Not the ticket's token: an answer without headers can only reach this thread.
    assert f"[#{ticket.number}-" not in mail.subject
    # A new thread, not a reply in the customer's conversation.
    assert mail.in_reply_to == "" and mail.references == ""
    message = _message(mail.ticket_message_id)
    assert message.kind == MessageKind.SOLICITATION_OUT
    assert message.message_id == mail.message_id
    assert first.status == SolicitationStatus.WAITING
    # Our next reply to the contact still threads on the contact's own mail.
    assert _thread_of(ticket) == ("first.alice@example.com", ["first.alice@example.com"])


def test_an_answer_threads_into_its_solicitation_never_the_customer_conversation(
    cast, ticket, mailbox
):
    solicitation = _solicit(cast, ticket)
    contact_before = ticket.contact_id
    tickets_before = Ticket.objects.count()
    Ticket.objects.filter(pk=ticket.pk).update(has_unread=False)

    row = receive(answer_raw(to_mail=outgoing_of(solicitation)), mailbox)

    assert row.status == InboundStatus.PROCESSED
    assert row.ticket_id == ticket.pk
    answer = _message(row.ticket_message_id)
    assert answer.kind == MessageKind.SOLICITATION_IN
    assert answer.solicitation_link.solicitation == solicitation
    assert answer.solicitation_link.unexpected_sender is False
    solicitation.refresh_from_db()
    assert solicitation.status == SolicitationStatus.ANSWERED
    ticket.refresh_from_db()
    assert ticket.has_unread is True
    assert ticket.contact_id == contact_before
    assert Ticket.objects.count() == tickets_before
    # The reply to the contact never threads on the outside person's mail.
    assert _thread_of(ticket)[0] == "first.alice@example.com"


def test_two_threads_on_one_ticket_each_get_their_own_answers(cast, ticket, mailbox):
    carrier = _solicit(cast, ticket)
    depot = _solicit(cast, ticket, recipient="depot@entrepot.example")
    receive(
        answer_raw(to_mail=outgoing_of(depot), sender="depot@entrepot.example", body="Au dépôt"),
        mailbox,
    )
    receive(answer_raw(to_mail=outgoing_of(carrier), body="Chez le transporteur"), mailbox)

    def bodies(s: Solicitation) -> list[str]:
        return [
            link.message.body_text.strip()
            for link in SolicitationMessage.objects.filter(solicitation=s)
            .select_related("message")
            .order_by("message_id")
            if link.message.kind == MessageKind.SOLICITATION_IN
        ]

    assert bodies(carrier) == ["Chez le transporteur"]
    assert bodies(depot) == ["Au dépôt"]


def test_an_answer_that_lost_its_headers_finds_its_thread_by_the_signed_subject_token(
    cast, ticket, mailbox
):
    solicitation = _solicit(cast, ticket)
    mail = outgoing_of(solicitation)
    row = receive(answer_raw(to_mail=mail, headers=False, subject=f"TR: {mail.subject}"), mailbox)
    assert row.ticket_id == ticket.pk
    assert _message(row.ticket_message_id).kind == MessageKind.SOLICITATION_IN


def test_a_forged_token_opens_a_new_request_instead(cast, ticket, mailbox):
    forged = f"Re: Colis perdu [#{ticket.number}.1-00000000]"
    _solicit(cast, ticket)
    row = receive(answer_raw(to_mail=None, subject=forged), mailbox)
    assert row.ticket_id != ticket.pk
    assert _message(row.ticket_message_id).kind == MessageKind.INBOUND


def test_an_answer_from_another_address_is_attached_but_flagged(cast, ticket, mailbox):
    solicitation = _solicit(cast, ticket)
    row = receive(
        answer_raw(to_mail=outgoing_of(solicitation), sender="collegue@transporteur.example"),
        mailbox,
    )
    link = SolicitationMessage.objects.get(message=_message(row.ticket_message_id))
    assert link.solicitation == solicitation
    assert link.unexpected_sender is True


def test_an_out_of_office_answer_is_shown_but_answers_nothing(cast, ticket, mailbox):
    solicitation = _solicit(cast, ticket)
    raw = answer_raw(to_mail=outgoing_of(solicitation), body="Absent jusqu'au 30.").replace(
        b"Content-Type:", b"Auto-Submitted: auto-replied\r\nContent-Type:", 1
    )
    row = receive(raw, mailbox)
    assert SolicitationMessage.objects.filter(message=_message(row.ticket_message_id)).exists()
    solicitation.refresh_from_db()
    assert solicitation.status == SolicitationStatus.WAITING


def test_the_batch_ingest_path_threads_answers_the_same_way(cast, ticket, mailbox):
    solicitation = _solicit(cast, ticket)
    rows = [
        inbound_store(raw=raw, transport="cli", mailbox=mailbox, schedule=False)[0]
        for raw in (
            answer_raw(to_mail=outgoing_of(solicitation)),
            answer_raw(to_mail=None, subject="Une toute autre demande", sender="bob@example.com"),
        )
    ]
    inbound_process_many(inbound_ids=[r.pk for r in rows])
    answer, other = (r.__class__.objects.get(pk=r.pk) for r in rows)
    assert answer.ticket_id == ticket.pk
    assert _message(answer.ticket_message_id).kind == MessageKind.SOLICITATION_IN
    assert other.ticket_id not in (None, ticket.pk)


def test_a_reply_goes_to_the_solicited_address_in_the_thread(cast, ticket, mailbox):
    solicitation = _solicit(cast, ticket)
    receive(answer_raw(to_mail=outgoing_of(solicitation)), mailbox)
    answer = Message.objects.filter(kind=MessageKind.SOLICITATION_IN).get()
    assert thread_subject(solicitation).startswith("Re: Re: Colis perdu") is False
    assert thread_subject(solicitation) == "Re: Colis perdu"

    solicitation_reply(
        solicitation=solicitation,
        author=cast.boutique_agent,
        subject="Re: Colis perdu",
        body_text="Merci, pouvez-vous le renvoyer ?",
    )

    mail = outgoing_of(solicitation)
    assert mail.to == [SUPPLIER]
    assert mail.in_reply_to == answer.message_id
    assert answer.message_id in mail.references.split()
    assert mail.subject.endswith(thread_token(cast.tenant.pk, ticket.number, 1))
    solicitation.refresh_from_db()
    assert solicitation.status == SolicitationStatus.WAITING


def test_awaiting_external_when_ticked_and_back_to_process_when_answered(cast, ticket, mailbox):
    solicitation = _solicit(cast, ticket, await_external=True)
    ticket.refresh_from_db()
    assert ticket.status == Status.AWAITING_EXTERNAL
    receive(answer_raw(to_mail=outgoing_of(solicitation)), mailbox)
    ticket.refresh_from_db()
    assert ticket.status == Status.TO_PROCESS


def test_not_ticked_leaves_the_status_alone(cast, ticket):
    _solicit(cast, ticket)
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


@pytest.mark.parametrize(
    ("recipient", "error"),
    [
        ("", "Enter the email address"),
        ("pas une adresse", "not a valid email address"),
        ("alice@example.com", "the request's contact"),
        ("Support@Boutique.test", "one of our own mailboxes"),
    ],
)
def test_refused_recipients_say_why_and_send_nothing(cast, ticket, recipient, error):
    from django.utils import translation

    with translation.override("en"), pytest.raises(DomainError, match=error):
        _solicit(cast, ticket, recipient=recipient)
    assert not Solicitation.objects.exists()
    assert not Message.objects.filter(kind=MessageKind.SOLICITATION_OUT).exists()


def test_an_empty_message_or_subject_is_refused(cast, ticket):
    with pytest.raises(DomainError):
        _solicit(cast, ticket, body_html="<div><br></div>")
    with pytest.raises(DomainError):
        _solicit(cast, ticket, subject="   ")
    assert not Solicitation.objects.exists()


def test_an_agent_of_another_workspace_may_not_solicit(cast, ticket):
    with pytest.raises(NotAllowed):
        solicitation_send(
            ticket=ticket,
            author=cast.assurance_agent,
            recipient=SUPPLIER,
            subject="Colis perdu",
            body_text="?",
        )


def _ps_to(previous_id: str, *, subject: str = "PS : une photo") -> bytes:
    """The outside person writes again, citing only their own previous answer."""
    return (
        f"From: Transporteur <{SUPPLIER}>\r\nTo: support@boutique.test\r\n"
        f"Subject: {subject}\r\nDate: Mon, 23 Nov 2026 10:05:00 +0100\r\n"
        "Message-ID: <ps1@transporteur.example>\r\n"
        f"In-Reply-To: <{previous_id}>\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n\r\nPS\r\n"
    ).encode()


@pytest.mark.parametrize("batch", [False, True], ids=["one by one", "in one batch"])
def test_a_follow_up_citing_only_the_previous_answer_stays_in_the_thread(
    cast, ticket, mailbox, batch
):
    solicitation = _solicit(cast, ticket)
    raws = [
        answer_raw(to_mail=outgoing_of(solicitation), message_id="<a1@transporteur.example>"),
        _ps_to("a1@transporteur.example"),
    ]
    if batch:
        rows = [
            inbound_store(raw=raw, transport="cli", mailbox=mailbox, schedule=False)[0]
            for raw in raws
        ]
        inbound_process_many(inbound_ids=[r.pk for r in rows])
        rows = [r.__class__.objects.get(pk=r.pk) for r in rows]
    else:
        rows = [receive(raw, mailbox) for raw in raws]
    assert [_message(r.ticket_message_id).kind for r in rows] == [MessageKind.SOLICITATION_IN] * 2
    assert _thread_of(ticket)[0] == "first.alice@example.com"


def test_an_answer_does_not_undo_a_later_transfer_to_an_external_agent(
    cast, ticket, mailbox, external
):
    from comptoir.tickets.services import ticket_transfer

    solicitation = _solicit(cast, ticket, await_external=True)
    ticket = Ticket.objects.get(pk=ticket.pk)
    ticket_transfer(ticket=ticket, to=external, target="external", author=cast.boutique_agent)

    receive(answer_raw(to_mail=outgoing_of(solicitation)), mailbox)

    ticket.refresh_from_db()
    assert ticket.status == Status.AWAITING_EXTERNAL
    assert ticket.assignee == external


def test_the_request_waits_for_every_thread_the_agent_asked_to_wait_for(cast, ticket, mailbox):
    first = _solicit(cast, ticket, await_external=True)
    # Sent while the request already waits: it joins the wait.
    second = _solicit(cast, ticket, recipient="depot@entrepot.example", await_external=True)
    receive(answer_raw(to_mail=outgoing_of(first)), mailbox)
    ticket.refresh_from_db()
    assert ticket.status == Status.AWAITING_EXTERNAL
    receive(
        answer_raw(to_mail=outgoing_of(second), sender="depot@entrepot.example"),
        mailbox,
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.TO_PROCESS


def test_a_reply_without_the_switch_no_longer_holds_the_request(cast, ticket, mailbox):
    first = _solicit(cast, ticket, await_external=True)
    second = _solicit(cast, ticket, recipient="depot@entrepot.example", await_external=True)
    receive(answer_raw(to_mail=outgoing_of(second), sender="depot@entrepot.example"), mailbox)
    # The agent writes again to the depot without asking the request to wait for it.
    solicitation_reply(
        solicitation=second, author=cast.boutique_agent, subject="Re: Colis", body_text="Merci"
    )
    receive(answer_raw(to_mail=outgoing_of(first)), mailbox)
    ticket.refresh_from_db()
    assert ticket.status == Status.TO_PROCESS

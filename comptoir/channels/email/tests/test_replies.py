"""An agent's email reply: the message, the mail that leaves, the ticket's status, the view."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from comptoir.channels.email import ids
from comptoir.channels.email.delivery import outgoing_deliver
from comptoir.channels.email.models import Mailbox, OutgoingEmail
from comptoir.channels.email.replies import ticket_reply
from comptoir.core.errors import DomainError, NotAllowed
from comptoir.testing.smtp_sink import smtp_sink_fixture  # noqa: F401
from comptoir.tickets.models import Message, MessageKind, Status
from comptoir.tickets.services import NewAttachment, message_add, ticket_create


@pytest.fixture
def ticket(cast):
    Mailbox.objects.create(
        tenant=cast.tenant,
        workspace=cast.boutique,
        queue=cast.boutique_queue,
        address="commandes@acme.test",
        display_name="Acme Commandes",
    )
    ticket = ticket_create(
        queue=cast.boutique_queue, channel="email", subject="Colis perdu", contact=cast.alice
    )
    message_add(
        ticket=ticket,
        kind=MessageKind.INBOUND,
        body_text="Où est mon colis ?",
        sender_email="alice@example.com",
        message_id="second@example.com",
        in_reply_to="first@example.com",
        references="first@example.com",
    )
    return ticket


def _outgoing(message: Message) -> OutgoingEmail:
    return OutgoingEmail.objects.get(ticket_message=message)


def test_a_reply_is_mailed_in_the_thread_and_waits_for_the_contact(cast, ticket, smtp_sink):
    message = ticket_reply(ticket=ticket, author=cast.boutique_agent, body_text="Il arrive demain.")
    assert message.kind == MessageKind.OUTBOUND
    assert message.to == ["alice@example.com"]
    ticket.refresh_from_db()
    assert ticket.status == Status.AWAITING_CONTACT
    row = _outgoing(message)
    assert message.message_id == row.message_id
    assert outgoing_deliver(outgoing_id=row.pk)
    mail = smtp_sink.parsed()
    token = ids.reply_token(ticket.tenant_id, ticket.number)
    assert mail["Subject"] == f"Re: Colis perdu {token}"
    assert mail["In-Reply-To"] == "<second@example.com>"
    assert mail["References"] == "<first@example.com> <second@example.com>"
    assert mail["From"] == "Acme Commandes <commandes@acme.test>"
    assert mail["Auto-Submitted"] is None
    assert smtp_sink.messages[0].rcpt_tos == ("alice@example.com",)
    assert "Il arrive demain." in mail.get_body(("plain",)).get_content()


def test_a_reply_to_a_reply_keeps_one_token_and_one_re(cast, ticket):
    first = ticket_reply(ticket=ticket, author=cast.boutique_agent, body_text="Un")
    ticket.subject = first.subject  # e.g. an agent renamed it after the token
    second = ticket_reply(ticket=ticket, author=cast.boutique_agent, body_text="Deux")
    token = ids.reply_token(ticket.tenant_id, ticket.number)
    assert second.subject.count(token) == 1
    assert second.subject.lower().count("re:") == 1


def test_a_reply_carries_its_attachments(cast, ticket, smtp_sink):
    message = ticket_reply(
        ticket=ticket,
        author=cast.boutique_agent,
        body_text="Voici le bon.",
        attachments=[NewAttachment("bon de retour.pdf", b"%PDF-1.4 bon", "application/pdf")],
    )
    assert message.attachments.count() == 1
    outgoing_deliver(outgoing_id=_outgoing(message).pk)
    files = list(smtp_sink.parsed().iter_attachments())
    assert [(f.get_filename(), f.get_payload(decode=True)) for f in files] == [
        ("bon de retour.pdf", b"%PDF-1.4 bon")
    ]


def test_the_html_of_a_reply_is_sanitized_and_has_a_text_version(cast, ticket):
    message = ticket_reply(
        ticket=ticket,
        author=cast.boutique_agent,
        body_text="",
        body_html='<p onclick="x()">Bonjour <script>alert(1)</script><b>Alice</b></p>',
    )
    assert "script" not in message.body_html and "onclick" not in message.body_html
    assert "Bonjour" in message.body_text and "Alice" in message.body_text
    assert _outgoing(message).body_html == message.body_html


def test_without_a_contact_the_reply_goes_to_the_requester_address(cast):
    ticket = ticket_create(
        queue=cast.boutique_queue,
        channel="email",
        subject="Question",
        requester_email="bob@example.com",
    )
    message = ticket_reply(ticket=ticket, author=cast.boutique_agent, body_text="Bonjour Bob")
    assert _outgoing(message).to == ["bob@example.com"]
    assert _outgoing(message).in_reply_to == ""


def test_a_ticket_without_any_address_gives_a_clear_error_and_sends_nothing(cast):
    ticket = ticket_create(queue=cast.boutique_queue, channel="phone", subject="Appel")
    with translation.override("en"), pytest.raises(DomainError, match="no email address"):
        ticket_reply(ticket=ticket, author=cast.boutique_agent, body_text="Bonjour")
    assert not OutgoingEmail.objects.exists()
    assert not Message.objects.filter(ticket=ticket).exists()
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_an_agent_of_another_workspace_may_not_reply(cast, ticket):
    with pytest.raises(NotAllowed):
        ticket_reply(ticket=ticket, author=cast.assurance_agent, body_text="Bonjour")
    assert not OutgoingEmail.objects.exists()


def test_the_composer_sends_and_returns_a_fresh_partial_to_htmx(cast, ticket, client):
    client.force_login(cast.boutique_agent)
    url = reverse("ticket_reply", args=[ticket.pk])
    upload = SimpleUploadedFile("photo.png", b"\x89PNG fake", content_type="image/png")
    response = client.post(
        url, {"body": "Bien reçu.", "attachments": [upload]}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "ticket-replied"
    assert b'id="reply-composer"' in response.content
    assert b"<html" not in response.content
    message = Message.objects.get(ticket=ticket, kind=MessageKind.OUTBOUND)
    assert message.body_text == "Bien reçu."
    assert [a.filename for a in message.attachments.all()] == ["photo.png"]
    assert _outgoing(message).attachment_ids == [message.attachments.get().pk]


def test_the_composer_without_htmx_redirects_to_the_ticket(cast, ticket, client):
    client.force_login(cast.boutique_agent)
    response = client.post(reverse("ticket_reply", args=[ticket.pk]), {"body": "Bien reçu."})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("ticket_detail", args=[ticket.pk]))


def test_the_composer_shows_the_error_of_a_ticket_without_address(cast, client):
    ticket = ticket_create(queue=cast.boutique_queue, channel="phone", subject="Appel")
    client.force_login(cast.boutique_agent)
    response = client.post(
        reverse("ticket_reply", args=[ticket.pk]), {"body": "Bonjour"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert b'role="alert"' in response.content
    assert "HX-Trigger" not in response
    assert not OutgoingEmail.objects.exists()


def test_an_empty_reply_is_refused(cast, ticket, client):
    client.force_login(cast.boutique_agent)
    response = client.post(reverse("ticket_reply", args=[ticket.pk]), {"body": "  "})
    assert response.status_code == 400
    assert not OutgoingEmail.objects.exists()


def test_another_tenants_ticket_is_not_found(cast, ticket, client):
    client.force_login(cast.other_agent)
    response = client.post(reverse("ticket_reply", args=[ticket.pk]), {"body": "Hi"})
    assert response.status_code == 404
    assert not OutgoingEmail.objects.exists()


def test_the_composer_only_answers_post(cast, ticket, client):
    client.force_login(cast.boutique_agent)
    assert client.get(reverse("ticket_reply", args=[ticket.pk])).status_code == 405

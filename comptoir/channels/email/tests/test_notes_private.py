"""An internal note never reaches the contact, by any path that exists.

Customer-facing outputs today: the reply mail (body, text alternative, attachments, inline
images, threading headers), the acknowledgment mail, any outbox row, the full original
page, and `contact_visible_messages` (what any contact-facing page selects).
Each is checked with a note that carries text, HTML, an attachment and an inline image.
"""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import translation

from comptoir.accounts.rights import Right
from comptoir.channels.email.acknowledgments import acknowledgment_send
from comptoir.channels.email.delivery import outgoing_deliver
from comptoir.channels.email.models import OutgoingEmail
from comptoir.channels.email.outbound import email_send
from comptoir.channels.email.replies import ticket_reply
from comptoir.core.errors import DomainError, NotAllowed
from comptoir.testing.smtp_sink import smtp_sink_fixture  # noqa: F401
from comptoir.tickets.models import CONTACT_VISIBLE_KINDS, MessageKind
from comptoir.tickets.notes import note_add
from comptoir.tickets.selectors import contact_visible_messages
from comptoir.tickets.services import NewAttachment, message_add, ticket_create

SECRET = "Client agressif au téléphone"
SECRET_FILE = b"%PDF rapport interne"
SECRET_IMAGE = b"\x89PNG secret-capture"


@pytest.fixture
def ticket(cast):
    ticket = ticket_create(
        queue=cast.boutique_queue, channel="email", subject="Remboursement", contact=cast.alice
    )
    message_add(
        ticket=ticket,
        kind=MessageKind.INBOUND,
        body_text="Je veux être remboursée.",
        sender_email="alice@example.com",
        message_id="remb@example.com",
    )
    return ticket


@pytest.fixture
def note(cast, ticket):
    return note_add(
        ticket=ticket,
        author=cast.boutique_agent,
        body_html=f'<p><strong>{SECRET}</strong></p><p><img src="cid:secret@comptoir"></p>',
        attachments=[
            NewAttachment("rapport-interne.pdf", SECRET_FILE, "application/pdf"),
            NewAttachment(
                "capture.png",
                SECRET_IMAGE,
                "image/png",
                content_id="secret@comptoir",
                is_inline=True,
            ),
        ],
    )


def _assert_no_secret(received) -> None:
    """Look at every decoded part of the mail that left (bodies are encoded on the wire)."""
    raw = received.data
    assert b"secret@comptoir" not in raw
    for part in received.parsed().walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True) or b""
        text = payload.decode("utf-8", "replace")
        assert "agressif" not in text, part.get_content_type()
        assert payload not in (SECRET_FILE, SECRET_IMAGE)
        assert part.get_filename() not in ("rapport-interne.pdf", "capture.png")


def test_a_note_is_stored_as_a_note_with_its_files_and_sends_nothing(cast, ticket, note):
    assert note.kind == MessageKind.NOTE
    assert SECRET in note.body_text
    assert sorted((a.filename, a.is_inline) for a in note.attachments.all()) == [
        ("capture.png", True),
        ("rapport-interne.pdf", False),
    ]
    assert not OutgoingEmail.objects.exists()
    ticket.refresh_from_db()
    assert ticket.status == "new"


def test_notes_are_not_among_the_kinds_a_contact_may_see(ticket, note):
    assert MessageKind.NOTE not in CONTACT_VISIBLE_KINDS
    visible = list(contact_visible_messages(ticket=ticket))
    assert note not in visible
    assert [m.kind for m in visible] == [MessageKind.INBOUND]


def test_the_reply_mail_carries_nothing_of_the_note(cast, ticket, note, smtp_sink):
    reply = ticket_reply(ticket=ticket, author=cast.boutique_agent, body_html="<p>Accordé.</p>")
    row = OutgoingEmail.objects.get(ticket_message=reply)
    assert row.attachment_ids == []
    assert SECRET not in row.body_text and SECRET not in row.body_html
    # Threading follows the contact's mail, never the note.
    assert row.in_reply_to == "remb@example.com"
    assert outgoing_deliver(outgoing_id=row.pk)
    _assert_no_secret(smtp_sink.messages[0])
    assert list(smtp_sink.parsed().iter_attachments()) == []


def test_a_notes_attachment_can_never_be_attached_to_any_mail(cast, ticket, note):
    for attachment in note.attachments.all():
        with translation.override("en"), pytest.raises(DomainError, match="internal note"):
            email_send(
                tenant=ticket.tenant_id,
                to=["alice@example.com"],
                subject="x",
                body_text="x",
                kind="reply",
                idempotency_key=f"leak:{attachment.pk}",
                ticket=ticket,
                attachments=[attachment],
            )
    assert not OutgoingEmail.objects.exists()


def test_the_acknowledgment_carries_nothing_of_the_note(
    cast, ticket, note, acknowledgment, smtp_sink
):
    row = acknowledgment_send(ticket=ticket, recipient="alice@example.com")
    assert row is not None
    assert outgoing_deliver(outgoing_id=row.pk)
    _assert_no_secret(smtp_sink.messages[0])


def test_the_full_original_page_never_shows_a_note(cast, ticket, note, client):
    client.force_login(cast.boutique_agent)
    assert client.get(reverse("message_original", args=[note.pk])).status_code == 404


def test_no_outgoing_row_ever_holds_note_text_or_files(
    cast, ticket, note, acknowledgment, smtp_sink
):
    acknowledgment_send(ticket=ticket, recipient="alice@example.com")
    ticket_reply(ticket=ticket, author=cast.boutique_agent, body_text="Réponse")
    note_ids = set(note.attachments.values_list("pk", flat=True))
    for row in OutgoingEmail.objects.all():
        assert SECRET not in row.body_text and SECRET not in row.body_html
        assert not note_ids & set(row.attachment_ids)


def test_every_mail_that_leaves_for_the_ticket_carries_nothing_of_the_note(
    cast, ticket, note, acknowledgment, smtp_sink
):
    # Whatever queued it (acknowledgment, reply), every mail is an outbox row: deliver them
    # all and look at the bytes that reached the relay.
    from comptoir.channels.email.delivery import outgoing_deliver_due
    from comptoir.core import clock

    acknowledgment_send(ticket=ticket, recipient="alice@example.com")
    ticket_reply(
        ticket=ticket,
        author=cast.boutique_agent,
        body_html="<p>Réponse</p>",
        attachments=[NewAttachment("devis.pdf", b"%PDF devis", "application/pdf")],
    )
    assert outgoing_deliver_due(now=clock.now()) == 2
    assert len(smtp_sink.messages) == 2
    for received in smtp_sink.messages:
        _assert_no_secret(received)


def test_only_agents_with_the_messages_right_may_write_notes(cast, ticket):
    with pytest.raises(NotAllowed):
        note_add(ticket=ticket, author=cast.assurance_agent, body_text="x")
    membership = cast.boutique_agent.memberships.get(workspace=cast.boutique)
    membership.role.rights = [r for r in membership.role.rights if r != Right.USE_REQUEST_MESSAGES]
    membership.role.save()
    cast.boutique_agent._comptoir_rights = None
    with pytest.raises(NotAllowed):
        note_add(ticket=ticket, author=cast.boutique_agent, body_text="x")


def test_an_empty_note_is_refused(cast, ticket):
    with translation.override("en"), pytest.raises(DomainError, match="empty"):
        note_add(ticket=ticket, author=cast.boutique_agent, body_html="<div><br></div>")

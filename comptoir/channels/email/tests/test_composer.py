"""The rich composer's services and view: inline images, attachments, sanitizing, collision."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from comptoir.channels.email.delivery import outgoing_deliver
from comptoir.channels.email.models import Mailbox, OutgoingEmail
from comptoir.channels.email.replies import ReplyConflict, newest_message_id, ticket_reply
from comptoir.core.errors import DomainError
from comptoir.testing.smtp_sink import smtp_sink_fixture  # noqa: F401
from comptoir.tickets.models import Message, MessageKind, Status
from comptoir.tickets.notes import note_add
from comptoir.tickets.services import NewAttachment, message_add, ticket_create

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)
CID = "img-1@comptoir"


@pytest.fixture
def ticket(cast):
    Mailbox.objects.create(
        tenant=cast.tenant,
        workspace=cast.boutique,
        queue=cast.boutique_queue,
        address="commandes@acme.test",
    )
    ticket = ticket_create(
        queue=cast.boutique_queue, channel="email", subject="Colis perdu", contact=cast.alice
    )
    message_add(
        ticket=ticket,
        kind=MessageKind.INBOUND,
        body_text="Où est mon colis ?",
        sender_email="alice@example.com",
        message_id="first@example.com",
    )
    return ticket


def _outgoing(message: Message) -> OutgoingEmail:
    return OutgoingEmail.objects.get(ticket_message=message)


def test_an_inline_image_leaves_as_a_cid_part_of_a_multipart_related_mail(cast, ticket, smtp_sink):
    message = ticket_reply(
        ticket=ticket,
        author=cast.boutique_agent,
        body_html=(
            f'<p>Voici <strong>la photo</strong> :</p><p><img src="cid:{CID}" alt="colis"></p>'
        ),
        attachments=[
            NewAttachment("colis.png", PNG, "image/png", content_id=CID, is_inline=True),
            NewAttachment("bon.pdf", b"%PDF-1.4 bon", "application/pdf"),
        ],
    )
    assert outgoing_deliver(outgoing_id=_outgoing(message).pk)
    mail = smtp_sink.parsed()
    assert mail.get_content_type() == "multipart/mixed"
    related = next(p for p in mail.walk() if p.get_content_type() == "multipart/related")
    html, image = list(related.iter_parts())
    assert html.get_content_type() == "text/html"
    assert f'src="cid:{CID}"' in html.get_content()
    assert "<strong>la photo</strong>" in html.get_content()
    assert image["Content-ID"] == f"<{CID}>"
    assert image.get_content_disposition() == "inline"
    assert image.get_payload(decode=True) == PNG
    # The text alternative is derived from the HTML.
    plain = mail.get_body(("plain",))
    assert plain is not None and "Voici la photo" in plain.get_content()
    # The PDF is a plain attachment, outside the related part.
    files = [(p.get_filename(), p.get_payload(decode=True)) for p in mail.iter_attachments()]
    assert files == [("bon.pdf", b"%PDF-1.4 bon")]
    stored = message.attachments.get(content_id=CID)
    assert stored.is_inline


def test_an_inline_image_the_html_does_not_show_is_kept_as_a_plain_attachment(cast, ticket):
    message = ticket_reply(
        ticket=ticket,
        author=cast.boutique_agent,
        body_html="<p>Sans image</p>",
        attachments=[NewAttachment("x.png", PNG, "image/png", content_id=CID, is_inline=True)],
    )
    attachment = message.attachments.get()
    assert (attachment.is_inline, attachment.content_id) == (False, "")


@pytest.mark.parametrize(
    ("content_id", "content_type"),
    [('x"><script>@a', "image/png"), ("no-at-sign", "image/png"), (CID, "text/html")],
)
def test_an_inline_part_with_a_bad_id_or_type_is_refused(cast, ticket, content_id, content_type):
    with pytest.raises(DomainError):
        ticket_reply(
            ticket=ticket,
            author=cast.boutique_agent,
            body_html=f'<img src="cid:{CID}">',
            attachments=[
                NewAttachment("x", PNG, content_type, content_id=content_id, is_inline=True)
            ],
        )
    assert not OutgoingEmail.objects.exists()


def test_hostile_html_is_sanitized_before_it_is_stored_or_sent(cast, ticket):
    message = ticket_reply(
        ticket=ticket,
        author=cast.boutique_agent,
        body_html=(
            '<p onmouseover="steal()">Bonjour <script>alert(1)</script>'
            '<a href="javascript:alert(2)">lien</a> <img src="https://tracker.example/p.gif">'
            '<iframe src="https://evil.example"></iframe><em>Alice</em></p>'
            '<ul><li>un</li></ul><blockquote>cité</blockquote><a href="https://ok.example">ok</a>'
        ),
    )
    html = message.body_html
    for bad in ("script", "onmouseover", "javascript:", "tracker.example", "iframe", "evil"):
        assert bad not in html
    for kept in ("<em>Alice</em>", "<li>un</li>", "<blockquote>cité</blockquote>", "ok.example"):
        assert kept in html
    assert _outgoing(message).body_html == html
    assert "alert" not in message.body_text


def test_an_empty_reply_or_one_of_blank_html_is_refused(cast, ticket):
    for html in ("", "<p> </p>", "<p><br></p>", "<script>x()</script>"):
        with translation.override("en"), pytest.raises(DomainError, match="empty"):
            ticket_reply(ticket=ticket, author=cast.boutique_agent, body_text="", body_html=html)
    assert not OutgoingEmail.objects.exists()
    assert not Message.objects.filter(kind=MessageKind.OUTBOUND).exists()


def test_attachments_over_the_limit_are_refused_with_their_size(cast, ticket, settings):
    settings.COMPOSER_ATTACHMENTS_MAX_BYTES = 1000
    with translation.override("en"), pytest.raises(DomainError, match="at most 1000"):
        ticket_reply(
            ticket=ticket,
            author=cast.boutique_agent,
            body_text="Voici",
            attachments=[NewAttachment("gros.bin", b"x" * 1001)],
        )
    assert not OutgoingEmail.objects.exists()


def test_a_reply_is_refused_when_the_contact_wrote_after_the_composer_opened(cast, ticket):
    seen = newest_message_id(ticket=ticket)
    newer = message_add(
        ticket=ticket,
        kind=MessageKind.INBOUND,
        body_text="En fait je l'ai trouvé !",
        sender_email="alice@example.com",
    )
    with pytest.raises(ReplyConflict) as caught:
        ticket_reply(
            ticket=ticket, author=cast.boutique_agent, body_text="Je cherche", seen_message_id=seen
        )
    assert [m.pk for m in caught.value.newer] == [newer.pk]
    assert not OutgoingEmail.objects.exists()
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW
    # Having seen it, the agent sends anyway.
    sent = ticket_reply(
        ticket=ticket,
        author=cast.boutique_agent,
        body_text="Tant mieux",
        seen_message_id=newer.pk,
    )
    assert _outgoing(sent).body_text == "Tant mieux"


def test_a_colleagues_reply_is_a_collision_but_a_colleagues_note_is_not(cast, ticket):
    seen = newest_message_id(ticket=ticket)
    note_add(ticket=ticket, author=cast.admin, body_text="Je regarde")
    ticket_reply(ticket=ticket, author=cast.boutique_agent, body_text="Un", seen_message_id=seen)
    with pytest.raises(ReplyConflict):
        ticket_reply(ticket=ticket, author=cast.admin, body_text="Deux", seen_message_id=seen)
    assert OutgoingEmail.objects.count() == 1


def test_the_composer_view_sends_html_with_inline_images_and_files(cast, ticket, client):
    client.force_login(cast.boutique_agent)
    response = client.post(
        reverse("ticket_reply", args=[ticket.pk]),
        {
            "mode": "reply",
            "body_html": f'<div>Bonjour <strong>Alice</strong><img src="cid:{CID}"></div>',
            "inline_images": [SimpleUploadedFile("photo.png", PNG, content_type="image/png")],
            "inline_cids": CID,
            "attachments": [SimpleUploadedFile("a.txt", b"hello", content_type="text/plain")],
            "seen_message_id": newest_message_id(ticket=ticket),
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "ticket-replied"
    message = Message.objects.get(ticket=ticket, kind=MessageKind.OUTBOUND)
    assert "<strong>Alice</strong>" in message.body_html
    assert message.body_text.startswith("Bonjour Alice")
    assert sorted((a.filename, a.is_inline) for a in message.attachments.all()) == [
        ("a.txt", False),
        ("photo.png", True),
    ]


def test_the_composer_view_answers_a_collision_with_the_new_messages_only(cast, ticket, client):
    seen = newest_message_id(ticket=ticket)
    message_add(
        ticket=ticket, kind=MessageKind.INBOUND, body_text="Nouveau message du client", now=None
    )
    client.force_login(cast.boutique_agent)
    response = client.post(
        reverse("ticket_reply", args=[ticket.pk]),
        {"mode": "reply", "body_html": "<p>Brouillon</p>", "seen_message_id": seen},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#reply-conflict"
    page = response.content.decode()
    assert "Nouveau message du client" in page
    assert f'value="{newest_message_id(ticket=ticket)}" hx-swap-oob="true"' in page
    assert not OutgoingEmail.objects.exists()


def test_without_javascript_a_collision_gives_back_the_page_with_the_draft(cast, ticket, client):
    seen = newest_message_id(ticket=ticket)
    message_add(ticket=ticket, kind=MessageKind.INBOUND, body_text="Encore moi")
    client.force_login(cast.boutique_agent)
    response = client.post(
        reverse("ticket_reply", args=[ticket.pk]),
        {"mode": "reply", "body": "Mon brouillon", "seen_message_id": seen},
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "<html" in page and "Encore moi" in page and "Mon brouillon" in page
    assert not OutgoingEmail.objects.exists()


def test_an_error_answered_to_htmx_replaces_only_the_error_area(cast, ticket, client):
    client.force_login(cast.boutique_agent)
    response = client.post(
        reverse("ticket_reply", args=[ticket.pk]),
        {"mode": "reply", "body_html": "<p></p>"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#reply-errors"
    assert b'role="alert"' in response.content
    assert "HX-Trigger" not in response


def test_the_composer_adds_a_note_and_sends_nothing(cast, ticket, client):
    client.force_login(cast.boutique_agent)
    response = client.post(
        reverse("ticket_reply", args=[ticket.pk]),
        {"mode": "note", "body_html": "<p>Client <em>pressé</em></p>"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "ticket-replied"
    note = Message.objects.get(ticket=ticket, kind=MessageKind.NOTE)
    assert note.author == cast.boutique_agent and "<em>pressé</em>" in note.body_html
    assert not OutgoingEmail.objects.exists()
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_a_phone_request_offers_notes_only(cast, client):
    ticket = ticket_create(queue=cast.boutique_queue, channel="phone", subject="Appel")
    client.force_login(cast.boutique_agent)
    page = client.get(reverse("ticket_detail", args=[ticket.pk])).content.decode()
    assert 'value="note" checked' in page
    assert 'value="reply"' not in page
    response = client.post(
        reverse("ticket_reply", args=[ticket.pk]), {"mode": "note", "body": "Rappeler demain"}
    )
    assert response.status_code == 302
    assert Message.objects.get(ticket=ticket).kind == MessageKind.NOTE

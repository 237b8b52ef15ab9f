"""The one door for outgoing mail: what the outbox row holds and what reaches the relay."""

from __future__ import annotations

import pytest

from comptoir.channels.email import ids
from comptoir.channels.email.delivery import outgoing_deliver
from comptoir.channels.email.models import Mailbox, OutgoingEmail, OutgoingStatus, ThreadRef
from comptoir.channels.email.outbound import InvalidEmail, email_send
from comptoir.channels.email.timeline_states import mail_states_for_messages
from comptoir.testing.smtp_sink import smtp_sink_fixture  # noqa: F401
from comptoir.tickets.models import MessageKind
from comptoir.tickets.services import NewAttachment, message_add, ticket_create

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def ticket(cast):
    return ticket_create(
        queue=cast.boutique_queue, channel="email", subject="Colis perdu", contact=cast.alice
    )


@pytest.fixture
def mailbox(cast):
    return Mailbox.objects.create(
        tenant=cast.tenant,
        workspace=cast.boutique,
        queue=cast.boutique_queue,
        address="commandes@acme.test",
        display_name="Acme Commandes",
    )


def _send(ticket, **kw):
    args = {
        "tenant": ticket.tenant,
        "to": ["Alice Dupont <alice@example.com>"],
        "subject": "Votre demande",
        "body_text": "Bonjour",
        "kind": "notification",
        "idempotency_key": f"test:{ticket.pk}",
        "ticket": ticket,
    }
    args.update(kw)
    return email_send(**args)


def test_queued_row_has_our_message_id_and_the_reply_token_once(ticket):
    token = ids.reply_token(ticket.tenant_id, ticket.number)
    row = _send(ticket, subject=f"Re: Colis perdu {token}")
    assert row.status == OutgoingStatus.QUEUED
    assert ids.is_our_message_id(row.message_id)
    assert row.subject.count(token) == 1
    fresh = _send(ticket, subject="Colis perdu", idempotency_key="other")
    assert fresh.subject == f"Colis perdu {token}"


def test_our_message_id_is_recorded_in_the_threading_index(ticket):
    row = _send(ticket)
    assert ThreadRef.objects.filter(
        tenant_id=ticket.tenant_id, message_id=row.message_id.lower(), ticket=ticket
    ).exists()


def test_same_idempotency_key_twice_sends_one_mail(ticket, smtp_sink):
    first = _send(ticket)
    second = _send(ticket, subject="something else")
    assert first.pk == second.pk
    assert OutgoingEmail.objects.count() == 1
    assert outgoing_deliver(outgoing_id=first.pk)
    assert not outgoing_deliver(outgoing_id=first.pk)
    assert len(smtp_sink.messages) == 1


def test_delivered_reply_carries_our_ids_and_the_thread(ticket, mailbox, smtp_sink):
    row = _send(
        ticket,
        in_reply_to="<orig@example.com>",
        references=["root@example.com", "orig@example.com"],
        cc=["boss@example.com"],
        reply_to="Acme <reponses@acme.test>",
    )
    assert outgoing_deliver(outgoing_id=row.pk)
    got = smtp_sink.messages[0]
    mail = got.parsed()
    assert mail["Message-ID"] == f"<{row.message_id}>"
    assert mail["Message-ID"].endswith("@comptoir.localhost>")
    assert mail["In-Reply-To"] == "<orig@example.com>"
    assert mail["References"] == "<root@example.com> <orig@example.com>"
    assert mail["Auto-Submitted"] is None
    assert mail["From"] == "Acme Commandes <commandes@acme.test>"
    assert mail["Reply-To"] == "Acme <reponses@acme.test>"
    assert mail["Subject"].count(ids.reply_token(ticket.tenant_id, ticket.number)) == 1
    assert sorted(got.rcpt_tos) == ["alice@example.com", "boss@example.com"]
    assert "Bcc" not in mail
    row.refresh_from_db()
    assert row.status == OutgoingStatus.SENT and row.sent_at is not None


def test_automatic_mail_carries_auto_submitted(ticket, smtp_sink):
    row = _send(ticket, auto_submitted="auto-generated")
    outgoing_deliver(outgoing_id=row.pk)
    mail = smtp_sink.parsed()
    assert mail["Auto-Submitted"] == "auto-generated"
    assert mail["X-Auto-Response-Suppress"] == "All"


def test_sender_falls_back_from_queue_to_workspace_to_default(cast, ticket, settings):
    settings.DEFAULT_FROM_EMAIL = "support@comptoir.localhost"
    assert _send(ticket, idempotency_key="a").from_email == "support@comptoir.localhost"
    Mailbox.objects.create(
        tenant=cast.tenant,
        workspace=cast.boutique,
        queue=cast.boutique_queue_2,
        address="retours@acme.test",
    )
    assert _send(ticket, idempotency_key="b").from_email == "retours@acme.test"
    Mailbox.objects.create(
        tenant=cast.tenant,
        workspace=cast.boutique,
        queue=cast.boutique_queue,
        address="commandes@acme.test",
        display_name='Acme "Commandes", Paris',
    )
    assert _send(ticket, idempotency_key="c").from_email == (
        '"Acme \\"Commandes\\", Paris" <commandes@acme.test>'
    )


def test_attachments_and_inline_images_are_carried(ticket, smtp_sink):
    message = message_add(
        ticket=ticket,
        kind=MessageKind.OUTBOUND,
        body_text="Voir pièce jointe",
        attachments=[
            NewAttachment("facture été.pdf", b"%PDF-1.4 facture", "application/pdf"),
            NewAttachment("logo.png", PNG, "image/png", content_id="logo@acme", is_inline=True),
        ],
    )
    attachments = list(message.attachments.order_by("id"))
    row = _send(
        ticket,
        body_html='<p>Bonjour <img src="cid:logo@acme" alt="logo"></p>',
        attachments=attachments,
        ticket_message=message,
    )
    assert outgoing_deliver(outgoing_id=row.pk)
    mail = smtp_sink.parsed()
    assert mail.get_content_type() == "multipart/mixed"
    alternative = mail.get_payload()[0]
    assert alternative.get_content_type() == "multipart/alternative"
    text, related = alternative.get_payload()
    assert text.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html, image = related.get_payload()
    assert "cid:logo@acme" in html.get_content()
    assert image["Content-ID"] == "<logo@acme>"
    assert image.get_content_disposition() == "inline"
    assert image.get_payload(decode=True) == PNG
    files = [p for p in mail.iter_attachments() if p.get_content_disposition() == "attachment"]
    assert [(f.get_filename(), f.get_payload(decode=True)) for f in files] == [
        ("facture été.pdf", b"%PDF-1.4 facture")
    ]


@pytest.mark.parametrize(
    "field, value",
    [
        ("subject", "Bonjour\r\nBcc: victim@example.net"),
        ("subject", "Bonjour\nBcc: victim@example.net"),
        ("to", ["alice@example.com\r\nBcc: victim@example.net"]),
        ("to", ["Alice\r\nBcc: victim@example.net <alice@example.com>"]),
        ("to", ["alice@example.com, victim@example.net"]),
        ("to", ["not an address"]),
        ("to", []),
        ("cc", ["Eve\n <eve@example.com>"]),
        ("reply_to", "x@example.com\rBcc: victim@example.net"),
        ("from_email", "Support\r\nBcc: victim@example.net <s@acme.test>"),
        ("in_reply_to", "<a@b>\r\nBcc: victim@example.net"),
        ("references", ["<a@b> <c@d>"]),
    ],
)
def test_header_injection_is_refused_with_a_clear_error(ticket, field, value):
    with pytest.raises(InvalidEmail):
        _send(ticket, **{field: value})
    assert not OutgoingEmail.objects.exists()


def test_a_row_with_line_breaks_written_by_hand_still_cannot_inject(ticket, smtp_sink):
    # Rows from before validation, or from an import: delivery flattens every header.
    row = _send(ticket)
    OutgoingEmail.objects.filter(pk=row.pk).update(
        subject="Hello\r\nBcc: victim@example.net",
        from_email="Support\r\nX-Evil: yes <support@acme.test>",
        to=["alice@example.com\r\n"],
    )
    assert outgoing_deliver(outgoing_id=row.pk)
    got = smtp_sink.messages[0]
    mail = got.parsed()
    assert got.rcpt_tos == ("alice@example.com",)
    assert "Bcc" not in mail and "X-Evil" not in mail
    assert "\n" not in str(mail["Subject"])


def test_a_row_with_an_unusable_address_fails_for_good_with_its_reason(ticket, smtp_sink):
    row = _send(ticket)
    OutgoingEmail.objects.filter(pk=row.pk).update(to=["alice@example.com, victim@example.net"])
    assert not outgoing_deliver(outgoing_id=row.pk)
    row.refresh_from_db()
    assert row.status == OutgoingStatus.FAILED
    assert "invalid address" in row.last_error
    assert smtp_sink.messages == []


def test_outgoing_status_is_given_per_ticket_message(ticket, smtp_sink):
    message = message_add(ticket=ticket, kind=MessageKind.OUTBOUND, body_text="x")
    row = _send(ticket, ticket_message=message)
    assert mail_states_for_messages(message_ids=[message.pk]).delivery == {
        message.pk: ("queued", "")
    }
    outgoing_deliver(outgoing_id=row.pk)
    assert mail_states_for_messages(message_ids=[message.pk, 999]).delivery == {
        message.pk: ("sent", "")
    }

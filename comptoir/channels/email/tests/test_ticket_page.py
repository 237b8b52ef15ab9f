"""What an agent sees of email on the ticket page: inline images, the full original, sending."""

from __future__ import annotations

import re

from django.urls import reverse

from comptoir.channels.email.models import OutgoingEmail, OutgoingStatus
from comptoir.channels.email.replies import ticket_reply
from comptoir.channels.email.tests.inbound_helpers import deliver, eml, message_of
from comptoir.testing.cast import PASSWORD

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


def test_inline_images_point_at_their_attachment_and_never_at_a_remote_host(
    client, cast, acme_mailbox
):
    raw = eml(
        html='<p>Voici la photo :</p><img src="cid:photo1@client"><img src="http://tracker.example/p.gif">',
        inline_images=[("photo1@client", "photo.png", PNG)],
    )
    message = message_of(deliver(acme_mailbox, raw))
    attachment = message.attachments.get(content_id="photo1@client")
    client.login(email=cast.boutique_agent.email, password=PASSWORD)
    page = client.get(reverse("ticket_detail", args=[message.ticket_id])).content.decode()
    assert f'src="{reverse("attachment_download", args=[attachment.pk])}"' in page
    assert "cid:photo1@client" not in page
    assert "tracker.example" not in page


def test_the_full_original_keeps_the_quoted_history_the_timeline_hides(client, cast, acme_mailbox):
    body = (
        "Merci, c'est reçu.\n\n"
        "Le lun. 2 mars 2026 à 10:00, Support <support@acme.example> a écrit :\n"
        "> Votre colis part demain.\n"
    )
    message = message_of(deliver(acme_mailbox, eml(body=body)))
    client.login(email=cast.boutique_agent.email, password=PASSWORD)
    page = client.get(reverse("ticket_detail", args=[message.ticket_id])).content.decode()
    assert "Merci, c&#x27;est reçu." in page or "Merci, c'est reçu." in page
    assert "Votre colis part demain" not in page
    original_url = reverse("message_original", args=[message.pk])
    assert original_url in page
    original = client.get(original_url).content.decode()
    assert "Votre colis part demain" in original
    # Another workspace's agent cannot open it.
    client.login(email=cast.assurance_agent.email, password=PASSWORD)
    assert client.get(original_url).status_code == 404


def test_the_timeline_says_whether_a_reply_was_sent_or_why_not(client, cast, acme_mailbox):
    inbound = message_of(deliver(acme_mailbox, eml()))
    reply = ticket_reply(ticket=inbound.ticket, author=cast.boutique_agent, body_text="Bonjour")
    client.login(email=cast.boutique_agent.email, password=PASSWORD)
    url = reverse("ticket_detail", args=[inbound.ticket_id])

    def delivery_line() -> str:
        page = client.get(url).content.decode()
        block = page.split(f'id="message-{reply.pk}"', 1)[1]
        found = re.search(r'class="delivery delivery--(\w+)"[^>]*>\s*(.*?)\s*</p>', block, re.S)
        assert found, "no delivery line under the reply"
        return f"{found.group(1)}: {found.group(2)}"

    assert delivery_line().startswith("queued:")
    OutgoingEmail.objects.filter(ticket_message=reply).update(last_error="relay refused: 451")
    assert "451" in delivery_line()
    OutgoingEmail.objects.filter(ticket_message=reply).update(
        status=OutgoingStatus.FAILED, last_error="550 no such user"
    )
    line = delivery_line()
    assert line.startswith("failed:") and "550 no such user" in line
    OutgoingEmail.objects.filter(ticket_message=reply).update(status=OutgoingStatus.SENT)
    assert delivery_line().startswith("sent:")


def test_the_ticket_page_offers_the_reply_composer_for_email_requests(client, cast, acme_mailbox):
    inbound = message_of(deliver(acme_mailbox, eml()))
    client.login(email=cast.boutique_agent.email, password=PASSWORD)
    page = client.get(reverse("ticket_detail", args=[inbound.ticket_id])).content.decode()
    assert reverse("ticket_reply", args=[inbound.ticket_id]) in page
    assert "jean@client.example" in page


def test_a_hostile_content_id_cannot_open_an_attribute_on_the_ticket_page(
    client, cast, acme_mailbox
):
    # The sender picks the Content-ID: one with a quote used to cut src="cid:x" short and
    # turn the alt text into live attributes (onerror) once rewritten.
    raw = eml(
        html='<p>photo</p><img src="cid:x" alt="a onerror=alert(document.domain) b">',
        inline_images=[('x"', "photo.png", PNG)],
    )
    message = message_of(deliver(acme_mailbox, raw))
    client.login(email=cast.boutique_agent.email, password=PASSWORD)
    page = client.get(reverse("ticket_detail", args=[message.ticket_id])).content.decode()
    body = page.split(f'id="message-{message.pk}"', 1)[1].split("</article>", 1)[0]
    img = re.search(r"<img[^>]*>", body)
    assert img is not None
    # Whatever became of the image, the alt text is still inside its quotes.
    assert 'alt="a onerror=alert(document.domain) b"' in img.group(0)
    assert " onerror=" not in img.group(0).replace('alt="a onerror=alert(document.domain) b"', "")
    # The hostile id is not an inline id at all: the image is kept as a plain attachment.
    assert message.attachments.get().content_id == ""


def test_the_image_rewrite_alone_never_cuts_markup_even_for_an_id_with_a_quote(cast):
    # Second layer: even if a hostile id reached the database, the rewrite keeps quotes whole.
    from comptoir.tickets.models import MessageKind
    from comptoir.tickets.services import NewAttachment, message_add, ticket_create
    from comptoir.tickets.templatetags.ticket_extras import with_inline_images

    ticket = ticket_create(queue=cast.boutique_queue, channel="email", subject="x")
    message = message_add(
        ticket=ticket,
        kind=MessageKind.INBOUND,
        body_html='<img src="cid:x" alt="a onerror=alert(1) b"><img src="cid:x&quot;">',
        attachments=[NewAttachment("p.png", PNG, "image/png", content_id='x"', is_inline=True)],
    )
    rendered = str(with_inline_images(message))
    url = reverse("attachment_download", args=[message.attachments.get().pk])
    assert rendered == (f'<img src="cid:x" alt="a onerror=alert(1) b"><img src="{url}">')

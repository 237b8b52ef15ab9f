"""The sending path: a template used on a ticket, its history link issued when sent."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from comptoir.channels.email.models import OutgoingEmail
from comptoir.channels.email.replies import reply_recipient, ticket_reply
from comptoir.responses.merge import render_outgoing
from comptoir.responses.models import HistoryLink
from comptoir.responses.services import (
    NewTemplateFile,
    template_create,
    template_files_for_message,
)
from comptoir.tickets.models import MessageKind
from comptoir.tickets.services import message_add

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x02" * 16


def test_a_sent_template_carries_a_fresh_link_its_files_and_no_placeholder(client, cast, ticket):
    start = timezone.now() - timedelta(hours=1)
    message_add(ticket=ticket, kind=MessageKind.INBOUND, body_text="Où est mon colis ?", now=start)
    template = template_create(
        user=cast.admin,
        workspace=cast.boutique,
        name="Suivi",
        body_html='<p>Bonjour {{contact.first_name}}, <a href="{{ticket.history_link}}">vos '
        'échanges</a>. <img src="cid:logo@x"> {{agent.signature}}</p>',
        files=[
            NewTemplateFile("cgv.pdf", b"%PDF", "application/pdf"),
            NewTemplateFile("logo.png", PNG, "image/png", is_inline=True, content_id="logo@x"),
        ],
    )
    sent_at = start + timedelta(minutes=30)
    with transaction.atomic():
        rendered = render_outgoing(
            ticket=ticket,
            agent=cast.boutique_agent,
            body_html=template.body_html,
            recipient=reply_recipient(ticket=ticket),
            now=sent_at,
        )
        message = ticket_reply(
            ticket=ticket,
            author=cast.boutique_agent,
            body_html=rendered.html,
            attachments=template_files_for_message(template),
            now=sent_at,
        )
        rendered.attach(message)
    assert rendered.missing == ["agent.signature"]
    link = HistoryLink.objects.get()
    assert link.message_id == message.pk and link.cutoff_at == sent_at
    assert link.recipient == "alice@example.com"
    outgoing = OutgoingEmail.objects.get(ticket_message=message)
    assert "{{" not in outgoing.body_html and "{{" not in outgoing.body_text
    found = re.search(r'href="([^"]+/h/[^"]+)"', outgoing.body_html)
    assert found is not None
    url = found.group(1)
    assert "Bonjour Alice" in outgoing.body_html
    assert {(a.filename, a.is_inline, a.content_id) for a in message.attachments.all()} == {
        ("cgv.pdf", False, ""),
        ("logo.png", True, "logo@x"),
    }
    page = client.get(re.sub(r"^https?://[^/]+", "", url.replace("&amp;", "&")))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Où est mon colis ?" in html
    # The message that carried the link was sent at the cut-off: not part of the page.
    assert "vos échanges" not in html

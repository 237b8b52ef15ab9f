"""The email channel in a real browser: mail in over LMTP, the agent's reply out to an SMTP sink.

Background work runs inline: `HUEY.immediate` is switched on for each test, so the task that
processes a stored email runs in the LMTP listener's thread once the store commits, and the
outbox delivery runs in the web request's thread once the reply commits.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from comptoir.channels.email import ids
from comptoir.channels.email.delivery import outgoing_deliver_due
from comptoir.channels.email.lmtp import InboundController, lmtp_serve
from comptoir.channels.email.tests.inbound_helpers import (
    ACME_ADDRESS,
    deliver,
    eml,
    mailbox_for,
)
from comptoir.core import clock
from comptoir.testing.browser import login, mark_page, page_was_not_reloaded
from comptoir.testing.net import free_port
from comptoir.testing.smtp_sink import SmtpSink, smtp_sink_fixture  # noqa: F401
from comptoir.tickets.models import MessageKind, Ticket
from comptoir.tickets.services import message_add, ticket_mark_read

pytestmark = pytest.mark.django_db(transaction=True)

CUSTOMER_ID = "<commande-42@client.example>"
NEW_TEXT = "Je n'ai toujours pas reçu ma commande 42."
QUOTED_TEXT = "Votre commande 42 a été expédiée hier."
REPLY_TEXT = "Bonjour Jean, le transporteur nous confirme une livraison demain."
NOTE_TEXT = "Client mécontent, ne pas proposer de bon d'achat."


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


@pytest.fixture
def lmtp() -> Iterator[InboundController]:
    controller = lmtp_serve("127.0.0.1", free_port())
    try:
        yield controller
    finally:
        controller.stop()


@pytest.fixture
def mailbox(cast):
    return mailbox_for(cast.boutique_queue, ACME_ADDRESS)


def _customer_mail() -> bytes:
    """A customer's follow-up, quoting our earlier answer the way Gmail (French) does."""
    body = (
        f"Bonjour,\n\n{NEW_TEXT}\n\nJean\n\n"
        "Le lun. 2 mars 2026 à 09:00, Support Acme <support@acme.test> a écrit :\n"
        f"> {QUOTED_TEXT}\n"
        "> Cordialement, le service client\n"
    )
    return eml(
        from_="Jean Client <jean@client.example>",
        to=ACME_ADDRESS,
        subject="Commande 42 toujours pas livrée",
        message_id=CUSTOMER_ID,
        body=body,
    )


def _rows(page: Page):
    return page.locator("#inbox-results table.tickets tbody tr")


def test_mail_delivered_over_lmtp_appears_in_the_inbox_and_shows_without_its_quoted_history(
    page, cast, mailbox, lmtp, huey_immediate
):
    login(page, cast.boutique_agent)
    expect(page.locator("#inbox-results .empty")).to_be_visible()

    with smtplib.LMTP(lmtp.hostname, lmtp.port, timeout=10) as client:
        refused = client.sendmail("jean@client.example", [ACME_ADDRESS], _customer_mail())
    assert refused == {}  # 250 for the one recipient: stored, and (inline) processed

    page.reload()
    expect(_rows(page)).to_have_count(1)
    row = _rows(page).first
    expect(row).to_contain_text("Commande 42 toujours pas livrée")
    # The sender is unknown (no contact): the list names them as their mail did.
    expect(row.locator(".col-requester")).to_have_text("Jean Client")
    expect(row.locator(".chip--email")).to_be_visible()
    expect(row.locator(".badge")).to_have_text("Nouvelle")

    row.get_by_role("link", name="Commande 42 toujours pas livrée").click()
    head = page.locator("header.tickethead")
    expect(head).to_contain_text("Jean Client <jean@client.example>")
    message = page.locator("li.tl-message--inbound")
    expect(message).to_have_count(1)
    expect(message).to_contain_text(NEW_TEXT)
    expect(message).not_to_contain_text(QUOTED_TEXT)
    expect(message).not_to_contain_text("a écrit")

    message.locator(".tl-message__original a").click()
    expect(page).to_have_url(re.compile(r"/messages/\d+/original/$"))
    original = page.locator("article.original")
    expect(original.get_by_role("heading", level=1)).to_have_text("Commande 42 toujours pas livrée")
    expect(original).to_contain_text("jean@client.example")
    expect(original).to_contain_text(NEW_TEXT)
    expect(original).to_contain_text(QUOTED_TEXT)
    expect(original).to_contain_text("a écrit")


def _open_customer_ticket(page: Page, cast, mailbox) -> Ticket:
    row = deliver(mailbox, _customer_mail())
    ticket = row.ticket_message.ticket  # type: ignore[union-attr]
    # Read already: the page's 3-second "read" request would otherwise write while the test
    # writes (the in-memory SQLite test database fails a concurrent writer at once).
    ticket_mark_read(ticket=ticket, agent=cast.boutique_agent)
    login(page, cast.boutique_agent)
    page.goto(f"/tickets/{ticket.pk}/")
    expect(page.locator("li.tl-message--inbound")).to_contain_text(NEW_TEXT)
    return ticket


def _send_reply(page: Page, text: str) -> None:
    composer = page.locator("#reply-composer")
    expect(composer).to_contain_text("jean@client.example")  # the "To:" line
    composer.locator("trix-editor").click()
    page.keyboard.type(text)
    composer.get_by_role("button", name="Envoyer").click()
    expect(page.locator("#reply-composer [role=status]")).to_have_text(
        "Votre réponse est en cours d'envoi."
    )


def test_agent_reply_goes_out_through_the_outbox_threaded_on_the_customers_mail(
    page, cast, mailbox, smtp_sink: SmtpSink, huey_immediate
):
    ticket = _open_customer_ticket(page, cast, mailbox)
    mark_page(page)

    _send_reply(page, REPLY_TEXT)
    # The composer is back, emptied, and the page was not reloaded.
    expect(page.locator("#reply-composer trix-editor")).to_have_text("")
    assert page_was_not_reloaded(page), "sending the reply reloaded the whole page"
    # The timeline refreshed itself: the reply is there with its delivery state.
    outbound = page.locator("li.tl-message--outbound")
    expect(outbound).to_have_count(1)
    expect(outbound).to_contain_text(REPLY_TEXT)
    expect(outbound).to_contain_text("Bruno Martin")
    expect(outbound.locator(".delivery")).to_have_text("Envoyé")
    # The header refreshed with it: replying waits for the customer.
    expect(page.locator("header.tickethead .badge")).to_have_text("Attente client")

    assert len(smtp_sink.messages) == 1
    received = smtp_sink.messages[0]
    assert received.rcpt_tos == ("jean@client.example",)
    mail = received.parsed()
    # The encoded subject is folded onto a continuation line, hence the strip().
    subject = str(mail["Subject"]).strip()
    token = ids.reply_token(ticket.tenant_id, ticket.number)
    assert subject == f"Re: Commande 42 toujours pas livrée {token}"
    assert mail["In-Reply-To"] == CUSTOMER_ID
    assert CUSTOMER_ID in mail["References"]
    body = mail.get_body(preferencelist=("plain",))
    assert body is not None and REPLY_TEXT in body.get_content()

    page.reload()
    outbound = page.locator("li.tl-message--outbound")
    expect(outbound).to_contain_text(REPLY_TEXT)
    expect(outbound.locator(".delivery")).to_have_text("Envoyé")
    expect(page.locator("header.tickethead .badge")).to_have_text("Attente client")


def test_internal_note_is_shown_to_the_agent_but_never_appears_in_the_mail_sent(
    page, cast, mailbox, smtp_sink: SmtpSink, huey_immediate
):
    ticket = _open_customer_ticket(page, cast, mailbox)
    message_add(
        ticket=ticket, kind=MessageKind.NOTE, body_text=NOTE_TEXT, author=cast.boutique_agent
    )
    page.reload()
    note = page.locator("li.tl-message--note")
    expect(note).to_contain_text(NOTE_TEXT)
    expect(note).to_contain_text("Note interne")

    _send_reply(page, REPLY_TEXT)
    expect(page.locator("li.tl-message--outbound .delivery")).to_have_text("Envoyé")
    # The note is still on the agent's page, just before the reply.
    expect(page.locator("li.tl-message--note")).to_contain_text(NOTE_TEXT)

    assert len(smtp_sink.messages) == 1
    raw = smtp_sink.messages[0].data
    mail = smtp_sink.messages[0].parsed()
    text = "\n".join(
        part.get_content() for part in mail.walk() if part.get_content_maintype() == "text"
    )
    assert REPLY_TEXT in text
    assert "mécontent" not in text
    assert b"bon d'achat" not in raw
    assert "Note interne" not in text


def test_reply_while_the_relay_refuses_shows_not_sent_yet_then_sent_after_the_retry(
    page, cast, mailbox, smtp_sink: SmtpSink, huey_immediate
):
    _open_customer_ticket(page, cast, mailbox)
    smtp_sink.refuse = "451 4.3.0 Try again later"

    _send_reply(page, REPLY_TEXT)
    delivery = page.locator("li.tl-message--outbound .delivery")
    expect(delivery).to_contain_text("Pas encore envoyé")
    assert smtp_sink.messages == []

    # The relay is back; the periodic sweep runs once the backoff has passed.
    smtp_sink.refuse = None
    assert outgoing_deliver_due(now=clock.now() + timedelta(hours=1)) == 1
    page.reload()
    expect(page.locator("li.tl-message--outbound .delivery")).to_have_text("Envoyé")
    assert len(smtp_sink.messages) == 1
    assert smtp_sink.parsed()["In-Reply-To"] == CUSTOMER_ID

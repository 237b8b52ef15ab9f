"""Solicitations in a real browser (Chromium), with real mail both ways.

Outgoing mail goes through the outbox to an SMTP sink; the outside people's answers come
back through our LMTP receiver, as a Postfix would deliver them. Background work runs
inline (`huey_immediate`).

The SQLite test database is in memory and fails a concurrent writer at once: answers are
delivered while no ticket page is open (its heartbeat and read mark write too).
"""

from __future__ import annotations

import re
import smtplib
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from playwright.sync_api import Page, expect

from comptoir.channels.email.replies import ticket_reply
from comptoir.responses.services import template_create
from comptoir.solicitations.services import solicitation_send
from comptoir.testing.browser import login, mark_page, page_was_not_reloaded
from comptoir.testing.net import inbound_listener
from comptoir.testing.smtp_sink import SmtpSink, smtp_sink_fixture  # noqa: F401
from comptoir.tickets.models import MessageKind, Ticket
from comptoir.tickets.services import message_add, ticket_create, ticket_mark_read

from .conftest import CUSTOMER_TEXT

pytestmark = pytest.mark.django_db(transaction=True)

CARRIER = "suivi@transporteur.example"
DEPOT = "depot@entrepot.example"
ACCOUNTING = "compta@fournisseur.example"
NOTE_TEXT = "Client pressé, ne rien promettre."


@pytest.fixture
def conversation(cast, ticket) -> Ticket:
    """Alice's ticket (her mail and a note), read already: opening it writes nothing."""
    message_add(ticket=ticket, kind=MessageKind.NOTE, body_text=NOTE_TEXT, author=cast.admin)
    ticket_mark_read(ticket=ticket, agent=cast.boutique_agent)
    return ticket


@pytest.fixture
def history(cast, mailbox):
    """Earlier solicitations in Boutique: accounting 3 times, the depot twice, the carrier once."""
    older = ticket_create(queue=cast.boutique_queue, channel="email", subject="Ancienne demande")
    for address, times in ((ACCOUNTING, 3), (DEPOT, 2), (CARRIER, 1)):
        for _ in range(times):
            solicitation_send(
                ticket=older,
                author=cast.admin,
                recipient=address,
                subject="Question",
                body_text="?",
            )


def _deliver_answer(sent: EmailMessage, *, sender: str, text: str) -> str:
    """The outside person answers `sent` from their mail client; LMTP delivers it to us."""
    answer = EmailMessage()
    answer["From"] = sender
    answer["To"] = "support@boutique.test"
    answer["Subject"] = "RE: " + str(sent["Subject"])
    answer["Message-ID"] = make_msgid(domain=sender.split("@")[1])
    answer["In-Reply-To"] = sent["Message-ID"]
    answer["References"] = " ".join(filter(None, [sent.get("References"), sent["Message-ID"]]))
    answer.set_content(f"{text}\n\n> {CUSTOMER_TEXT}")
    with (
        inbound_listener("lmtp") as server,
        smtplib.LMTP(server.hostname, server.port, timeout=30) as client,
    ):
        client.ehlo_or_helo_if_needed()
        refused = client.sendmail(sender, ["support@boutique.test"], answer.as_bytes())
    assert refused == {}
    return str(answer["Message-ID"])


def _sent_to(sink: SmtpSink, address: str) -> list[EmailMessage]:
    return [m.parsed() for m in sink.messages if address in m.rcpt_tos]


def _open_solicit(page: Page) -> None:
    page.locator("#action-solicit").click()
    expect(page.locator("#solicit-recipient")).to_be_focused()


def _write_and_send(page: Page, text: str) -> None:
    page.locator("#solicit-composer trix-editor").click()
    page.keyboard.type(text)
    page.locator("#solicit-composer .composer__submit").click()
    expect(page.locator("#solicit-sent")).to_be_visible()


def _history_url(mail: EmailMessage) -> str:
    html = mail.get_body(("html",)).get_content()  # type: ignore[union-attr]
    found = re.search(r'href="(http[^"]+/h/[^"]+)"', html)
    assert found is not None
    return found.group(1).replace("&amp;", "&")


def test_two_solicitations_their_answers_by_lmtp_and_a_reply_in_a_thread(
    page: Page,
    cast,
    conversation,
    history,
    smtp_sink: SmtpSink,
    huey_immediate,
    live_server,
    settings,
):
    login(page, cast.boutique_agent)
    page.goto(f"/tickets/{conversation.pk}/")
    mark_page(page)

    # First: the most used address is offered first; the keyboard picks the second one.
    _open_solicit(page)
    page.keyboard.type("e")
    options = page.locator("#solicit-recipient-list [role=option]")
    expect(options).to_have_count(3)
    expect(options.nth(0)).to_contain_text(ACCOUNTING)
    expect(options.nth(1)).to_contain_text(DEPOT)
    expect(options.nth(2)).to_contain_text(CARRIER)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")
    recipient = page.locator("#solicit-recipient")
    expect(recipient).to_have_value(DEPOT)
    expect(page.locator("#solicit-recipient-list")).to_be_hidden()
    expect(page.locator("#solicit-subject")).to_have_value("Colis perdu")
    _write_and_send(page, "Le colis est-il chez vous ?")

    # Second: typing narrows the list; Enter on the only suggestion.
    _open_solicit(page)
    page.keyboard.type("transp")
    expect(options).to_have_count(1)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(recipient).to_have_value(CARRIER)
    page.locator("#solicit-subject").fill("Colis perdu — suivi")
    page.locator("#solicit-await-external").check()
    _write_and_send(page, "Pouvez-vous localiser le colis ?")

    threads = page.locator("li.tl-thread")
    expect(threads).to_have_count(2)
    expect(page.locator(".tickethead .badge--awaiting_external")).to_be_visible()
    assert page_was_not_reloaded(page)

    to_depot, to_carrier = _sent_to(smtp_sink, DEPOT)[0], _sent_to(smtp_sink, CARRIER)[0]
    assert "Colis perdu — suivi" in str(to_carrier["Subject"])

    # The outside people answer by email, the carrier first; nobody has the page open.
    page.goto("about:blank")
    carrier_id = _deliver_answer(to_carrier, sender=CARRIER, text="Il est au dépôt de Lyon.")
    _deliver_answer(to_depot, sender="Stagiaire <stage@entrepot.example>", text="Reçu, je vérifie.")

    page.goto(f"/tickets/{conversation.pk}/")
    depot_thread = threads.filter(has_text=DEPOT)
    carrier_thread = threads.filter(has_text=CARRIER)
    expect(carrier_thread.locator("[data-thread-state]")).to_have_attribute(
        "data-thread-state", "answered"
    )
    expect(carrier_thread).to_contain_text("Il est au dépôt de Lyon.")
    expect(carrier_thread).not_to_contain_text("Reçu, je vérifie.")
    expect(depot_thread).to_contain_text("Reçu, je vérifie.")
    # Another address wrote in the depot's thread: attached, and said.
    expect(depot_thread.locator(".tl-thread__unexpected")).to_contain_text("stage@entrepot.example")
    # The answer is not in the customer's conversation, and no request was opened for it.
    assert Ticket.objects.count() == 2
    expect(page.locator(".tickethead .badge--to_process")).to_be_visible()  # back from external

    # Reply on the carrier's thread: the recipient is fixed, the subject comes from its last mail.
    carrier_thread.get_by_role("link", name=re.compile("Répondre")).click()
    expect(page.locator("#solicit-subject")).to_be_focused()
    expect(page.locator("#solicit-recipient")).to_have_value(CARRIER)
    expect(page.locator("#solicit-recipient")).to_have_attribute("readonly", "")
    expect(page.locator("#solicit-subject")).to_have_value(
        re.compile(r"^RE: Colis perdu — suivi$|^Re: RE: Colis perdu — suivi$")
    )
    _write_and_send(page, "Merci, pouvez-vous le livrer demain ?")
    expect(carrier_thread.locator(".tl-message")).to_have_count(3)

    follow_up = _sent_to(smtp_sink, CARRIER)[-1]
    assert follow_up["In-Reply-To"] == carrier_id
    assert carrier_id in str(follow_up["References"])
    assert "pouvez-vous le livrer demain" in follow_up.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    # Nothing of it ever went to the contact.
    assert _sent_to(smtp_sink, "alice@example.com") == []

    # The contact gets a link to the exchange history: none of the solicitations is there.
    settings.COMPTOIR_PUBLIC_URL = live_server.url
    page.goto("about:blank")  # the test writes: no page of ours writes meanwhile
    ticket_reply(
        ticket=conversation,
        author=cast.boutique_agent,
        body_html='<p>Voici <a href="{{ticket.history_link}}">nos échanges</a>.</p>',
    )
    to_contact = _sent_to(smtp_sink, "alice@example.com")[0]
    assert "dépôt de Lyon" not in to_contact.as_string()
    page.goto(_history_url(to_contact))
    expect(page.locator("body")).to_contain_text(CUSTOMER_TEXT)
    for text in ("Il est au dépôt de Lyon.", "Reçu, je vérifie.", "Le colis est-il chez vous"):
        expect(page.locator("body")).not_to_contain_text(text)


def test_a_solicitation_carries_the_history_link_and_the_outside_person_opens_it(
    page: Page, cast, conversation, smtp_sink: SmtpSink, huey_immediate, live_server, settings
):
    settings.COMPTOIR_PUBLIC_URL = live_server.url
    template_create(
        user=cast.admin,
        workspace=cast.boutique,
        name="Demande au transporteur",
        body_html='<p>Bonjour, voici <a href="{{ticket.history_link}}">nos échanges avec le '
        "client</a>. Où est son colis ?</p>",
    )
    login(page, cast.boutique_agent)
    page.goto(f"/tickets/{conversation.pk}/")
    _open_solicit(page)
    page.keyboard.type(CARRIER)
    page.locator("#solicit-subject").focus()
    composer = page.locator("#solicit-composer")
    composer.locator("[data-composer-template-select]").select_option(
        label="Demande au transporteur"
    )
    composer.locator("[data-composer-template-use]").click()
    expect(composer.locator("trix-editor")).to_contain_text("Où est son colis ?")
    composer.locator(".composer__submit").click()
    expect(page.locator("#solicit-sent")).to_be_visible()

    url = _history_url(_sent_to(smtp_sink, CARRIER)[0])

    # The carrier opens it: the customer's exchange is there; notes and the solicitation
    # itself are not.
    outside = page.context.browser.new_context(base_url=live_server.url)  # type: ignore[union-attr]
    try:
        reader = outside.new_page()
        response = reader.goto(url)
        assert response is not None and response.status == 200
        expect(reader.locator("body")).to_contain_text(CUSTOMER_TEXT)
        expect(reader.locator("body")).not_to_contain_text(NOTE_TEXT)
        expect(reader.locator("body")).not_to_contain_text("Où est son colis ?")
    finally:
        outside.close()

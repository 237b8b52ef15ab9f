"""A response template used from the reply composer in a real browser (Chromium).

The management pages (creating a template with fields, a link, an image and a file from the
UI, the active switch) are driven in `test_browser.py`; here an administrator's template is
used by an agent: picked, rendered for the ticket, edited, sent to the SMTP sink. Background
work runs inline (`HUEY.immediate`): the outbox delivers in the web request's thread once
the reply commits.
"""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from comptoir.responses.models import HistoryLink, ResponseTemplate
from comptoir.responses.services import NewTemplateFile, template_create
from comptoir.testing.browser import login, mark_page, page_was_not_reloaded
from comptoir.testing.smtp_sink import SmtpSink, smtp_sink_fixture  # noqa: F401
from comptoir.tickets.models import MessageKind, Ticket
from comptoir.tickets.services import message_add, ticket_mark_read

pytestmark = pytest.mark.django_db(transaction=True)

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)
INBOUND_TEXT = "Où est passé mon colis ?"
NOTE_TEXT = "Client difficile, ne rien promettre."


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


@pytest.fixture
def conversation(cast, ticket, fields) -> Ticket:
    """Alice's ticket with her mail and an agent's internal note."""
    message_add(
        ticket=ticket,
        kind=MessageKind.INBOUND,
        body_text=INBOUND_TEXT,
        sender_email="alice@example.com",
    )
    message_add(ticket=ticket, kind=MessageKind.NOTE, body_text=NOTE_TEXT, author=cast.admin)
    # Read already: the page's "read" request would otherwise write while the test writes.
    ticket_mark_read(ticket=ticket, agent=cast.boutique_agent)
    return ticket


def _template(cast, body: str, files: list[NewTemplateFile] | None = None) -> ResponseTemplate:
    return template_create(
        user=cast.admin, workspace=cast.boutique, name="Colis en retard", body_html=body,
        files=files or [],
    )  # fmt: skip


def _pick(page: Page, name: str) -> None:
    """Choose a template with the keyboard only: the list, then the button."""
    picker = page.locator("[data-composer-template-select]")
    picker.focus()
    picker.select_option(label=name)
    page.keyboard.press("Tab")
    expect(page.locator("[data-composer-template-use]")).to_be_focused()
    page.keyboard.press("Enter")


def _send(page: Page) -> None:
    page.locator("#reply-composer .composer__submit").click()
    expect(page.locator("#reply-composer p.alert--success[role=status]")).to_be_visible()


def test_an_agent_picks_a_template_edits_it_and_the_mail_carries_its_file_and_image(
    page: Page, new_page, cast, conversation, smtp_sink: SmtpSink, huey_immediate
):
    template = _template(
        cast,
        "<p>Bonjour {{contact.first_name}}, votre carte {{contact.custom.loyalty}} est bien "
        'notée. Suivez le colis <a href="https://example.com/suivi">ici</a>.</p>'
        '<p><img src="cid:logo@acme.test"></p><p>{{agent.signature}}</p>',
        [
            NewTemplateFile("conditions.pdf", b"%PDF-1.4 conditions", "application/pdf"),
            NewTemplateFile("tarifs.pdf", b"%PDF-1.4 tarifs", "application/pdf"),
            NewTemplateFile(
                "logo.png", PNG, "image/png", is_inline=True, content_id="logo@acme.test"
            ),
        ],
    )  # fmt: skip
    login(page, cast.boutique_agent)
    page.goto(f"/tickets/{conversation.pk}/")
    mark_page(page)
    _pick(page, "Colis en retard")

    editor = page.locator("#reply-composer trix-editor")
    # Rendered for this ticket: the fields are filled, no placeholder is left.
    expect(editor).to_contain_text("Bonjour Alice, votre carte GOLD-42 est bien notée.")
    expect(editor).not_to_contain_text("{{")
    expect(editor.locator('a[href="https://example.com/suivi"]')).to_have_count(1)
    expect(editor.locator('img[src*="/responses/attachments/"]')).to_have_count(1)
    # The agent has no signature: the field is named before sending.
    info = page.locator("#reply-template-info")
    expect(info).to_be_visible()
    expect(info.locator(".composer__template-missing")).to_contain_text("{{agent.signature}}")
    files = page.locator("#reply-files li")
    expect(files).to_have_count(2)
    expect(files.nth(0)).to_contain_text("conditions.pdf")
    expect(files.nth(1)).to_contain_text("tarifs.pdf")

    # This time the price list is not wanted; the text is edited.
    files.nth(1).locator("button").click()
    expect(files).to_have_count(1)
    editor.locator("div").first.click()
    page.keyboard.press("Control+Home")
    page.keyboard.type("Chère cliente, ")
    _send(page)
    assert page_was_not_reloaded(page)

    assert len(smtp_sink.messages) == 1
    mail = smtp_sink.messages[0].parsed()
    html_part = mail.get_body(preferencelist=("html",))
    assert html_part is not None
    html = html_part.get_content()
    assert "Chère cliente, Bonjour Alice, votre carte GOLD-42" in html
    assert 'href="https://example.com/suivi"' in html
    assert "{{" not in html and "/responses/attachments/" not in html
    related = next(p for p in mail.walk() if p.get_content_type() == "multipart/related")
    image = list(related.iter_parts())[1]
    assert image["Content-ID"] == "<logo@acme.test>"
    assert image.get_payload(decode=True) == PNG
    assert 'src="cid:logo@acme.test"' in html
    attached = {p.get_filename(): p.get_payload(decode=True) for p in mail.iter_attachments()}
    assert attached == {"conditions.pdf": b"%PDF-1.4 conditions"}
    text_part = mail.get_body(preferencelist=("plain",))
    assert text_part is not None and "{{" not in text_part.get_content()

    # The administrator deactivates it with the switch: it leaves the agent's picker.
    admin = new_page()
    login(admin, cast.admin)
    admin.goto("/responses/templates/")
    row = admin.locator("#template-results tbody tr").filter(has_text="Colis en retard")
    row.locator("button[role=switch]").click()
    expect(
        admin.locator("#template-results tbody tr")
        .filter(has_text="Colis en retard")
        .locator("button[role=switch]")
    ).to_have_attribute("aria-checked", "false")
    template.refresh_from_db()
    assert not template.is_active
    page.reload()
    expect(page.locator("#reply-composer trix-editor")).to_be_visible()
    expect(page.locator("[data-composer-template-select]")).to_have_count(0)


def test_the_history_link_kept_in_a_template_is_issued_when_sent_and_shows_the_exchange(
    page: Page, cast, conversation, smtp_sink: SmtpSink, huey_immediate, live_server, settings
):
    settings.COMPTOIR_PUBLIC_URL = live_server.url
    _template(
        cast,
        '<p>Bonjour {{contact.first_name}}, retrouvez <a href="{{ticket.history_link}}">nos '
        "échanges</a>.</p>",
    )
    login(page, cast.boutique_agent)
    page.goto(f"/tickets/{conversation.pk}/")
    _pick(page, "Colis en retard")
    editor = page.locator("#reply-composer trix-editor")
    expect(editor).to_contain_text("Bonjour Alice")
    # The placeholder stays in the draft, shown as a chip, and the agent is told why.
    expect(editor.locator('a[href="{{ticket.history_link}}"]')).to_have_count(1)
    expect(page.locator("#reply-template-info .composer__template-deferred")).to_contain_text(
        "{{ticket.history_link}}"
    )
    assert not HistoryLink.objects.exists()
    _send(page)

    link = HistoryLink.objects.get()
    assert link.message is not None and link.message.kind == MessageKind.OUTBOUND
    mail = smtp_sink.messages[0].parsed()
    html_part = mail.get_body(preferencelist=("html",))
    assert html_part is not None
    found = re.search(r'href="(http[^"]+/h/[^"]+)"', html_part.get_content())
    assert found is not None
    url = found.group(1).replace("&amp;", "&")
    text_part = mail.get_body(preferencelist=("plain",))
    assert text_part is not None and url in text_part.get_content()

    # The contact opens it: their mail is there, the internal note is not.
    reader = page.context.browser.new_context(base_url=live_server.url)  # type: ignore[union-attr]
    try:
        public = reader.new_page()
        response = public.goto(url)
        assert response is not None and response.status == 200
        expect(public.locator("body")).to_contain_text(INBOUND_TEXT)
        expect(public.locator("body")).not_to_contain_text(NOTE_TEXT)
    finally:
        reader.close()

"""The rich composer in a real browser: formatting, files, inline images, notes, collision,
presence. Mail leaves through the outbox to the aiosmtpd sink (delivery runs inline).
"""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from comptoir.channels.email.models import OutgoingEmail
from comptoir.testing.browser import login, mark_page, page_was_not_reloaded
from comptoir.testing.smtp_sink import SmtpSink, smtp_sink_fixture  # noqa: F401
from comptoir.tickets.models import Message, MessageKind, Ticket
from comptoir.tickets.services import message_add, ticket_create, ticket_mark_read

pytestmark = pytest.mark.django_db(transaction=True)

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
    b"\x00\x00\x00IEND\xaeB`\x82"
)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


@pytest.fixture
def page(new_page) -> Iterator[Page]:
    page = new_page(locale="en-US")
    yield page
    _leave(page)


def _leave(page: Page) -> None:
    # The ticket page polls (presence): leave it before the live server's database is
    # flushed, so no request of this test runs into the next test's setup.
    page.goto("about:blank")


@pytest.fixture
def ticket(cast) -> Ticket:
    ticket = ticket_create(
        queue=cast.boutique_queue, channel="email", subject="Colis abîmé", contact=cast.alice
    )
    message_add(
        ticket=ticket,
        kind=MessageKind.INBOUND,
        body_text="Mon colis est arrivé abîmé.",
        sender_email="alice@example.com",
        message_id="colis@example.com",
    )
    # Read already: the page's 3-second "read" request would otherwise write while the test
    # writes (the in-memory SQLite test database fails a concurrent writer at once).
    ticket_mark_read(ticket=ticket, agent=cast.boutique_agent)
    return ticket


def _open(page: Page, user, ticket: Ticket) -> None:
    # English: the page's words are the msgids, whether or not translations are compiled.
    login(page, user)
    page.locator(".langswitch button[value=en]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.goto(f"/tickets/{ticket.pk}/")
    expect(page.locator("trix-editor")).to_be_visible()


def _editor(page: Page):
    return page.locator("#reply-composer trix-editor")


def _drop_file(page: Page, selector: str, name: str, content: str, mime: str) -> None:
    data = page.evaluate_handle(
        """([name, content, mime]) => {
            const dt = new DataTransfer();
            dt.items.add(new File([content], name, {type: mime}));
            return dt;
        }""",
        [name, content, mime],
    )
    page.dispatch_event(selector, "drop", {"dataTransfer": data})


def _paste_png(page: Page, name: str) -> None:
    page.evaluate(
        """([b64, name]) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name, {type: "image/png"}));
            const editor = document.querySelector("#reply-composer trix-editor");
            editor.focus();
            const init = {clipboardData: dt, bubbles: true, cancelable: true};
            editor.dispatchEvent(new ClipboardEvent("paste", init));
        }""",
        [base64.b64encode(PNG).decode(), name],
    )


def test_a_formatted_reply_with_a_dropped_file_and_inline_images_leaves_as_related_mime(
    page, cast, ticket, smtp_sink: SmtpSink, huey_immediate
):
    _open(page, cast.boutique_agent, ticket)
    mark_page(page)
    editor = _editor(page)
    editor.click()
    page.keyboard.type("Bonjour ")
    toolbar = page.locator("#reply-toolbar")
    toolbar.get_by_role("button", name="Bold").click()
    page.keyboard.type("Alice")
    toolbar.get_by_role("button", name="Bold").click()
    page.keyboard.press("Enter")
    toolbar.get_by_role("button", name="Bulleted list").click()
    page.keyboard.type("premier point")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    toolbar.get_by_role("button", name="Quote").click()
    page.keyboard.type("cité")
    page.keyboard.press("Enter")
    page.keyboard.press("Enter")
    expect(editor.locator("strong")).to_have_text("Alice")
    expect(editor.locator("ul li")).to_have_text("premier point")
    expect(editor.locator("blockquote")).to_have_text("cité")

    # An image inserted with the toolbar's picker, another one pasted.
    with page.expect_file_chooser() as chooser:
        toolbar.get_by_role("button", name="Insert an image").click()
    chooser.value.set_files(files=[{"name": "photo.png", "mimeType": "image/png", "buffer": PNG}])
    expect(editor.locator("figure img")).to_have_count(1)
    _paste_png(page, "collee.png")
    expect(editor.locator("figure img")).to_have_count(2)

    # A file dropped on the attachments area, one picked with the file input.
    _drop_file(page, "#reply-dropzone", "bon.pdf", "%PDF-1.4 bon", "application/pdf")
    page.set_input_files(
        "#reply-attachments",
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"trois lignes"}],
    )
    files = page.locator("#reply-files li")
    expect(files).to_have_count(2)
    expect(files.nth(0)).to_contain_text("bon.pdf")
    expect(files.nth(1)).to_contain_text("notes.txt")

    page.locator("#reply-composer").get_by_role("button", name="Send").click()
    expect(page.locator("#reply-composer [role=status]")).to_have_text("Your reply is being sent.")
    outbound = page.locator("li.tl-message--outbound")
    expect(outbound).to_contain_text("premier point")
    expect(outbound.locator(".delivery")).to_have_text("Sent")
    expect(outbound.locator("img")).to_have_count(2)
    assert page_was_not_reloaded(page)
    # The composer is empty again, files included.
    expect(page.locator("#reply-files li")).to_have_count(0)
    expect(_editor(page)).to_have_text("")

    assert len(smtp_sink.messages) == 1
    mail = smtp_sink.parsed()
    related = next(p for p in mail.walk() if p.get_content_type() == "multipart/related")
    html_part, *images = list(related.iter_parts())
    html = html_part.get_content()
    assert "<strong>Alice</strong>" in html
    assert "<blockquote>cité" in html
    assert len(images) == 2
    for image in images:
        cid = image["Content-ID"].strip("<>")
        assert f'src="cid:{cid}"' in html
        assert image.get_payload(decode=True) == PNG
    attached = sorted(
        (p.get_filename(), p.get_payload(decode=True)) for p in mail.iter_attachments()
    )
    assert attached == [("bon.pdf", b"%PDF-1.4 bon"), ("notes.txt", b"trois lignes")]
    plain = mail.get_body(("plain",))
    assert plain is not None and "premier point" in plain.get_content()


def test_a_file_over_the_limit_is_refused_with_a_clear_message(page, cast, ticket, settings):
    settings.COMPOSER_ATTACHMENTS_MAX_BYTES = 100
    _open(page, cast.boutique_agent, ticket)
    _drop_file(page, "#reply-dropzone", "gros.bin", "x" * 150, "application/octet-stream")
    error = page.locator("#reply-size-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("gros.bin")
    expect(error).to_contain_text("100")
    expect(page.locator("#reply-files li")).to_have_count(0)


def test_a_note_is_shown_as_a_note_and_sends_no_mail(
    page, cast, ticket, smtp_sink: SmtpSink, huey_immediate
):
    _open(page, cast.boutique_agent, ticket)
    composer = page.locator("#reply-composer")
    composer.get_by_label("Internal note").check()
    expect(composer.get_by_text("they are never sent")).to_be_visible()
    _editor(page).click()
    page.keyboard.type("Client mécontent, proposer un geste.")
    _drop_file(page, "#reply-dropzone", "capture.txt", "interne", "text/plain")
    composer.get_by_role("button", name="Add the note").click()
    expect(composer.locator("[role=status]")).to_have_text("Your internal note was added.")
    note = page.locator("li.tl-message--note")
    expect(note).to_contain_text("Client mécontent")
    expect(note).to_contain_text("capture.txt")
    expect(page.locator("li.tl-message--outbound")).to_have_count(0)
    assert smtp_sink.messages == []
    assert not OutgoingEmail.objects.exists()


def test_a_reply_is_refused_when_the_customer_wrote_meanwhile_then_sent_after_review(
    page, cast, ticket, smtp_sink: SmtpSink, huey_immediate
):
    _open(page, cast.boutique_agent, ticket)
    _editor(page).click()
    page.keyboard.type("Nous vous envoyons un nouveau colis.")
    _drop_file(page, "#reply-dropzone", "etiquette.pdf", "%PDF etiquette", "application/pdf")
    # The customer writes again while the agent is typing.
    message_add(
        ticket=ticket,
        kind=MessageKind.INBOUND,
        body_text="Finalement je préfère un remboursement.",
        sender_email="alice@example.com",
    )
    composer = page.locator("#reply-composer")
    composer.get_by_role("button", name="Send").click()
    conflict = page.locator("#reply-conflict")
    expect(conflict).to_contain_text("Your reply was not sent")
    expect(conflict).to_contain_text("Finalement je préfère un remboursement.")
    assert smtp_sink.messages == []
    # The draft and its file are still there.
    expect(_editor(page)).to_contain_text("Nous vous envoyons un nouveau colis.")
    expect(page.locator("#reply-files li")).to_contain_text("etiquette.pdf")

    _editor(page).click()
    page.keyboard.press("End")
    page.keyboard.type(" Ou un remboursement, comme vous préférez.")
    conflict.get_by_role("button", name="send anyway").click()
    expect(composer.locator("[role=status]")).to_have_text("Your reply is being sent.")
    assert len(smtp_sink.messages) == 1
    mail = smtp_sink.parsed()
    plain = mail.get_body(("plain",))
    assert plain is not None
    assert "comme vous préférez" in plain.get_content()
    assert [p.get_filename() for p in mail.iter_attachments()] == ["etiquette.pdf"]
    reply = Message.objects.get(ticket=ticket, kind=MessageKind.OUTBOUND)
    assert reply.attachments.count() == 1


def test_two_agents_on_one_ticket_see_each_other(new_page, cast, ticket):
    first = new_page(locale="en-US")
    second = new_page(locale="en-US")
    _open(first, cast.boutique_agent, ticket)
    _open(second, cast.admin, ticket)
    expect(second.locator("#ticket-presence")).to_contain_text("Bruno Martin")
    expect(second.locator("#ticket-presence .avatar")).to_have_text("BM")
    # The first agent sees the second at the next heartbeat (at most ~12 s).
    expect(first.locator("#ticket-presence")).to_contain_text("Ada Min", timeout=20_000)
    expect(first.locator("#ticket-presence")).not_to_contain_text("Bruno Martin")
    _leave(first)
    _leave(second)

"""The web form in a real browser: embedded by its script on another site, then in the inbox.

The customer's site is a real HTTP server on 127.0.0.1 serving one page; the form's iframe
comes from the live server at `localhost`, a different site, so the test runs in the
third-party context a real embed lives in: no cookies of ours, no CSRF cookie, framing
allowed by CSP frame-ancestors. (Both on loopback: Chromium refuses a public page loading
from a loopback server, which a routed fake domain would be.)
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from comptoir.channels.webform.models import WebForm
from comptoir.channels.webform.tests.conftest import PDF
from comptoir.testing.browser import login
from comptoir.testing.net import free_port
from comptoir.tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)

SUBJECT = "Parcel arrived damaged"


def _host_page(live_server, web_form: WebForm, lang: str = "en") -> str:
    form_url = f"{live_server.url}/webform/{web_form.public_key}/"
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8"><title>Shop</title></head>
<body>
  <h1>Our shop</h1>
  <p style="height: 300px">Write to us below.</p>
  <script src="{live_server.url}/static/webform/embed.js" data-comptoir-form="{form_url}"
          async></script>
  <footer>Shop footer</footer>
</body></html>"""


@pytest.fixture
def shop() -> Iterator[Callable[[str], str]]:
    """Serve one HTML page from a site of its own; returns its origin."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get("html", b"")
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def serve(html: str) -> str:
        pages["html"] = html.encode()
        return f"http://127.0.0.1:{server.server_port}"

    try:
        yield serve
    finally:
        server.shutdown()
        server.server_close()


def test_a_visitor_sends_the_embedded_form_and_an_agent_finds_the_ticket(
    new_page, live_server, cast, web_form, shop
):
    origin = shop(_host_page(live_server, web_form))
    web_form.allowed_origins = origin
    web_form.save()
    visitor = new_page(locale="en-US")
    visitor.goto(f"{origin}/contact")

    iframe = visitor.locator("iframe")
    expect(iframe).to_have_attribute("src", re.compile(r"embed=1&lang=en$"))
    frame = visitor.frame_locator("iframe")
    expect(frame.get_by_role("heading", name="Contactez la Boutique")).to_be_visible()
    # The frame told the host page its height: no scroll bar, no fixed 600 px.
    visitor.wait_for_function("document.querySelector('iframe').style.height !== '600px'")

    # A first try with a mistake: the error is explained in the visitor's language.
    frame.get_by_label("Your name").fill("Marie Curie")
    frame.get_by_label("Email address").fill("marie@")
    frame.get_by_label("Subject").fill(SUBJECT)
    frame.get_by_label("Your message").fill("The box was crushed and the vase is broken.")
    frame.get_by_role("button", name="Send my request").click()
    expect(
        frame.get_by_text("This email address is not valid, e.g. name@example.com.").first
    ).to_be_visible()
    assert not Ticket.objects.exists()

    # Corrected, with a photo of the damage attached.
    frame.get_by_label("Email address").fill("marie@example.org")
    frame.get_by_label("Attachments (optional)").set_input_files(
        files=[{"name": "damage.pdf", "mimeType": "application/pdf", "buffer": PDF}]
    )
    frame.get_by_role("button", name="Send my request").click()
    expect(
        frame.get_by_role("heading", name="Thank you, your request has been sent.")
    ).to_be_visible()
    ticket = Ticket.objects.get()
    expect(frame.locator(".wf-number strong")).to_have_text(str(ticket.number))
    # The host page is still the shop: the whole exchange happened inside the frame.
    assert visitor.url == f"{origin}/contact"
    expect(visitor.get_by_text("Shop footer")).to_be_visible()

    agent = new_page()
    login(agent, cast.boutique_agent)
    row = agent.locator("#inbox-results table.tickets tbody tr").filter(has_text=SUBJECT)
    expect(row).to_be_visible()
    expect(row.locator(".unread-badge")).to_be_visible()
    expect(row.locator(".num")).to_have_text(f"#{ticket.number}")
    expect(row).to_contain_text("Marie Curie")
    row.get_by_role("link", name=SUBJECT).click()
    expect(agent.get_by_text("The box was crushed and the vase is broken.")).to_be_visible()
    expect(agent.get_by_role("link", name=re.compile("damage.pdf"))).to_be_visible()


def test_a_site_not_allowed_cannot_frame_the_form(new_page, live_server, cast, web_form, shop):
    origin = shop(_host_page(live_server, web_form))
    web_form.allowed_origins = "https://other-shop.example"
    web_form.save()
    visitor = new_page(locale="en-US")
    with visitor.expect_console_message(lambda m: "frame-ancestors" in m.text) as refusal:
        visitor.goto(f"{origin}/contact")
    assert "other-shop.example" in refusal.value.text
    frame = visitor.frame_locator("iframe")
    expect(frame.get_by_role("button", name="Send my request")).to_have_count(0)


def test_the_plain_page_works_in_french_without_javascript(browser, live_server, cast, web_form):
    context = browser.new_context(
        base_url=live_server.url, locale="fr-FR", java_script_enabled=False
    )
    try:
        page = context.new_page()
        page.goto(f"/webform/{web_form.public_key}/")
        page.get_by_label("Votre nom").fill("Jean Dupont")
        page.get_by_label("Adresse e-mail").fill("jean@example.org")
        page.get_by_label("Objet").fill("Question sur ma commande")
        page.get_by_label("Votre message").fill("Bonjour, où en est ma commande ?")
        page.get_by_role("button", name="Envoyer ma demande").click()
        expect(
            page.get_by_role("heading", name="Merci, votre demande a bien été envoyée.")
        ).to_be_visible()
        ticket = Ticket.objects.get()
        expect(page.locator(".wf-number strong")).to_have_text(str(ticket.number))
        assert ticket.contact is not None
        assert ticket.contact.language == "fr"
    finally:
        context.close()

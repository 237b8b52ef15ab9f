"""The public history link: what it shows, until when, and every way it is refused."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import signing
from django.test import override_settings
from django.utils import timezone

from comptoir.accounts.services import token_create
from comptoir.responses import views_public
from comptoir.responses.history_link import SALT, _payload, history_link_create, history_link_issue
from comptoir.responses.models import HistoryLink
from comptoir.testing.cast import PASSWORD
from comptoir.tickets.models import MessageKind
from comptoir.tickets.services import (
    NewAttachment,
    message_add,
    ticket_change_status,
    ticket_close,
    ticket_create,
)

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16


@pytest.fixture
def start():
    return timezone.now().replace(microsecond=0) - timedelta(hours=2)


@pytest.fixture
def thread(ticket, cast, start):
    """Alice's ticket with one message of each kind, then the link sent, then a late reply."""

    def add(minutes, kind, body, **kw):
        return message_add(
            ticket=ticket, kind=kind, body_text=body, now=start + timedelta(minutes=minutes), **kw
        )

    msgs = {
        "inbound": add(
            0,
            MessageKind.INBOUND,
            "Où est mon colis ?",
            body_html='<p>Où est mon colis ? <img src="cid:photo1"></p>',
            attachments=[
                NewAttachment("facture.pdf", b"%PDF-1.4 invoice", "application/pdf"),
                NewAttachment("photo.png", PNG, "image/png", content_id="photo1", is_inline=True),
            ],
        ),
        "outbound": add(1, MessageKind.OUTBOUND, "Nous regardons.", author=cast.boutique_agent),
        "note": add(
            2,
            MessageKind.NOTE,
            "NOTE-SECRET entrepôt",
            author=cast.boutique_agent,
            attachments=[NewAttachment("interne.txt", b"internal", "text/plain")],
        ),
        "solicitation": add(3, MessageKind.SOLICITATION_OUT, "SOLLICITATION-SECRET transporteur"),
        "automatic": add(4, MessageKind.AUTOMATIC, "AUTOMATIQUE accusé de réception"),
        "ooo": add(5, MessageKind.INBOUND, "ABSENCE du bureau", is_auto_reply=True),
    }
    sent = start + timedelta(minutes=10)
    url = history_link_issue(ticket=ticket, now=sent, issued_by=cast.boutique_agent)
    msgs["at_cutoff"] = add(10, MessageKind.OUTBOUND, "AU-MOMENT message porteur")
    msgs["late"] = add(20, MessageKind.INBOUND, "TARDIF merci")
    path = re.sub(r"^https?://[^/]+", "", url).split("?")[0]
    return {"ticket": ticket, "msgs": msgs, "sent": sent, "path": path, "url": url}


def test_the_link_shows_only_the_exchanges_with_the_contact_before_the_cutoff(client, thread):
    response = client.get(thread["path"])
    assert response.status_code == 200
    page = response.content.decode()
    assert "Où est mon colis ?" in page and "Nous regardons." in page
    for secret in ("NOTE-SECRET", "SOLLICITATION-SECRET", "AUTOMATIQUE", "ABSENCE"):
        assert secret not in page
    # Strictly before the cut-off: neither the carrying message nor anything later.
    assert "AU-MOMENT" not in page and "TARDIF" not in page
    assert "facture.pdf" in page and "interne.txt" not in page
    # Nor the ticket's history events.
    assert "Request created" not in page and "Demande créée" not in page


def test_the_issued_url_is_absolute_and_in_the_contacts_language(thread):
    assert thread["url"].startswith("http")
    assert thread["url"].endswith("?lang=fr")
    link = HistoryLink.objects.get()
    assert link.recipient == "alice@example.com"
    assert link.expires_at == thread["sent"] + timedelta(days=7)


def test_the_page_is_noindex_private_and_sends_no_referrer(client, thread):
    response = client.get(thread["path"])
    assert "noindex" in response["X-Robots-Tag"]
    assert '<meta name="robots" content="noindex' in response.content.decode()
    assert response["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response["Cache-Control"]
    assert "script-src" not in response["Content-Security-Policy"]


def test_the_link_expires_seven_days_after_it_was_sent(client, thread):
    sent = thread["sent"]
    with time_machine.travel(sent + timedelta(days=7) - timedelta(seconds=1), tick=False):
        assert client.get(thread["path"]).status_code == 200
    with time_machine.travel(sent + timedelta(days=7), tick=False):
        response = client.get(thread["path"])
        assert response.status_code == 410
        assert "Où est mon colis" not in response.content.decode()
        assert "noindex" in response["X-Robots-Tag"]


def test_closing_the_ticket_ends_the_link_even_if_it_reopens(client, thread, cast):
    ticket = thread["ticket"]
    ticket_close(ticket=ticket, author=cast.boutique_agent)
    response = client.get(thread["path"])
    assert response.status_code == 410
    assert "Où est mon colis" not in response.content.decode()
    ticket_change_status(ticket=ticket, status="to_process", author=cast.boutique_agent)
    assert client.get(thread["path"]).status_code == 410


def test_a_link_issued_on_a_closed_then_reopened_ticket_works(client, ticket, cast):
    ticket_close(ticket=ticket, author=cast.boutique_agent)
    ticket_change_status(ticket=ticket, status="to_process", author=cast.boutique_agent)
    link = history_link_create(ticket=ticket)
    from comptoir.responses.history_link import history_link_token

    assert client.get(f"/h/{history_link_token(link)}/").status_code == 200


@pytest.mark.parametrize(
    "damage",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
        lambda t: t[: len(t) // 2],
        lambda t: "x" + t,
        lambda t: t.replace(":", "."),
    ],
    ids=["changed", "truncated", "prefixed", "mangled"],
)
def test_a_tampered_token_is_refused(client, thread, damage):
    token = thread["path"].split("/")[2]
    response = client.get(f"/h/{damage(token)}/")
    assert response.status_code == 403
    assert "Où est mon colis" not in response.content.decode()


def test_a_token_signed_with_another_deployments_key_is_refused(client, thread):
    link = HistoryLink.objects.get()
    with override_settings(SECRET_KEY="another deployment's key, not ours at all"):
        forged = signing.dumps(_payload(link), salt=SALT, compress=True)
    assert client.get(f"/h/{forged}/").status_code == 403


def test_a_token_naming_another_tenants_ticket_is_refused(client, thread, cast):
    foreign = ticket_create(queue=cast.other_queue, channel="email", subject="Globex secret")
    message_add(
        ticket=foreign,
        kind=MessageKind.INBOUND,
        body_text="GLOBEX-SECRET",
        now=timezone.now() - timedelta(hours=1),
    )
    link = HistoryLink.objects.get()
    for change in ({"t": cast.other_tenant.pk}, {"k": foreign.pk}, {"e": 99999999999999999}):
        forged = signing.dumps({**_payload(link), **change}, salt=SALT, compress=True)
        response = client.get(f"/h/{forged}/")
        assert response.status_code == 403, change
        assert "GLOBEX-SECRET" not in response.content.decode()
        assert "Où est mon colis" not in response.content.decode()


def test_a_revoked_link_is_refused(client, thread, cast):
    client.login(email=cast.boutique_agent.email, password=PASSWORD)
    link = HistoryLink.objects.get()
    response = client.post(f"/responses/history-links/{link.pk}/revoke/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "revoked" in response.content.decode() or "révoqué" in response.content.decode()
    client.logout()
    assert client.get(thread["path"]).status_code == 403


def test_a_link_moved_to_another_contact_is_refused(client, thread, cast):
    from comptoir.contacts.services import contact_create

    ticket = thread["ticket"]
    ticket.contact = contact_create(tenant=cast.tenant, first_name="Autre")
    ticket.save()
    assert client.get(thread["path"]).status_code == 403


def test_attachments_are_served_through_the_token_only_for_shown_messages(client, thread, cast):
    token = thread["path"].split("/")[2]
    shown = thread["msgs"]["inbound"].attachments.get(filename="facture.pdf")
    image = thread["msgs"]["inbound"].attachments.get(content_id="photo1")
    note_file = thread["msgs"]["note"].attachments.get()
    response = client.get(f"/h/{token}/a/{shown.pk}/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 invoice"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "noindex" in response["X-Robots-Tag"]
    page = client.get(thread["path"]).content.decode()
    assert f'src="/h/{token}/a/{image.pk}/"' in page
    assert client.get(f"/h/{token}/a/{image.pk}/").status_code == 200
    assert client.get(f"/h/{token}/a/{note_file.pk}/").status_code == 403
    with time_machine.travel(thread["sent"] + timedelta(days=8), tick=False):
        assert client.get(f"/h/{token}/a/{shown.pk}/").status_code == 410


def test_the_page_renders_sanitized_html(client, thread):
    inbound = thread["msgs"]["inbound"]
    # Written straight to the row, as if an older channel had stored it unsanitized.
    inbound.body_html = '<p onclick="x()">Où est mon colis ?<script>alert(1)</script></p>'
    inbound.save()
    page = client.get(thread["path"]).content.decode()
    assert "<script>alert" not in page and "onclick" not in page


def test_the_page_speaks_the_language_asked_for(client, thread):
    english = client.get(thread["path"] + "?lang=en").content.decode()
    assert "Your exchanges on request" in english
    french = client.get(thread["path"], HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9").content.decode()
    assert '<html lang="fr">' in french
    by_header = client.get(thread["path"], HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.8")
    assert "Your exchanges on request" in by_header.content.decode()


def test_refusals_are_clear_in_french_and_english(client, thread):
    en = client.get("/h/garbage/", HTTP_ACCEPT_LANGUAGE="en")
    assert en.status_code == 403 and "This link is not valid" in en.content.decode()
    fr = client.get("/h/garbage/?lang=fr", HTTP_ACCEPT_LANGUAGE="en")
    assert fr.status_code == 403 and '<html lang="fr">' in fr.content.decode()
    with time_machine.travel(thread["sent"] + timedelta(days=8), tick=False):
        gone = client.get(thread["path"] + "?lang=en")
    assert "This link has expired" in gone.content.decode()


def test_refused_tokens_are_rate_limited_per_ip(client, thread):
    for _ in range(views_public.REFUSED_LIMIT):
        assert client.get("/h/nope/", REMOTE_ADDR="198.51.100.7").status_code == 403
    # The same address is now slowed down, even with a good link; another is not.
    assert client.get(thread["path"], REMOTE_ADDR="198.51.100.7").status_code == 429
    assert client.get(thread["path"], REMOTE_ADDR="198.51.100.8").status_code == 200


def test_the_ticket_lists_its_links_for_agents(client, thread, cast):
    client.login(email=cast.boutique_agent.email, password=PASSWORD)
    page = client.get(f"/responses/tickets/{thread['ticket'].pk}/history-links/")
    assert page.status_code == 200
    assert "alice@example.com" in page.content.decode()
    client.login(email=cast.other_agent.email, password=PASSWORD)
    assert client.get(f"/responses/tickets/{thread['ticket'].pk}/history-links/").status_code == 404


def test_the_api_issues_lists_and_revokes_links(client, ticket, cast):
    key = token_create(user=cast.boutique_agent)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    created = client.post(
        f"/api/v1/tickets/{ticket.pk}/history-links",
        data={"recipient": "alice@example.com"},
        content_type="application/json",
        **auth,
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["url"].startswith("http") and "/h/" in body["url"]
    listed = client.get(f"/api/v1/tickets/{ticket.pk}/history-links", **auth).json()
    assert [item["id"] for item in listed] == [body["id"]] and listed[0]["url"] is None
    revoked = client.post(f"/api/v1/history-links/{body['id']}/revoke", **auth)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    path = re.sub(r"^https?://[^/]+", "", body["url"]).split("?")[0]
    assert client.get(path).status_code == 403
    other_key = token_create(user=cast.other_agent)
    foreign = client.post(
        f"/api/v1/history-links/{body['id']}/revoke", HTTP_AUTHORIZATION=f"Bearer {other_key}"
    )
    assert foreign.status_code == 404

"""The agent UI in a real browser (Chromium): what an agent sees and clicks, in French first."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Page, expect

from comptoir.contacts.services import contact_create
from comptoir.testing.browser import login, mark_page, page_was_not_reloaded
from comptoir.tickets.models import MessageKind, Status
from comptoir.tickets.services import (
    message_add,
    ticket_assign,
    ticket_change_status,
    ticket_create,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _empty_cache():
    # The login rate limit counts in the cache; each test starts with a clean slate.
    cache.clear()


def _ticket(queue, subject, *, minutes_ago=0, channel="email", **kwargs):
    return ticket_create(
        queue=queue,
        channel=channel,
        subject=subject,
        now=timezone.now() - timedelta(minutes=minutes_ago),
        **kwargs,
    )


def _rows(page: Page):
    return page.locator("#inbox-results table.tickets tbody tr")


def _tab(page: Page, label: str):
    return page.locator("#inbox-results .tabs a.tab").filter(
        has_text=re.compile(rf"^\s*{re.escape(label)}\s+\d+\s*$")
    )


@pytest.fixture
def boutique_tickets(cast):
    """Five Boutique tickets on several channels and statuses, newest first by subject."""
    tickets = {
        "mail_new": _ticket(cast.boutique_queue, "Colis jamais arrivé", minutes_ago=50),
        "phone_todo": _ticket(
            cast.boutique_queue, "Appel sur une facture", minutes_ago=40, channel="phone"
        ),
        "chat_wait": _ticket(
            cast.boutique_queue_2, "Retour d'un article", minutes_ago=30, channel="chat"
        ),
        "mail_closed": _ticket(cast.boutique_queue, "Merci pour tout", minutes_ago=20),
        "phone_closed": _ticket(
            cast.boutique_queue_2, "Rappel demandé", minutes_ago=10, channel="phone"
        ),
    }
    ticket_change_status(
        ticket=tickets["phone_todo"], status=Status.TO_PROCESS, author=cast.boutique_agent
    )
    ticket_change_status(
        ticket=tickets["chat_wait"], status=Status.AWAITING_CONTACT, author=cast.boutique_agent
    )
    for key in ("mail_closed", "phone_closed"):
        ticket_change_status(ticket=tickets[key], status=Status.CLOSED, author=None)
    return tickets


# Login --------------------------------------------------------------------------------


def test_login_page_is_french_for_an_english_browser_and_a_good_password_opens_the_inbox(
    new_page, cast
):
    page = new_page(locale="en-US")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
    expect(page.get_by_label("Adresse e-mail")).to_be_visible()

    page.get_by_label("Adresse e-mail").fill(cast.boutique_agent.email)
    page.get_by_label("Mot de passe").fill("not the password")
    page.locator("main").get_by_role("button", name="Connexion").click()
    expect(page.get_by_role("alert")).to_contain_text("mot de passe valides")
    expect(page).to_have_url(re.compile(r"/login/"))

    page.get_by_label("Mot de passe").fill("correct horse battery")
    page.locator("main").get_by_role("button", name="Connexion").click()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Demandes")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "fr")


# Inbox --------------------------------------------------------------------------------


def test_inbox_lists_the_agents_tickets_with_the_right_counts_in_the_tabs(
    page, cast, boutique_tickets
):
    login(page, cast.boutique_agent)
    expect(_rows(page)).to_have_count(5)
    expect(page.locator("#inbox-results .pager__info")).to_contain_text("5 demandes")
    # The new ticket needs attention: first, though the oldest; then the others newest first.
    expect(_rows(page).first).to_contain_text("Colis jamais arrivé")
    expect(_rows(page).nth(1)).to_contain_text("Rappel demandé")
    expect(_rows(page).last).to_contain_text("Appel sur une facture")
    for label, count in [
        ("Toutes", 5),
        ("Ouvertes", 3),
        ("Nouvelle", 1),
        ("À traiter", 1),
        ("Attente expert", 0),
        ("Attente client", 1),
        ("Clôturée", 2),
    ]:
        expect(_tab(page, label).locator(".tab__count")).to_have_text(str(count))


def test_status_tab_filters_in_place_updates_the_url_and_back_restores_the_list(
    page, cast, boutique_tickets
):
    login(page, cast.boutique_agent)
    expect(_rows(page)).to_have_count(5)
    mark_page(page)

    _tab(page, "Ouvertes").click()
    expect(page).to_have_url(re.compile(r"\?status=open$"))
    expect(_rows(page)).to_have_count(3)
    expect(_tab(page, "Ouvertes")).to_have_attribute("aria-current", "page")
    expect(page.locator("#inbox-results")).not_to_contain_text("Merci pour tout")
    assert page_was_not_reloaded(page), "the status tab reloaded the whole page"

    _tab(page, "Clôturée").click()
    expect(page).to_have_url(re.compile(r"\?status=closed$"))
    expect(_rows(page)).to_have_count(2)
    assert page_was_not_reloaded(page)

    page.go_back()
    expect(page).to_have_url(re.compile(r"\?status=open$"))
    expect(_rows(page)).to_have_count(3)
    page.go_back()
    expect(page).to_have_url(re.compile(r"/$"))
    expect(_rows(page)).to_have_count(5)
    expect(_tab(page, "Toutes")).to_have_attribute("aria-current", "page")


def test_channel_select_filters_the_list_in_place(page, cast, boutique_tickets):
    login(page, cast.boutique_agent)
    expect(_rows(page)).to_have_count(5)
    mark_page(page)

    page.get_by_label("Canal").select_option("phone")
    expect(page).to_have_url(re.compile(r"channel=phone"))
    expect(_rows(page)).to_have_count(2)
    expect(page.locator("#inbox-results tbody .chip--phone")).to_have_count(2)
    # The tabs count within the channel filter.
    expect(_tab(page, "Toutes").locator(".tab__count")).to_have_text("2")
    expect(_tab(page, "Ouvertes").locator(".tab__count")).to_have_text("1")

    _tab(page, "Ouvertes").click()
    expect(_rows(page)).to_have_count(1)
    expect(_rows(page).first).to_contain_text("Appel sur une facture")
    expect(page.get_by_label("Canal")).to_have_value("phone")
    assert page_was_not_reloaded(page)

    page.get_by_role("link", name="Effacer les filtres").click()
    expect(_rows(page)).to_have_count(3)
    expect(page.get_by_label("Canal")).to_have_value("")


def test_pagination_moves_between_pages_of_25_without_reloading(page, cast):
    for i in range(30):
        _ticket(cast.boutique_queue, f"Demande numéro {i:02d}", minutes_ago=100 - i)
    login(page, cast.boutique_agent)
    info = page.locator("#inbox-results .pager__info")
    expect(info).to_contain_text("Page 1 sur 2")
    expect(info).to_contain_text("30 demandes")
    expect(_rows(page)).to_have_count(25)
    expect(_rows(page).first).to_contain_text("Demande numéro 29")
    mark_page(page)

    page.locator("#inbox-results a[rel=next]").click()
    expect(info).to_contain_text("Page 2 sur 2")
    expect(page).to_have_url(re.compile(r"page=2"))
    expect(_rows(page)).to_have_count(5)
    expect(_rows(page).first).to_contain_text("Demande numéro 04")
    expect(_rows(page).last).to_contain_text("Demande numéro 00")
    expect(page.locator("#inbox-results a[rel=next]")).to_have_count(0)

    page.locator("#inbox-results a[rel=prev]").click()
    expect(info).to_contain_text("Page 1 sur 2")
    expect(_rows(page)).to_have_count(25)
    assert page_was_not_reloaded(page)


def test_boutique_agent_never_sees_an_assurance_ticket_and_its_url_is_a_404(page, cast):
    _ticket(cast.boutique_queue, "Commande en retard")
    foreign = _ticket(cast.assurance_queue, "Sinistre dégât des eaux")
    login(page, cast.boutique_agent)
    expect(_rows(page)).to_have_count(1)
    expect(page.locator("#inbox-results")).not_to_contain_text("Sinistre")
    # Only one workspace: no workspace filter, and no Assurance queue to pick.
    expect(page.locator("#f-workspace")).to_have_count(0)
    expect(page.locator("#f-queue option", has_text="Sinistres")).to_have_count(0)

    response = page.goto(f"/tickets/{foreign.pk}/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Page introuvable")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("Sinistre dégât des eaux")


# Ticket page ---------------------------------------------------------------------------


def test_ticket_page_shows_the_header_and_the_timeline_oldest_first_and_filters_it_in_place(
    page, cast
):
    start = timezone.now() - timedelta(hours=2)
    ticket = ticket_create(
        queue=cast.boutique_queue,
        channel="email",
        subject="Ma commande n'est pas arrivée",
        contact=cast.alice,
        now=start,
    )
    message_add(
        ticket=ticket,
        kind=MessageKind.INBOUND,
        body_text="Premier message de la cliente",
        sender_email="alice@example.com",
        sender_name="Alice Dupont",
        now=start,
    )
    ticket_assign(
        ticket=ticket,
        assignee=cast.boutique_agent,
        author=cast.boutique_agent,
        now=start + timedelta(minutes=5),
    )
    message_add(
        ticket=ticket,
        kind=MessageKind.NOTE,
        body_text="Note : vérifier le transporteur",
        author=cast.boutique_agent,
        now=start + timedelta(minutes=10),
    )
    ticket_change_status(
        ticket=ticket,
        status=Status.TO_PROCESS,
        author=cast.boutique_agent,
        now=start + timedelta(minutes=15),
    )
    message_add(
        ticket=ticket,
        kind=MessageKind.INBOUND,
        body_text="Deuxième message de la cliente",
        sender_email="alice@example.com",
        now=start + timedelta(minutes=20),
    )

    login(page, cast.boutique_agent)
    page.get_by_role("link", name="Ma commande n'est pas arrivée").click()
    expect(page).to_have_url(re.compile(rf"/tickets/{ticket.pk}/$"))
    head = page.locator("header.tickethead")
    expect(head.get_by_role("heading", level=1)).to_have_text("Ma commande n'est pas arrivée")
    expect(head).to_contain_text(f"#{ticket.number}")
    expect(head.locator(".badge")).to_have_text("À traiter")
    expect(head).to_contain_text("Alice Dupont")
    expect(head).to_contain_text("Bruno Martin")
    expect(head).to_contain_text("Commandes")

    items = page.locator("ol.timeline > li")
    expect(items).to_have_count(6)
    expected_order = [
        "Demande créée",
        "Premier message de la cliente",
        "Bruno Martin",
        "Note : vérifier le transporteur",
        "À traiter",
        "Deuxième message de la cliente",
    ]
    for index, text in enumerate(expected_order):
        expect(items.nth(index)).to_contain_text(text)
    expect(items.nth(3)).to_contain_text("Note interne")
    mark_page(page)

    timeline = page.locator("#timeline")
    timeline.get_by_role("link", name="Messages seulement").click()
    expect(page).to_have_url(re.compile(r"\?show=messages$"))
    expect(items).to_have_count(3)
    expect(page.locator("ol.timeline > li.tl-event")).to_have_count(0)
    expect(items.first).to_contain_text("Premier message de la cliente")

    timeline.get_by_role("link", name="Événements seulement").click()
    expect(page).to_have_url(re.compile(r"\?show=events$"))
    expect(items).to_have_count(3)
    expect(page.locator("ol.timeline > li.tl-message")).to_have_count(0)
    expect(items.first).to_contain_text("Demande créée")

    timeline.get_by_role("link", name="Tout").click()
    expect(items).to_have_count(6)
    assert page_was_not_reloaded(page), "the timeline filter reloaded the whole page"


# Contacts ------------------------------------------------------------------------------


def test_contact_page_lists_the_contacts_tickets_on_every_channel(page, cast):
    _ticket(cast.boutique_queue, "Par e-mail", contact=cast.alice, minutes_ago=30)
    _ticket(cast.boutique_queue, "Par téléphone", contact=cast.alice, channel="phone")
    _ticket(cast.assurance_queue, "Par chat", contact=cast.alice, channel="chat", minutes_ago=10)
    _ticket(cast.boutique_queue, "Quelqu'un d'autre")
    login(page, cast.admin)
    page.get_by_role("navigation", name="Navigation principale").get_by_role(
        "link", name="Contacts"
    ).click()
    page.get_by_role("link", name="Alice Dupont").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Alice Dupont")
    expect(page.locator("main")).to_contain_text("alice@example.com")

    rows = page.locator("#contact-tickets tbody tr")
    expect(rows).to_have_count(3)
    expect(page.locator("#contact-tickets h2 .tab__count")).to_have_text("3")
    for channel in ("email", "phone", "chat"):
        expect(page.locator(f"#contact-tickets .chip--{channel}")).to_have_count(1)
    expect(page.locator("#contact-tickets")).to_contain_text("Assurance")
    expect(page.locator("#contact-tickets")).not_to_contain_text("Quelqu'un d'autre")

    rows.filter(has_text="Par chat").get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Par chat")


def test_contact_page_of_a_boutique_agent_hides_the_assurance_tickets(page, cast):
    _ticket(cast.boutique_queue, "Côté boutique", contact=cast.alice)
    _ticket(cast.assurance_queue, "Côté assurance", contact=cast.alice)
    login(page, cast.boutique_agent)
    page.goto(f"/contacts/{cast.alice.pk}/")
    expect(page.locator("#contact-tickets tbody tr")).to_have_count(1)
    expect(page.locator("#contact-tickets")).to_contain_text("Côté boutique")
    expect(page.locator("#contact-tickets")).not_to_contain_text("Côté assurance")


def test_contact_search_narrows_the_list_as_the_agent_types(page, cast):
    contact_create(
        tenant=cast.tenant,
        first_name="Bernard",
        last_name="Durand",
        emails=["bernard@durand.example"],
    )
    contact_create(tenant=cast.tenant, first_name="Chloé", last_name="Martin", company="Durabilis")
    login(page, cast.boutique_agent)
    page.goto("/contacts/")
    rows = page.locator("#contact-results tbody tr")
    # Alice from the cast, and the two above; the other tenant's contact is not listed.
    expect(rows).to_have_count(3)
    expect(page.locator("#contact-results")).not_to_contain_text("Otto")
    mark_page(page)

    search = page.get_by_label("Rechercher des contacts")
    search.press_sequentially("dur", delay=30)
    expect(rows).to_have_count(2)  # Durand by name, Durabilis by company
    expect(page).to_have_url(re.compile(r"\?q=dur$"))
    search.press_sequentially("and", delay=30)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Bernard Durand")

    search.fill("personne de ce nom")
    expect(rows).to_have_count(0)
    expect(page.locator("#contact-results")).to_contain_text("personne de ce nom")
    search.fill("")
    expect(rows).to_have_count(3)
    assert page_was_not_reloaded(page), "the search reloaded the whole page"


# Language and logout -------------------------------------------------------------------


def test_language_switch_to_english_persists_across_pages_and_back_to_french(
    page, cast, boutique_tickets
):
    login(page, cast.boutique_agent)
    expect(page.get_by_role("heading", name="Demandes")).to_be_visible()
    page.goto("/?status=open")

    page.get_by_role("button", name="EN").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    # The switch came back to the same list.
    expect(page).to_have_url(re.compile(r"\?status=open$"))
    expect(_tab(page, "Open")).to_have_attribute("aria-current", "page")
    expect(page.get_by_label("Channel")).to_be_visible()

    page.get_by_role("link", name="Contacts").first.click()
    expect(page.get_by_label("Search contacts")).to_be_visible()
    page.get_by_role("link", name="Inbox").first.click()
    page.get_by_role("link", name="Retour d'un article").click()
    expect(page.get_by_role("link", name="Messages only")).to_be_visible()
    expect(page.locator("header.tickethead .badge")).to_have_text("Awaiting contact")

    page.get_by_role("button", name="FR").click()
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_role("link", name="Messages seulement")).to_be_visible()
    expect(page.locator("header.tickethead .badge")).to_have_text("Attente client")
    page.goto("/")
    expect(page.get_by_role("heading", name="Demandes")).to_be_visible()


def test_language_switch_after_an_htmx_filter_keeps_the_filtered_list(page, cast, boutique_tickets):
    login(page, cast.boutique_agent)
    _tab(page, "Ouvertes").click()
    expect(page).to_have_url(re.compile(r"\?status=open$"))
    page.get_by_role("button", name="EN").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(re.compile(r"\?status=open$"), timeout=2_000)


def test_logout_returns_to_the_login_page_and_the_inbox_then_asks_to_log_in(page, cast):
    login(page, cast.boutique_agent)
    page.locator("details.usermenu summary").click()
    page.get_by_role("button", name="Déconnexion").click()
    expect(page).to_have_url(re.compile(r"/login/$"))
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/$"))
    expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
    page.goto("/contacts/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/contacts/$"))

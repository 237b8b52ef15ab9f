"""The ticket page's actions in a real browser (Chromium), as a French-speaking agent works.

Each flow checks what changed on the page and in the database, and that the page was never
reloaded (htmx swaps the header and the timeline in place).
"""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import Page, expect

from comptoir.contacts.models import Contact, ContactIdentity
from comptoir.contacts.services import contact_create
from comptoir.testing.browser import login, mark_page, page_was_not_reloaded
from comptoir.testing.cast import PASSWORD
from comptoir.tickets.models import ContactReason, Event, EventKind, MessageKind, Status, Ticket
from comptoir.tickets.services import message_add, ticket_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


@pytest.fixture
def ticket(cast):
    ticket = ticket_create(
        queue=cast.boutique_queue,
        channel="email",
        subject="Colis abîmé",
        requester_email="bob@example.com",
        requester_name="Bob Leponge",
    )
    message_add(
        ticket=ticket,
        kind=MessageKind.INBOUND,
        body_text="Mon colis est arrivé abîmé.",
        sender_email="bob@example.com",
        sender_name="Bob Leponge",
    )
    return ticket


def _open(page: Page, cast, ticket: Ticket) -> None:
    login(page, cast.boutique_agent)
    page.goto(f"/tickets/{ticket.pk}/")
    expect(page.locator("#ticket-actions")).to_be_visible()
    mark_page(page)


def _fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_related("assignee", "contact", "contact_reason").get(pk=ticket.pk)


def _badge(page: Page):
    return page.locator("header.tickethead .badge")


def _events(page: Page):
    return page.locator("ol.timeline > li.tl-event")


# Assign -----------------------------------------------------------------------------------


def test_assign_to_me_shows_my_initials_then_to_another_agent_then_nobody(page, cast, ticket):
    _open(page, cast, ticket)
    toggle = page.locator("#action-assign-toggle")
    expect(toggle).to_have_text("Attribuer")

    toggle.click()
    page.get_by_role("button", name="M'attribuer").click()

    expect(toggle.locator(".avatar")).to_have_text("BM")
    expect(toggle).to_have_accessible_name(re.compile("Attribuée à Bruno Martin"))
    expect(_events(page).last).to_contain_text("Attribuée à Bruno Martin")
    assert _fresh(ticket).assignee == cast.boutique_agent

    toggle.click()
    page.locator("#action-assign").get_by_role("button", name=re.compile("Eve X")).click()
    expect(toggle.locator(".avatar")).to_have_text("EX")
    expect(_events(page).last).to_contain_text("Eve X")
    assert _fresh(ticket).assignee == cast.expert

    toggle.click()
    page.get_by_role("button", name="Retirer l'attribution").click()
    expect(toggle).to_have_text("Attribuer")
    assert _fresh(ticket).assignee is None
    assert page_was_not_reloaded(page)


def test_assign_with_the_keyboard_only_and_the_focus_comes_back(page, cast, ticket):
    _open(page, cast, ticket)
    toggle = page.locator("#action-assign-toggle")
    toggle.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="M'attribuer")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="M'attribuer")).to_be_focused()
    page.keyboard.press("Enter")
    expect(toggle.locator(".avatar")).to_have_text("BM")
    expect(toggle).to_be_focused()
    # Escape closes an open panel and gives the focus back to its button.
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="M'attribuer")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="M'attribuer")).to_be_hidden()
    expect(toggle).to_be_focused()
    assert page_was_not_reloaded(page)


# Contact ----------------------------------------------------------------------------------


def test_link_a_contact_found_as_you_type_and_remember_the_address(page, cast, ticket):
    contact_create(tenant=cast.tenant, first_name="Alain", last_name="Terrieur")
    _open(page, cast, ticket)
    page.locator("#action-contact-toggle").click()
    search = page.get_by_label("Chercher un contact par nom, e-mail ou téléphone")
    expect(search).to_be_focused()
    search.press_sequentially("dupo")
    results = page.locator("#contact-results")
    expect(results.locator(".contact-result")).to_have_count(1)
    expect(results).to_contain_text("Alice Dupont")
    expect(results).to_contain_text("alice@example.com")
    search.fill("")
    search.press_sequentially("alice@exa")
    expect(results.locator(".contact-result")).to_have_count(1)
    # Another tenant's contact is never offered.
    search.fill("otto")
    expect(results).to_contain_text("Aucun contact ne correspond")

    search.fill("Dupont")
    results.get_by_role("button", name="Lier Alice Dupont").click()

    expect(page.locator(".action-notices")).to_contain_text(
        "bob@example.com est désormais mémorisée pour Alice Dupont"
    )
    expect(page.locator("#action-contact-toggle")).to_contain_text("Alice Dupont")
    expect(_events(page).last).to_contain_text("Liée au contact Alice Dupont")
    assert _fresh(ticket).contact == cast.alice
    assert ContactIdentity.objects.get(value="bob@example.com").contact == cast.alice
    assert page_was_not_reloaded(page)


def test_an_address_owned_by_another_contact_is_said_clearly(page, cast, ticket):
    contact_create(tenant=cast.tenant, first_name="Robert", emails=["bob@example.com"])
    _open(page, cast, ticket)
    page.locator("#action-contact-toggle").click()
    page.get_by_label("Chercher un contact par nom, e-mail ou téléphone").fill("Dupont")
    page.locator("#contact-results").get_by_role("button", name="Lier Alice Dupont").click()
    expect(page.locator(".action-notices")).to_contain_text(
        "bob@example.com appartient déjà au contact Robert"
    )
    assert _fresh(ticket).contact == cast.alice


def test_create_the_contact_from_the_sender_then_unlink_it(page, cast, ticket):
    _open(page, cast, ticket)
    page.locator("#action-contact-toggle").click()
    expect(page.locator("#action-contact")).to_contain_text("Bob Leponge")
    page.get_by_role("button", name="Créer le contact depuis l'expéditeur").click()

    expect(page.locator(".action-notices")).to_contain_text("Contact Bob Leponge créé et lié")
    expect(page.locator("dl.facts")).to_contain_text("Bob Leponge")
    expect(_events(page).last).to_contain_text("Contact Bob Leponge créé depuis l'expéditeur")
    contact = Contact.objects.get(first_name="Bob", last_name="Leponge")
    assert _fresh(ticket).contact == contact

    page.locator("#action-contact-toggle").click()
    page.get_by_role("button", name="Délier le contact").click()
    expect(page.locator("#action-contact-toggle")).to_have_text("Lier un contact")
    assert _fresh(ticket).contact is None
    assert page_was_not_reloaded(page)


# Subject ----------------------------------------------------------------------------------


def test_edit_the_subject_in_place_enter_saves_and_escape_cancels(page, cast, ticket):
    _open(page, cast, ticket)
    title = page.locator("#ticket-subject")
    title.click()
    field = page.get_by_label("Objet", exact=True)
    expect(field).to_be_focused()
    field.fill("Rien à voir")
    field.press("Escape")
    expect(field).to_be_hidden()
    expect(title).to_have_text("Colis abîmé")
    expect(page.locator("#action-subject-edit")).to_be_focused()
    assert _fresh(ticket).subject == "Colis abîmé"

    page.get_by_role("link", name="Modifier l'objet").click()
    expect(field).to_have_value("Colis abîmé")
    field.fill("Colis abîmé à la livraison")
    field.press("Enter")
    expect(title).to_have_text("Colis abîmé à la livraison")
    expect(_events(page).last).to_contain_text("Colis abîmé à la livraison")
    assert _fresh(ticket).subject == "Colis abîmé à la livraison"

    # An empty subject is refused next to the field, which stays open.
    title.click()
    field.fill("   ")
    field.press("Enter")
    expect(page.locator("#feedback-subject")).to_contain_text("L'objet ne peut pas être vide")
    expect(field).to_be_visible()
    assert page_was_not_reloaded(page)


# Transfer ---------------------------------------------------------------------------------


def test_transfer_to_an_expert_then_take_it_back(page, cast, ticket):
    _open(page, cast, ticket)
    page.locator("#action-transfer-toggle").click()
    expert_select = page.get_by_label("À un expert")
    expect(expert_select.locator("optgroup").first).to_have_attribute("label", "Experts")
    expert_select.select_option(label="Eve X")
    page.get_by_role("button", name="Transférer à cet expert").click()

    expect(_badge(page)).to_have_text("Attente expert")
    expect(page.locator("#action-assign-toggle .avatar")).to_have_text("EX")
    expect(_events(page).last).to_contain_text("Transférée à l'expert Eve X")
    expect(_events(page).last).to_contain_text("par Bruno Martin")
    fresh = _fresh(ticket)
    assert (fresh.status, fresh.assignee) == (Status.AWAITING_EXPERT, cast.expert)

    page.get_by_role("button", name="Reprendre").click()
    expect(_badge(page)).to_have_text("À traiter")
    expect(page.locator("#action-assign-toggle .avatar")).to_have_text("BM")
    expect(_events(page).last).to_contain_text("Reprise par Bruno Martin à Eve X")
    expect(page.get_by_role("button", name="Reprendre")).to_have_count(0)
    fresh = _fresh(ticket)
    assert (fresh.status, fresh.assignee) == (Status.TO_PROCESS, cast.boutique_agent)
    assert page_was_not_reloaded(page)


def test_transfer_to_an_external_agent(page, cast, ticket, external):
    _open(page, cast, ticket)
    page.locator("#action-transfer-toggle").click()
    page.get_by_label("À un agent externe").select_option(label="Xavier Partner")
    page.get_by_role("button", name="Transférer à cet agent externe").click()

    expect(_badge(page)).to_have_text("À traiter par agent externe")
    expect(page.locator("#action-assign-toggle .avatar")).to_have_text("XP")
    expect(_events(page).last).to_contain_text("Transférée à l'agent externe Xavier Partner")
    fresh = _fresh(ticket)
    assert (fresh.status, fresh.assignee) == (Status.AWAITING_EXTERNAL, external)
    assert page_was_not_reloaded(page)


# Qualify and close ------------------------------------------------------------------------


def test_qualify_reason_and_priority_then_close_and_reopen(page, cast, ticket):
    reason = ContactReason.objects.create(
        tenant=cast.tenant, workspace=cast.boutique, name="Livraison"
    )
    ContactReason.objects.create(
        tenant=cast.tenant, workspace=cast.boutique, name="Retirée", is_active=False
    )
    _open(page, cast, ticket)
    page.locator("#action-qualify-toggle").click()
    reasons = page.get_by_label("Motif de contact")
    expect(reasons.locator("option")).to_have_text(["—", "Livraison"])
    expect(page.get_by_label("Basse")).to_be_checked()
    reasons.select_option(label="Livraison")
    page.get_by_label("Haute").check()
    page.locator("#action-qualify").get_by_role("button", name="Enregistrer", exact=True).click()

    expect(page.locator(".tickethead__badges .prio")).to_have_text("Priorité : Haute")
    expect(page.locator("dl.facts")).to_contain_text("Livraison")
    expect(_events(page).last).to_contain_text("Livraison")
    fresh = _fresh(ticket)
    assert (fresh.contact_reason, fresh.priority) == (reason, "high")

    page.locator("#action-qualify-toggle").click()
    page.get_by_role("button", name="Enregistrer et clôturer la demande").click()
    expect(_badge(page)).to_have_text("Clôturée")
    assert _fresh(ticket).status == Status.CLOSED

    # A closed request stays listed under "all".
    page.goto("/?status=all")
    expect(page.locator("#inbox-results")).to_contain_text("Colis abîmé")
    page.goto(f"/tickets/{ticket.pk}/")
    mark_page(page)
    page.get_by_role("button", name="Rouvrir").click()
    expect(_badge(page)).to_have_text("À traiter")
    assert _fresh(ticket).status == Status.TO_PROCESS
    assert page_was_not_reloaded(page)


# History ----------------------------------------------------------------------------------


def test_the_history_shows_each_action_and_its_filters_keep_them_apart(
    page, cast, ticket, external
):
    ContactReason.objects.create(tenant=cast.tenant, workspace=cast.boutique, name="Livraison")
    _open(page, cast, ticket)

    page.locator("#action-assign-toggle").click()
    page.get_by_role("button", name="M'attribuer").click()
    expect(page.locator("#action-assign-toggle .avatar")).to_have_text("BM")
    page.locator("#action-transfer-toggle").click()
    page.get_by_label("À un agent externe").select_option(label="Xavier Partner")
    page.get_by_role("button", name="Transférer à cet agent externe").click()
    expect(_badge(page)).to_have_text("À traiter par agent externe")
    page.get_by_role("button", name="Reprendre").click()
    expect(_badge(page)).to_have_text("À traiter")
    page.locator("#ticket-subject").click()
    page.get_by_label("Objet", exact=True).fill("Colis perdu")
    page.get_by_label("Objet", exact=True).press("Enter")
    expect(page.locator("#ticket-subject")).to_have_text("Colis perdu")

    # Only events: an action done now lands in the filtered timeline too.
    page.locator("#timeline").get_by_role("link", name="Événements seulement").click()
    expect(page).to_have_url(re.compile(r"\?show=events$"))
    page.locator("#action-qualify-toggle").click()
    page.get_by_label("Motif de contact").select_option(label="Livraison")
    page.locator("#action-qualify").get_by_role("button", name="Enregistrer", exact=True).click()
    expect(_events(page).last).to_contain_text("Livraison")
    expect(page.locator("ol.timeline > li.tl-message")).to_have_count(0)
    expected = [
        "Demande créée",
        "Attribuée à Bruno Martin",
        "Transférée à l'agent externe Xavier Partner",
        "Reprise par Bruno Martin à Xavier Partner",
        "Colis perdu",
        "Livraison",
    ]
    expect(_events(page)).to_have_count(len(expected))
    for index, text in enumerate(expected):
        expect(_events(page).nth(index)).to_contain_text(text)
        expect(_events(page).nth(index)).to_contain_text("par Bruno Martin" if index else "")

    page.locator("#timeline").get_by_role("link", name="Messages seulement").click()
    expect(page.locator("ol.timeline > li")).to_have_count(1)
    expect(page.locator("ol.timeline > li.tl-message")).to_contain_text("Mon colis est arrivé")
    assert page_was_not_reloaded(page)
    assert Event.objects.filter(ticket=ticket, kind=EventKind.TRANSFER).count() == 2


# Without JavaScript -----------------------------------------------------------------------


def test_every_action_form_works_without_javascript(browser, live_server, cast, ticket):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/login/")
        page.locator("#id_username").fill(cast.boutique_agent.email)
        page.locator("#id_password").fill(PASSWORD)
        page.locator("form[action='/login/'] button[type=submit]").click()
        page.goto(f"/tickets/{ticket.pk}/")

        page.locator("#action-assign-toggle").click()
        page.get_by_role("button", name="M'attribuer").click()
        expect(page.locator("#action-assign-toggle .avatar")).to_have_text("BM")

        page.get_by_role("link", name="Modifier l'objet").click()
        page.get_by_label("Objet", exact=True).fill("Colis perdu")
        page.get_by_role("button", name="Enregistrer").click()
        expect(page.locator("#ticket-subject")).to_have_text("Colis perdu")

        page.locator("#action-contact-toggle").click()
        page.get_by_label("Chercher un contact par nom, e-mail ou téléphone").fill("Dupont")
        page.get_by_role("button", name="Rechercher").click()
        page.get_by_role("button", name="Lier Alice Dupont").click()
        expect(page.locator(".flash")).to_contain_text("mémorisée pour Alice Dupont")

        page.locator("#action-transfer-toggle").click()
        page.get_by_label("À un expert").select_option(label="Eve X")
        page.get_by_role("button", name="Transférer à cet expert").click()
        expect(_badge(page)).to_have_text("Attente expert")
        page.get_by_role("button", name="Reprendre").click()
        expect(_badge(page)).to_have_text("À traiter")

        page.locator("#action-qualify-toggle").click()
        page.get_by_role("button", name="Enregistrer et clôturer la demande").click()
        expect(_badge(page)).to_have_text("Clôturée")
    finally:
        context.close()
    fresh = _fresh(ticket)
    assert (fresh.subject, fresh.contact, fresh.status) == (
        "Colis perdu",
        cast.alice,
        Status.CLOSED,
    )


# In English -------------------------------------------------------------------------------


def test_an_english_speaking_agent_gets_the_actions_in_english(new_page, cast, ticket):
    cast.boutique_agent.language = "en"
    cast.boutique_agent.save(update_fields=["language"])
    page = new_page(locale="en-GB")
    _open(page, cast, ticket)
    page.locator("#action-assign-toggle").click()
    page.get_by_role("button", name="Assign to me").click()
    expect(page.locator("#action-assign-toggle")).to_have_accessible_name(
        re.compile("Assigned to Bruno Martin")
    )
    page.locator("#action-transfer-toggle").click()
    page.get_by_label("To an expert").select_option(label="Eve X")
    page.get_by_role("button", name="Transfer to this expert").click()
    expect(_badge(page)).to_have_text("Awaiting expert")
    expect(_events(page).last).to_contain_text("Transferred to the expert Eve X")
    page.get_by_role("button", name="Take back").click()
    expect(_events(page).last).to_contain_text("Taken back by Bruno Martin from Eve X")
    assert page_was_not_reloaded(page)

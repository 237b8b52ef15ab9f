"""The ticket page's action views, with htmx (204 + HX-Trigger) and without JS (redirects)."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from comptoir.accounts.models import Role
from comptoir.accounts.rights import Right, RoleCode
from comptoir.contacts.models import ContactIdentity
from comptoir.contacts.services import contact_create
from comptoir.tickets.models import ContactReason, Event, EventKind, Status
from comptoir.tickets.services import ticket_close, ticket_create, ticket_transfer

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


@pytest.fixture
def boutique(client, cast):
    client.force_login(cast.boutique_agent)
    # Messages are checked in English (the language switch's cookie).
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def ticket(cast):
    return ticket_create(
        queue=cast.boutique_queue,
        channel="email",
        subject="Colis abîmé",
        requester_email="bob@example.com",
        requester_name="Bob Leponge",
    )


def _url(name, ticket):
    return reverse(name, args=[ticket.pk])


def _post(client, name, ticket, data=None, htmx=False):
    return client.post(_url(name, ticket), data or {}, headers=HTMX if htmx else {})


def _assert_refreshes(response):
    assert response.status_code == 204, response.content
    assert response["HX-Trigger"] == "ticket-changed"


def _assert_redirects_to_ticket(response, ticket):
    assert response.status_code == 302
    assert response.url == reverse("ticket_detail", args=[ticket.pk])


# The page ---------------------------------------------------------------------------------


def test_the_ticket_page_shows_every_action_to_an_agent_who_may_handle_it(boutique, ticket):
    body = boutique.get(_url("ticket_detail", ticket)).content.decode()
    for name in (
        "ticket_assign",
        "ticket_contact_search",
        "ticket_contact_create",
        "ticket_subject",
        "ticket_transfer",
        "ticket_qualify",
    ):
        assert _url(name, ticket) in body, name
    assert 'id="action-assign-toggle"' in body
    assert "Eve X" in body  # the expert, offered for a transfer


def test_the_action_lists_mark_the_current_choices_and_escape_names(
    boutique, cast, ticket, external
):
    external.first_name = "Xavier <b>\"&'"
    external.save()
    reason = ContactReason.objects.create(
        tenant=cast.tenant, workspace=cast.boutique, name="Livraison & retours"
    )
    ticket.assignee, ticket.contact_reason = cast.expert, reason
    ticket.save()
    body = boutique.get(_url("ticket_detail", ticket)).content.decode()

    name = "Xavier &lt;b&gt;&quot;&amp;&#x27; Partner"
    assert f'value="{cast.expert.pk}" class="pick" aria-pressed="true"' in body
    assert f'value="{external.pk}" class="pick" aria-pressed="false"' in body
    assert f"<span>{name}</span>" in body and "<b>" not in body
    assert re.search(f'<optgroup label="Experts">\\s*<option value="{cast.expert.pk}">', body)
    assert f'<option value="{external.pk}">{name}</option>' in body
    assert f'<option value="{reason.pk}" selected>Livraison &amp; retours</option>' in body
    # The agent is not offered to themselves, except as "Assign to me".
    assert f'value="{cast.boutique_agent.pk}" class="pick"' not in body


def test_an_agent_without_the_right_sees_no_action_and_gets_a_clear_403(cast, client, ticket):
    role = Role.objects.get(tenant=cast.tenant, code=RoleCode.AGENT)
    role.rights = [Right.USE_REQUEST_MESSAGES]
    role.save()
    client.force_login(cast.boutique_agent)
    client.cookies["django_language"] = "en"
    body = client.get(_url("ticket_detail", ticket)).content.decode()
    assert _url("ticket_assign", ticket) not in body
    assert "ticket-actions--readonly" in body

    response = _post(client, "ticket_assign", ticket, {"assignee": "me"})
    assert response.status_code == 403
    assert "may not handle requests in this workspace" in response.content.decode()
    # htmx gets the refusal next to the action (the glue would turn a 403 into a navigation).
    response = _post(client, "ticket_assign", ticket, {"assignee": "me"}, htmx=True)
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#feedback-assign"
    assert "may not handle requests" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.assignee is None


def test_actions_on_a_ticket_of_another_workspace_are_404(boutique, cast):
    other = ticket_create(queue=cast.assurance_queue, channel="email", subject="secret")
    for name in ("ticket_assign", "ticket_transfer", "ticket_qualify", "ticket_close"):
        assert _post(boutique, name, other, {"assignee": "me"}).status_code == 404
    assert boutique.get(_url("ticket_contact_search", other), {"q": "a"}).status_code == 404
    assert boutique.get(_url("ticket_subject", other)).status_code == 404


def test_a_get_on_an_action_is_refused(boutique, ticket):
    assert boutique.get(_url("ticket_assign", ticket)).status_code == 405


# Assign -----------------------------------------------------------------------------------


def test_assign_to_me_with_htmx_refreshes_the_page_and_shows_my_initials(boutique, cast, ticket):
    _assert_refreshes(_post(boutique, "ticket_assign", ticket, {"assignee": "me"}, htmx=True))
    ticket.refresh_from_db()
    assert ticket.assignee == cast.boutique_agent
    page = boutique.get(_url("ticket_detail", ticket), headers=HTMX).content.decode()
    assert '<span class="avatar avatar--sm" aria-hidden="true">BM</span>' in page
    assert "Assigned to Bruno Martin" in page


def test_assign_to_another_agent_and_unassign_without_js(boutique, cast, ticket):
    response = _post(boutique, "ticket_assign", ticket, {"assignee": cast.expert.pk})
    _assert_redirects_to_ticket(response, ticket)
    ticket.refresh_from_db()
    assert ticket.assignee == cast.expert
    _post(boutique, "ticket_assign", ticket, {"assignee": ""})
    ticket.refresh_from_db()
    assert ticket.assignee is None
    sentences = [e.data.get("new") or "-" for e in Event.objects.filter(kind=EventKind.ASSIGNMENT)]
    assert sentences == ["Eve X", "-"]


def test_assigning_someone_outside_the_workspace_is_refused_next_to_the_button(
    boutique, cast, ticket
):
    response = _post(
        boutique, "ticket_assign", ticket, {"assignee": cast.assurance_agent.pk}, htmx=True
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#feedback-assign"
    assert 'role="alert"' in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.assignee is None


# Contact ----------------------------------------------------------------------------------


def test_contact_search_finds_by_name_email_or_phone_in_the_tenant_only(boutique, cast, ticket):
    contact_create(tenant=cast.tenant, first_name="Paul", phones=["+33 6 12 34 56 78"])
    url = _url("ticket_contact_search", ticket)
    assert "Alice Dupont" in boutique.get(url, {"q": "dupo"}, headers=HTMX).content.decode()
    assert "Alice Dupont" in boutique.get(url, {"q": "alice@exa"}, headers=HTMX).content.decode()
    assert "Paul" in boutique.get(url, {"q": "+33612345678"}, headers=HTMX).content.decode()
    assert "Otto" not in boutique.get(url, {"q": "otto"}, headers=HTMX).content.decode()
    # Without JS the search is a page of its own, with the same link buttons.
    page = boutique.get(url, {"q": "dupo"}).content.decode()
    assert "<html" in page and _url("ticket_contact_link", ticket) in page


def test_linking_a_contact_tells_the_agent_the_address_is_remembered(boutique, cast, ticket):
    _assert_refreshes(
        _post(boutique, "ticket_contact_link", ticket, {"contact": cast.alice.pk}, htmx=True)
    )
    ticket.refresh_from_db()
    assert ticket.contact == cast.alice
    assert ContactIdentity.objects.get(value="bob@example.com").contact == cast.alice
    # The refreshed header carries the notice once.
    page = boutique.get(_url("ticket_detail", ticket), headers=HTMX).content.decode()
    assert "bob@example.com is now remembered for Alice Dupont" in page
    again = boutique.get(_url("ticket_detail", ticket), headers=HTMX).content.decode()
    assert "is now remembered" not in again


def test_linking_when_another_contact_owns_the_address_says_so(boutique, cast, ticket):
    contact_create(tenant=cast.tenant, first_name="Bob", emails=["bob@example.com"])
    response = _post(boutique, "ticket_contact_link", ticket, {"contact": cast.alice.pk})
    _assert_redirects_to_ticket(response, ticket)
    page = boutique.get(response.url).content.decode()
    assert "already belongs to the contact Bob" in page


def test_linking_a_foreign_contact_is_refused(boutique, cast, ticket):
    response = _post(
        boutique, "ticket_contact_link", ticket, {"contact": cast.other_contact.pk}, htmx=True
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#feedback-contact"
    ticket.refresh_from_db()
    assert ticket.contact is None


def test_create_from_sender_then_unlink(boutique, ticket):
    _assert_refreshes(_post(boutique, "ticket_contact_create", ticket, htmx=True))
    ticket.refresh_from_db()
    assert ticket.contact is not None and ticket.contact.full_name == "Bob Leponge"
    _assert_redirects_to_ticket(_post(boutique, "ticket_contact_unlink", ticket), ticket)
    ticket.refresh_from_db()
    assert ticket.contact is None


def test_create_from_sender_whose_address_is_taken_shows_the_conflict(boutique, cast, ticket):
    contact_create(tenant=cast.tenant, first_name="Bob", emails=["bob@example.com"])
    response = _post(boutique, "ticket_contact_create", ticket, htmx=True)
    assert response["HX-Retarget"] == "#feedback-contact"
    assert "link that contact instead" in response.content.decode()


# Subject ----------------------------------------------------------------------------------


def test_edit_the_subject_with_htmx_and_without_js(boutique, ticket):
    _assert_refreshes(
        _post(boutique, "ticket_subject", ticket, {"subject": "  Colis   perdu "}, htmx=True)
    )
    ticket.refresh_from_db()
    assert ticket.subject == "Colis perdu"
    assert boutique.get(_url("ticket_subject", ticket)).status_code == 200
    _assert_redirects_to_ticket(
        _post(boutique, "ticket_subject", ticket, {"subject": "Colis retrouvé"}), ticket
    )
    ticket.refresh_from_db()
    assert ticket.subject == "Colis retrouvé"
    event = Event.objects.filter(kind=EventKind.SUBJECT).latest("id")
    assert (event.data["old"], event.data["new"]) == ("Colis perdu", "Colis retrouvé")


def test_an_empty_subject_is_refused_where_it_was_typed(boutique, ticket):
    response = _post(boutique, "ticket_subject", ticket, {"subject": "   "}, htmx=True)
    assert response["HX-Retarget"] == "#feedback-subject"
    assert "cannot be empty" in response.content.decode()
    response = _post(boutique, "ticket_subject", ticket, {"subject": ""})
    assert response.status_code == 400
    assert "cannot be empty" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.subject == "Colis abîmé"


# Transfer ---------------------------------------------------------------------------------


def test_transfer_to_the_expert_then_take_back(boutique, cast, ticket):
    _assert_refreshes(
        _post(
            boutique,
            "ticket_transfer",
            ticket,
            {"target": "expert", "to": cast.expert.pk},
            htmx=True,
        )
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee) == (Status.AWAITING_EXPERT, cast.expert)
    page = boutique.get(_url("ticket_detail", ticket)).content.decode()
    assert "Transferred to the expert Eve X" in page
    assert _url("ticket_take_back", ticket) in page

    _assert_redirects_to_ticket(_post(boutique, "ticket_take_back", ticket), ticket)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee) == (Status.TO_PROCESS, cast.boutique_agent)


def test_transfer_to_an_external_agent_lists_only_external_agents(boutique, cast, ticket, external):
    response = _post(
        boutique, "ticket_transfer", ticket, {"target": "external", "to": cast.expert.pk}, True
    )
    assert response["HX-Retarget"] == "#feedback-transfer"
    _assert_redirects_to_ticket(
        _post(boutique, "ticket_transfer", ticket, {"target": "external", "to": external.pk}),
        ticket,
    )
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee) == (Status.AWAITING_EXTERNAL, external)


def test_take_back_of_a_ticket_not_transferred_is_refused_in_the_bar(boutique, ticket):
    response = _post(boutique, "ticket_take_back", ticket, htmx=True)
    assert response["HX-Retarget"] == "#feedback-bar"
    assert "nothing to take back" in response.content.decode()


# Qualify, close, reopen -------------------------------------------------------------------


def test_qualify_reason_and_priority_then_close_and_reopen(boutique, cast, ticket):
    reason = ContactReason.objects.create(
        tenant=cast.tenant, workspace=cast.boutique, name="Livraison"
    )
    _assert_refreshes(
        _post(
            boutique,
            "ticket_qualify",
            ticket,
            {"contact_reason": reason.pk, "priority": "high"},
            htmx=True,
        )
    )
    ticket.refresh_from_db()
    assert (ticket.contact_reason, ticket.priority, ticket.status) == (reason, "high", "new")

    _post(
        boutique,
        "ticket_qualify",
        ticket,
        {"contact_reason": reason.pk, "priority": "high", "close": "1"},
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    page = boutique.get(_url("ticket_detail", ticket)).content.decode()
    assert _url("ticket_reopen", ticket) in page

    _assert_refreshes(_post(boutique, "ticket_reopen", ticket, htmx=True))
    ticket.refresh_from_db()
    assert ticket.status == Status.TO_PROCESS


def test_qualify_refuses_a_retired_reason_and_an_unknown_priority(boutique, cast, ticket):
    retired = ContactReason.objects.create(
        tenant=cast.tenant, workspace=cast.boutique, name="Ancien", is_active=False
    )
    response = _post(boutique, "ticket_qualify", ticket, {"contact_reason": retired.pk}, True)
    assert response["HX-Retarget"] == "#feedback-qualify"
    response = _post(boutique, "ticket_qualify", ticket, {"priority": "urgent"}, True)
    assert response["HX-Retarget"] == "#feedback-qualify"
    ticket.refresh_from_db()
    assert (ticket.contact_reason, ticket.priority) == (None, "low")


def test_close_alone_and_the_closed_ticket_stays_in_all(boutique, cast, ticket):
    _assert_redirects_to_ticket(_post(boutique, "ticket_close", ticket), ticket)
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    inbox = boutique.get(reverse("inbox"), {"status": "all"})
    assert ticket in inbox.context["page"].tickets


def test_a_closed_ticket_cannot_be_transferred(boutique, cast, ticket):
    ticket_close(ticket=ticket, author=cast.admin)
    response = _post(
        boutique, "ticket_transfer", ticket, {"target": "expert", "to": cast.expert.pk}, True
    )
    assert "reopen it" in response.content.decode()


# History ----------------------------------------------------------------------------------


def test_every_action_event_reads_as_a_sentence_with_its_author(boutique, cast, ticket, external):
    reason = ContactReason.objects.create(tenant=cast.tenant, workspace=cast.boutique, name="Colis")
    _post(boutique, "ticket_assign", ticket, {"assignee": "me"})
    _post(boutique, "ticket_contact_link", ticket, {"contact": cast.alice.pk})
    _post(boutique, "ticket_subject", ticket, {"subject": "Colis perdu"})
    _post(boutique, "ticket_qualify", ticket, {"contact_reason": reason.pk, "priority": "medium"})
    ticket_transfer(ticket=ticket, to=external, target="external", author=cast.boutique_agent)
    _post(boutique, "ticket_take_back", ticket)
    _post(boutique, "ticket_close", ticket)

    events = boutique.get(_url("ticket_detail", ticket), {"show": "events"}).content.decode()
    for sentence in (
        "Assigned to Bruno Martin",
        "Linked to contact Alice Dupont · address bob@example.com remembered",
        "Subject changed from “Colis abîmé” to “Colis perdu”",
        "Qualified: priority Low → Medium, contact reason — → Colis",
        "Transferred to the external agent Xavier Partner",
        "Taken back by Bruno Martin from Xavier Partner",
        "Status changed from To process to Closed",
    ):
        assert sentence in events, sentence
    assert "by Bruno Martin" in events
    messages_only = boutique.get(_url("ticket_detail", ticket), {"show": "messages"})
    assert "Transferred to" not in messages_only.content.decode()


def test_without_js_a_refusal_comes_back_as_a_message_on_the_ticket_page(boutique, ticket):
    response = _post(boutique, "ticket_take_back", ticket)
    _assert_redirects_to_ticket(response, ticket)
    page = boutique.get(response.url).content.decode()
    assert "flash__item--error" in page
    assert "nothing to take back" in page

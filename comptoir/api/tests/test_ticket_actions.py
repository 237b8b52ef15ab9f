"""POST /tickets/{id}/assign, /contact, /subject, /transfer, /take-back, /qualify, /close,
/reopen and GET /tickets/{id}/assignees: what they change and how they refuse."""

from __future__ import annotations

import pytest

from comptoir.accounts.models import Role
from comptoir.accounts.rights import Right, RoleCode
from comptoir.contacts.models import ContactIdentity
from comptoir.contacts.services import contact_create
from comptoir.tickets.models import ContactReason, Event, EventKind, Status
from comptoir.tickets.services import ticket_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(cast):
    return ticket_create(
        queue=cast.boutique_queue,
        channel="email",
        subject="Colis abîmé",
        requester_email="bob@example.com",
        requester_name="Bob Leponge",
    )


def _english(client):
    # Error details are checked in English (the language switch's cookie).
    client.client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def api(api_as, cast):
    return _english(api_as(cast.boutique_agent))


def _ok(response):
    assert response.status_code == 200, response.content
    return response.json()


def test_assignees_lists_the_workspace_members_with_their_roles(api, ticket, external):
    body = _ok(api.get(f"/tickets/{ticket.pk}/assignees"))
    assert {(a["name"], a["role"]) for a in body} == {
        ("Ada Min", "administrator"),
        ("Bruno Martin", "agent"),
        ("Eve X", "expert"),
        ("Xavier Partner", "external_agent"),
    }
    assert {a["initials"] for a in body} >= {"BM", "EX"}


def test_assign_to_me_to_another_and_unassign(api, cast, ticket):
    body = _ok(api.post(f"/tickets/{ticket.pk}/assign", {"assignee_id": "me"}))
    assert body["assignee"] == {
        "id": cast.boutique_agent.pk,
        "name": "Bruno Martin",
        "initials": "BM",
    }
    body = _ok(api.post(f"/tickets/{ticket.pk}/assign", {"assignee_id": cast.expert.pk}))
    assert body["assignee"]["id"] == cast.expert.pk
    body = _ok(api.post(f"/tickets/{ticket.pk}/assign", {"assignee_id": None}))
    assert body["assignee"] is None
    assert Event.objects.filter(ticket=ticket, kind=EventKind.ASSIGNMENT).count() == 3


def test_assign_to_someone_outside_the_workspace_is_422(api, cast, ticket):
    response = api.post(f"/tickets/{ticket.pk}/assign", {"assignee_id": cast.assurance_agent.pk})
    assert response.status_code == 422
    response = api.post(f"/tickets/{ticket.pk}/assign", {"assignee_id": cast.other_agent.pk})
    assert response.status_code == 422


def test_link_a_contact_remembers_the_address(api, cast, ticket):
    body = _ok(api.post(f"/tickets/{ticket.pk}/contact", {"contact_id": cast.alice.pk}))
    assert body["contact"] == {"id": cast.alice.pk, "name": "Alice Dupont"}
    assert body["remembered"] == "bob@example.com"
    assert body["address_owner"] is None
    assert body["ticket"]["contact"]["id"] == cast.alice.pk
    assert "remembered" in body["notice"]
    assert ContactIdentity.objects.get(value="bob@example.com").contact == cast.alice


def test_link_when_the_address_belongs_to_another_contact_names_the_owner(api, cast, ticket):
    bob = contact_create(tenant=cast.tenant, first_name="Bob", emails=["bob@example.com"])
    body = _ok(api.post(f"/tickets/{ticket.pk}/contact", {"contact_id": cast.alice.pk}))
    assert body["address_owner"] == {"id": bob.pk, "name": "Bob"}
    assert body["remembered"] == ""
    assert "already belongs" in body["notice"]


def test_create_from_sender_unlink_and_the_conflict(api, cast, ticket):
    body = _ok(api.post(f"/tickets/{ticket.pk}/contact", {"create_from_sender": True}))
    assert body["created"] is True
    assert body["contact"]["name"] == "Bob Leponge"
    body = _ok(api.post(f"/tickets/{ticket.pk}/contact", {}))
    assert body["contact"] is None and body["ticket"]["contact"] is None
    # The address now belongs to the created contact: creating again conflicts.
    response = api.post(f"/tickets/{ticket.pk}/contact", {"create_from_sender": True})
    assert response.status_code == 409
    assert "link that contact instead" in response.json()["detail"]


def test_contact_of_another_tenant_is_404_and_both_choices_are_422(api, cast, ticket):
    response = api.post(f"/tickets/{ticket.pk}/contact", {"contact_id": cast.other_contact.pk})
    assert response.status_code == 404
    response = api.post(
        f"/tickets/{ticket.pk}/contact", {"contact_id": cast.alice.pk, "create_from_sender": True}
    )
    assert response.status_code == 422


def test_subject(api, ticket):
    body = _ok(api.post(f"/tickets/{ticket.pk}/subject", {"subject": "Colis perdu"}))
    assert body["subject"] == "Colis perdu"
    assert api.post(f"/tickets/{ticket.pk}/subject", {"subject": "  "}).status_code == 422
    assert api.post(f"/tickets/{ticket.pk}/subject", {"subject": "x" * 999}).status_code == 422


def test_transfer_to_expert_take_back_and_transfer_to_external(api, cast, ticket, external):
    body = _ok(
        api.post(f"/tickets/{ticket.pk}/transfer", {"target": "expert", "to_id": cast.expert.pk})
    )
    assert body["status"] == Status.AWAITING_EXPERT
    assert body["assignee"]["id"] == cast.expert.pk
    body = _ok(api.post(f"/tickets/{ticket.pk}/take-back", {}))
    assert body["status"] == Status.TO_PROCESS
    assert body["assignee"]["id"] == cast.boutique_agent.pk
    response = api.post(
        f"/tickets/{ticket.pk}/transfer", {"target": "external", "to_id": cast.expert.pk}
    )
    assert response.status_code == 422
    body = _ok(
        api.post(f"/tickets/{ticket.pk}/transfer", {"target": "external", "to_id": external.pk})
    )
    assert body["status"] == Status.AWAITING_EXTERNAL
    events = Event.objects.filter(ticket=ticket, kind=EventKind.TRANSFER).order_by("id")
    assert [e.data.get("action") for e in events] == ["transfer", "take_back", "transfer"]


def test_transfer_needs_a_target_and_a_person(api, ticket):
    assert api.post(f"/tickets/{ticket.pk}/transfer", {}).status_code == 422
    response = api.post(f"/tickets/{ticket.pk}/transfer", {"target": "expert"})
    assert response.status_code == 422
    response = api.post(f"/tickets/{ticket.pk}/transfer", {"target": "boss", "to_id": 1})
    assert response.status_code == 422
    assert api.post(f"/tickets/{ticket.pk}/take-back", {}).status_code == 422


def test_qualify_leaves_out_fields_unchanged_and_null_clears_the_reason(api, cast, ticket):
    reason = ContactReason.objects.create(tenant=cast.tenant, workspace=cast.boutique, name="Colis")
    body = _ok(
        api.post(
            f"/tickets/{ticket.pk}/qualify", {"contact_reason_id": reason.pk, "priority": "high"}
        )
    )
    assert body["contact_reason"] == {"id": reason.pk, "name": "Colis"}
    assert body["priority"] == "high"
    body = _ok(api.post(f"/tickets/{ticket.pk}/qualify", {"priority": "medium"}))
    assert body["contact_reason"]["id"] == reason.pk and body["priority"] == "medium"
    body = _ok(api.post(f"/tickets/{ticket.pk}/qualify", {"contact_reason_id": None}))
    assert body["contact_reason"] is None and body["priority"] == "medium"
    assert api.post(f"/tickets/{ticket.pk}/qualify", {"priority": "urgent"}).status_code == 422
    foreign = ContactReason.objects.create(
        tenant=cast.tenant, workspace=cast.assurance, name="Sinistre"
    )
    response = api.post(f"/tickets/{ticket.pk}/qualify", {"contact_reason_id": foreign.pk})
    assert response.status_code == 422


def test_close_and_reopen(api, ticket):
    assert _ok(api.post(f"/tickets/{ticket.pk}/close", {}))["status"] == Status.CLOSED
    assert _ok(api.post(f"/tickets/{ticket.pk}/reopen", {}))["status"] == Status.TO_PROCESS
    response = api.post(f"/tickets/{ticket.pk}/reopen", {})
    assert response.status_code == 422
    assert "not closed" in response.json()["detail"]


def test_without_the_right_every_action_is_403_and_foreign_tickets_404(api_as, cast, ticket):
    role = Role.objects.get(tenant=cast.tenant, code=RoleCode.AGENT)
    role.rights = [Right.USE_REQUEST_MESSAGES]
    role.save()
    api = _english(api_as(cast.boutique_agent))
    for path, payload in [
        ("assign", {"assignee_id": "me"}),
        ("contact", {"contact_id": cast.alice.pk}),
        ("subject", {"subject": "x"}),
        ("transfer", {"target": "expert", "to_id": cast.expert.pk}),
        ("take-back", {}),
        ("qualify", {"priority": "high"}),
        ("close", {}),
        ("reopen", {}),
    ]:
        response = api.post(f"/tickets/{ticket.pk}/{path}", payload)
        assert response.status_code == 403, path
        assert "may not handle requests" in response.json()["detail"]
    assert api.get(f"/tickets/{ticket.pk}/assignees").status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW and ticket.assignee is None

    other = api_as(cast.other_agent)
    assert other.post(f"/tickets/{ticket.pk}/close", {}).status_code == 404
    assert other.get(f"/tickets/{ticket.pk}/assignees").status_code == 404

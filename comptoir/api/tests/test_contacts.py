"""GET /contacts, GET /contacts/{id}, POST /contacts."""

from __future__ import annotations

import pytest

from comptoir.contacts.models import Contact, CustomField, CustomFieldValue
from comptoir.contacts.services import contact_create
from comptoir.tickets.services import ticket_create

pytestmark = pytest.mark.django_db


def test_the_list_shows_the_tenants_contacts_only(cast, api_as):
    body = api_as(cast.boutique_agent).get("/contacts").json()
    assert [c["name"] for c in body["items"]] == ["Alice Dupont"]
    assert body["items"][0]["emails"] == ["alice@example.com"]
    assert body["total"] == 1
    assert body["num_pages"] == 1


def test_search_matches_names_companies_and_emails(cast, api_as):
    contact_create(tenant=cast.tenant, first_name="Bernard", company="Transports Lenoir")
    contact_create(tenant=cast.tenant, last_name="Petit", emails=["b.petit@example.org"])
    api = api_as(cast.boutique_agent)

    def names(search: str) -> list[str]:
        return [c["name"] for c in api.get("/contacts", {"search": search}).json()["items"]]

    assert names("alice") == ["Alice Dupont"]
    assert names("lenoir") == ["Bernard"]
    assert names("b.petit@example.org") == ["Petit"]
    assert names("otto") == []


def test_pages_split_the_list_without_overlap(cast, api_as):
    for i in range(6):
        contact_create(tenant=cast.tenant, first_name=f"Client {i}")
    api = api_as(cast.boutique_agent)
    pages = [api.get("/contacts", {"page_size": 3, "page": p}).json() for p in (1, 2, 3, 4)]
    ids = [c["id"] for page in pages for c in page["items"]]
    assert len(ids) == len(set(ids)) == 7
    assert pages[0]["num_pages"] == 3
    assert pages[3]["items"] == []
    assert api.get("/contacts", {"page_size": 101}).status_code == 422


def test_the_detail_has_identities_custom_fields_and_visible_tickets(cast, api_as):
    field = CustomField.objects.create(
        tenant=cast.tenant,
        workspace=cast.boutique,
        key="loyalty",
        label="Fidélité",
        field_type="text",
    )
    CustomFieldValue.objects.create(contact=cast.alice, field=field, value="gold")
    seen = ticket_create(
        queue=cast.boutique_queue, channel="email", subject="Commande", contact=cast.alice
    )
    ticket_create(
        queue=cast.assurance_queue, channel="phone", subject="Sinistre", contact=cast.alice
    )

    response = api_as(cast.boutique_agent).get(f"/contacts/{cast.alice.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Alice Dupont"
    assert body["identities"] == [
        {"kind": "email", "value": "alice@example.com", "is_primary": True}
    ]
    assert body["custom_fields"] == [
        {
            "key": "loyalty",
            "label": "Fidélité",
            "field_type": "text",
            "workspace_id": cast.boutique.pk,
            "value": "gold",
        }
    ]
    # The Assurance ticket stays hidden from an agent of Boutique only.
    assert [t["id"] for t in body["tickets"]] == [seen.pk]
    assert body["tickets"][0]["workspace"] == {"id": cast.boutique.pk, "name": "Boutique"}
    assert body["tickets_total"] == 1


def test_a_contact_of_another_tenant_answers_404(cast, api_as):
    assert api_as(cast.admin).get(f"/contacts/{cast.other_contact.pk}").status_code == 404
    assert api_as(cast.other_agent).get(f"/contacts/{cast.alice.pk}").status_code == 404


def test_creating_a_contact_puts_it_in_the_agents_tenant(cast, api_as):
    response = api_as(cast.boutique_agent).post(
        "/contacts",
        {
            "first_name": "Jeanne",
            "last_name": "Moreau",
            "company": "Cinéma SA",
            "language": "en",
            "emails": ["Jeanne@Example.com", "jm@cinema.example"],
            "phones": ["+33 6 12 34 56 78"],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    contact = Contact.objects.get(pk=body["id"])
    assert contact.tenant_id == cast.tenant.pk
    assert body["name"] == "Jeanne Moreau"
    assert body["language"] == "en"
    emails = [i["value"] for i in body["identities"] if i["kind"] == "email"]
    assert sorted(emails) == ["jeanne@example.com", "jm@cinema.example"]
    assert [i["kind"] for i in body["identities"]].count("phone") == 1
    assert body["tickets"] == []


def test_an_email_another_contact_has_answers_409(cast, api_as):
    response = api_as(cast.boutique_agent).post(
        "/contacts", {"first_name": "Fake", "emails": ["ALICE@example.com"]}
    )
    assert response.status_code == 409
    assert "alice@example.com" in response.json()["detail"]
    assert not Contact.objects.filter(first_name="Fake").exists()


def test_the_same_email_in_another_tenant_is_no_conflict(cast, api_as):
    response = api_as(cast.other_agent).post("/contacts", {"emails": ["alice@example.com"]})
    assert response.status_code == 201
    # A contact known only by an address has an empty name, not a translated placeholder.
    assert response.json()["name"] == ""


@pytest.mark.parametrize(
    "payload",
    [
        {"emails": ["not-an-email"]},
        {"emails": ["a@b@c"]},
        {"language": "de"},
        {"first_name": "x" * 151},
        {"emails": "alice@example.com"},
        # Refused by the service (DomainError), after the contact row was written: rolled back.
        {"first_name": "Nobody", "phones": ["no digits here"]},
    ],
)
def test_invalid_contact_data_answers_422(cast, api_as, payload):
    response = api_as(cast.boutique_agent).post("/contacts", payload)
    assert response.status_code == 422
    assert Contact.objects.filter(tenant=cast.tenant).count() == 1

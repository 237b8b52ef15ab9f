"""The contact list (search, pagination) and the contact page with all its tickets."""

from __future__ import annotations

import pytest
from django.urls import reverse

from comptoir.contacts.models import CustomField, CustomFieldValue
from comptoir.contacts.services import contact_create
from comptoir.tickets.services import ticket_create


@pytest.fixture
def boutique(client, cast):
    client.force_login(cast.boutique_agent)
    return client


def test_contact_list_shows_the_tenants_contacts_only(boutique, cast):
    response = boutique.get(reverse("contact_list"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Alice Dupont" in body
    assert "alice@example.com" in body
    assert "Otto" not in body


@pytest.mark.parametrize("query", ["dupont", "ACME Corp", "alice@example.com", "+33 6 12 34 56 78"])
def test_contact_search_by_name_company_email_or_phone(boutique, cast, query):
    contact_create(
        tenant=cast.tenant,
        first_name="Zoé",
        last_name="Dupont",
        company="Acme Corp",
        emails=["zoe@acme.example"],
        phones=["+33612345678"],
    )
    contact_create(tenant=cast.tenant, first_name="Marc", last_name="Other", company="Initech")
    response = boutique.get(reverse("contact_list"), {"q": query})
    names = [str(c) for c in response.context["page"].object_list]
    assert names
    assert "Marc Other" not in names


def test_contact_search_without_match_says_so(boutique, cast):
    response = boutique.get(reverse("contact_list"), {"q": "nobody-here"})
    assert list(response.context["page"].object_list) == []
    assert "nobody-here" in response.content.decode()


def test_contact_list_paginates_and_answers_htmx_with_the_partial(boutique, cast):
    for i in range(30):
        contact_create(tenant=cast.tenant, first_name=f"Client{i:02d}")
    first = boutique.get(reverse("contact_list"))
    assert first.context["page"].paginator.num_pages == 2
    second = boutique.get(reverse("contact_list"), {"page": 2}, HTTP_HX_REQUEST="true")
    body = second.content.decode()
    assert body.lstrip().startswith('<div id="contact-results"')
    assert "<html" not in body
    assert body.count('<a href="/contacts/') == 6


def test_contact_page_shows_identities_fields_and_tickets_across_channels(boutique, cast):
    field = CustomField.objects.create(
        tenant=cast.tenant,
        workspace=cast.boutique,
        key="loyalty",
        label="Fidélité",
        field_type="text",
    )
    CustomFieldValue.objects.create(contact=cast.alice, field=field, value="Gold")
    by_mail = ticket_create(
        queue=cast.boutique_queue, channel="email", subject="mail one", contact=cast.alice
    )
    by_phone = ticket_create(
        queue=cast.boutique_queue_2, channel="phone", subject="phone one", contact=cast.alice
    )
    hidden = ticket_create(
        queue=cast.assurance_queue, channel="chat", subject="secret claim", contact=cast.alice
    )
    response = boutique.get(reverse("contact_detail", args=[cast.alice.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Alice Dupont" in body
    assert "alice@example.com" in body
    assert "Fidélité" in body and "Gold" in body
    assert reverse("ticket_detail", args=[by_mail.pk]) in body
    assert reverse("ticket_detail", args=[by_phone.pk]) in body
    # Tickets of a workspace the agent does not work in stay hidden.
    assert reverse("ticket_detail", args=[hidden.pk]) not in body
    assert "secret claim" not in body


def test_contact_page_of_another_tenant_is_404(boutique, cast):
    response = boutique.get(reverse("contact_detail", args=[cast.other_contact.pk]))
    assert response.status_code == 404
    assert boutique.get(reverse("contact_detail", args=[999999])).status_code == 404


def test_contact_pages_require_login(client, cast):
    assert client.get(reverse("contact_list")).status_code == 302
    assert client.get(reverse("contact_detail", args=[cast.alice.pk])).status_code == 302

from __future__ import annotations

import pytest

from comptoir.contacts.models import ContactIdentity
from comptoir.contacts.selectors import contact_get, contact_list
from comptoir.contacts.services import contact_add_identity, contact_create
from comptoir.core.errors import DomainError, NotFound


def test_identities_are_normalised_and_unique_per_tenant(cast):
    c = contact_create(
        tenant=cast.tenant,
        first_name="Jean",
        emails=["Jean.Dupont@Example.COM"],
        phones=["+33 6 12 34 56 78"],
    )
    values = set(ContactIdentity.objects.filter(contact=c).values_list("value", flat=True))
    assert values == {"jean.dupont@example.com", "+33612345678"}
    with pytest.raises(DomainError):
        contact_create(tenant=cast.tenant, first_name="Other", emails=["JEAN.dupont@example.com"])
    # The same address may belong to a contact of another tenant.
    contact_create(tenant=cast.other_tenant, emails=["jean.dupont@example.com"])


def test_invalid_email_is_refused_with_a_clear_error(cast):
    with pytest.raises(DomainError, match="invalid email"):
        contact_create(tenant=cast.tenant, emails=["not an address"])


def test_adding_an_identity_the_contact_already_has_is_harmless(cast):
    again = contact_add_identity(contact=cast.alice, kind="email", value="ALICE@example.com")
    assert again.contact == cast.alice
    assert cast.alice.identities.count() == 1


def test_contacts_are_scoped_to_the_agents_tenant(cast):
    assert list(contact_list(user=cast.boutique_agent)) == [cast.alice]
    assert list(contact_list(user=cast.boutique_agent, search="alice@")) == [cast.alice]
    assert list(contact_list(user=cast.boutique_agent, search="Dupont")) == [cast.alice]
    with pytest.raises(NotFound):
        contact_get(user=cast.boutique_agent, contact_id=cast.other_contact.pk)


@pytest.mark.parametrize(
    "field_type, choices, good, bad",
    [
        ("number", [], "12,5", "douze"),
        ("date", [], "2026-03-02", "02/03/2026"),
        ("choice", ["Or", "Argent"], "Or", "Bronze"),
    ],
)
def test_custom_values_must_fit_their_field_type(cast, field_type, choices, good, bad):
    from django.core.exceptions import ValidationError

    from comptoir.contacts.models import CustomField, CustomFieldValue

    field = CustomField.objects.create(
        tenant=cast.tenant,
        workspace=cast.boutique,
        key=f"f_{field_type}",
        label=field_type,
        field_type=field_type,
        choices=choices,
    )
    CustomFieldValue(contact=cast.alice, field=field, value=good).full_clean()
    with pytest.raises(ValidationError):
        CustomFieldValue(contact=cast.alice, field=field, value=bad).full_clean()

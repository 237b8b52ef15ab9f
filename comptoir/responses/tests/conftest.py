"""Fixtures of the response templates' tests: a Boutique ticket from Alice, with custom fields."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache

from comptoir.contacts.models import ContactIdentity, CustomField, CustomFieldValue
from comptoir.tickets.models import ContactReason
from comptoir.tickets.services import ticket_create

PARIS = ZoneInfo("Europe/Paris")
CREATED = datetime(2026, 3, 9, 10, 30, tzinfo=PARIS)


@pytest.fixture(autouse=True)
def _clean_cache():
    # The public page's rate limit counts in the cache.
    cache.clear()


@pytest.fixture
def fields(cast):
    """Two custom fields of Boutique (a text and a date) and one of Assurance."""
    loyalty = CustomField.objects.create(
        tenant=cast.tenant, workspace=cast.boutique, key="loyalty", label="Carte", field_type="text"
    )
    birthday = CustomField.objects.create(
        tenant=cast.tenant,
        workspace=cast.boutique,
        key="birthday",
        label="Anniversaire",
        field_type="date",
    )
    CustomField.objects.create(
        tenant=cast.tenant,
        workspace=cast.assurance,
        key="policy",
        label="Contrat",
        field_type="text",
    )
    CustomFieldValue.objects.create(contact=cast.alice, field=loyalty, value="GOLD-42")
    CustomFieldValue.objects.create(contact=cast.alice, field=birthday, value="1990-07-14")
    return {"loyalty": loyalty, "birthday": birthday}


@pytest.fixture
def ticket(cast):
    """Alice's email ticket in Boutique/Commandes, high priority, with a contact reason."""
    cast.alice.company = "Dupont SA"
    cast.alice.save()
    ContactIdentity.objects.create(
        tenant=cast.tenant, contact=cast.alice, kind="phone", value="+33612345678"
    )
    reason = ContactReason.objects.create(
        tenant=cast.tenant, workspace=cast.boutique, name="Livraison"
    )
    t = ticket_create(
        queue=cast.boutique_queue,
        channel="email",
        subject="Colis en retard",
        contact=cast.alice,
        priority="high",
        now=CREATED,
    )
    t.contact_reason = reason
    t.save()
    return t

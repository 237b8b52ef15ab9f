"""Fixtures of the web form tests: a form of the Boutique workspace and its custom fields."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from comptoir.channels.webform.models import WebForm
from comptoir.contacts.models import CustomField, FieldType

PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def _empty_cache():
    # Rate limits count in the cache: every test starts with none.
    cache.clear()


@pytest.fixture
def web_form(cast) -> WebForm:
    return WebForm.objects.create(
        tenant=cast.tenant,
        workspace=cast.boutique,
        queue=cast.boutique_queue_2,
        title="Contactez la Boutique",
        intro="Nous répondons sous 24 heures.",
    )


@pytest.fixture
def custom_fields(cast) -> dict[str, CustomField]:
    """Three fields on the form (number, choice, date), one kept off it."""

    def make(key, label, kind, choices=(), on_form=True, position=0):
        return CustomField.objects.create(
            tenant=cast.tenant,
            workspace=cast.boutique,
            key=key,
            label=label,
            field_type=kind,
            choices=list(choices),
            on_form=on_form,
            position=position,
        )

    return {
        "order": make("order_no", "Order number", FieldType.NUMBER, position=1),
        "tier": make("tier", "Loyalty tier", FieldType.CHOICE, ["Bronze", "Gold"], position=2),
        "since": make("since", "Customer since", FieldType.DATE, position=3),
        "secret": make("internal_score", "Internal score", FieldType.TEXT, on_form=False),
    }


def form_data(**overrides: str) -> dict[str, str]:
    data = {
        "name": "Marie Curie",
        "email": "marie@example.org",
        "phone": "+33 6 12 34 56 78",
        "subject": "Colis abîmé",
        "message": "Bonjour,\nmon colis est arrivé abîmé.",
        "website": "",
    }
    data.update(overrides)
    return data

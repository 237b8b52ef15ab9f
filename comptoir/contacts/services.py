"""Writes on contacts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from comptoir.accounts.models import Tenant
from comptoir.contacts.models import Contact, ContactIdentity, IdentityKind
from comptoir.contacts.normalize import normalize_identity
from comptoir.core import clock
from comptoir.core.errors import Conflict, DomainError


@transaction.atomic
def contact_create(
    *,
    tenant: Tenant,
    first_name: str = "",
    last_name: str = "",
    company: str = "",
    language: str = "fr",
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    chat_handles: Iterable[str] = (),
    now: datetime | None = None,
) -> Contact:
    """Create a contact with its identities; refuses an identity another contact already has."""
    now = now or clock.now()
    contact = Contact.objects.create(
        tenant=tenant,
        first_name=first_name.strip()[:150],
        last_name=last_name.strip()[:150],
        company=company.strip()[:200],
        language=language if language in ("fr", "en") else "fr",
        created_at=now,
        updated_at=now,
    )
    for kind, values in (
        (IdentityKind.EMAIL, emails),
        (IdentityKind.PHONE, phones),
        (IdentityKind.CHAT, chat_handles),
    ):
        for i, value in enumerate(values):
            contact_add_identity(contact=contact, kind=kind, value=value, is_primary=i == 0)
    return contact


@transaction.atomic
def contact_add_identity(
    *, contact: Contact, kind: str, value: str, is_primary: bool = False
) -> ContactIdentity:
    """Attach an email, phone or chat handle to the contact, unique within the tenant."""
    normalized = normalize_identity(kind, value)
    if not normalized:
        raise DomainError("empty identity")
    if kind == IdentityKind.EMAIL:
        try:
            validate_email(normalized)
        except Exception as exc:
            raise DomainError(f"invalid email address: {value}") from exc
    existing = ContactIdentity.objects.filter(
        tenant_id=contact.tenant_id, kind=kind, value=normalized
    ).first()
    if existing is not None:
        if existing.contact_id == contact.pk:
            return existing
        raise Conflict(f"{normalized} already belongs to another contact")
    try:
        with transaction.atomic():
            return ContactIdentity.objects.create(
                tenant_id=contact.tenant_id,
                contact=contact,
                kind=kind,
                value=normalized,
                is_primary=is_primary,
            )
    except IntegrityError as exc:
        raise Conflict(f"{normalized} already belongs to another contact") from exc

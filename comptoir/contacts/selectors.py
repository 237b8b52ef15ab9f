"""Reads on contacts, scoped to the acting user's tenant."""

from __future__ import annotations

from django.db.models import Prefetch, Q, QuerySet

from comptoir.accounts.models import User
from comptoir.accounts.rights import visible_workspace_ids
from comptoir.contacts.models import Contact, ContactIdentity, CustomFieldValue
from comptoir.contacts.normalize import normalize_identity
from comptoir.core.errors import NotFound
from comptoir.tickets.models import Ticket


def _contacts(user: User) -> QuerySet[Contact]:
    # Contacts belong to the tenant; an agent with no workspace sees none.
    if not user.is_authenticated or user.tenant_id is None or not visible_workspace_ids(user):
        return Contact.objects.none()
    return Contact.objects.filter(tenant_id=user.tenant_id)


def contact_list(*, user: User, search: str = "") -> QuerySet[Contact]:
    """Contacts of the user's tenant, newest first, optionally matching name, company, identity."""
    qs = _contacts(user)
    search = search.strip()
    if search:
        identity_values = {search.lower(), normalize_identity("phone", search) or search}
        qs = qs.filter(
            Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
            | Q(company__icontains=search)
            | Q(identities__value__in=identity_values)
            | Q(identities__value__istartswith=search.lower())
        ).distinct()
    return qs.prefetch_related(
        Prefetch("identities", queryset=ContactIdentity.objects.order_by("kind", "-is_primary"))
    ).order_by("-created_at", "-id")


def contact_get(*, user: User, contact_id: int) -> Contact:
    """The contact with identities and custom values, if in the user's tenant."""
    contact = (
        _contacts(user)
        .filter(pk=contact_id)
        .prefetch_related(
            "identities",
            Prefetch(
                "field_values",
                queryset=CustomFieldValue.objects.select_related("field").filter(
                    field__workspace_id__in=visible_workspace_ids(user)
                ),
            ),
        )
        .first()
    )
    if contact is None:
        raise NotFound("contact")
    return contact


def contact_tickets(*, user: User, contact: Contact) -> QuerySet[Ticket]:
    """All the contact's tickets, on every channel, in the workspaces the user may see."""
    return (
        Ticket.objects.filter(contact=contact, workspace_id__in=visible_workspace_ids(user))
        .select_related("queue", "assignee", "workspace")
        .order_by("-created_at", "-id")
    )

"""Linking a ticket to a contact from the ticket page, remembering the sender's address.

Kept apart from `services.py` because it writes on two apps (tickets and contacts) and
answers more than a ticket: whether the address was remembered, or who already owns it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils.translation import gettext as _

from comptoir.accounts.models import User
from comptoir.contacts.models import Contact, ContactIdentity, IdentityKind
from comptoir.contacts.services import contact_add_identity, contact_create
from comptoir.core import clock
from comptoir.core.errors import Conflict, DomainError
from comptoir.tickets.models import Event, EventKind, Ticket
from comptoir.tickets.services import ticket_link_contact, ticket_require_handling


@dataclass(frozen=True)
class ContactLink:
    """What linking did: the contact, the address it learnt, or who already owns it."""

    ticket: Ticket
    contact: Contact | None
    created: bool = False
    # The ticket's sender address, newly added to the contact's identities.
    remembered: str = ""
    # Another contact of the tenant already owns the sender address (left with them).
    address_owner: Contact | None = None

    def notice(self) -> str:
        """One sentence for the agent about the address, or "" when there is nothing to say."""
        if self.address_owner is not None and self.contact is not None:
            return _(
                "%(email)s already belongs to the contact %(owner)s, so it was not added to "
                "%(contact)s: new mail from this address will still go to %(owner)s."
            ) % {
                "email": self.ticket.requester_email,
                "owner": self.address_owner,
                "contact": self.contact,
            }
        if self.remembered and self.contact is not None:
            return _("%(email)s is now remembered for %(contact)s.") % {
                "email": self.remembered,
                "contact": self.contact,
            }
        return ""


def _owner_of(tenant_id: int, email: str) -> Contact | None:
    identity = (
        ContactIdentity.objects.filter(tenant_id=tenant_id, kind=IdentityKind.EMAIL, value=email)
        .select_related("contact")
        .first()
    )
    return identity.contact if identity is not None else None


def _note_on_event(ticket: Ticket, now: datetime, **data: object) -> None:
    """Add what linking learnt to the CONTACT event this call recorded (if it recorded one)."""
    event = (
        Event.objects.filter(ticket=ticket, kind=EventKind.CONTACT, created_at=now)
        .order_by("-id")
        .first()
    )
    if event is not None:
        event.data = {**event.data, **data}
        event.save(update_fields=["data"])


@transaction.atomic
def ticket_contact_link(
    *, ticket: Ticket, contact: Contact | None, author: User, now: datetime | None = None
) -> ContactLink:
    """Link (or unlink, with None) the ticket's contact; remember the sender's email on it.

    The address is added to the contact unless another contact of the tenant owns it: the
    link is made anyway and the answer names that owner, so the agent knows where the next
    mail from this address will land.
    """
    now = now or clock.now()
    ticket_require_handling(ticket=ticket, user=author)
    if contact is not None and contact.tenant_id != ticket.tenant_id:
        raise DomainError(_("This contact belongs to another tenant."))
    ticket_link_contact(ticket=ticket, contact=contact, author=author, now=now)
    email = ticket.requester_email
    if contact is None or not email:
        return ContactLink(ticket=ticket, contact=contact)
    owner = _owner_of(ticket.tenant_id, email)
    if owner is not None:
        if owner.pk == contact.pk:
            return ContactLink(ticket=ticket, contact=contact)
        _note_on_event(ticket, now, address_owner=str(owner))
        return ContactLink(ticket=ticket, contact=contact, address_owner=owner)
    try:
        contact_add_identity(contact=contact, kind=IdentityKind.EMAIL, value=email)
    except Conflict:
        # Taken between our look and our write: report whoever won.
        owner = _owner_of(ticket.tenant_id, email)
        return ContactLink(ticket=ticket, contact=contact, address_owner=owner)
    except DomainError:
        # Not a usable address (a malformed From): link without remembering it.
        return ContactLink(ticket=ticket, contact=contact)
    _note_on_event(ticket, now, remembered=email)
    return ContactLink(ticket=ticket, contact=contact, remembered=email)


def _split_name(name: str) -> tuple[str, str]:
    parts = " ".join(name.split()).split(" ", 1)
    if len(parts) == 2:
        return parts[0], parts[1]
    return parts[0], ""


@transaction.atomic
def ticket_contact_from_sender(
    *, ticket: Ticket, author: User, now: datetime | None = None
) -> ContactLink:
    """Create a contact from the ticket's sender (name, email) and link the ticket to it."""
    now = now or clock.now()
    ticket_require_handling(ticket=ticket, user=author)
    email, name = ticket.requester_email, ticket.requester_name.strip()
    if not email and not name:
        raise DomainError(_("This request has no sender details to create a contact from."))
    if email:
        owner = _owner_of(ticket.tenant_id, email)
        if owner is not None:
            raise Conflict(
                _("%(email)s already belongs to the contact %(owner)s: link that contact instead.")
                % {"email": email, "owner": owner}
            )
    first_name, last_name = _split_name(name)
    contact = contact_create(
        tenant=ticket.tenant,
        first_name=first_name,
        last_name=last_name,
        emails=[email] if email else [],
        now=now,
    )
    ticket_link_contact(ticket=ticket, contact=contact, author=author, now=now)
    _note_on_event(ticket, now, created=True, remembered=email)
    return ContactLink(ticket=ticket, contact=contact, created=True, remembered=email)

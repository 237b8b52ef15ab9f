"""Test helpers other apps' tests use (the isolation walk)."""

from __future__ import annotations

from django.utils import timezone

from comptoir.solicitations.models import Solicitation
from comptoir.testing.cast import Cast
from comptoir.tickets.models import Ticket


def foreign_objects(cast: Cast, where: str, ticket: Ticket) -> dict[str, int]:
    """A solicitation on `ticket` (another tenant's or workspace's), by URL parameter name."""
    now = timezone.now()
    solicitation = Solicitation.objects.create(
        tenant_id=ticket.tenant_id,
        workspace_id=ticket.workspace_id,
        ticket=ticket,
        number=1,
        recipient_email="secret@supplier.example",
        subject="secret",
        created_at=now,
        last_message_at=now,
    )
    return {"solicitation_id": solicitation.pk}

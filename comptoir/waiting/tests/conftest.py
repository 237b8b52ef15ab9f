from __future__ import annotations

from datetime import UTC, datetime

import pytest

from comptoir.tickets.models import Status
from comptoir.tickets.services import ticket_change_status, ticket_create

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@pytest.fixture
def make_ticket(cast):
    """A ticket of Alice's in `queue`, moved to `status` at `at`."""

    def make(queue=None, status=Status.TO_PROCESS, at=T0, contact=True):
        ticket = ticket_create(
            queue=queue or cast.boutique_queue,
            channel="email",
            subject="Colis en retard",
            contact=cast.alice if contact else None,
            now=at,
        )
        ticket_change_status(ticket=ticket, status=status, author=None, now=at)
        ticket.refresh_from_db()
        return ticket

    return make

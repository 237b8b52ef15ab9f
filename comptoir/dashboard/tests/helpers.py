"""Tickets and messages at chosen instants, through the real services."""

from __future__ import annotations

from datetime import UTC, datetime

from comptoir.accounts.models import Queue
from comptoir.tickets.models import MessageKind, Ticket
from comptoir.tickets.services import message_add, ticket_create


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def ticket_at(queue: Queue, when: datetime, *, channel: str = "email", subject: str = "") -> Ticket:
    return ticket_create(
        queue=queue, channel=channel, subject=subject or f"Demande {when:%H:%M}", now=when
    )


def reply_at(ticket: Ticket, when: datetime, *, kind: str = MessageKind.OUTBOUND) -> None:
    message_add(ticket=ticket, kind=kind, body_text="Bonjour, voici notre réponse.", now=when)

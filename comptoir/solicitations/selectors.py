"""Reads of solicitations: a ticket's threads, one thread, recipient suggestions.

Tenant isolation: every read starts from a ticket the agent may see (`ticket_get`) or from
the agent's tenant and workspaces.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict

from django.db.models import Count, Max, QuerySet

from comptoir.accounts.models import User
from comptoir.accounts.rights import visible_workspace_ids
from comptoir.core.errors import NotFound
from comptoir.solicitations.models import Solicitation, SolicitationMessage
from comptoir.tickets.models import Message, Ticket
from comptoir.tickets.selectors import ticket_get

SUGGESTIONS = 8


class Suggestion(TypedDict):
    address: str
    uses: int  # solicitations sent to it in the workspace
    last_used_at: datetime


@dataclass
class Thread:
    """One solicitation with its messages, oldest first."""

    solicitation: Solicitation
    messages: list[Message] = field(default_factory=list)
    unexpected: set[int] = field(default_factory=set)  # message ids from another sender

    @property
    def last(self) -> Message | None:
        return self.messages[-1] if self.messages else None


def solicitation_get(*, user: User, solicitation_id: int) -> Solicitation:
    """A solicitation of a ticket the agent may see; NotFound otherwise."""
    solicitation = (
        # Through the ticket: its workspace now, whatever it was when the thread began.
        Solicitation.objects.filter(
            pk=solicitation_id, ticket__workspace_id__in=visible_workspace_ids(user)
        )
        .select_related("ticket")
        .first()
    )
    if solicitation is None:
        raise NotFound("no such solicitation")
    # The ticket's own visibility rules (workspace membership, expert scope…).
    solicitation.ticket = ticket_get(user=user, ticket_id=solicitation.ticket_id)
    return solicitation


def ticket_threads(*, ticket: Ticket, solicitation_ids: list[int] | None = None) -> list[Thread]:
    """The ticket's solicitation threads (or those listed), in the order they were opened."""
    solicitations: QuerySet[Solicitation] = Solicitation.objects.filter(ticket=ticket)
    if solicitation_ids is not None:
        solicitations = solicitations.filter(pk__in=solicitation_ids)
    threads = {s.pk: Thread(s) for s in solicitations.order_by("number")}
    if not threads:
        return []
    links = (
        SolicitationMessage.objects.filter(solicitation_id__in=list(threads))
        .select_related("message__author")
        .prefetch_related("message__attachments")
        .order_by("message__created_at", "message_id")
    )
    for link in links:
        thread = threads[link.solicitation_id]
        thread.messages.append(link.message)
        if link.unexpected_sender:
            thread.unexpected.add(link.message_id)
    return list(threads.values())


def recipient_suggestions(
    *, user: User, workspace_id: int, query: str = "", limit: int = SUGGESTIONS
) -> list[Suggestion]:
    """Addresses already solicited in the workspace, most used first, matching `query`.

    A use is one solicitation sent to the address; ties go to the most recent. The agent
    must see the workspace (NotFound otherwise: its addresses are not theirs to see).
    """
    if workspace_id not in set(visible_workspace_ids(user)):
        raise NotFound("no such workspace")
    rows = Solicitation.objects.filter(workspace_id=workspace_id)
    query = query.strip().lower()
    if query:
        rows = rows.filter(recipient_email__contains=query)
    ranked = (
        rows.values("recipient_email")
        .annotate(uses=Count("id"), last_used=Max("created_at"))
        .order_by("-uses", "-last_used", "recipient_email")[: max(1, min(limit, 50))]
    )
    return [
        Suggestion(address=r["recipient_email"], uses=r["uses"], last_used_at=r["last_used"])
        for r in ranked
    ]

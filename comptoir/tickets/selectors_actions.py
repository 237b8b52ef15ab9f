"""Reads for the agent actions of the ticket page: who may act, who may be picked."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from comptoir.accounts.models import Membership, User
from comptoir.accounts.rights import Right, RoleCode, has_right
from comptoir.tickets.models import ContactReason, Ticket
from comptoir.tickets.selectors import ticket_get
from comptoir.tickets.services import ticket_require_handling


def ticket_get_for_handling(*, user: User, ticket_id: int) -> Ticket:
    """The ticket if the user may see it (NotFound) and handle it (NotAllowed)."""
    ticket = ticket_get(user=user, ticket_id=ticket_id)
    ticket_require_handling(ticket=ticket, user=user)
    return ticket


def can_handle(*, user: User, ticket: Ticket) -> bool:
    return has_right(user, ticket.workspace_id, Right.HANDLE_TICKETS)


@dataclass(frozen=True)
class Assignee:
    """A member of the ticket's workspace who may be given the ticket, with their role."""

    user: User
    role: str

    @property
    def role_label(self) -> str:
        return str(RoleCode(self.role).label) if self.role in RoleCode.values else self.role


def ticket_assignees(*, ticket: Ticket) -> list[Assignee]:
    """Active members of the ticket's workspace holding the right to handle requests.

    The caller got `ticket` from a scoped selector: listing its workspace's members reveals
    nothing the caller could not already see on the ticket page.
    """
    memberships = (
        Membership.objects.filter(workspace_id=ticket.workspace_id, user__is_active=True)
        .select_related("user", "role")
        .order_by("user__first_name", "user__last_name", "user__email")
    )
    return [
        Assignee(user=m.user, role=m.role.code)
        for m in memberships
        if Right.HANDLE_TICKETS in {*m.role.rights, *m.extra_rights}
    ]


def transfer_choices(
    assignees: list[Assignee], *, exclude: User | None = None
) -> tuple[list[Assignee], list[Assignee], list[Assignee]]:
    """(experts, other members, external agents) a ticket may be transferred to."""
    people = [a for a in assignees if exclude is None or a.user.pk != exclude.pk]
    experts = [a for a in people if a.role == RoleCode.EXPERT]
    others = [a for a in people if a.role not in (RoleCode.EXPERT, RoleCode.EXTERNAL_AGENT)]
    externals = [a for a in people if a.role == RoleCode.EXTERNAL_AGENT]
    return experts, others, externals


def contact_reason_choices(*, ticket: Ticket) -> list[ContactReason]:
    """Active reasons of the ticket's workspace, plus its current one if since retired."""
    return list(
        ContactReason.objects.filter(workspace_id=ticket.workspace_id)
        .filter(Q(is_active=True) | Q(pk=ticket.contact_reason_id or 0))
        .order_by("name")
    )


def contact_reason_pickable(*, ticket: Ticket, reason_id: int) -> ContactReason | None:
    """The reason if an agent may pick it for this ticket now (active, same workspace)."""
    return next((r for r in contact_reason_choices(ticket=ticket) if r.pk == reason_id), None)

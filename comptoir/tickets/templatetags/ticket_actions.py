"""What the ticket page's action bar needs, computed where the template asks for it.

A tag rather than view context: the ticket page's view belongs to the page, and its
`ticket-main` partial is re-rendered by several areas; the bar brings its own data along.
"""

from __future__ import annotations

from typing import Any

from django import template

from comptoir.accounts.models import User
from comptoir.tickets.models import Priority, Status, Ticket
from comptoir.tickets.selectors_actions import (
    can_handle,
    contact_reason_choices,
    ticket_assignees,
    transfer_choices,
)
from comptoir.tickets.services import TRANSFER_STATUSES

register = template.Library()


@register.simple_tag(takes_context=True)
def ticket_actions_context(context: template.Context, ticket: Ticket) -> dict[str, Any]:
    """Rights, people to pick and choices for the actions on `ticket`."""
    request = context.get("request")
    user: User | None = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not can_handle(user=user, ticket=ticket):
        return {"can_handle": False}
    assignees = ticket_assignees(ticket=ticket)
    experts, others, externals = transfer_choices(assignees, exclude=user)
    return {
        "can_handle": True,
        "me": user,
        "assignees": assignees,
        "experts": experts,
        "others": others,
        "externals": externals,
        "is_transferred": ticket.status in TRANSFER_STATUSES.values(),
        "is_closed": ticket.status == Status.CLOSED,
        "reasons": contact_reason_choices(ticket=ticket),
        "priorities": Priority.choices,
    }

"""What the ticket page's action bar needs, computed where the template asks for it.

A tag rather than view context: the ticket page's view belongs to the page, and its
`ticket-main` partial is re-rendered by several areas; the bar brings its own data along.
"""

from __future__ import annotations

from typing import Any

from django import template

from comptoir.accounts.models import User
from comptoir.accounts.rights import RoleCode
from comptoir.tickets.action_choices import reasons_for, workspace_choices
from comptoir.tickets.action_lists import assign_items, person_options, reason_options
from comptoir.tickets.models import Priority, Status, Ticket
from comptoir.tickets.selectors_actions import can_handle
from comptoir.tickets.services import TRANSFER_STATUSES

register = template.Library()


@register.simple_tag(takes_context=True)
def ticket_actions_context(context: template.Context, ticket: Ticket) -> dict[str, Any]:
    """Rights, people to pick and choices for the actions on `ticket`."""
    request = context.get("request")
    user: User | None = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not can_handle(user=user, ticket=ticket):
        return {"can_handle": False}
    # The workspace's people and reasons come from a cache (see action_choices): the
    # same two queries on every page of the workspace otherwise.
    choices = workspace_choices(ticket=ticket)
    # As selectors_actions.transfer_choices, on the cached picks.
    people = [a for a in choices.assignees if a.user.pk != user.pk]
    experts = [a for a in people if a.role == RoleCode.EXPERT]
    others = [a for a in people if a.role not in (RoleCode.EXPERT, RoleCode.EXTERNAL_AGENT)]
    externals = [a for a in people if a.role == RoleCode.EXTERNAL_AGENT]
    # The lists go out as HTML (action_lists): they were the templates' longest loops; an
    # empty list is an empty string, which the templates test as false.
    return {
        "can_handle": True,
        "me": user,
        "is_transferred": ticket.status in TRANSFER_STATUSES.values(),
        "is_closed": ticket.status == Status.CLOSED,
        "priorities": Priority.choices,
        "assign_items": assign_items(people, assignee_id=ticket.assignee_id),
        "expert_options": person_options(experts),
        "other_options": person_options(others, with_role=True),
        "external_options": person_options(externals),
        "reason_options": reason_options(
            reasons_for(choices, ticket), selected_id=ticket.contact_reason_id
        ),
    }

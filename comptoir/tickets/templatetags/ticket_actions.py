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
    # Plain dicts, role labels translated once: the lists are read in loops, and each
    # `a.user.pk` on an object first fails as a dict lookup in the template engine.
    role_labels = {code: str(label) for code, label in RoleCode.choices}
    assignees = [
        {
            "pk": a.user.pk,
            "name": a.user.name,
            "initials": a.user.initials,
            "role": a.role,
            "role_label": role_labels.get(a.role, a.role),
        }
        for a in choices.assignees
    ]
    # As selectors_actions.transfer_choices, on the cached picks.
    people = [a for a in assignees if a["pk"] != user.pk]
    experts = [a for a in people if a["role"] == RoleCode.EXPERT]
    others = [a for a in people if a["role"] not in (RoleCode.EXPERT, RoleCode.EXTERNAL_AGENT)]
    externals = [a for a in people if a["role"] == RoleCode.EXTERNAL_AGENT]
    reasons = reasons_for(choices, ticket)
    return {
        "can_handle": True,
        "me": user,
        "assignees": assignees,
        "experts": experts,
        "others": others,
        "externals": externals,
        "is_transferred": ticket.status in TRANSFER_STATUSES.values(),
        "is_closed": ticket.status == Status.CLOSED,
        "reasons": reasons,
        "priorities": Priority.choices,
        # The lists' items as HTML (see action_lists): the templates' longest loops.
        "assign_items": assign_items(people, assignee_id=ticket.assignee_id),
        "expert_options": person_options(experts),
        "other_options": person_options(others, with_role=True),
        "external_options": person_options(externals),
        "reason_options": reason_options(reasons, selected_id=ticket.contact_reason_id),
    }

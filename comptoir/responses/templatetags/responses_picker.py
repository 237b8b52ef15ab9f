"""The composer's template picker: the templates offered to the agent on a ticket."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def composer_templates(context: Any, ticket: Any) -> list[Any]:
    """Active templates in scope for the requesting agent on `ticket` (by name)."""
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return []
    from comptoir.responses.picker import template_choices_for_ticket

    return template_choices_for_ticket(user=user, ticket=ticket)

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def can_administer(user: Any) -> bool:
    """The top bar shows "Administration" to staff and to whoever may configure a workspace."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.is_staff:
        return True
    from comptoir.administration.views import administered_workspace_ids

    return bool(administered_workspace_ids(user))

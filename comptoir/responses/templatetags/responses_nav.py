"""The top navigation's Templates link: shown to agents who manage templates somewhere."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def manages_templates(user: Any) -> bool:
    """Whether `user` holds `manage_templates` in any workspace (cached per request)."""
    if not getattr(user, "is_authenticated", False):
        return False
    from comptoir.responses.selectors import can_manage_templates

    return can_manage_templates(user)

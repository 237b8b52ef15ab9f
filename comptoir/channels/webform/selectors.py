"""Reads of the web form channel. Public by design: a form is found by its public key only."""

from __future__ import annotations

from comptoir.channels.webform.models import WebForm
from comptoir.contacts.models import CustomField


def public_form(key: str) -> WebForm | None:
    """The active form behind a public key, or None (unknown, switched off, workspace closed)."""
    if not key or len(key) > 64:
        return None
    return (
        WebForm.objects.select_related("workspace", "queue", "tenant")
        .filter(
            public_key=key,
            is_active=True,
            workspace__is_active=True,
            queue__is_active=True,
        )
        .first()
    )


def form_custom_fields(web_form: WebForm) -> list[CustomField]:
    """The workspace's contact custom fields marked "on form", in their order."""
    return list(
        CustomField.objects.filter(workspace_id=web_form.workspace_id, on_form=True).order_by(
            "position", "label"
        )
    )

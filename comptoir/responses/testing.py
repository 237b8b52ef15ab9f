"""Foreign objects of this app for the isolation walk (core/tests/test_isolation.py)."""

from __future__ import annotations

from typing import Any

from django.core import signing
from django.test import override_settings

from comptoir.responses.history_link import SALT, _payload, history_link_create
from comptoir.responses.services import NewTemplateFile, template_create
from comptoir.testing.cast import Cast
from comptoir.tickets.models import Ticket


def foreign_objects(cast: Cast, where: str, ticket: Ticket) -> dict[str, Any]:
    """A template (with a file) and a history link `cast.boutique_agent` must never reach.

    `token` is the history link's token re-signed with another key: the public page is
    reached by its token alone, so the foreign case is a token that is not ours.
    """
    manager = cast.other_agent if where == "tenant" else cast.admin
    workspace = cast.other_workspace if where == "tenant" else cast.assurance
    template = template_create(
        user=manager,
        workspace=workspace,
        name="secret template",
        body_html="<p>secret</p>",
        files=[NewTemplateFile("secret.txt", b"secret", "text/plain")],
    )
    link = history_link_create(ticket=ticket)
    with override_settings(SECRET_KEY="not this deployment's key " * 2):
        token = signing.dumps(_payload(link), salt=SALT, compress=True)
    return {
        "template_id": template.pk,
        "template_attachment_id": template.attachments.get().pk,
        "history_link_id": link.pk,
        "token": token,
    }

"""Rights (droits) and roles: the catalogue, and the one place where they are checked."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from django.db import connection, models
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from comptoir.accounts.models import User, Workspace


class Right(models.TextChoices):
    MANAGE_WORKSPACE = "manage_workspace", _("Manage the workspace")
    MANAGE_TEMPLATES = "manage_templates", _("Manage response templates")
    MANAGE_WAITING_MESSAGES = "manage_waiting_messages", _("Manage waiting messages")
    MANAGE_AUTO_REPLIES = "manage_auto_replies", _("Manage automatic replies")
    USE_REQUEST_MESSAGES = "use_request_messages", _("Use messages on requests")
    BLOCK_REQUEST_MESSAGES = "block_request_messages", _("Block and unblock messages on requests")
    HANDLE_TICKETS = "handle_tickets", _("Handle requests (assign, qualify, close)")
    INGEST_MAIL = "ingest_mail", _("Deliver raw email to mailboxes through the API")


class RoleCode(models.TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    COORDINATOR = "coordinator", _("Coordinator")
    AGENT = "agent", _("Agent")
    EXPERT = "expert", _("Expert")
    EXTERNAL_AGENT = "external_agent", _("External agent")


# What each role grants when a tenant is created; administrators edit them per tenant.
DEFAULT_ROLE_RIGHTS: dict[str, list[str]] = {
    RoleCode.ADMINISTRATOR: [r.value for r in Right],
    RoleCode.COORDINATOR: [
        Right.MANAGE_TEMPLATES,
        Right.MANAGE_WAITING_MESSAGES,
        Right.MANAGE_AUTO_REPLIES,
        Right.USE_REQUEST_MESSAGES,
        Right.BLOCK_REQUEST_MESSAGES,
        Right.HANDLE_TICKETS,
    ],
    RoleCode.AGENT: [Right.USE_REQUEST_MESSAGES, Right.HANDLE_TICKETS],
    RoleCode.EXPERT: [Right.USE_REQUEST_MESSAGES, Right.HANDLE_TICKETS],
    RoleCode.EXTERNAL_AGENT: [Right.USE_REQUEST_MESSAGES, Right.HANDLE_TICKETS],
}


def rights_of(user: User, workspace: Workspace | int) -> frozenset[str]:
    """Every right `user` holds in `workspace`: its role's plus those given to its profile."""
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    cache = _rights_cache(user)
    return cache.get(workspace_id, frozenset())


def has_right(user: User, workspace: Workspace | int, right: str) -> bool:
    """The single check every view, API route and service uses."""
    if not user.is_authenticated or not user.is_active:
        return False
    return right in rights_of(user, workspace)


def _rights_cache(user: User) -> dict[int, frozenset[str]]:
    # Computed once a request: one query, whatever the number of checks.
    cached = getattr(user, "_comptoir_rights", None)
    if cached is None:
        cached = {}
        with connection.cursor() as cursor:
            cursor.execute(_memberships_sql(), [user.pk])
            for workspace_id, role_rights, extra_rights in cursor.fetchall():
                cached[workspace_id] = frozenset(_json_list(role_rights)) | frozenset(
                    _json_list(extra_rights)
                )
        user._comptoir_rights = cached  # type: ignore[attr-defined]
    return cached


def _memberships_sql() -> str:
    """(workspace, role's rights, extra rights) of a user's memberships in active workspaces.

    Plain SQL: every request of every page runs it, and building it with the ORM
    (`select_related` and three model instances a row) cost ~0.5 ms against ~0.05 ms.
    """
    from comptoir.accounts.models import Membership, Role, Workspace

    q = connection.ops.quote_name
    return (
        f"SELECT m.{q('workspace_id')}, r.{q('rights')}, m.{q('extra_rights')} "
        f"FROM {q(Membership._meta.db_table)} m "
        f"JOIN {q(Role._meta.db_table)} r ON r.{q('id')} = m.{q('role_id')} "
        f"JOIN {q(Workspace._meta.db_table)} w ON w.{q('id')} = m.{q('workspace_id')} "
        f"WHERE m.{q('user_id')} = %s AND w.{q('is_active')}"
    )


def _json_list(value: object) -> list[str]:
    """A JSON list column as read by a plain cursor: text (SQLite, Django's jsonb loader)."""
    if isinstance(value, str | bytes):
        return list(json.loads(value))
    return list(value)  # type: ignore[call-overload]


def visible_workspace_ids(user: User) -> list[int]:
    """Workspaces where the user holds a role, in a stable order."""
    if not user.is_authenticated or not user.is_active:
        return []
    return sorted(_rights_cache(user))

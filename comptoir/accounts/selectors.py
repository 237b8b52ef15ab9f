"""Reads on the organisation, scoped to the acting user."""

from __future__ import annotations

from django.db.models import QuerySet

from comptoir.accounts.models import Queue, User, Workspace
from comptoir.accounts.rights import visible_workspace_ids


def workspace_list(*, user: User) -> QuerySet[Workspace]:
    """Workspaces where the user holds a role."""
    return Workspace.objects.filter(pk__in=visible_workspace_ids(user)).order_by("name")


def queue_list(*, user: User, workspace_id: int | None = None) -> QuerySet[Queue]:
    """Active queues of the user's workspaces (optionally of one)."""
    ids = visible_workspace_ids(user)
    if workspace_id is not None:
        ids = [i for i in ids if i == workspace_id]
    return (
        Queue.objects.filter(workspace_id__in=ids, is_active=True)
        .select_related("workspace")
        .order_by("workspace__name", "name")
    )


def workspace_agents(*, user: User, workspace_id: int) -> QuerySet[User]:
    """Agents holding a role in a workspace the user may see."""
    if workspace_id not in visible_workspace_ids(user):
        return User.objects.none()
    return User.objects.filter(memberships__workspace_id=workspace_id, is_active=True).order_by(
        "first_name", "last_name"
    )

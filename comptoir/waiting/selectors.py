"""Reads on waiting messages, scoped to workspaces where the user may manage them."""

from __future__ import annotations

from django.db.models import QuerySet

from comptoir.accounts.models import Queue, User, Workspace
from comptoir.accounts.rights import Right, has_right, visible_workspace_ids
from comptoir.core.errors import NotFound
from comptoir.waiting.models import WaitingMessage, WaitingMessageAssignment


def managed_workspace_get(*, user: User, workspace_id: int) -> Workspace:
    """The workspace if `user` may manage its waiting messages; NotFound otherwise."""
    if workspace_id not in visible_workspace_ids(user) or not has_right(
        user, workspace_id, Right.MANAGE_WAITING_MESSAGES
    ):
        raise NotFound("workspace")
    return Workspace.objects.get(pk=workspace_id)


def managed_queue_get(*, user: User, queue_id: int) -> Queue:
    queue = Queue.objects.select_related("workspace").filter(pk=queue_id).first()
    if queue is None:
        raise NotFound("queue")
    managed_workspace_get(user=user, workspace_id=queue.workspace_id)
    return queue


def waiting_message_get(*, user: User, waiting_message_id: int) -> WaitingMessage:
    message = WaitingMessage.objects.filter(pk=waiting_message_id).first()
    if message is None:
        raise NotFound("waiting message")
    managed_workspace_get(user=user, workspace_id=message.workspace_id)
    return message


def waiting_message_list(*, workspace: Workspace) -> QuerySet[WaitingMessage]:
    return WaitingMessage.objects.filter(workspace=workspace).order_by("title", "id")


def assigned_message(*, workspace: Workspace, queue: Queue | None = None) -> WaitingMessage | None:
    """The message assigned to the workspace itself, or to `queue` (not the one in force)."""
    qs = WaitingMessageAssignment.objects.filter(workspace=workspace).select_related(
        "waiting_message"
    )
    qs = qs.filter(queue=queue) if queue is not None else qs.filter(queue__isnull=True)
    assignment = qs.first()
    return assignment.waiting_message if assignment else None


def assignment_places(*, waiting_message: WaitingMessage) -> list[str]:
    """Where the message is assigned, as names (shown before deleting it)."""
    places = []
    for a in waiting_message.assignments.select_related("workspace", "queue"):
        places.append(a.queue.name if a.queue_id and a.queue else a.workspace.name)
    return places

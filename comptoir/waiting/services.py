"""Writes on waiting messages and their assignments (right: manage_waiting_messages)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from comptoir.accounts.models import Queue, User, Workspace
from comptoir.accounts.rights import Right, has_right
from comptoir.core import clock
from comptoir.core.errors import NotAllowed
from comptoir.waiting.models import WaitingMessage, WaitingMessageAssignment

EDITABLE = ("title", "body", "hours_to_process", "hours_awaiting_expert", "hours_awaiting_external")


def _check_right(user: User, workspace_id: int) -> None:
    if not has_right(user, workspace_id, Right.MANAGE_WAITING_MESSAGES):
        raise NotAllowed(_("You may not manage the waiting messages of this workspace."))


@transaction.atomic
def waiting_message_create(*, workspace: Workspace, user: User, **values: Any) -> WaitingMessage:
    """Add a waiting message to the workspace; it sends nothing until assigned."""
    _check_right(user, workspace.pk)
    message = WaitingMessage(tenant_id=workspace.tenant_id, workspace=workspace)
    for name in EDITABLE:
        if name in values:
            setattr(message, name, values[name])
    message.full_clean()
    message.save()
    return message


@transaction.atomic
def waiting_message_update(
    *, waiting_message: WaitingMessage, user: User, **values: Any
) -> WaitingMessage:
    """Change a waiting message; the next sweep reads the new thresholds and text."""
    _check_right(user, waiting_message.workspace_id)
    for name in EDITABLE:
        if name in values:
            setattr(waiting_message, name, values[name])
    waiting_message.updated_at = clock.now()
    waiting_message.full_clean()
    waiting_message.save()
    return waiting_message


@transaction.atomic
def waiting_message_delete(*, waiting_message: WaitingMessage, user: User) -> None:
    """Delete it and its assignments: nothing more is sent for it (past sends stay recorded)."""
    _check_right(user, waiting_message.workspace_id)
    waiting_message.delete()


@transaction.atomic
def waiting_message_assign(
    *,
    waiting_message: WaitingMessage | None,
    user: User,
    workspace: Workspace,
    queue: Queue | None = None,
) -> WaitingMessageAssignment | None:
    """Put `waiting_message` in force for the workspace or one of its queues (None: remove)."""
    _check_right(user, workspace.pk)
    if queue is not None and queue.workspace_id != workspace.pk:
        raise ValidationError(_("This queue belongs to another workspace."))
    if waiting_message is not None and waiting_message.workspace_id != workspace.pk:
        raise ValidationError(_("This waiting message belongs to another workspace."))
    existing = WaitingMessageAssignment.objects.select_for_update().filter(
        workspace=workspace, queue=queue
    )
    if queue is None:
        existing = existing.filter(queue__isnull=True)
    if waiting_message is None:
        existing.delete()
        return None
    assignment = existing.first()
    if assignment is None:
        return WaitingMessageAssignment.objects.create(
            tenant_id=workspace.tenant_id,
            workspace=workspace,
            queue=queue,
            waiting_message=waiting_message,
        )
    assignment.waiting_message = waiting_message
    assignment.save(update_fields=["waiting_message"])
    return assignment

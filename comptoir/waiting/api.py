"""API: waiting messages of a workspace and their assignments."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Router, Schema, Status

from comptoir.api.auth import agent
from comptoir.api.schemas import ErrorOut
from comptoir.core.errors import NotFound
from comptoir.waiting import selectors, services
from comptoir.waiting.models import WaitingMessage

router = Router(tags=["waiting messages"])


class WaitingMessageIn(Schema):
    # Defaults, so that a caller without the right learns nothing: 404 comes before 422.
    title: str = ""
    body: str = ""
    hours_to_process: int | None = None
    hours_awaiting_expert: int | None = None
    hours_awaiting_external: int | None = None


class WaitingMessageOut(Schema):
    id: int
    title: str
    body: str
    hours_to_process: int | None
    hours_awaiting_expert: int | None
    hours_awaiting_external: int | None
    workspace: int
    assigned_to: list[str]


class FieldErrorsOut(Schema):
    detail: str
    errors: dict[str, list[str]]


class AssignmentIn(Schema):
    waiting_message: int | None = None


class AssignmentOut(Schema):
    waiting_message: int | None


def _out(m: WaitingMessage) -> dict[str, Any]:
    return {
        "id": m.pk,
        "workspace": m.workspace_id,
        "title": m.title,
        "body": m.body,
        "hours_to_process": m.hours_to_process,
        "hours_awaiting_expert": m.hours_awaiting_expert,
        "hours_awaiting_external": m.hours_awaiting_external,
        "assigned_to": selectors.assignment_places(waiting_message=m),
    }


def _invalid(exc: ValidationError) -> Status:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return Status(422, {"detail": "Invalid waiting message.", "errors": errors})


@router.get(
    "/workspaces/{workspace_id}/waiting-messages",
    response={200: list[WaitingMessageOut], 404: ErrorOut},
    summary="List a workspace's waiting messages",
)
def waiting_messages_list(request: HttpRequest, workspace_id: int) -> list[dict[str, Any]]:
    workspace = selectors.managed_workspace_get(user=agent(request), workspace_id=workspace_id)
    return [_out(m) for m in selectors.waiting_message_list(workspace=workspace)]


@router.post(
    "/workspaces/{workspace_id}/waiting-messages",
    response={201: WaitingMessageOut, 404: ErrorOut, 422: FieldErrorsOut},
    summary="Add a waiting message (not in force until assigned)",
)
def waiting_messages_create(
    request: HttpRequest, workspace_id: int, payload: WaitingMessageIn
) -> Status:
    user = agent(request)
    workspace = selectors.managed_workspace_get(user=user, workspace_id=workspace_id)
    try:
        message = services.waiting_message_create(workspace=workspace, user=user, **payload.dict())
    except ValidationError as exc:
        return _invalid(exc)
    return Status(201, _out(message))


@router.get(
    "/waiting-messages/{waiting_message_id}",
    response={200: WaitingMessageOut, 404: ErrorOut},
    summary="Read a waiting message",
)
def waiting_messages_detail(request: HttpRequest, waiting_message_id: int) -> dict[str, Any]:
    return _out(
        selectors.waiting_message_get(user=agent(request), waiting_message_id=waiting_message_id)
    )


@router.put(
    "/waiting-messages/{waiting_message_id}",
    response={200: WaitingMessageOut, 404: ErrorOut, 422: FieldErrorsOut},
    summary="Change a waiting message (applies from the next sweep)",
)
def waiting_messages_update(
    request: HttpRequest, waiting_message_id: int, payload: WaitingMessageIn
) -> Status:
    user = agent(request)
    message = selectors.waiting_message_get(user=user, waiting_message_id=waiting_message_id)
    try:
        services.waiting_message_update(waiting_message=message, user=user, **payload.dict())
    except ValidationError as exc:
        return _invalid(exc)
    return Status(200, _out(message))


@router.delete(
    "/waiting-messages/{waiting_message_id}",
    response={204: None, 404: ErrorOut},
    summary="Delete a waiting message and its assignments (cancels the sends to come)",
)
def waiting_messages_delete(request: HttpRequest, waiting_message_id: int) -> Status:
    user = agent(request)
    message = selectors.waiting_message_get(user=user, waiting_message_id=waiting_message_id)
    services.waiting_message_delete(waiting_message=message, user=user)
    return Status(204, None)


def _assign(
    request: HttpRequest, workspace_id: int, queue_id: int | None, wanted: int | None
) -> dict[str, Any]:
    user = agent(request)
    if queue_id is not None:
        queue = selectors.managed_queue_get(user=user, queue_id=queue_id)
        workspace = queue.workspace
    else:
        queue = None
        workspace = selectors.managed_workspace_get(user=user, workspace_id=workspace_id)
    message = None
    if wanted is not None:
        message = WaitingMessage.objects.filter(pk=wanted, workspace=workspace).first()
        if message is None:
            raise NotFound("waiting message")
    services.waiting_message_assign(
        waiting_message=message, user=user, workspace=workspace, queue=queue
    )
    return {"waiting_message": message.pk if message else None}


@router.put(
    "/workspaces/{workspace_id}/waiting-message-assignment",
    response={200: AssignmentOut, 404: ErrorOut},
    summary="Assign a waiting message to the workspace (null removes the assignment)",
)
def waiting_assignment_workspace(
    request: HttpRequest, workspace_id: int, payload: AssignmentIn
) -> dict[str, Any]:
    return _assign(request, workspace_id, None, payload.waiting_message)


@router.put(
    "/queues/{queue_id}/waiting-message-assignment",
    response={200: AssignmentOut, 404: ErrorOut},
    summary="Assign a waiting message to a queue; it wins over the workspace's",
)
def waiting_assignment_queue(
    request: HttpRequest, queue_id: int, payload: AssignmentIn
) -> dict[str, Any]:
    return _assign(request, 0, queue_id, payload.waiting_message)

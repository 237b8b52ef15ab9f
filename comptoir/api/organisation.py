"""Organisation routes: the workspaces and queues the agent works in."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Query, Router

from comptoir.accounts.rights import visible_workspace_ids
from comptoir.accounts.selectors import queue_list, workspace_list
from comptoir.api.auth import agent
from comptoir.api.schemas import ErrorOut, QueueOut, WorkspaceOut, ref
from comptoir.core.errors import NotFound

router = Router(tags=["organisation"])


@router.get("/workspaces", response=list[WorkspaceOut], summary="List my workspaces")
def workspaces_list(request: HttpRequest) -> list[dict[str, Any]]:
    return [
        {"id": w.pk, "name": w.name, "slug": w.slug} for w in workspace_list(user=agent(request))
    ]


@router.get(
    "/queues",
    response={200: list[QueueOut], 404: ErrorOut},
    summary="List the active queues of my workspaces",
)
def queues_list(
    request: HttpRequest, workspace: int | None = Query(None, description="Workspace id")
) -> list[dict[str, Any]]:
    user = agent(request)
    if workspace is not None and workspace not in visible_workspace_ids(user):
        raise NotFound("workspace")
    return [
        {"id": q.pk, "name": q.name, "workspace": ref(q.workspace)}
        for q in queue_list(user=user, workspace_id=workspace)
    ]

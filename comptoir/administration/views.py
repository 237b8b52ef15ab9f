"""The agents' administration: workspaces and queues, with their associated items.

Coordinators configure what their rights allow (waiting messages, templates…) without the
Django admin, which stays for tenant administrators (users, roles, mailboxes).
"""

from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from comptoir.accounts.models import Queue, User, Workspace
from comptoir.accounts.rights import rights_of, visible_workspace_ids
from comptoir.administration.registry import associated_items


def _agent(request: HttpRequest) -> User:
    return cast(User, request.user)


def _items_for(user: User, workspace_id: int) -> list[dict[str, str]]:
    rights = rights_of(user, workspace_id)
    return [
        {
            "label": str(item.label),
            "workspace_url": item.workspace_url,
            "queue_url": item.queue_url or "",
        }
        for item in associated_items()
        if item.right in rights
    ]


def administered_workspace_ids(user: User) -> list[int]:
    """Workspaces where `user` may configure at least one associated item (no query)."""
    return [w for w in visible_workspace_ids(user) if _items_for(user, w)]


def administered_workspaces(user: User) -> list[Workspace]:
    return list(Workspace.objects.filter(pk__in=administered_workspace_ids(user)).order_by("name"))


@login_required
@require_GET
def administration_index(request: HttpRequest) -> HttpResponse:
    """The workspaces the agent may configure."""
    user = _agent(request)
    return render(
        request,
        "administration/index.html",
        {"workspaces": administered_workspaces(user)},
    )


def _workspace_or_404(user: User, workspace_id: int) -> tuple[Workspace, list[dict[str, str]]]:
    items = _items_for(user, workspace_id) if workspace_id in visible_workspace_ids(user) else []
    if not items:
        raise Http404
    return Workspace.objects.get(pk=workspace_id), items


@login_required
@require_GET
def administration_workspace(request: HttpRequest, workspace_id: int) -> HttpResponse:
    """A workspace: its queues and its associated items."""
    workspace, items = _workspace_or_404(_agent(request), workspace_id)
    for item in items:
        item["url"] = reverse(item["workspace_url"], args=[workspace.pk])
    queues = Queue.objects.filter(workspace=workspace).order_by("name")
    return render(
        request,
        "administration/workspace.html",
        {"workspace": workspace, "items": items, "queues": queues},
    )


@login_required
@require_GET
def administration_queue(request: HttpRequest, queue_id: int) -> HttpResponse:
    """A queue: its associated items (those that exist per queue)."""
    queue = Queue.objects.select_related("workspace").filter(pk=queue_id).first()
    if queue is None:
        raise Http404
    workspace, items = _workspace_or_404(_agent(request), queue.workspace_id)
    items = [i for i in items if i["queue_url"]]
    for item in items:
        item["url"] = reverse(item["queue_url"], args=[queue.pk])
    return render(
        request,
        "administration/queue.html",
        {"workspace": workspace, "queue": queue, "items": items},
    )

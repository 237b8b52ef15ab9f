"""Administration → workspace or queue → Associated items → Waiting messages."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from comptoir.accounts.models import Queue, User, Workspace
from comptoir.core.errors import NotFound
from comptoir.waiting import selectors, services
from comptoir.waiting.forms import AssignmentForm, WaitingMessageForm
from comptoir.waiting.models import WaitingMessage


def _agent(request: HttpRequest) -> User:
    return cast(User, request.user)


def _workspace(request: HttpRequest, workspace_id: int) -> Workspace:
    try:
        return selectors.managed_workspace_get(user=_agent(request), workspace_id=workspace_id)
    except NotFound as exc:
        raise Http404 from exc


def _assignment_page(
    request: HttpRequest, workspace: Workspace, queue: Queue | None
) -> HttpResponse:
    """The assignment form (POST assigns or removes) and the content of the selected message."""
    user = _agent(request)
    current = selectors.assigned_message(workspace=workspace, queue=queue)
    if request.method == "POST":
        form = AssignmentForm(request.POST, workspace_id=workspace.pk)
        if form.is_valid():
            chosen = form.cleaned_data["waiting_message"]
            services.waiting_message_assign(
                waiting_message=chosen, user=user, workspace=workspace, queue=queue
            )
            if chosen is None:
                messages.success(request, _("The assignment was removed."))
            else:
                messages.success(request, _("“%(title)s” is now assigned.") % {"title": chosen})
            return redirect(request.path)
    else:
        form = AssignmentForm(
            initial={"waiting_message": current.pk if current else None},
            workspace_id=workspace.pk,
        )
    # The selection shows its content below the list, before it is saved (htmx swaps it).
    shown: WaitingMessage | None = current
    if request.GET.get("partial") == "preview":
        shown = WaitingMessage.objects.filter(
            workspace=workspace, pk=_int(request.GET.get("waiting_message"))
        ).first()
    context: dict[str, Any] = {
        "workspace": workspace,
        "queue": queue,
        "assignment_form": form,
        "current": current,
        "shown": shown,
        "waiting_messages": selectors.waiting_message_list(workspace=workspace),
    }
    if queue is not None:
        context["workspace_message"] = selectors.assigned_message(workspace=workspace)
    template = "waiting/queue.html" if queue is not None else "waiting/workspace.html"
    if request.headers.get("HX-Request") and request.GET.get("partial") == "preview":
        template = "waiting/_preview.html"
    return render(request, template, context)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


@login_required
@require_http_methods(["GET", "POST"])
def waiting_workspace(request: HttpRequest, workspace_id: int) -> HttpResponse:
    """The workspace's waiting messages (top) and the one assigned to the workspace (bottom)."""
    return _assignment_page(request, _workspace(request, workspace_id), None)


@login_required
@require_http_methods(["GET", "POST"])
def waiting_queue(request: HttpRequest, queue_id: int) -> HttpResponse:
    """The waiting message assigned to one queue (it wins over the workspace's)."""
    try:
        queue = selectors.managed_queue_get(user=_agent(request), queue_id=queue_id)
    except NotFound as exc:
        raise Http404 from exc
    return _assignment_page(request, queue.workspace, queue)


@login_required
@require_http_methods(["GET", "POST"])
def waiting_message_add(request: HttpRequest, workspace_id: int) -> HttpResponse:
    workspace = _workspace(request, workspace_id)
    instance = WaitingMessage(tenant_id=workspace.tenant_id, workspace=workspace)
    form = WaitingMessageForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        message = services.waiting_message_create(
            workspace=workspace, user=_agent(request), **form.cleaned_data
        )
        messages.success(
            request,
            _("“%(title)s” was created; assign it to put it in force.") % {"title": message},
        )
        return redirect("waiting_workspace", workspace.pk)
    return render(request, "waiting/form.html", {"workspace": workspace, "form": form})


def _message(request: HttpRequest, waiting_message_id: int) -> WaitingMessage:
    try:
        return selectors.waiting_message_get(
            user=_agent(request), waiting_message_id=waiting_message_id
        )
    except NotFound as exc:
        raise Http404 from exc


@login_required
@require_http_methods(["GET", "POST"])
def waiting_message_edit(request: HttpRequest, waiting_message_id: int) -> HttpResponse:
    message = _message(request, waiting_message_id)
    form = WaitingMessageForm(request.POST or None, instance=message)
    if request.method == "POST" and form.is_valid():
        try:
            services.waiting_message_update(
                waiting_message=message, user=_agent(request), **form.cleaned_data
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Saved: it applies to every request from now on."))
            return redirect("waiting_workspace", message.workspace_id)
    return render(
        request,
        "waiting/form.html",
        {"workspace": message.workspace, "form": form, "waiting_message": message},
    )


@login_required
@require_http_methods(["GET", "POST"])
def waiting_message_delete(request: HttpRequest, waiting_message_id: int) -> HttpResponse:
    """Ask first: deleting cancels every send still to come and removes its assignments."""
    message = _message(request, waiting_message_id)
    if request.method == "POST":
        workspace_id = message.workspace_id
        title = str(message)
        services.waiting_message_delete(waiting_message=message, user=_agent(request))
        messages.success(request, _("“%(title)s” was deleted.") % {"title": title})
        return redirect(reverse("waiting_workspace", args=[workspace_id]))
    return render(
        request,
        "waiting/delete.html",
        {
            "workspace": message.workspace,
            "waiting_message": message,
            "places": selectors.assignment_places(waiting_message=message),
        },
    )

"""Agent pages: managing templates, rendering one for a ticket, history links of a ticket."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from comptoir.accounts.models import User, Workspace
from comptoir.core.errors import DomainError, NotAllowed, NotFound
from comptoir.core.files import safe_file_response
from comptoir.core.htmx import render_page_or_partial
from comptoir.core.sanitize import html_to_text, sanitize_html
from comptoir.responses import merge
from comptoir.responses.forms import TemplateForm
from comptoir.responses.history_link import history_link_revoke
from comptoir.responses.models import ResponseTemplate
from comptoir.responses.picker import template_choices_for_ticket
from comptoir.responses.selectors import (
    history_link_get,
    history_links_for_ticket,
    managed_workspaces,
    scope_choices,
    template_attachment_get,
    template_for_ticket,
    template_get,
    template_list,
)
from comptoir.responses.services import (
    editor_body_to_cid,
    editor_html,
    template_create,
    template_delete,
    template_set_active,
    template_update,
)
from comptoir.tickets.selectors import ticket_get

TEMPLATES_PER_PAGE = 25


def _agent(request: HttpRequest) -> User:
    return cast(User, request.user)


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _template(request: HttpRequest, template_id: int, *, manage: bool = True) -> ResponseTemplate:
    try:
        return template_get(user=_agent(request), template_id=template_id, manage=manage)
    except NotFound as exc:
        raise Http404 from exc
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc


def _int(value: Any) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


@login_required
@require_GET
def template_list_view(request: HttpRequest) -> HttpResponse:
    """The templates of the workspaces the agent manages, searchable, with the active switch."""
    user = _agent(request)
    workspaces = list(managed_workspaces(user))
    if not workspaces:
        raise PermissionDenied(_("You may not manage response templates."))
    workspace_id = _int(request.GET.get("workspace"))
    if workspace_id not in {w.pk for w in workspaces}:
        workspace_id = None
    search = request.GET.get("q", "").strip()[:200]
    qs = template_list(user=user, workspace_id=workspace_id, search=search)
    page = Paginator(qs, TEMPLATES_PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "search": search,
        "workspaces": workspaces,
        "workspace_id": workspace_id,
        "show_workspace": len(workspaces) > 1,
    }
    return render_page_or_partial(
        request, "responses/template_list.html", "template-results", context
    )


def _form_context(
    request: HttpRequest,
    form: TemplateForm,
    workspace: Workspace,
    template: ResponseTemplate | None,
    body: str,
) -> dict[str, Any]:
    return {
        "form": form,
        "workspace": workspace,
        "template": template,
        "editor_body": body,
        "field_groups": merge.field_groups(workspace),
        "attachments": [a for a in template.attachments.order_by("id") if not a.is_inline]
        if template
        else [],
        "workspaces": list(managed_workspaces(_agent(request))) if template is None else [],
    }


def _template_form(
    request: HttpRequest, workspace: Workspace, template: ResponseTemplate | None
) -> HttpResponse:
    user = _agent(request)
    queues, teams = scope_choices(workspace=workspace)
    attachment_ids = list(template.attachments.values_list("pk", flat=True)) if template else []
    options: dict[str, Any] = {"queues": queues, "teams": teams, "attachment_ids": attachment_ids}
    if request.method != "POST":
        initial: dict[str, Any] = {}
        body = ""
        if template is not None:
            initial = {
                "name": template.name,
                "queues": list(template.queues.all()),
                "teams": list(template.teams.all()),
            }
            body = editor_html(template.body_html, template.attachments.all())
        form = TemplateForm(initial=initial, **options)
        return render(
            request,
            "responses/template_form.html",
            _form_context(request, form, workspace, template, body),
        )
    form = TemplateForm(request.POST, request.FILES, **options)
    files = []
    if form.is_valid():
        files = form.new_files()
        data = form.cleaned_data
        try:
            if template is None:
                template = template_create(
                    user=user,
                    workspace=workspace,
                    name=data["name"],
                    body_html=data["body_html"],
                    queue_ids=[q.pk for q in data["queues"]],
                    team_ids=[t.pk for t in data["teams"]],
                    files=files,
                )
            else:
                template_update(
                    user=user,
                    template=template,
                    name=data["name"],
                    body_html=data["body_html"],
                    queue_ids=[q.pk for q in data["queues"]],
                    team_ids=[t.pk for t in data["teams"]],
                    files=files,
                    remove_attachment_ids=data["remove_attachments"],
                )
        except NotAllowed as exc:
            raise PermissionDenied(str(exc)) from exc
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            return redirect(reverse("template_list") + f"?workspace={workspace.pk}")
    # Shown again with its errors: the agent's text and new images kept, made safe.
    existing = list(template.attachments.all()) if template else []
    raw = editor_body_to_cid(request.POST.get("body_html", ""), existing)
    body = editor_html(sanitize_html(raw), existing, TemplateForm.pending_images(files))
    return render(
        request,
        "responses/template_form.html",
        _form_context(request, form, workspace, template, body),
    )


@login_required
@require_http_methods(["GET", "POST"])
def template_new(request: HttpRequest) -> HttpResponse:
    """Add a template to one of the workspaces the agent manages (`?workspace=`)."""
    workspaces = {w.pk: w for w in managed_workspaces(_agent(request))}
    if not workspaces:
        raise PermissionDenied(_("You may not manage response templates."))
    wanted = _int(request.POST.get("workspace") or request.GET.get("workspace"))
    workspace = workspaces.get(wanted or 0) or next(iter(workspaces.values()))
    return _template_form(request, workspace, None)


@login_required
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, template_id: int) -> HttpResponse:
    """Edit a template: name, content, scope, attachments; applies to its next use."""
    template = _template(request, template_id)
    return _template_form(request, template.workspace, template)


@login_required
@require_POST
def template_active(request: HttpRequest, template_id: int) -> HttpResponse:
    """The list's switch: activate or deactivate; htmx gets the row back."""
    template = _template(request, template_id)
    active = request.POST.get("active") in ("1", "true", "on")
    template = template_set_active(user=_agent(request), template=template, active=active)
    if not _is_htmx(request):
        return redirect(reverse("template_list") + f"?workspace={template.workspace_id}")
    template = template_list(user=_agent(request)).get(pk=template.pk)
    response = render(
        request,
        "responses/template_list.html#template-row",
        {"t": template, "show_workspace": len(managed_workspaces(_agent(request))) > 1},
    )
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_POST
def template_delete_view(request: HttpRequest, template_id: int) -> HttpResponse:
    template = _template(request, template_id)
    workspace_id = template.workspace_id
    template_delete(user=_agent(request), template=template)
    return redirect(reverse("template_list") + f"?workspace={workspace_id}")


@login_required
@require_GET
def template_render_view(request: HttpRequest, template_id: int) -> JsonResponse:
    """The template filled for `?ticket=`, as JSON for the composer (see the docs page)."""
    user = _agent(request)
    ticket_id = _int(request.GET.get("ticket"))
    if ticket_id is None:
        raise Http404
    try:
        ticket = ticket_get(user=user, ticket_id=ticket_id)
        template = template_for_ticket(user=user, ticket=ticket, template_id=template_id)
    except NotFound as exc:
        raise Http404 from exc
    return JsonResponse(template_rendered(template, ticket=ticket, agent=user))


def template_rendered(template: ResponseTemplate, *, ticket: Any, agent: User) -> dict[str, Any]:
    """What the composer (and the API preview) gets for a template on a ticket."""
    rendered = merge.render(template.body_html, ticket=ticket, agent=agent, html=True)
    labels = {f.name: str(f.label) for f in merge.available_fields(ticket.workspace_id)}
    return {
        "id": template.pk,
        "name": template.name,
        "html": rendered.text,
        "text": html_to_text(rendered.text),
        "missing_fields": rendered.missing_fields,
        # The same, as the agent reads them (the composer lists them before sending).
        "missing_labels": [labels.get(name, name) for name in rendered.missing_fields],
        "deferred_fields": rendered.deferred,
        "attachments": [
            {
                "id": a.pk,
                "filename": a.filename,
                "size": a.size,
                "content_type": a.content_type,
                "inline": a.is_inline,
                "content_id": a.content_id,
                "url": reverse("template_attachment_download", args=[a.pk]),
            }
            for a in template.attachments.order_by("id")
        ],
    }


@login_required
@require_GET
def ticket_templates(request: HttpRequest, ticket_id: int) -> JsonResponse:
    """The picker's list for a ticket: active templates in scope, by name."""
    user = _agent(request)
    try:
        ticket = ticket_get(user=user, ticket_id=ticket_id)
    except NotFound as exc:
        raise Http404 from exc
    items = [
        {
            "id": t.pk,
            "name": t.name,
            "render_url": reverse("template_render", args=[t.pk]) + f"?ticket={ticket.pk}",
        }
        for t in template_choices_for_ticket(user=user, ticket=ticket)
    ]
    return JsonResponse({"templates": items})


@login_required
@require_GET
def template_attachment_download(request: HttpRequest, template_attachment_id: int) -> FileResponse:
    """A template's file for agents of its workspace; never rendered or sniffed by browsers."""
    try:
        attachment = template_attachment_get(
            user=_agent(request), attachment_id=template_attachment_id
        )
    except NotFound as exc:
        raise Http404 from exc
    return safe_file_response(attachment.file, attachment.filename, attachment.content_type)


@login_required
@require_GET
def ticket_history_links(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The history links issued on a ticket (to whom, when, expiry), with revoke buttons."""
    try:
        ticket = ticket_get(user=_agent(request), ticket_id=ticket_id)
    except NotFound as exc:
        raise Http404 from exc
    return _history_links(request, ticket)


def _history_links(request: HttpRequest, ticket: Any) -> HttpResponse:
    links = list(history_links_for_ticket(ticket=ticket))
    return render(
        request, "responses/_history_links.html", {"ticket": ticket, "history_links": links}
    )


@login_required
@require_POST
def history_link_revoke_view(request: HttpRequest, history_link_id: int) -> HttpResponse:
    """Revoke a link: its page answers 403 from now on."""
    try:
        link = history_link_get(user=_agent(request), link_id=history_link_id)
    except NotFound as exc:
        raise Http404 from exc
    try:
        history_link_revoke(link=link, user=_agent(request))
    except NotAllowed as exc:
        raise PermissionDenied(str(exc)) from exc
    if not _is_htmx(request):
        return redirect(reverse("ticket_detail", args=[link.ticket_id]))
    return _history_links(request, link.ticket)

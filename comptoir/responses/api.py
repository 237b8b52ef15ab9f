"""API routes: templates (CRUD, base64 attachments), preview on a ticket, history links."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Field, Query, Router, Schema, Status

from comptoir.accounts.models import Workspace
from comptoir.accounts.rights import Right, has_right, visible_workspace_ids
from comptoir.api.auth import agent
from comptoir.api.schemas import ErrorOut, ValidationErrorOut
from comptoir.core.errors import DomainError, NotAllowed, NotFound
from comptoir.responses.history_link import (
    history_link_create,
    history_link_revoke,
    history_link_url,
)
from comptoir.responses.models import HistoryLink, ResponseTemplate
from comptoir.responses.picker import template_choices_for_ticket
from comptoir.responses.selectors import (
    history_link_get,
    history_links_for_ticket,
    template_for_ticket,
    template_get,
    template_list,
)
from comptoir.responses.services import (
    NewTemplateFile,
    template_create,
    template_delete,
    template_set_active,
    template_update,
)
from comptoir.responses.views import template_rendered
from comptoir.tickets.selectors import ticket_get

router = Router(tags=["templates"])


class AttachmentIn(Schema):
    filename: str = Field(max_length=255)
    content_base64: str = Field(description="The file's bytes, base64-encoded.")
    content_type: str = "application/octet-stream"
    inline: bool = Field(
        False, description="An image referenced from the body as cid:<content_id>."
    )
    content_id: str = Field("", description="For inline images; generated when empty.")


class TemplateAttachmentOut(Schema):
    id: int
    filename: str
    size: int
    content_type: str
    inline: bool
    content_id: str
    url: str = Field(description="Download for a logged-in agent of the workspace.")


class TemplateOut(Schema):
    id: int
    workspace_id: int
    name: str
    body_html: str
    is_active: bool
    queue_ids: list[int]
    team_ids: list[int]
    attachments: list[TemplateAttachmentOut]
    created_at: datetime
    updated_at: datetime


class TemplateIn(Schema):
    workspace_id: int
    name: str = Field(max_length=200)
    body_html: str = ""
    is_active: bool = True
    queue_ids: list[int] = []
    team_ids: list[int] = []
    attachments: list[AttachmentIn] = []


class TemplatePatch(Schema):
    name: str | None = Field(None, max_length=200)
    body_html: str | None = None
    is_active: bool | None = None
    queue_ids: list[int] | None = None
    team_ids: list[int] | None = None
    add_attachments: list[AttachmentIn] = []
    remove_attachment_ids: list[int] = []


class TemplateRef(Schema):
    id: int
    name: str


class RenderedAttachment(Schema):
    id: int
    filename: str
    size: int
    content_type: str
    inline: bool
    content_id: str
    url: str


class RenderedOut(Schema):
    id: int
    name: str
    html: str
    text: str
    missing_fields: list[str] = Field(description="Fields that rendered empty: show them.")
    deferred_fields: list[str] = Field(description="Filled when sent (the history link).")
    attachments: list[RenderedAttachment]


class HistoryLinkIn(Schema):
    recipient: str = Field("", max_length=320, description="Defaults to the contact's email.")


class HistoryLinkOut(Schema):
    id: int
    ticket_id: int
    recipient: str
    created_at: datetime
    cutoff_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    url: str | None = Field(None, description="Only in the answer that issued the link.")


def _files(items: list[AttachmentIn]) -> list[NewTemplateFile]:
    files = []
    for item in items:
        try:
            content = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise DomainError(f"attachment {item.filename!r}: invalid base64") from None
        files.append(
            NewTemplateFile(
                item.filename,
                content,
                item.content_type,
                is_inline=item.inline,
                content_id=item.content_id,
            )
        )
    return files


def _out(template: ResponseTemplate) -> dict[str, Any]:
    return {
        "id": template.pk,
        "workspace_id": template.workspace_id,
        "name": template.name,
        "body_html": template.body_html,
        "is_active": template.is_active,
        "queue_ids": sorted(q.pk for q in template.queues.all()),
        "team_ids": sorted(t.pk for t in template.teams.all()),
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
        "created_at": template.created_at,
        "updated_at": template.updated_at,
    }


def _link_out(link: HistoryLink, url: str | None = None) -> dict[str, Any]:
    return {
        "id": link.pk,
        "ticket_id": link.ticket_id,
        "recipient": link.recipient,
        "created_at": link.created_at,
        "cutoff_at": link.cutoff_at,
        "expires_at": link.expires_at,
        "revoked_at": link.revoked_at,
        "url": url,
    }


@router.get(
    "/templates",
    response={200: list[TemplateOut]},
    summary="List response templates",
    description="Templates of the workspaces where the agent holds `manage_templates`.",
)
def templates_list(
    request: HttpRequest,
    workspace: int | None = Query(None, description="Workspace id"),
    search: str = Query("", max_length=200, description="Name or content contains"),
    active: bool | None = Query(None),
) -> list[dict[str, Any]]:
    qs = template_list(user=agent(request), workspace_id=workspace, search=search, active=active)
    return [_out(t) for t in qs.prefetch_related("attachments")]


@router.post(
    "/templates",
    response={201: TemplateOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="Create a response template",
    description="Unknown merge fields are refused (422) with the list of offending names.",
)
def templates_create(request: HttpRequest, payload: TemplateIn) -> Status:
    user = agent(request)
    if payload.workspace_id not in visible_workspace_ids(user):
        raise NotFound("workspace")
    workspace = Workspace.objects.get(pk=payload.workspace_id)
    template = template_create(
        user=user,
        workspace=workspace,
        name=payload.name,
        body_html=payload.body_html,
        is_active=payload.is_active,
        queue_ids=payload.queue_ids,
        team_ids=payload.team_ids,
        files=_files(payload.attachments),
    )
    return Status(201, _out(template))


@router.get(
    "/templates/{template_id}",
    response={200: TemplateOut, 403: ErrorOut, 404: ErrorOut},
    summary="Get a response template",
)
def templates_detail(request: HttpRequest, template_id: int) -> dict[str, Any]:
    return _out(template_get(user=agent(request), template_id=template_id))


@router.patch(
    "/templates/{template_id}",
    response={200: TemplateOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="Edit a response template",
    description="Only the fields sent change; attachments are added and removed by id.",
)
def templates_update(
    request: HttpRequest, template_id: int, payload: TemplatePatch
) -> dict[str, Any]:
    user = agent(request)
    template = template_get(user=user, template_id=template_id)
    template = template_update(
        user=user,
        template=template,
        name=payload.name,
        body_html=payload.body_html,
        queue_ids=payload.queue_ids,
        team_ids=payload.team_ids,
        files=_files(payload.add_attachments),
        remove_attachment_ids=payload.remove_attachment_ids,
    )
    if payload.is_active is not None:
        template_set_active(user=user, template=template, active=payload.is_active)
    return _out(template)


@router.delete(
    "/templates/{template_id}",
    response={204: None, 403: ErrorOut, 404: ErrorOut},
    summary="Delete a response template",
)
def templates_delete(request: HttpRequest, template_id: int) -> HttpResponse:
    user = agent(request)
    template_delete(user=user, template=template_get(user=user, template_id=template_id))
    return HttpResponse(status=204)


@router.get(
    "/tickets/{ticket_id}/templates",
    response={200: list[TemplateRef], 404: ErrorOut},
    summary="Templates offered on a ticket",
    description="Active templates of the ticket's workspace in scope for the agent and queue.",
)
def tickets_templates(request: HttpRequest, ticket_id: int) -> list[dict[str, Any]]:
    user = agent(request)
    ticket = ticket_get(user=user, ticket_id=ticket_id)
    choices = template_choices_for_ticket(user=user, ticket=ticket)
    return [{"id": t.pk, "name": t.name} for t in choices]


@router.get(
    "/templates/{template_id}/render",
    response={200: RenderedOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="Render a template for a ticket (preview)",
    description=(
        "Merge fields filled for the ticket, the agent and now. `missing_fields` rendered "
        "empty; `{{ticket.history_link}}` stays a placeholder until the message is sent."
    ),
)
def templates_render(
    request: HttpRequest,
    template_id: int,
    ticket_id: int | None = Query(None, description="The ticket to render for (required)."),
) -> dict[str, Any]:
    user = agent(request)
    # A template the agent cannot see is not found, whatever else the request lacks.
    template_get(user=user, template_id=template_id, manage=False)
    if ticket_id is None:
        raise DomainError("ticket_id is required.")
    ticket = ticket_get(user=user, ticket_id=ticket_id)
    template = template_for_ticket(user=user, ticket=ticket, template_id=template_id)
    return template_rendered(template, ticket=ticket, agent=user)


@router.get(
    "/tickets/{ticket_id}/history-links",
    response={200: list[HistoryLinkOut], 404: ErrorOut},
    summary="History links issued on a ticket",
)
def history_links_list(request: HttpRequest, ticket_id: int) -> list[dict[str, Any]]:
    ticket = ticket_get(user=agent(request), ticket_id=ticket_id)
    return [_link_out(link) for link in history_links_for_ticket(ticket=ticket)]


@router.post(
    "/tickets/{ticket_id}/history-links",
    response={201: HistoryLinkOut, 403: ErrorOut, 404: ErrorOut},
    summary="Issue a history link",
    description=(
        "A link showing the contact's exchanges before now, valid seven days and while the "
        "ticket is open. The URL is only in this answer."
    ),
)
def history_links_issue(request: HttpRequest, ticket_id: int, payload: HistoryLinkIn) -> Status:
    user = agent(request)
    ticket = ticket_get(user=user, ticket_id=ticket_id)
    if not has_right(user, ticket.workspace_id, Right.USE_REQUEST_MESSAGES):
        raise NotAllowed("You may not issue links on this request.")
    link = history_link_create(ticket=ticket, recipient=payload.recipient, issued_by=user)
    language = ticket.contact.language if ticket.contact_id and ticket.contact else ""
    return Status(201, _link_out(link, history_link_url(link, language=language)))


@router.post(
    "/history-links/{history_link_id}/revoke",
    response={200: HistoryLinkOut, 403: ErrorOut, 404: ErrorOut},
    summary="Revoke a history link",
)
def history_links_revoke(request: HttpRequest, history_link_id: int) -> dict[str, Any]:
    user = agent(request)
    link = history_link_get(user=user, link_id=history_link_id)
    history_link_revoke(link=link, user=user)
    return _link_out(link)

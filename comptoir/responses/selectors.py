"""Reads on response templates, scoped to what the acting agent may see or manage."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from comptoir.accounts.models import Queue, Team, User, Workspace
from comptoir.accounts.rights import Right, has_right, visible_workspace_ids
from comptoir.core.errors import NotAllowed, NotFound
from comptoir.responses.models import HistoryLink, ResponseTemplate, ResponseTemplateAttachment
from comptoir.responses.picker import in_scope, my_team_ids, template_scopes
from comptoir.tickets.models import Ticket


def managed_workspace_ids(user: User) -> list[int]:
    """Workspaces where the user holds `manage_templates`."""
    return [w for w in visible_workspace_ids(user) if has_right(user, w, Right.MANAGE_TEMPLATES)]


def managed_workspaces(user: User) -> QuerySet[Workspace]:
    return Workspace.objects.filter(pk__in=managed_workspace_ids(user)).order_by("name")


def can_manage_templates(user: User) -> bool:
    """Whether the Templates pages are for this user (the right in any workspace)."""
    return bool(managed_workspace_ids(user))


def template_list(
    *,
    user: User,
    workspace_id: int | None = None,
    search: str = "",
    active: bool | None = None,
) -> QuerySet[ResponseTemplate]:
    """Templates of the workspaces the user manages, by name, optionally searched."""
    ids = managed_workspace_ids(user)
    if workspace_id is not None:
        ids = [i for i in ids if i == workspace_id]
    qs = ResponseTemplate.objects.filter(workspace_id__in=ids)
    search = search.strip()
    if search:
        qs = qs.filter(Q(name__icontains=search) | Q(body_html__icontains=search))
    if active is not None:
        qs = qs.filter(is_active=active)
    return (
        qs.select_related("workspace", "updated_by")
        .prefetch_related("queues", "teams")
        .order_by("name", "id")
    )


def template_get(*, user: User, template_id: int, manage: bool = True) -> ResponseTemplate:
    """A template of a workspace the user sees; `manage` also requires `manage_templates`.

    Another tenant's or an unseen workspace's template is NotFound; a visible one the user
    may not manage is NotAllowed.
    """
    template = (
        ResponseTemplate.objects.filter(
            pk=template_id, workspace_id__in=visible_workspace_ids(user)
        )
        .select_related("workspace")
        .first()
    )
    if template is None:
        raise NotFound("template")
    if manage and not has_right(user, template.workspace_id, Right.MANAGE_TEMPLATES):
        raise NotAllowed("You may not manage the templates of this workspace.")
    return template


def templates_for_ticket(*, user: User, ticket: Ticket) -> list[ResponseTemplate]:
    """Active templates offered in the composer of this ticket, by name, as model instances.

    Scope: picker.in_scope. The picker and the API's list read the cached
    `picker.template_choices_for_ticket` instead; this one reads the database.
    """
    if ticket.workspace_id not in visible_workspace_ids(user):
        return []
    active = list(
        ResponseTemplate.objects.filter(workspace_id=ticket.workspace_id, is_active=True)
        .defer("body_html")
        .order_by("name", "id")
    )
    if not active:
        return []
    queues, teams = template_scopes([t.pk for t in active])
    mine = my_team_ids(user, ticket.workspace_id) if teams else set()
    return [
        t
        for t in active
        if in_scope(t.pk, queues=queues, teams=teams, queue_id=ticket.queue_id, my_teams=mine)
    ]


def template_for_ticket(*, user: User, ticket: Ticket, template_id: int) -> ResponseTemplate:
    """One template offered on this ticket (active, same workspace, in scope), else NotFound."""
    for template in templates_for_ticket(user=user, ticket=ticket):
        if template.pk == template_id:
            return template
    raise NotFound("template")


def template_attachment_get(*, user: User, attachment_id: int) -> ResponseTemplateAttachment:
    """A template's file, for agents of its workspace (the composer shows inline images)."""
    attachment = (
        ResponseTemplateAttachment.objects.filter(
            pk=attachment_id, template__workspace_id__in=visible_workspace_ids(user)
        )
        .select_related("template")
        .first()
    )
    if attachment is None:
        raise NotFound("attachment")
    return attachment


def scope_choices(*, workspace: Workspace) -> tuple[QuerySet[Queue], QuerySet[Team]]:
    """Queues and teams a template of this workspace may be limited to."""
    return (
        Queue.objects.filter(workspace=workspace, is_active=True).order_by("name"),
        Team.objects.filter(workspace=workspace).order_by("name"),
    )


def history_links_for_ticket(*, ticket: Ticket) -> QuerySet[HistoryLink]:
    """Links issued on a ticket the caller already got through `ticket_get`, newest first."""
    return (
        HistoryLink.objects.filter(ticket=ticket)
        .select_related("issued_by", "revoked_by")
        .order_by("-created_at", "-id")
    )


def history_link_get(*, user: User, link_id: int) -> HistoryLink:
    """A link of a ticket the user may see."""
    link = (
        HistoryLink.objects.filter(pk=link_id, ticket__workspace_id__in=visible_workspace_ids(user))
        .select_related("ticket")
        .first()
    )
    if link is None:
        raise NotFound("history link")
    return link

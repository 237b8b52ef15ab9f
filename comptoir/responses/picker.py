"""The templates the composer's picker offers on a ticket, cached per workspace.

Every ticket page asks (the reply composer, the solicitation composer) and the answer
changes only when a template does: reading it cost ~0.9 ms of ORM work a page here, even
for a workspace without templates. The workspace's active templates (id, name, queues,
teams) are kept in the shared cache (Redis, or the file cache of one machine); the agent's
teams are read per request, and only when a template is restricted to teams.

Invalidation, as for the action bar's choices (core/versioned_cache.py): saving or deleting
a template, or changing its queues or teams, replaces the version token that is part of
every key. Writes that bypass signals are not seen: entries also expire after `TIMEOUT`.
The picker is only a menu: what the agent picks is checked again, uncached, by
`template_for_ticket`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import signals

from comptoir.accounts.models import Queue, Team, User
from comptoir.accounts.rights import visible_workspace_ids
from comptoir.core.versioned_cache import VersionedCache
from comptoir.responses.models import ResponseTemplate
from comptoir.tickets.models import Ticket

TIMEOUT = 300  # seconds; a safety net for writes that bypass signals
_cache = VersionedCache("template-picker", timeout=TIMEOUT)


@dataclass(frozen=True)
class TemplateChoice:
    """A template as the picker lists it (`t.pk`, `t.name`, as a model instance would)."""

    pk: int
    name: str
    queue_ids: frozenset[int]
    team_ids: frozenset[int]


def in_scope(
    template_id: int,
    *,
    queues: dict[int, Any],
    teams: dict[int, Any],
    queue_id: int | None,
    my_teams: set[int],
) -> bool:
    """A template with no queue and no team applies to the whole workspace; otherwise to
    tickets of its queues and to members of its teams (either one suffices)."""
    if template_id not in queues and template_id not in teams:
        return True
    return queue_id in queues.get(template_id, ()) or bool(my_teams & teams.get(template_id, set()))


def template_scopes(ids: list[int]) -> tuple[dict[int, set[int]], dict[int, set[int]]]:
    """The queues and the teams of each of these templates (those restricted to some)."""
    queues: dict[int, set[int]] = {}
    for template_id, queue_id in ResponseTemplate.queues.through.objects.filter(
        responsetemplate_id__in=ids
    ).values_list("responsetemplate_id", "queue_id"):
        queues.setdefault(template_id, set()).add(queue_id)
    teams: dict[int, set[int]] = {}
    for template_id, team_id in ResponseTemplate.teams.through.objects.filter(
        responsetemplate_id__in=ids
    ).values_list("responsetemplate_id", "team_id"):
        teams.setdefault(template_id, set()).add(team_id)
    return queues, teams


def my_team_ids(user: User, workspace_id: int) -> set[int]:
    """The teams of the workspace `user` belongs to (read only when a template needs them)."""
    return set(
        Team.objects.filter(workspace_id=workspace_id, members=user).values_list("pk", flat=True)
    )


def _load(workspace_id: int) -> tuple[TemplateChoice, ...]:
    active = list(
        ResponseTemplate.objects.filter(workspace_id=workspace_id, is_active=True)
        .order_by("name", "id")
        .values_list("pk", "name")
    )
    if not active:
        return ()
    queues, teams = template_scopes([pk for pk, _ in active])
    return tuple(
        TemplateChoice(
            pk=pk,
            name=name,
            queue_ids=frozenset(queues.get(pk, ())),
            team_ids=frozenset(teams.get(pk, ())),
        )
        for pk, name in active
    )


def workspace_template_choices(workspace_id: int) -> tuple[TemplateChoice, ...]:
    """The workspace's active templates, by name (cached; see the module's docstring)."""
    choices: tuple[TemplateChoice, ...] = _cache.get(
        workspace_id, lambda: _load(workspace_id), tuple
    )
    return choices


def template_choices_for_ticket(*, user: User, ticket: Ticket) -> list[TemplateChoice]:
    """Active templates offered to `user` on `ticket`, by name (the picker, the API list)."""
    if ticket.workspace_id not in visible_workspace_ids(user):
        return []
    choices = workspace_template_choices(ticket.workspace_id)
    my_teams = my_team_ids(user, ticket.workspace_id) if any(c.team_ids for c in choices) else set()
    queues = {c.pk: c.queue_ids for c in choices if c.queue_ids}
    teams = {c.pk: c.team_ids for c in choices if c.team_ids}
    return [
        c
        for c in choices
        if in_scope(c.pk, queues=queues, teams=teams, queue_id=ticket.queue_id, my_teams=my_teams)
    ]


def invalidate() -> None:
    """Forget every workspace's cached templates (now, and again after the commit)."""
    _cache.invalidate()


def _changed(sender: Any, **kwargs: Any) -> None:
    invalidate()


def connect() -> None:
    """Called from the app's ready(): every process must invalidate, not only web ones."""
    signals.post_save.connect(_changed, sender=ResponseTemplate, dispatch_uid="picker-save")
    signals.post_delete.connect(_changed, sender=ResponseTemplate, dispatch_uid="picker-delete")
    for through in (ResponseTemplate.queues.through, ResponseTemplate.teams.through):
        signals.m2m_changed.connect(_changed, sender=through, dispatch_uid=f"picker-{through}")
    # Deleting a queue or a team drops its template links without m2m_changed.
    for model in (Queue, Team):
        signals.post_delete.connect(_changed, sender=model, dispatch_uid=f"picker-del-{model}")

"""The ticket page's action choices (people to pick, contact reasons), cached per workspace.

Every ticket page of a workspace offers the same people and reasons; reading them costs two
queries and 2 to 3 ms of ORM work per page. They change rarely (a member, a user's name, a
role's rights, a reason), so they are kept in the shared cache (Redis, or the file cache of
one machine) and dropped whenever one of those rows is saved or deleted.

Invalidation (core/versioned_cache.py): `post_save`/`post_delete` of Membership, User, Role,
ContactReason and Workspace replace the version token that is part of every key. Writes
that bypass signals (`QuerySet.update`, `bulk_create`, raw SQL) are not seen: entries also
expire after `TIMEOUT`. What the page
shows is only a menu: the services check who may really be picked (`ticket_assignees`),
so a stale entry can at worst offer someone the action then refuses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import signals

from comptoir.accounts.models import Membership, Role, User, Workspace
from comptoir.accounts.rights import RoleCode
from comptoir.core.versioned_cache import VersionedCache
from comptoir.tickets.models import ContactReason, Ticket
from comptoir.tickets.selectors_actions import ticket_assignees

TIMEOUT = 300  # seconds; a safety net for writes that bypass signals
_cache = VersionedCache("ticket-actions", timeout=TIMEOUT)
# Lazy labels, translated when shown (RoleCode(code).label rebuilt the enum lookup each time).
_ROLE_LABELS = dict(RoleCode.choices)


@dataclass(frozen=True)
class Person:
    """What the action bar shows of someone to pick."""

    pk: int
    name: str
    initials: str

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class Pick:
    """A member who may be given the ticket, with their role (the bar's `a.user`, `a.role`)."""

    user: Person
    role: str

    @property
    def role_label(self) -> str:
        return str(_ROLE_LABELS.get(self.role, self.role))


@dataclass(frozen=True)
class Reason:
    pk: int
    name: str
    is_active: bool


@dataclass(frozen=True)
class WorkspaceChoices:
    assignees: tuple[Pick, ...]
    reasons: tuple[Reason, ...]  # every reason of the workspace, by name; retired ones too


def _load(ticket: Ticket) -> WorkspaceChoices:
    assignees = tuple(
        Pick(user=Person(pk=a.user.pk, name=str(a.user), initials=a.user.initials), role=a.role)
        for a in ticket_assignees(ticket=ticket)
    )
    reasons = tuple(
        Reason(pk=pk, name=name, is_active=active)
        for pk, name, active in ContactReason.objects.filter(workspace_id=ticket.workspace_id)
        .order_by("name")
        .values_list("pk", "name", "is_active")
    )
    return WorkspaceChoices(assignees=assignees, reasons=reasons)


def workspace_choices(*, ticket: Ticket) -> WorkspaceChoices:
    """People and reasons of the ticket's workspace (the caller got `ticket` scoped)."""
    choices: WorkspaceChoices = _cache.get(
        ticket.workspace_id, lambda: _load(ticket), WorkspaceChoices
    )
    return choices


def reasons_for(choices: WorkspaceChoices, ticket: Ticket) -> list[Reason]:
    """Active reasons, plus the ticket's own if since retired (as `contact_reason_choices`)."""
    return [r for r in choices.reasons if r.is_active or r.pk == ticket.contact_reason_id]


def invalidate() -> None:
    """Forget every workspace's cached choices (now, and again after the commit)."""
    _cache.invalidate()


def _changed(sender: Any, **kwargs: Any) -> None:
    update_fields = kwargs.get("update_fields")
    # A login saves last_login only: nothing the action bar shows.
    if sender is User and update_fields and set(update_fields) <= {"last_login", "password"}:
        return
    invalidate()


def connect() -> None:
    """Called from the app's ready(): every process must invalidate, not only web ones."""
    for model in (Membership, User, Role, ContactReason, Workspace):
        signals.post_save.connect(_changed, sender=model, dispatch_uid=f"ticket-actions-{model}")
        signals.post_delete.connect(
            _changed, sender=model, dispatch_uid=f"ticket-actions-del-{model}"
        )

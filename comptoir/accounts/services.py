"""Writes on the organisation: tenants, workspaces, queues, teams, agents, tokens."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from comptoir.accounts.models import (
    ApiToken,
    Membership,
    Queue,
    Role,
    Team,
    Tenant,
    User,
    Workspace,
)
from comptoir.accounts.rights import DEFAULT_ROLE_RIGHTS, RoleCode
from comptoir.core.errors import DomainError


@transaction.atomic
def tenant_create(*, name: str, slug: str = "") -> Tenant:
    """Create a tenant with its five roles holding their default rights."""
    tenant = Tenant.objects.create(name=name, slug=slug or slugify(name))
    Role.objects.bulk_create(
        [
            Role(tenant=tenant, code=code, rights=[str(r) for r in DEFAULT_ROLE_RIGHTS[code]])
            for code in RoleCode.values
        ]
    )
    return tenant


def workspace_create(*, tenant: Tenant, name: str, slug: str = "") -> Workspace:
    """Create a workspace (espace client) in the tenant."""
    return Workspace.objects.create(tenant=tenant, name=name, slug=slug or slugify(name))


def queue_create(*, workspace: Workspace, name: str) -> Queue:
    """Create a queue (file) in the workspace."""
    return Queue.objects.create(tenant_id=workspace.tenant_id, workspace=workspace, name=name)


def team_create(*, workspace: Workspace, name: str, members: Iterable[User] = ()) -> Team:
    """Create a team in the workspace with its members."""
    team = Team.objects.create(tenant_id=workspace.tenant_id, workspace=workspace, name=name)
    team.members.set(list(members))
    return team


@transaction.atomic
def agent_create(
    *,
    tenant: Tenant,
    email: str,
    password: str | None,
    first_name: str = "",
    last_name: str = "",
    language: str = "fr",
) -> User:
    """Create an agent account in the tenant (argon2-hashed password)."""
    if User.objects.filter(email__iexact=email).exists():
        raise DomainError(f"an account already uses {email}")
    return User.objects.create_user(
        email=email,
        password=password,
        tenant=tenant,
        first_name=first_name,
        last_name=last_name,
        language=language,
    )


def membership_set(
    *, user: User, workspace: Workspace, role: str, extra_rights: Iterable[str] = ()
) -> Membership:
    """Give `user` the role `role` in `workspace` (replacing a previous one)."""
    if user.tenant_id != workspace.tenant_id:
        raise DomainError("agent and workspace belong to different tenants")
    role_obj = Role.objects.get(tenant_id=workspace.tenant_id, code=role)
    membership, _ = Membership.objects.update_or_create(
        user=user,
        workspace=workspace,
        defaults={"role": role_obj, "extra_rights": list(extra_rights)},
    )
    return membership


def token_create(*, user: User, name: str = "") -> str:
    """Issue an API token for the agent; the clear key is returned once and never stored."""
    key = ApiToken.generate()
    ApiToken.objects.create(user=user, name=name, key_hash=ApiToken.hash(key), prefix=key[:8])
    return key


def token_authenticate(key: str) -> User | None:
    """The active agent behind a bearer token, or None."""
    token = (
        ApiToken.objects.filter(key_hash=ApiToken.hash(key), revoked_at__isnull=True)
        .select_related("user")
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user

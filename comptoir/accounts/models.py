"""Organisation and people: tenants, workspaces, queues, teams, agents, roles."""

from __future__ import annotations

import hashlib
import secrets

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.rights import Right, RoleCode


class Tenant(models.Model):
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True)
    # Last human ticket number handed out; bumped in the ticket's transaction.
    last_ticket_number = models.PositiveBigIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("tenant")
        verbose_name_plural = _("tenants")

    def __str__(self) -> str:
        return self.name


class Workspace(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="workspaces")
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"))
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("workspace")
        verbose_name_plural = _("workspaces")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "slug"], name="workspace_slug_per_tenant")
        ]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Queue(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="queues")
    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.workspace_id and self.tenant_id and self.workspace.tenant_id != self.tenant_id:
            raise ValidationError(_("The workspace belongs to another tenant."))


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        email = self.normalize_email(email).lower()
        user = self.model(email=email, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractUser):
    """An agent (or an administrator): a person who logs in to handle requests."""

    username = None  # type: ignore[assignment]
    email = models.EmailField(_("email address"), unique=True)
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="agents", null=True, blank=True
    )
    language = models.CharField(
        _("language"), max_length=8, choices=[("fr", "Français"), ("en", "English")], default="fr"
    )
    signature = models.TextField(_("signature"), blank=True)

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS = []  # type: ignore[misc]
    objects = UserManager()  # type: ignore[misc,assignment]

    class Meta:
        verbose_name = _("agent")
        verbose_name_plural = _("agents")

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    @property
    def initials(self) -> str:
        parts = [p for p in (self.first_name, self.last_name) if p]
        if parts:
            return "".join(p[0] for p in parts).upper()
        return self.email[:2].upper()


class Role(models.Model):
    """A role of a tenant (administrator, coordinator, …) and the rights it grants."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="roles")
    code = models.CharField(_("role"), max_length=32, choices=RoleCode.choices)
    rights = models.JSONField(_("rights"), default=list, blank=True)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        constraints = [models.UniqueConstraint(fields=["tenant", "code"], name="role_per_tenant")]

    def __str__(self) -> str:
        return str(self.get_code_display())

    def clean(self) -> None:
        unknown = set(self.rights) - set(Right.values)
        if unknown:
            raise ValidationError({"rights": _("Unknown rights: %s") % ", ".join(sorted(unknown))})


class Membership(models.Model):
    """The role an agent holds in one workspace, plus rights given to that profile."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="memberships")
    extra_rights = models.JSONField(_("extra rights"), default=list, blank=True)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [
            models.UniqueConstraint(fields=["user", "workspace"], name="one_role_per_workspace")
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.workspace} ({self.role})"

    def clean(self) -> None:
        tenant_ids = {self.workspace.tenant_id, self.role.tenant_id}
        if self.user.tenant_id is not None:
            tenant_ids.add(self.user.tenant_id)
        if len(tenant_ids) != 1:
            raise ValidationError(_("Agent, workspace and role must belong to one tenant."))
        unknown = set(self.extra_rights) - set(Right.values)
        if unknown:
            raise ValidationError(
                {"extra_rights": _("Unknown rights: %s") % ", ".join(sorted(unknown))}
            )


class Team(models.Model):
    """A group of agents (groupe de travail) inside a workspace."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="teams")
    name = models.CharField(_("name"), max_length=200)
    members = models.ManyToManyField(User, related_name="teams", blank=True)

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A bearer token for the REST API; only its SHA-256 is stored."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @staticmethod
    def hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()

    @staticmethod
    def generate() -> str:
        return "cpt_" + secrets.token_urlsafe(32)

"""Django admin scoped per tenant: a tenant's administrators see and edit only their own.

Platform superusers see everything. A staff agent sees the objects of its tenant, and of
workspace-bound objects only those of workspaces where it holds `manage_workspace`.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from comptoir.accounts.rights import Right, rights_of, visible_workspace_ids


def managed_workspace_ids(request: HttpRequest) -> list[int]:
    user = request.user
    return [
        w
        for w in visible_workspace_ids(user)  # type: ignore[arg-type]
        if Right.MANAGE_WORKSPACE in rights_of(user, w)  # type: ignore[arg-type]
    ]


class TenantScopedAdmin(admin.ModelAdmin):
    """Base admin: filters rows by tenant (and workspace), fills the tenant on save."""

    tenant_field: str | None = "tenant"
    workspace_field: str | None = None

    def _is_tenant_admin(self, request: HttpRequest) -> bool:
        user = request.user
        return bool(
            user.is_active
            and user.is_staff
            and getattr(user, "tenant_id", None)
            and managed_workspace_ids(request)
        )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or self._is_tenant_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request) and (obj is None or self._owns(request, obj))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_view_permission(request, obj)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_view_permission(request, obj)

    def _owns(self, request: HttpRequest, obj: Model) -> bool:
        if request.user.is_superuser:
            return True
        return self.get_queryset(request).filter(pk=obj.pk).exists()

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        if not self._is_tenant_admin(request):
            return qs.none()
        if self.tenant_field:
            qs = qs.filter(**{self.tenant_field: request.user.tenant_id})  # type: ignore[union-attr]
        if self.workspace_field:
            qs = qs.filter(**{f"{self.workspace_field}__in": managed_workspace_ids(request)})
        return qs

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        exclude = list(super().get_exclude(request, obj) or [])
        if not request.user.is_superuser and self.tenant_field == "tenant":
            exclude.append("tenant")
        return exclude

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if not request.user.is_superuser and self.tenant_field == "tenant":
            obj.tenant_id = request.user.tenant_id  # type: ignore[union-attr]
        super().save_model(request, obj, form, change)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        kwargs["queryset"] = scoped_choices(db_field.related_model, request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        kwargs["queryset"] = scoped_choices(db_field.related_model, request)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


def scoped_choices(model: type[Model], request: HttpRequest) -> QuerySet[Any]:
    """The rows of `model` a tenant administrator may pick in a form."""
    qs = model._default_manager.all()
    user = request.user
    if user.is_superuser:
        return qs
    tenant_id = getattr(user, "tenant_id", None)
    names = {f.name for f in model._meta.get_fields()}
    if model._meta.label_lower == "accounts.tenant":
        return qs.filter(pk=tenant_id)
    if model._meta.label_lower == "accounts.workspace":
        return qs.filter(pk__in=managed_workspace_ids(request))
    if "workspace" in names and model._meta.label_lower != "accounts.user":
        return qs.filter(workspace_id__in=managed_workspace_ids(request))
    if "tenant" in names:
        return qs.filter(tenant_id=tenant_id)
    return qs.none()


class TenantScopedInline(admin.TabularInline):
    """Inline whose foreign-key choices are limited to the administrator's tenant."""

    extra = 0

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        kwargs["queryset"] = scoped_choices(db_field.related_model, request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True

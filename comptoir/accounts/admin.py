from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import Membership, Queue, Role, Team, Tenant, User, Workspace
from comptoir.accounts.rights import Right, RoleCode
from comptoir.accounts.services import membership_set
from comptoir.core.admin import TenantScopedAdmin, TenantScopedInline, scoped_choices


class RightsField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs: Any) -> None:
        kwargs.pop("encoder", None)
        kwargs.pop("decoder", None)
        kwargs.pop("max_length", None)
        super().__init__(choices=Right.choices, required=False, **kwargs)


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin):
    tenant_field = None
    list_display = ["name", "slug", "created_at"]
    readonly_fields = ["last_ticket_number"]

    def get_queryset(self, request: HttpRequest) -> Any:
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        return qs.filter(pk=getattr(request.user, "tenant_id", None))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser


class QueueInline(TenantScopedInline):
    model = Queue
    fields = ["name", "is_active"]


@admin.register(Workspace)
class WorkspaceAdmin(TenantScopedAdmin):
    workspace_field = "pk"
    list_display = ["name", "slug", "is_active"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [QueueInline]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        # Queues created inline inherit the workspace's tenant.
        for obj in formset.save(commit=False):
            obj.tenant_id = form.instance.tenant_id
            obj.save()
        for obj in formset.deleted_objects:
            obj.delete()

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change and not request.user.is_superuser:
            # Whoever opens a workspace administers it, or it would vanish from their view.
            membership_set(user=request.user, workspace=obj, role=RoleCode.ADMINISTRATOR)  # type: ignore[arg-type]


@admin.register(Queue)
class QueueAdmin(TenantScopedAdmin):
    workspace_field = "workspace"
    list_display = ["name", "workspace", "is_active"]
    list_filter = ["workspace"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.tenant_id = obj.workspace.tenant_id
        super().save_model(request, obj, form, change)


@admin.register(Team)
class TeamAdmin(TenantScopedAdmin):
    workspace_field = "workspace"
    list_display = ["name", "workspace"]
    filter_horizontal = ["members"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.tenant_id = obj.workspace.tenant_id
        super().save_model(request, obj, form, change)


class RoleForm(forms.ModelForm):
    rights = RightsField(label=_("rights"))

    class Meta:
        model = Role
        fields = ["code", "rights"]


@admin.register(Role)
class RoleAdmin(TenantScopedAdmin):
    form = RoleForm
    list_display = ["code", "tenant"]


class MembershipForm(forms.ModelForm):
    extra_rights = RightsField(label=_("extra rights"))

    class Meta:
        model = Membership
        fields = ["workspace", "role", "extra_rights"]


class MembershipInline(TenantScopedInline):
    model = Membership
    form = MembershipForm
    fk_name = "user"


class AgentCreationForm(forms.ModelForm):
    password = forms.CharField(label=_("Password"), widget=forms.PasswordInput)

    class Meta:
        model = User
        fields = ["email", "first_name", "last_name", "language"]

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        user.set_password(self.cleaned_data["password"])
        if commit:
            user.save()
        return user


@admin.register(User)
class AgentAdmin(TenantScopedAdmin, BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_active", "is_staff"]
    search_fields = ["email", "first_name", "last_name"]
    inlines = [MembershipInline]
    add_form = AgentCreationForm
    add_fieldsets = (
        (None, {"fields": ["email", "first_name", "last_name", "language", "password"]}),
    )

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return self.add_fieldsets
        fields = ["email", "password", "first_name", "last_name", "language", "signature"]
        fields += ["is_active", "is_staff"]
        if request.user.is_superuser:
            fields += ["tenant", "is_superuser"]
        return ((None, {"fields": fields}),)

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        return None

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        kwargs["queryset"] = scoped_choices(db_field.related_model, request)
        return admin.ModelAdmin.formfield_for_foreignkey(self, db_field, request, **kwargs)

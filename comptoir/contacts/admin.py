from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from comptoir.contacts.models import Contact, ContactIdentity, CustomField, CustomFieldValue
from comptoir.core.admin import TenantScopedAdmin, TenantScopedInline


@admin.register(CustomField)
class CustomFieldAdmin(TenantScopedAdmin):
    workspace_field = "workspace"
    list_display = ["label", "key", "field_type", "workspace", "position", "on_form"]
    list_filter = ["workspace", "field_type", "on_form"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.tenant_id = obj.workspace.tenant_id
        super().save_model(request, obj, form, change)


class IdentityInline(TenantScopedInline):
    model = ContactIdentity
    fields = ["kind", "value", "is_primary"]


class CustomValueInline(TenantScopedInline):
    model = CustomFieldValue
    fields = ["field", "value"]


@admin.register(Contact)
class ContactAdmin(TenantScopedAdmin):
    list_display = ["__str__", "company", "created_at"]
    search_fields = ["first_name", "last_name", "company", "identities__value"]
    inlines = [IdentityInline, CustomValueInline]

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        for obj in formset.save(commit=False):
            obj.tenant_id = form.instance.tenant_id
            obj.save()
        for obj in formset.deleted_objects:
            obj.delete()

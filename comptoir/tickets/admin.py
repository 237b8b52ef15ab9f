from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from comptoir.core.admin import TenantScopedAdmin
from comptoir.tickets.models import ContactReason


@admin.register(ContactReason)
class ContactReasonAdmin(TenantScopedAdmin):
    workspace_field = "workspace"
    list_display = ["name", "workspace", "is_active"]
    list_filter = ["workspace", "is_active"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        obj.tenant_id = obj.workspace.tenant_id
        super().save_model(request, obj, form, change)

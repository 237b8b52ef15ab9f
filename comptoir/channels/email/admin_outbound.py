"""Admin of the outbound side: acknowledgments of receipt, and the outbox (read-only)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from comptoir.channels.email.delivery import outgoing_retry
from comptoir.channels.email.models import Acknowledgment, OutgoingEmail, OutgoingStatus
from comptoir.core.admin import TenantScopedAdmin


@admin.register(Acknowledgment)
class AcknowledgmentAdmin(TenantScopedAdmin):
    workspace_field = "workspace"
    list_display = ("subject", "workspace", "queue", "is_enabled", "delay_hours")
    list_filter = ("is_enabled",)
    fields = ("workspace", "queue", "is_enabled", "subject", "body", "delay_hours")

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = super().get_form(request, obj, change=change, **kwargs)
        for name in ("subject", "body"):
            if name in form.base_fields:
                form.base_fields[name].help_text = _(
                    "Merge fields of response templates, e.g. {{contact.first_name}}, "
                    "{{ticket.number}}, {{ticket.history_link}}, and {{delay_hours}}."
                )
        queue = form.base_fields.get("queue")
        if queue is not None:
            queue.help_text = _("Empty: the workspace's acknowledgment; a queue: its override.")
        return form

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # The tenant always follows the workspace (the form does not show it).
        obj.tenant_id = obj.workspace.tenant_id
        super().save_model(request, obj, form, change)


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(TenantScopedAdmin):
    list_display = ("subject", "kind", "status", "attempts", "created_at", "sent_at")
    list_filter = ("status", "kind")
    search_fields = ("subject", "message_id")
    readonly_fields = [f.name for f in OutgoingEmail._meta.fields]
    actions = ["send_again"]

    @admin.action(description=_("Send the selected failed emails again"))
    def send_again(self, request: HttpRequest, queryset: QuerySet[OutgoingEmail]) -> None:
        """Put failed rows back in the outbox (an administrator fixed the cause)."""
        failed = list(queryset.filter(status=OutgoingStatus.FAILED))
        for outgoing in failed:
            outgoing_retry(outgoing=outgoing)
        self.message_user(
            request,
            ngettext(
                "%(count)d email queued again; the next delivery round sends it.",
                "%(count)d emails queued again; the next delivery round sends them.",
                len(failed),
            )
            % {"count": len(failed)},
            messages.SUCCESS if failed else messages.WARNING,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

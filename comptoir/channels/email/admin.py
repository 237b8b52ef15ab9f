"""Administration of the email channel, scoped per tenant (comptoir/core/admin.py)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from comptoir.channels.email.models import AddressFlag, InboundEmail, InboundStatus, Mailbox
from comptoir.core.admin import TenantScopedAdmin, managed_workspace_ids


@admin.register(Mailbox)
class MailboxAdmin(TenantScopedAdmin):
    workspace_field = "workspace"
    list_display = ("address", "display_name", "workspace", "queue", "is_active", "imap_enabled")
    list_filter = ("is_active", "imap_enabled")
    search_fields = ("address", "display_name")
    fieldsets = (
        (None, {"fields": ("address", "display_name", "workspace", "queue", "is_active")}),
        (
            _("IMAP"),
            {
                "fields": (
                    "imap_enabled",
                    "imap_host",
                    "imap_port",
                    "imap_security",
                    "imap_username",
                    "imap_password",
                    "imap_folder",
                    "imap_archive_folder",
                )
            },
        ),
    )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # The tenant follows the workspace (superusers have no tenant of their own); the
        # workspace choices are already limited to the administrator's own.
        obj.tenant_id = obj.workspace.tenant_id
        obj.save()

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["tenant"]


@admin.register(InboundEmail)
class InboundEmailAdmin(TenantScopedAdmin):
    list_display = (
        "id",
        "received_at",
        "mailbox",
        "transport",
        "status",
        "attempts",
        "size",
        "ticket",
        "short_error",
    )
    list_filter = ("status", "transport")
    search_fields = ("dedup_key", "envelope_from", "envelope_to")
    date_hierarchy = "received_at"
    ordering = ("-received_at", "-id")
    actions = ("replay",)
    readonly_fields = (
        "mailbox",
        "transport",
        "envelope_from",
        "envelope_to",
        "dedup_key",
        "size",
        "status",
        "error",
        "attempts",
        "received_at",
        "processed_at",
        "ticket",
        "ticket_message",
    )
    exclude = ("raw", "tenant")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        qs = super().get_queryset(request).select_related("mailbox", "ticket")
        if not request.user.is_superuser:
            # Mail of mailboxes in workspaces this administrator manages.
            qs = qs.filter(mailbox__workspace_id__in=managed_workspace_ids(request))
        return qs.defer("raw")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # mail arrives by its transports, never typed in

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # the record of what arrived is not edited; replay is an action

    @admin.display(description=_("error"))
    def short_error(self, obj: InboundEmail) -> str:
        return (obj.error.strip().splitlines() or [""])[-1][:120]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        quarantined = self.get_queryset(request).filter(status=InboundStatus.QUARANTINED).count()
        if quarantined and request.method == "GET":
            self.message_user(
                request,
                ngettext(
                    "%(count)d received email is in quarantine: fix the cause, then replay it.",
                    "%(count)d received emails are in quarantine: fix the cause, then replay them.",
                    quarantined,
                )
                % {"count": quarantined},
                messages.WARNING,
            )
        extra_context = {**(extra_context or {}), "quarantined_count": quarantined}
        return super().changelist_view(request, extra_context=extra_context)

    @admin.action(description=_("Process the selected quarantined emails again"))
    def replay(self, request: HttpRequest, queryset: QuerySet[InboundEmail]) -> None:
        from comptoir.channels.email.process import inbound_replay

        ids = list(queryset.filter(status=InboundStatus.QUARANTINED).values_list("pk", flat=True))
        result = inbound_replay(inbound_ids=ids)
        self.message_user(
            request,
            _(
                "%(processed)d processed, %(ignored)d ignored, %(quarantined)d still "
                "quarantined, %(failed)d to retry."
            )
            % {
                "processed": result.processed,
                "ignored": result.ignored,
                "quarantined": result.quarantined,
                "failed": len(result.failed),
            },
            messages.SUCCESS if not result.quarantined and not result.failed else messages.WARNING,
        )


@admin.register(AddressFlag)
class AddressFlagAdmin(TenantScopedAdmin):
    list_display = ("address", "reason", "count", "last_at", "detail")
    list_filter = ("reason",)
    search_fields = ("address",)
    ordering = ("-last_at",)
    readonly_fields = ("address", "reason", "count", "last_at", "detail")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # flags come from bounces; deleting one un-flags the address


# The acknowledgment and outbox screens live beside the outbound code; registering them here
# keeps the app's admin in one import.
from comptoir.channels.email import admin_outbound  # noqa: E402, F401

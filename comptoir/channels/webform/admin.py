"""Administration of web forms (tenant-scoped), with the code to paste into a site."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from comptoir.channels.webform.models import WebForm, new_public_key
from comptoir.core.admin import TenantScopedAdmin


def embed_codes(request: HttpRequest, web_form: WebForm) -> dict[str, str]:
    """The form's public address, its script snippet and its iframe, for this host."""
    url = request.build_absolute_uri(reverse("webform", args=[web_form.public_key]))
    script = request.build_absolute_uri(static("webform/embed.js"))
    return {
        "url": url,
        "script": f'<script src="{script}" data-comptoir-form="{url}" async></script>',
        "iframe": (
            f'<iframe src="{url}?embed=1" title="{web_form}" '
            'style="width:100%;height:900px;border:0" loading="lazy"></iframe>'
        ),
        "api": request.build_absolute_uri(f"/api/v1/webform/{web_form.public_key}"),
    }


@admin.register(WebForm)
class WebFormAdmin(TenantScopedAdmin):
    workspace_field = "workspace"
    list_display = ("__str__", "workspace", "queue", "is_active", "public_key")
    list_filter = ("is_active", "workspace")
    search_fields = ("title", "public_key")
    readonly_fields = ("public_key",)
    fields = ("title", "workspace", "queue", "is_active", "intro", "allowed_origins", "public_key")
    actions = ("new_key",)
    change_form_template = "webform/admin_change_form.html"

    def get_exclude(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["tenant"]

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        # The tenant follows the workspace; the choices are already the administrator's own.
        obj.tenant_id = obj.workspace.tenant_id
        obj.save()

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> HttpResponse:
        obj = kwargs.get("obj")
        if obj is not None and obj.pk:
            context["embed"] = embed_codes(request, obj)
        return super().render_change_form(request, context, *args, **kwargs)

    @admin.action(description=_("Give a new public key (old embeds stop working)"))
    def new_key(self, request: HttpRequest, queryset: QuerySet[WebForm]) -> None:
        for web_form in queryset:
            web_form.public_key = new_public_key()
            web_form.save(update_fields=["public_key"])
        self.message_user(request, _("New public keys given."), messages.SUCCESS)

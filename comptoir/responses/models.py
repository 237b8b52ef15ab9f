"""Response templates (modèles de réponse), their attachments, and issued history links."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import Queue, Team, Tenant, Workspace
from comptoir.tickets.models import Message, Ticket
from comptoir.tickets.safe_names import safe_filename


class ResponseTemplate(models.Model):
    """Reusable reply content with merge fields; optionally limited to queues or teams."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="response_templates", db_index=False
    )
    name = models.CharField(_("name"), max_length=200)
    body_html = models.TextField(_("content"), blank=True, help_text="Sanitized HTML.")
    is_active = models.BooleanField(_("active"), default=True)
    # Empty scope: every queue of the workspace. Otherwise the template is offered on tickets
    # of these queues, or to members of these teams.
    queues = models.ManyToManyField(Queue, blank=True, related_name="+", verbose_name=_("queues"))
    teams = models.ManyToManyField(Team, blank=True, related_name="+", verbose_name=_("teams"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("response template")
        verbose_name_plural = _("response templates")
        indexes = [models.Index(fields=["workspace", "name"], name="template_ws_name")]

    def __str__(self) -> str:
        return self.name


def template_attachment_path(instance: ResponseTemplateAttachment, filename: str) -> str:
    """Like ticket attachments: under the tenant, in a random folder, with a safe name."""
    return str(
        PurePosixPath("template-attachments")
        / str(instance.tenant_id)
        / timezone.now().strftime("%Y/%m")
        / uuid.uuid4().hex
        / safe_filename(filename)
    )


class ResponseTemplateAttachment(models.Model):
    """A file sent with every use of the template, or an inline image (`cid:` in the body)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    template = models.ForeignKey(
        ResponseTemplate, on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(upload_to=template_attachment_path, max_length=500)
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=255, default="application/octet-stream")
    size = models.PositiveBigIntegerField(default=0)
    content_id = models.CharField(max_length=255, blank=True)
    is_inline = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("template attachment")
        verbose_name_plural = _("template attachments")

    def __str__(self) -> str:
        return self.filename


class HistoryLink(models.Model):
    """A public, expiring link to the exchanges of one ticket, issued when a message carried it.

    The signed token repeats tenant, ticket, contact, cut-off and expiry; the row is what an
    agent revokes and what the ticket's history lists.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="history_links", db_index=False
    )
    # The contact the ticket had when the link was issued (None: an unknown requester).
    contact_id_at_issue = models.BigIntegerField(null=True, blank=True)
    recipient = models.CharField(_("recipient"), max_length=320, blank=True)
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    cutoff_at = models.DateTimeField(_("shows messages before"))
    expires_at = models.DateTimeField(_("expires"))
    created_at = models.DateTimeField(_("issued"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("history link")
        verbose_name_plural = _("history links")
        indexes = [models.Index(fields=["ticket", "-created_at"], name="historylink_ticket")]

    def __str__(self) -> str:
        return f"#{self.ticket_id} → {self.recipient}"

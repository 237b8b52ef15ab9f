"""Waiting messages (messages d'attente): automatic emails sent when a request waits too long."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import Queue, Tenant, Workspace
from comptoir.tickets.models import Message, Status, Ticket

# The statuses a waiting message can watch, with the field holding each threshold.
WATCHED_STATUSES: dict[str, str] = {
    Status.TO_PROCESS: "hours_to_process",
    Status.AWAITING_EXPERT: "hours_awaiting_expert",
    Status.AWAITING_EXTERNAL: "hours_awaiting_external",
}

_HOURS_HELP = _("A whole number of hours, at least 1. Empty: never sent for this status.")


def _hours_field(label: Any) -> models.PositiveIntegerField:
    return models.PositiveIntegerField(
        label,
        null=True,
        blank=True,
        help_text=_HOURS_HELP,
        validators=[
            MinValueValidator(1, message=_("Enter at least 1 hour, or leave the field empty."))
        ],
    )


class WaitingMessage(models.Model):
    """A message of a workspace; it does nothing until assigned to the workspace or a queue."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="waiting_messages"
    )
    title = models.CharField(
        _("title / subject"),
        max_length=998,
        help_text=_("Describes its purpose; also the subject of the email."),
    )
    body = models.TextField(_("body"), help_text=_("Merge fields such as {{contact.first_name}}."))
    hours_to_process = _hours_field(_("hours for “to process”"))
    hours_awaiting_expert = _hours_field(_("hours for “awaiting expert”"))
    hours_awaiting_external = _hours_field(_("hours for “to process by external agent”"))
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("waiting message")
        verbose_name_plural = _("waiting messages")
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return self.title

    def hours_for(self, status: str) -> int | None:
        field = WATCHED_STATUSES.get(status)
        return getattr(self, field) if field else None

    def clean(self) -> None:
        errors: dict[str, list[str]] = {}
        values = [getattr(self, f) for f in WATCHED_STATUSES.values()]
        for field in WATCHED_STATUSES.values():
            if getattr(self, field) == 0:
                errors[field] = [str(_("Enter at least 1 hour, or leave the field empty."))]
        if all(v is None for v in values):
            message = str(_("Give the hours for at least one of the three statuses."))
            for field in WATCHED_STATUSES.values():
                errors.setdefault(field, []).append(message)
        from comptoir.waiting.rendering import unknown_fields

        for field in ("title", "body"):
            if unknown := unknown_fields(getattr(self, field), self.workspace_id):
                errors[field] = [
                    str(_("Unknown merge fields: %(names)s.") % {"names": ", ".join(unknown)})
                ]
        if errors:
            raise ValidationError(errors)


class WaitingMessageAssignment(models.Model):
    """Puts a waiting message in force for a whole workspace, or for one queue (which wins)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    queue = models.ForeignKey(
        Queue, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    waiting_message = models.ForeignKey(
        WaitingMessage, on_delete=models.CASCADE, related_name="assignments"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace"],
                condition=Q(queue__isnull=True),
                name="one_waiting_message_per_workspace",
            ),
            models.UniqueConstraint(
                fields=["queue"],
                condition=Q(queue__isnull=False),
                name="one_waiting_message_per_queue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.waiting_message_id} → {self.queue_id or self.workspace_id}"


class WaitingMessageSend(models.Model):
    """One waiting message sent for one stay of a ticket in a status: never two for a stay."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    # Kept when the waiting message is deleted: the stay stays served.
    waiting_message = models.ForeignKey(
        WaitingMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    status = models.CharField(max_length=24)
    # The ticket's status_changed_at when the stay began: with the status, names the stay.
    status_entered_at = models.DateTimeField()
    message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "status", "status_entered_at"], name="one_waiting_send_per_stay"
            )
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.status} {self.status_entered_at:%Y-%m-%d %H:%M}"

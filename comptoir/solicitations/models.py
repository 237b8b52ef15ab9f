"""Solicitations: email threads between an agent and someone outside the company.

A solicitation is a side thread of a ticket. Its messages are ticket messages of kinds
`solicitation_out` / `solicitation_in` (never in `CONTACT_VISIBLE_KINDS`, so no
customer-facing read can show them); `SolicitationMessage` says which thread each belongs to.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import Tenant, Workspace
from comptoir.tickets.models import Message, Ticket


class SolicitationStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting for an answer")
    ANSWERED = "answered", _("Answered")


class Solicitation(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    # The ticket's workspace when sent: recipient suggestions are per workspace.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="solicitations", db_index=False
    )
    # 1, 2, … within the ticket; signed into the subject token of the thread's mails.
    number = models.PositiveIntegerField(_("number"))
    recipient_email = models.EmailField(_("recipient"), max_length=320)
    subject = models.CharField(_("subject"), max_length=998)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=SolicitationStatus.choices,
        default=SolicitationStatus.WAITING,
    )
    # The agent asked the request to wait for this thread's answer (its last mail ticked
    # "awaiting external").
    awaits = models.BooleanField(default=False)
    # When this thread moved the request to awaiting_external (its status_changed_at then):
    # the answer moves it back only if nothing changed the request's status or handler since.
    moved_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField()
    last_message_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("solicitation")
        verbose_name_plural = _("solicitations")
        ordering = ["ticket", "number"]
        constraints = [
            models.UniqueConstraint(fields=["ticket", "number"], name="solicitation_ticket_number")
        ]
        indexes = [
            # Suggestions: addresses solicited in a workspace, by prefix.
            models.Index(
                fields=["tenant", "workspace", "recipient_email"],
                name="solicitation_ws_recipient",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.ticket_id}.{self.number} → {self.recipient_email}"


class SolicitationMessage(models.Model):
    """Which solicitation thread a ticket message belongs to."""

    solicitation = models.ForeignKey(
        Solicitation, on_delete=models.CASCADE, related_name="links", db_index=False
    )
    message = models.OneToOneField(
        Message, on_delete=models.CASCADE, related_name="solicitation_link"
    )
    # An answer on the thread from another address than the one solicited: attached, but
    # the agent is told (anyone holding the thread's ids or token can write into it).
    unexpected_sender = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["solicitation", "message"], name="solicitation_msg_thread"),
        ]

    def __str__(self) -> str:
        return f"{self.solicitation_id}: {self.message_id}"

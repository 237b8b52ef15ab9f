"""Tickets (demandes), their messages, attachments, history events and read state."""

from __future__ import annotations

import uuid
from pathlib import PurePosixPath

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import Queue, Tenant, Workspace
from comptoir.contacts.models import Contact
from comptoir.tickets.safe_names import safe_filename


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    WEBFORM = "webform", _("Web form")
    PORTAL = "portal", _("Portal")
    CHAT = "chat", _("Chat")
    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")
    MOBILE_APP = "mobile_app", _("Mobile app")


class Status(models.TextChoices):
    NEW = "new", _("New")
    TO_PROCESS = "to_process", _("To process")
    AWAITING_EXPERT = "awaiting_expert", _("Awaiting expert")
    AWAITING_EXTERNAL = "awaiting_external", _("To process by external agent")
    AWAITING_CONTACT = "awaiting_contact", _("Awaiting contact")
    CLOSED = "closed", _("Closed")


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")


class ContactReason(models.Model):
    """A qualification of why the contact wrote (motif de contact), listed per workspace."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="contact_reasons"
    )
    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("contact reason")
        verbose_name_plural = _("contact reasons")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Ticket(models.Model):
    # No single-column index on these foreign keys: each leads a composite index below
    # (or the number's unique constraint), and every index costs each insert.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="tickets", db_index=False
    )
    workspace = models.ForeignKey(
        Workspace, on_delete=models.PROTECT, related_name="tickets", db_index=False
    )
    queue = models.ForeignKey(
        Queue, on_delete=models.PROTECT, related_name="tickets", db_index=False
    )
    number = models.PositiveBigIntegerField(_("number"))
    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    subject = models.CharField(_("subject"), max_length=998)
    contact = models.ForeignKey(
        Contact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="tickets",
        db_index=False,
    )
    # What we know of the sender before an agent links a contact (email from an unknown address).
    requester_email = models.CharField(_("requester email"), max_length=320, blank=True)
    requester_name = models.CharField(_("requester name"), max_length=200, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_tickets",
        db_index=False,
    )
    status = models.CharField(_("status"), max_length=24, choices=Status.choices, default="new")
    status_changed_at = models.DateTimeField(_("in this status since"), default=timezone.now)
    priority = models.CharField(
        _("priority"), max_length=8, choices=Priority.choices, default=Priority.LOW
    )
    contact_reason = models.ForeignKey(
        ContactReason, on_delete=models.SET_NULL, null=True, blank=True, related_name="tickets"
    )
    # Some inbound message has been read by no agent yet (the unread badge).
    has_unread = models.BooleanField(default=False)
    message_count = models.PositiveIntegerField(default=0)
    last_message_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("request")
        verbose_name_plural = _("requests")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="ticket_number_per_tenant")
        ]
        # The inbox reads newest first within what the agent may see; each filter has an
        # index that yields rows already in that order, so a page never sorts the table.
        indexes = [
            models.Index(fields=["workspace", "-created_at", "-id"], name="ticket_ws_recent"),
            models.Index(
                fields=["workspace", "-created_at", "-id"],
                condition=~Q(status="closed"),
                name="ticket_ws_open_recent",
            ),
            models.Index(
                fields=["workspace", "channel", "-created_at", "-id"], name="ticket_ws_chan_recent"
            ),
            models.Index(
                fields=["workspace", "channel", "-created_at", "-id"],
                condition=~Q(status="closed"),
                name="ticket_ws_chan_open_recent",
            ),
            models.Index(
                fields=["workspace", "status", "-created_at", "-id"],
                name="ticket_ws_status_recent",
            ),
            models.Index(fields=["queue", "-created_at", "-id"], name="ticket_queue_recent"),
            models.Index(fields=["assignee", "-created_at", "-id"], name="ticket_assignee_recent"),
            models.Index(fields=["contact", "-created_at"], name="ticket_contact_recent"),
            # The tickets that need an agent's attention (new, or with an unread inbound
            # message) lead the inbox, latest activity first: a new message makes its ticket
            # jump. Partial, so it holds only that set, which agents keep small; the rest of
            # the list is read through the indexes above. Also the unread filter's list.
            models.Index(
                F("workspace"),
                Coalesce("last_message_at", "created_at").desc(),
                F("id").desc(),
                condition=Q(has_unread=True) | Q(status="new"),
                name="ticket_ws_attention",
            ),
            # The unread counts, under any of the inbox filters, read from the index alone
            # (every filtered column is in it): no table row is fetched to count.
            models.Index(
                fields=["workspace", "status", "channel", "queue", "assignee"],
                condition=Q(has_unread=True),
                name="ticket_ws_unread",
            ),
            # The waiting-message sweep: per queue and watched status, those in it since
            # before a threshold (comptoir/waiting/sweep.py).
            models.Index(
                fields=["queue", "status", "status_changed_at"],
                condition=Q(status__in=["to_process", "awaiting_expert", "awaiting_external"]),
                name="ticket_waiting_due",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status != Status.CLOSED

    @property
    def requester_label(self) -> str:
        if self.contact_id and self.contact:
            return str(self.contact)
        return self.requester_name or self.requester_email


class MessageKind(models.TextChoices):
    INBOUND = "inbound", _("From the contact")
    OUTBOUND = "outbound", _("To the contact")
    NOTE = "note", _("Internal note")
    SOLICITATION_OUT = "solicitation_out", _("Solicitation sent")
    SOLICITATION_IN = "solicitation_in", _("Solicitation answer")
    AUTOMATIC = "automatic", _("Automatic message")


# Kinds a contact may ever see (portal, history links, mails to the contact).
CONTACT_VISIBLE_KINDS = (MessageKind.INBOUND, MessageKind.OUTBOUND, MessageKind.AUTOMATIC)


class Message(models.Model):
    # Indexed by message_ticket_time (ticket first); a tenant is deleted too rarely to pay
    # an index on every message for it.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="messages", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=24, choices=MessageKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    sender_email = models.CharField(max_length=320, blank=True)
    sender_name = models.CharField(max_length=200, blank=True)
    to = models.JSONField(default=list, blank=True)
    cc = models.JSONField(default=list, blank=True)
    subject = models.CharField(max_length=998, blank=True)
    body_html = models.TextField(blank=True, help_text="Sanitized HTML, safe to render.")
    body_text = models.TextField(blank=True)
    # Email identifiers (threading): without angle brackets; references space-separated.
    message_id = models.CharField(max_length=998, blank=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    # An automatic answer from the contact's side (out-of-office): shown, but it is not the
    # contact's answer, so it neither reopens nor moves the ticket, nor resets its timers.
    is_auto_reply = models.BooleanField(_("automatic reply"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        indexes = [
            models.Index(fields=["ticket", "created_at", "id"], name="message_ticket_time"),
            models.Index(
                fields=["tenant", "message_id"],
                condition=~Q(message_id=""),
                name="message_tenant_msgid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"


def attachment_path(instance: Attachment, filename: str) -> str:
    """Store under the tenant with a random folder, so names never collide or escape."""
    return str(
        PurePosixPath("attachments")
        / str(instance.tenant_id)
        / timezone.now().strftime("%Y/%m")
        / uuid.uuid4().hex
        / safe_filename(filename)
    )


class Attachment(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to=attachment_path, max_length=500)
    filename = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(max_length=255, default="application/octet-stream")
    size = models.PositiveBigIntegerField(default=0)
    # Inline images referenced from the HTML body as cid:<content_id>.
    content_id = models.CharField(max_length=255, blank=True)
    is_inline = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.filename


class EventKind(models.TextChoices):
    CREATED = "created", _("Request created")
    STATUS = "status", _("Status changed")
    ASSIGNMENT = "assignment", _("Assignment")
    QUALIFICATION = "qualification", _("Qualification")
    SUBJECT = "subject", _("Subject edited")
    CONTACT = "contact", _("Contact linked")
    TRANSFER = "transfer", _("Transferred")
    UNREAD = "unread", _("Marked unread")
    WAITING_MESSAGE = "waiting_message", _("Waiting message sent")
    HISTORY_LINK = "history_link", _("History link issued")


class Event(models.Model):
    """One entry of a ticket's history; written by services, never by signals."""

    # Indexed by event_ticket_time (ticket first), as messages are.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="events", db_index=False
    )
    kind = models.CharField(_("kind"), max_length=24, choices=EventKind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # {"field": ..., "old": ..., "new": ...} with display labels captured at the time.
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("history event")
        verbose_name_plural = _("history events")
        indexes = [models.Index(fields=["ticket", "created_at", "id"], name="event_ticket_time")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.created_at:%Y-%m-%d %H:%M}"


class MessageRead(models.Model):
    """An agent has read an inbound message."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reads")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "agent"], name="one_read_per_agent")
        ]

    def __str__(self) -> str:
        return f"{self.agent_id} read {self.message_id}"


class InboxCount(models.Model):
    """How many tickets share one combination of the inbox filters.

    Services keep these in step with every ticket they create or change, so the inbox shows
    exact counts by summing a few hundred rows instead of counting millions of tickets.
    """

    # The unique key below leads with the workspace.
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=16)
    status = models.CharField(max_length=24)
    # 0 stands for "unassigned", so the unique constraint holds on both databases.
    assignee_key = models.BigIntegerField(default=0)
    count = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["workspace", "queue", "channel", "status", "assignee_key"],
                name="inbox_count_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.workspace_id}/{self.queue_id}/{self.channel}/{self.status}: {self.count}"

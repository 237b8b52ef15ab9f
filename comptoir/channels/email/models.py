"""Email channel: mailboxes, the durable inbound store, threading index, outbox, flags."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import Queue, Tenant, Workspace
from comptoir.tickets.models import Message, Ticket


class ImapSecurity(models.TextChoices):
    SSL = "ssl", _("SSL/TLS")
    STARTTLS = "starttls", _("STARTTLS")
    NONE = "none", _("None (local servers only)")


class Mailbox(models.Model):
    """An address customers write to; mail to it becomes tickets in `queue`."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="mailboxes")
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="mailboxes")
    address = models.EmailField(_("address"), unique=True)
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    # IMAP transport (optional: LMTP, HTTP and CLI need none of this).
    imap_enabled = models.BooleanField(_("fetch by IMAP"), default=False)
    imap_host = models.CharField(_("IMAP host"), max_length=255, blank=True)
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_security = models.CharField(
        _("IMAP security"), max_length=16, choices=ImapSecurity.choices, default=ImapSecurity.SSL
    )
    imap_username = models.CharField(_("IMAP user"), max_length=255, blank=True)
    imap_password = models.CharField(_("IMAP password"), max_length=255, blank=True)
    imap_folder = models.CharField(_("IMAP folder"), max_length=255, default="INBOX")
    imap_archive_folder = models.CharField(
        _("move processed mail to"),
        max_length=255,
        blank=True,
        help_text=_("Empty: processed mail is only flagged as seen."),
    )

    class Meta:
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")

    def __str__(self) -> str:
        return self.address

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.queue_id and self.workspace_id and self.queue.workspace_id != self.workspace_id:
            raise ValidationError({"queue": _("This queue belongs to another workspace.")})
        if self.imap_enabled and not (self.imap_host and self.imap_username):
            raise ValidationError(
                {"imap_host": _("Fetching by IMAP needs a host, a user and a password.")}
            )
        self.address = self.address.strip().lower()


class InboundStatus(models.TextChoices):
    RECEIVED = "received", _("Received, not processed yet")
    PROCESSED = "processed", _("Processed")
    QUARANTINED = "quarantined", _("Quarantined (could not be processed)")
    IGNORED = "ignored", _("Ignored (loop or our own mail)")
    OVERSIZED = "oversized", _("Kept, over the size limit")


class InboundEmail(models.Model):
    """The raw bytes of one received email, stored before anything is acknowledged."""

    # Its unique key leads with the tenant: no separate index.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound"
    )
    transport = models.CharField(max_length=16)  # imap | lmtp | smtp | http | cli
    envelope_from = models.CharField(max_length=998, blank=True)
    envelope_to = models.CharField(max_length=998, blank=True)
    # The Message-ID without <>, or "sha256:<hex>" of the raw bytes when there is none.
    dedup_key = models.CharField(max_length=998)
    raw = models.BinaryField()
    size = models.PositiveBigIntegerField(default=0)
    status = models.CharField(
        max_length=16, choices=InboundStatus.choices, default=InboundStatus.RECEIVED
    )
    error = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    ticket = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ticket_message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("received email")
        verbose_name_plural = _("received emails")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "dedup_key"], name="inbound_once_per_tenant")
        ]
        indexes = [
            models.Index(
                fields=["status", "received_at"],
                condition=Q(status__in=["received", "quarantined"]),
                name="inbound_pending",
            )
        ]

    def __str__(self) -> str:
        return self.dedup_key


class ThreadRef(models.Model):
    """Every Message-ID we have seen in a ticket's mail (its own and those it references).

    A reply finds its ticket through any id it shares with it, whatever the order of
    arrival: a reply that comes before its original records the original's id, which the
    original then finds (the JWZ idea, kept as an index instead of a tree in memory).
    """

    # Its unique key leads with the tenant: no separate index.
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+", db_index=False)
    message_id = models.CharField(max_length=998)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "message_id"], name="thread_ref_unique")
        ]

    def __str__(self) -> str:
        return f"{self.message_id} → {self.ticket_id}"


class OutgoingStatus(models.TextChoices):
    QUEUED = "queued", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutgoingEmail(models.Model):
    """The outbox: one row per email we send, written in the caller's transaction."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    ticket = models.ForeignKey(
        Ticket, on_delete=models.SET_NULL, null=True, blank=True, related_name="outgoing"
    )
    ticket_message = models.ForeignKey(
        Message, on_delete=models.SET_NULL, null=True, blank=True, related_name="outgoing"
    )
    # Callers give a key that names the send (e.g. "ack:<ticket>", "waiting:<ticket>:<entry>")
    # so that a retry or a second scheduler can never queue it twice.
    idempotency_key = models.CharField(max_length=255, unique=True)
    kind = models.CharField(max_length=32)  # reply | acknowledgment | notification | …
    from_email = models.CharField(max_length=998)
    to = models.JSONField(default=list)
    cc = models.JSONField(default=list, blank=True)
    reply_to = models.CharField(max_length=998, blank=True)
    subject = models.CharField(max_length=998)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    message_id = models.CharField(max_length=998, unique=True)
    in_reply_to = models.CharField(max_length=998, blank=True)
    references = models.TextField(blank=True)
    auto_submitted = models.CharField(
        max_length=32, blank=True
    )  # "" | auto-generated | auto-replied
    attachment_ids = models.JSONField(default=list, blank=True)  # tickets.Attachment ids
    status = models.CharField(
        max_length=16, choices=OutgoingStatus.choices, default=OutgoingStatus.QUEUED
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("outgoing email")
        verbose_name_plural = _("outgoing emails")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="queued"),
                name="outgoing_due",
            )
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {', '.join(self.to)}"


class AddressFlag(models.Model):
    """An address that bounced: agents see it flagged; automatic mail avoids it."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    address = models.CharField(max_length=320)
    reason = models.CharField(max_length=32, default="bounce")
    detail = models.TextField(blank=True)
    count = models.PositiveIntegerField(default=1)
    last_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "address"], name="address_flag_unique")
        ]

    def __str__(self) -> str:
        return f"{self.address} ({self.reason})"


class AutoReplyLog(models.Model):
    """Automatic mail sent to a correspondent: at most one per window (RFC 3834 §2)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    correspondent = models.CharField(max_length=320)
    kind = models.CharField(max_length=32)
    sent_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["tenant", "correspondent", "-sent_at"], name="autoreply_recent")
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.correspondent}"


class Acknowledgment(models.Model):
    """The acknowledgment of receipt of a workspace, or a queue's override of it."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="+")
    queue = models.OneToOneField(
        Queue, on_delete=models.CASCADE, null=True, blank=True, related_name="acknowledgment"
    )
    is_enabled = models.BooleanField(_("enabled"), default=True)
    subject = models.CharField(_("subject"), max_length=998)
    body = models.TextField(_("body"))
    delay_hours = models.PositiveIntegerField(_("announced handling delay (hours)"), default=24)

    class Meta:
        verbose_name = _("acknowledgment of receipt")
        verbose_name_plural = _("acknowledgments of receipt")
        constraints = [
            models.UniqueConstraint(
                fields=["workspace"], condition=Q(queue__isnull=True), name="one_ack_per_workspace"
            )
        ]

    def __str__(self) -> str:
        return self.subject

    def clean(self) -> None:
        # Unknown merge fields are refused when saved, never discovered at send time.
        from django.core.exceptions import ValidationError

        from comptoir.channels.email.acknowledgments import template_validate

        errors: dict[str, list[str]] = {}
        for field in ("subject", "body"):
            try:
                template_validate(getattr(self, field), self.workspace_id)
            except ValidationError as exc:
                errors[field] = exc.messages
        queue = self.queue if self.queue_id else None
        if queue is not None and self.workspace_id and queue.workspace_id != self.workspace_id:
            errors["queue"] = [str(_("This queue belongs to another workspace."))]
        if errors:
            raise ValidationError(errors)

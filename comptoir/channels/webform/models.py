"""Web forms: a public form per workspace that turns a visitor's submission into a ticket."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import Queue, Tenant, Workspace
from comptoir.tickets.models import Ticket


def new_public_key() -> str:
    """An unguessable slug for the form's public URLs (128 bits of randomness)."""
    return secrets.token_urlsafe(16)


def parse_origins(text: str) -> list[str]:
    """The origins of `text` (one per line or separated by spaces), as scheme://host[:port]."""
    return [o.strip().rstrip("/").lower() for o in (text or "").split() if o.strip()]


def origin_is_valid(origin: str) -> bool:
    parts = urlsplit(origin)
    return (
        parts.scheme in ("http", "https")
        and bool(parts.hostname)
        and not parts.path
        and not parts.query
        and not parts.fragment
        and "@" not in parts.netloc
    )


class WebForm(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="web_forms")
    queue = models.ForeignKey(
        Queue,
        on_delete=models.PROTECT,
        related_name="web_forms",
        verbose_name=_("queue"),
        help_text=_("New requests from this form go to this queue."),
    )
    public_key = models.SlugField(
        _("public key"),
        max_length=64,
        unique=True,
        default=new_public_key,
        help_text=_("Part of the form's public address; change it to retire old embeds."),
    )
    title = models.CharField(_("title"), max_length=200, default="", blank=True)
    intro = models.TextField(_("introduction"), blank=True)
    allowed_origins = models.TextField(
        _("allowed origins"),
        blank=True,
        help_text=_(
            "Sites allowed to embed the form and post to its API, one per line, e.g. "
            "https://www.example.com. Empty: any site."
        ),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("web form")
        verbose_name_plural = _("web forms")
        ordering = ["workspace__name", "title"]

    def __str__(self) -> str:
        return self.title or str(_("Web form of %(workspace)s") % {"workspace": self.workspace})

    @property
    def origins(self) -> list[str]:
        return parse_origins(self.allowed_origins)

    def clean(self) -> None:
        errors: dict[str, str] = {}
        if self.queue_id and self.workspace_id and self.queue.workspace_id != self.workspace_id:
            errors["queue"] = str(_("Pick a queue of the form's workspace."))
        bad = [o for o in self.origins if not origin_is_valid(o)]
        if bad:
            errors["allowed_origins"] = str(
                _("Not an origin (scheme://host[:port]): %(values)s") % {"values": ", ".join(bad)}
            )
        if errors:
            raise ValidationError(errors)
        self.allowed_origins = "\n".join(self.origins)


class Submission(models.Model):
    """One accepted submission: a second post of the same rendered form finds its ticket."""

    web_form = models.ForeignKey(WebForm, on_delete=models.CASCADE, related_name="submissions")
    # The render token's nonce (HTML form) or the client's Idempotency-Key (API).
    nonce = models.CharField(max_length=128)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["web_form", "nonce"], name="webform_submission_once")
        ]

    def __str__(self) -> str:
        return f"{self.web_form_id}:{self.nonce}"

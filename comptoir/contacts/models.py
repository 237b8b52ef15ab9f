"""Contacts: the customers who write to us, their identities and custom fields."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import Tenant, Workspace


class Contact(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="contacts")
    first_name = models.CharField(_("first name"), max_length=150, blank=True)
    last_name = models.CharField(_("last name"), max_length=150, blank=True)
    company = models.CharField(_("company"), max_length=200, blank=True)
    language = models.CharField(
        _("language"), max_length=8, choices=[("fr", "Français"), ("en", "English")], default="fr"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        indexes = [
            models.Index(fields=["tenant", "last_name", "first_name"], name="contact_name_idx"),
            models.Index(fields=["tenant", "-created_at", "-id"], name="contact_recent_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name or str(_("(no name)"))

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.first_name, self.last_name) if p)


class IdentityKind(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Chat handle")


class ContactIdentity(models.Model):
    """One way to reach a contact; unique per tenant so an address maps to one contact."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="identities")
    kind = models.CharField(_("kind"), max_length=16, choices=IdentityKind.choices)
    # Normalised: emails lower-cased, phones in E.164-like digits, handles stripped.
    value = models.CharField(_("value"), max_length=320)
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind", "value"], name="identity_unique_per_tenant"
            )
        ]
        ordering = ["kind", "-is_primary", "value"]

    def __str__(self) -> str:
        return self.value

    def clean(self) -> None:
        from comptoir.contacts.normalize import normalize_identity

        self.value = normalize_identity(self.kind, self.value)


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")


class CustomField(models.Model):
    """A field defined per workspace on contacts (later a merge field of templates)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="custom_fields")
    key = models.SlugField(
        _("key"), max_length=64, help_text=_("Used in merge fields, e.g. contact.custom.<key>")
    )
    label = models.CharField(_("label"), max_length=200)
    field_type = models.CharField(_("type"), max_length=16, choices=FieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)
    on_form = models.BooleanField(
        _("on the web form"),
        default=False,
        help_text=_("Ask for this field on the workspace's public web form."),
    )

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        constraints = [
            models.UniqueConstraint(fields=["workspace", "key"], name="custom_field_key_unique")
        ]
        ordering = ["position", "label"]

    def __str__(self) -> str:
        return self.label

    def clean(self) -> None:
        if self.field_type == FieldType.CHOICE and not self.choices:
            raise ValidationError({"choices": _("A choice field needs at least one choice.")})
        if self.field_type != FieldType.CHOICE and self.choices:
            raise ValidationError({"choices": _("Only choice fields have choices.")})


class CustomFieldValue(models.Model):
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="field_values")
    field = models.ForeignKey(CustomField, on_delete=models.CASCADE, related_name="values")
    value = models.TextField(_("value"), blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["contact", "field"], name="one_value_per_field")
        ]

    def __str__(self) -> str:
        return self.value

    def clean(self) -> None:
        value = self.value.strip()
        self.value = value
        if not value or not self.field_id:
            return
        kind = self.field.field_type
        if kind == FieldType.NUMBER:
            try:
                float(value.replace(",", "."))
            except ValueError as exc:
                raise ValidationError({"value": _("Enter a number.")}) from exc
        elif kind == FieldType.DATE:
            from datetime import date

            try:
                date.fromisoformat(value)
            except ValueError as exc:
                raise ValidationError({"value": _("Enter a date as YYYY-MM-DD.")}) from exc
        elif kind == FieldType.CHOICE and value not in self.field.choices:
            raise ValidationError({"value": _("Pick one of: %s") % ", ".join(self.field.choices)})

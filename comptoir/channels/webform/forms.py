"""The visitor's form: the same validation for the HTML page and the JSON API."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from comptoir.channels.webform.conf import limit
from comptoir.channels.webform.files import Upload, files_errors, too_big_error
from comptoir.contacts.models import CustomField, FieldType, IdentityKind
from comptoir.contacts.normalize import normalize_identity

# The honeypot: hidden from people (CSS, aria-hidden, no tab stop), filled by naive bots.
HONEYPOT = "website"
CUSTOM_PREFIX = "cf_"
_BREAKS = re.compile(r"[\r\n\x00\x0b\x0c\u2028\u2029\x85]+")


def one_line(value: str) -> str:
    return " ".join(_BREAKS.sub(" ", value or "").split())


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; each is checked by `clean_attachments`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        if not data:
            return []
        items = data if isinstance(data, (list, tuple)) else [data]
        return [f for f in items if f]


def custom_form_fields(fields: Sequence[CustomField]) -> dict[str, forms.Field]:
    """A form field per custom field shown on the form, typed as the field is."""
    result: dict[str, forms.Field] = {}
    for f in fields:
        name = CUSTOM_PREFIX + f.key
        if f.field_type == FieldType.CHOICE:
            result[name] = forms.ChoiceField(
                label=f.label,
                required=False,
                choices=[("", "—"), *((c, c) for c in f.choices)],
                error_messages={
                    "invalid_choice": _("Pick one of: %(choices)s.")
                    % {"choices": ", ".join(f.choices)}
                },
            )
        elif f.field_type == FieldType.DATE:
            result[name] = forms.DateField(
                label=f.label,
                required=False,
                input_formats=["%Y-%m-%d", "%d/%m/%Y"],
                widget=forms.DateInput(attrs={"type": "date"}),
                error_messages={"invalid": _("Enter a date, e.g. 2024-03-31.")},
            )
        elif f.field_type == FieldType.NUMBER:
            result[name] = forms.CharField(
                label=f.label,
                required=False,
                max_length=50,
                widget=forms.TextInput(attrs={"inputmode": "decimal"}),
            )
        else:
            result[name] = forms.CharField(label=f.label, required=False, max_length=500)
    return result


class SubmissionForm(forms.Form):
    name = forms.CharField(
        label=_("Your name"),
        max_length=200,
        error_messages={"required": _("Please enter your name.")},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    email = forms.EmailField(
        label=_("Email address"),
        max_length=254,
        error_messages={
            "required": _("Please enter your email address, so that we can answer you."),
            "invalid": _("This email address is not valid, e.g. name@example.com."),
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
    )
    phone = forms.CharField(
        label=_("Phone (optional)"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    subject = forms.CharField(
        label=_("Subject"),
        max_length=200,
        error_messages={"required": _("Please give your request a subject.")},
    )
    message = forms.CharField(
        label=_("Your message"),
        max_length=20000,
        error_messages={"required": _("Please write your message.")},
        widget=forms.Textarea(attrs={"rows": 7}),
    )
    attachments = MultipleFileField(label=_("Attachments (optional)"), required=False)
    website = forms.CharField(
        required=False,
        label=_("Leave this field empty"),
        widget=forms.TextInput(attrs={"autocomplete": "off", "tabindex": "-1"}),
    )

    def __init__(
        self, *args: Any, custom_fields: Sequence[CustomField] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.custom_fields = list(custom_fields)
        # Custom fields sit between the contact details and the request itself.
        fields = dict(self.fields)
        self.fields.clear()
        for name, field in fields.items():
            if name == "subject":
                self.fields.update(custom_form_fields(self.custom_fields))
            self.fields[name] = field
        for field in self.fields.values():
            if field.required:
                field.widget.attrs.setdefault("required", True)
        self.uploads: list[Upload] = []

    @property
    def is_spam(self) -> bool:
        return bool(str(self.data.get(HONEYPOT, "")).strip())

    def clean_name(self) -> str:
        return one_line(self.cleaned_data["name"])[:200]

    def clean_subject(self) -> str:
        value = one_line(self.cleaned_data["subject"])
        if not value:
            raise forms.ValidationError(_("Please give your request a subject."))
        return value[:200]

    def clean_email(self) -> str:
        return normalize_identity(IdentityKind.EMAIL, self.cleaned_data["email"])

    def clean_phone(self) -> str:
        value = one_line(self.cleaned_data.get("phone", ""))
        if not value:
            return ""
        digits = re.sub(r"\D", "", value)
        if not re.fullmatch(r"[\d\s+().\-/]+", value) or not 6 <= len(digits) <= 20:
            raise forms.ValidationError(
                _("This phone number is not valid, e.g. +33 6 12 34 56 78."), code="invalid"
            )
        return value

    def clean_message(self) -> str:
        value = (self.cleaned_data["message"] or "").replace("\r\n", "\n").strip()
        if not value:
            raise forms.ValidationError(_("Please write your message."))
        return value

    def clean_attachments(self) -> list[Upload]:
        files: list[UploadedFile] = self.cleaned_data.get("attachments") or []
        max_bytes = int(limit("WEBFORM_MAX_FILE_BYTES"))
        errors: list[str] = []
        uploads: list[Upload] = []
        for f in files:
            if f.size is not None and f.size > max_bytes:
                # Not even read: the limit is about what we accept to hold.
                errors.append(too_big_error(f.name or "", f.size))
                continue
            uploads.append(Upload(filename=f.name or "", content=f.read()))
        errors += files_errors(uploads, count=len(files))
        if errors:
            raise forms.ValidationError(errors)
        self.uploads = uploads
        return uploads

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for f in self.custom_fields:
            name = CUSTOM_PREFIX + f.key
            if f.field_type == FieldType.NUMBER and cleaned.get(name):
                raw = str(cleaned[name]).strip().replace(" ", "")
                try:
                    float(raw.replace(",", "."))
                except ValueError:
                    self.add_error(name, gettext("Enter a number, e.g. 12 or 3.5."))
                    continue
                cleaned[name] = raw
        return cleaned

    def custom_values(self) -> dict[str, str]:
        """{custom field key: value as stored on the contact} for the non-empty answers."""
        values: dict[str, str] = {}
        for f in self.custom_fields:
            value = self.cleaned_data.get(CUSTOM_PREFIX + f.key)
            if value in (None, ""):
                continue
            values[f.key] = value.isoformat() if isinstance(value, date) else one_line(str(value))
        return values

    def custom_bound_fields(self) -> list[forms.BoundField]:
        return [self[CUSTOM_PREFIX + f.key] for f in self.custom_fields]

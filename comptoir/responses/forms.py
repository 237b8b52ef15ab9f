"""The template form of the management pages (the API has its own schemas)."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from comptoir.accounts.models import Queue, Team
from comptoir.core.files import upload_content_type
from comptoir.responses.services import NewTemplateFile

# Inline images the editor turned into files at submit: named after their content id.
_INLINE_NAME = re.compile(r"^(img-[0-9a-f]{8,32}@comptoir)(\.[A-Za-z0-9]{1,8})?$")


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        clean_one = super().clean
        if isinstance(data, (list, tuple)):
            return [clean_one(d, initial) for d in data if d]
        return [clean_one(data, initial)] if data else []


class TemplateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    body_html = forms.CharField(
        label=_("Content"), required=False, widget=forms.Textarea(attrs={"rows": 12})
    )
    queues = forms.ModelMultipleChoiceField(
        label=_("Queues"),
        queryset=Queue.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    teams = forms.ModelMultipleChoiceField(
        label=_("Teams"),
        queryset=Team.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    attachments = MultipleFileField(label=_("Add attachments"))
    inline_images = MultipleFileField(label=_("Images"))
    remove_attachments = forms.TypedMultipleChoiceField(
        label=_("Remove"), coerce=int, required=False, choices=()
    )

    def __init__(
        self,
        *args: Any,
        queues: Any = None,
        teams: Any = None,
        attachment_ids: list[int] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        if queues is not None:
            self.fields["queues"].queryset = queues  # type: ignore[attr-defined]
        if teams is not None:
            self.fields["teams"].queryset = teams  # type: ignore[attr-defined]
        self.fields["remove_attachments"].choices = [  # type: ignore[attr-defined]
            (i, str(i)) for i in attachment_ids or []
        ]

    def new_files(self) -> list[NewTemplateFile]:
        """Attachments and inline images of the submitted form, as the services take them."""
        files = [
            NewTemplateFile(f.name, f.read(), upload_content_type(f))
            for f in self.cleaned_data.get("attachments") or []
        ]
        for f in self.cleaned_data.get("inline_images") or []:
            match = _INLINE_NAME.match(f.name or "")
            if match is None or not upload_content_type(f).startswith("image/"):
                continue
            files.append(
                NewTemplateFile(
                    "image" + (match.group(2) or ""),
                    f.read(),
                    upload_content_type(f),
                    is_inline=True,
                    content_id=match.group(1),
                )
            )
        return files

    @staticmethod
    def pending_images(files: list[NewTemplateFile]) -> dict[str, str]:
        """Data URLs of the new inline images, to show them again with the form's errors."""
        import base64

        return {
            f.content_id: f"data:{f.content_type};base64,{base64.b64encode(f.content).decode()}"
            for f in files
            if f.is_inline
        }

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from comptoir.waiting.models import WaitingMessage


class WaitingMessageForm(forms.ModelForm):
    class Meta:
        model = WaitingMessage
        fields = [
            "title",
            "body",
            "hours_to_process",
            "hours_awaiting_expert",
            "hours_awaiting_external",
        ]
        widgets = {
            "title": forms.TextInput(attrs={"size": 60}),
            "body": forms.Textarea(attrs={"rows": 10}),
        }


class AssignmentForm(forms.Form):
    waiting_message = forms.ModelChoiceField(
        label=_("Waiting message"),
        queryset=WaitingMessage.objects.none(),
        required=False,
        empty_label=_("— none —"),
    )

    def __init__(self, *args: object, workspace_id: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["waiting_message"]
        field.queryset = WaitingMessage.objects.filter(  # type: ignore[attr-defined]
            workspace_id=workspace_id
        ).order_by("title", "id")

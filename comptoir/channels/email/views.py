"""The plain reply composer of the ticket page (the rich composer comes later)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from comptoir.channels.email.replies import reply_recipient, ticket_reply
from comptoir.channels.email.selectors_inbound import inbound_original
from comptoir.core.errors import DomainError, NotFound
from comptoir.tickets.selectors import ticket_get
from comptoir.tickets.services import NewAttachment


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        clean_one = super().clean
        if isinstance(data, (list, tuple)):
            return [clean_one(d, initial) for d in data if d]
        return [clean_one(data, initial)] if data else []


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Reply"), widget=forms.Textarea(attrs={"rows": 8}), strip=True
    )
    attachments = MultipleFileField(label=gettext_lazy("Attachments"), required=False)

    def clean_attachments(self) -> list[Any]:
        files = self.cleaned_data.get("attachments") or []
        if sum(f.size for f in files) > settings.MAIL_MAX_BYTES // 2:
            raise forms.ValidationError(_("The attachments are too large for an email."))
        return files


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


@login_required
@require_POST
def ticket_reply_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Send the agent's reply; htmx gets the composer back (emptied, or with the errors)."""
    try:
        ticket = ticket_get(user=request.user, ticket_id=ticket_id)  # type: ignore[arg-type]
    except NotFound as exc:
        raise Http404 from exc
    form = ReplyForm(request.POST, request.FILES)
    sent = None
    if form.is_valid():
        files = form.cleaned_data["attachments"]
        try:
            sent = ticket_reply(
                ticket=ticket,
                author=request.user,  # type: ignore[arg-type]
                body_text=form.cleaned_data["body"],
                attachments=[
                    NewAttachment(
                        filename=f.name,
                        content=f.read(),
                        content_type=f.content_type or "application/octet-stream",
                    )
                    for f in files
                ],
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
    if sent is not None and not _is_htmx(request):
        return redirect(reverse("ticket_detail", args=[ticket.pk]) + f"#message-{sent.pk}")
    context = {
        "ticket": ticket,
        "reply_form": ReplyForm() if sent is not None else form,
        "reply_sent": sent,
        "reply_to_address": reply_recipient(ticket=ticket),
    }
    status = 200 if sent is not None or _is_htmx(request) else 400
    response = render(request, "mail/reply_form.html", context, status=status)
    if sent is not None:
        # Lets the ticket page refresh its timeline (hx-trigger="ticket-replied from:body").
        response["HX-Trigger"] = "ticket-replied"
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
def message_original(request: HttpRequest, message_id: int) -> HttpResponse:
    """The whole received email behind an inbound message: quoted history, signature, headers."""
    try:
        original = inbound_original(user=request.user, message_id=message_id)  # type: ignore[arg-type]
    except NotFound as exc:
        raise Http404 from exc
    return render(request, "mail/original.html", {"original": original, "message_id": message_id})

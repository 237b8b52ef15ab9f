"""The composer of the ticket page (reply by email, internal note), presence, the original."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from comptoir.accounts.models import User
from comptoir.channels.email.replies import (
    ReplyConflict,
    newest_message_id,
    reply_recipient,
    template_attachments,
    ticket_reply,
)
from comptoir.channels.email.selectors_inbound import inbound_original
from comptoir.channels.email.templatetags.composer import MAIL_CHANNELS
from comptoir.core.errors import DomainError, NotFound
from comptoir.core.files import upload_content_type
from comptoir.core.sanitize import sanitize_html
from comptoir.tickets.models import Message, Ticket
from comptoir.tickets.notes import note_add
from comptoir.tickets.presence import presence_beat, presence_list
from comptoir.tickets.selectors import ticket_get
from comptoir.tickets.services import NewAttachment

REPLY = "reply"
NOTE = "note"


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


class ComposerForm(forms.Form):
    """What the composer posts; `body_html` comes from the editor, `body` without JavaScript."""

    mode = forms.ChoiceField(
        choices=[(REPLY, gettext_lazy("Reply")), (NOTE, gettext_lazy("Internal note"))],
        required=False,
    )
    body = forms.CharField(label=gettext_lazy("Message"), required=False, strip=True)
    body_html = forms.CharField(required=False, strip=True)
    attachments = MultipleFileField(label=gettext_lazy("Attachments"))
    inline_images = MultipleFileField()
    # The Content-IDs of `inline_images`, space-separated, in the same order.
    inline_cids = forms.CharField(required=False)
    seen_message_id = forms.IntegerField(required=False, min_value=0)
    # The response template picked in the composer, and the ids of its files the agent kept
    # (space-separated); the server copies those files, they are not uploaded again.
    template_id = forms.IntegerField(required=False, min_value=1)
    template_attachment_ids = forms.CharField(required=False)

    def clean_template_attachment_ids(self) -> list[int]:
        raw = (self.cleaned_data.get("template_attachment_ids") or "").split()
        if not all(v.isdigit() for v in raw):
            raise forms.ValidationError(_("Some files of the response template are unknown."))
        return [int(v) for v in raw]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        images = data.get("inline_images") or []
        cids = (data.get("inline_cids") or "").split()
        if len(images) != len(cids):
            raise forms.ValidationError(_("The inline images were not sent completely: retry."))
        return data

    def new_attachments(self) -> list[NewAttachment]:
        data = self.cleaned_data
        files = [
            NewAttachment(filename=f.name, content=f.read(), content_type=upload_content_type(f))
            for f in data["attachments"]
        ]
        for f, cid in zip(data["inline_images"], (data["inline_cids"] or "").split(), strict=True):
            files.append(
                NewAttachment(
                    filename=f.name,
                    content=f.read(),
                    content_type=upload_content_type(f),
                    content_id=cid,
                    is_inline=True,
                )
            )
        return files


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _agent(request: HttpRequest) -> User:
    return cast(User, request.user)


def _ticket_or_404(request: HttpRequest, ticket_id: int) -> Ticket:
    try:
        return ticket_get(user=_agent(request), ticket_id=ticket_id)
    except NotFound as exc:
        raise Http404 from exc


def _composer_context(ticket: Ticket, **extra: Any) -> dict[str, Any]:
    return {"ticket": ticket, "reply_to_address": reply_recipient(ticket=ticket), **extra}


@login_required
@require_POST
def ticket_reply_view(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Send a reply or add an internal note; htmx gets the composer back (emptied, or not)."""
    ticket = _ticket_or_404(request, ticket_id)
    form = ComposerForm(request.POST, request.FILES)
    mode = request.POST.get("mode") or REPLY
    done: Message | None = None
    if form.is_valid():
        mode = form.cleaned_data["mode"] or REPLY
        try:
            done = _compose(request, ticket, form, mode)
        except ReplyConflict as exc:
            return _conflict_response(request, ticket, form, exc)
        except DomainError as exc:
            form.add_error(None, str(exc))
    if done is not None and not _is_htmx(request):
        return redirect(reverse("ticket_detail", args=[ticket.pk]) + f"#message-{done.pk}")
    if done is not None:
        context = _composer_context(
            ticket,
            reply_form=ComposerForm(),
            reply_sent=mode == REPLY,
            note_added=mode == NOTE,
            mode=mode,
        )
        response = render(request, "mail/_composer.html", context)
        # Lets the ticket page refresh its timeline (hx-trigger="ticket-replied from:body").
        response["HX-Trigger"] = "ticket-replied"
    else:
        context = _composer_context(
            ticket, reply_form=form, mode=mode, **_draft(form), seen_message_id=_seen(form)
        )
        response = _render_composer(request, context, status=400)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _compose(request: HttpRequest, ticket: Ticket, form: ComposerForm, mode: str) -> Message:
    data = form.cleaned_data
    body_html = data["body_html"] or ""
    body_text = "" if body_html else data["body"] or ""
    if mode == NOTE:
        # A template's files go with a note too; its fields stay as the agent sees them.
        with transaction.atomic():
            kept = template_attachments(
                user=_agent(request),
                ticket=ticket,
                template_id=data["template_id"],
                kept_ids=data["template_attachment_ids"],
            )
            return note_add(
                ticket=ticket,
                author=_agent(request),
                body_html=body_html,
                body_text=body_text,
                attachments=[*form.new_attachments(), *kept],
            )
    if ticket.channel not in MAIL_CHANNELS:
        raise DomainError(_("Replies on this channel are not sent from here: add a note."))
    return ticket_reply(
        ticket=ticket,
        author=_agent(request),
        body_html=body_html,
        body_text=body_text,
        attachments=form.new_attachments(),
        seen_message_id=data["seen_message_id"],
        template_id=data["template_id"],
        template_attachment_ids=data["template_attachment_ids"],
    )


def _seen(form: ComposerForm) -> int | None:
    value = form.cleaned_data.get("seen_message_id") if hasattr(form, "cleaned_data") else None
    return value if isinstance(value, int) else None


def _draft(form: ComposerForm) -> dict[str, str]:
    """What the agent wrote, to put back in the editor (sanitized: it is rendered again)."""
    return {
        "draft_html": sanitize_html(form.data.get("body_html", "")),
        "draft_text": form.data.get("body", ""),
    }


def _render_composer(request: HttpRequest, context: dict[str, Any], status: int) -> HttpResponse:
    # htmx: only the errors change (200, or htmx would replace the page), so the editor keeps
    # the draft with its images and files. Without JavaScript: the page with the composer.
    if _is_htmx(request):
        response = render(request, "mail/_errors.html", context)
        response["HX-Retarget"] = "#reply-errors"
        response["HX-Reswap"] = "innerHTML"
        return response
    return render(request, "mail/reply_page.html", context, status=status)


def _conflict_response(
    request: HttpRequest, ticket: Ticket, form: ComposerForm, exc: ReplyConflict
) -> HttpResponse:
    """Show what arrived; the draft stays where it is (htmx) or is given back (no JavaScript)."""
    newest = newest_message_id(ticket=ticket)
    context = _composer_context(
        ticket,
        reply_form=form,
        mode=REPLY,
        conflict_messages=exc.newer,
        seen_message_id=newest,
        **_draft(form),
    )
    if _is_htmx(request):
        response = render(request, "mail/_conflict.html", {**context, "conflict_oob": True})
        # Only the conflict panel changes: the editor keeps the draft, images and files.
        response["HX-Retarget"] = "#reply-conflict"
        response["HX-Reswap"] = "innerHTML"
    else:
        response = render(request, "mail/reply_page.html", context, status=409)
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_http_methods(["GET", "POST"])
def ticket_presence(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """POST: the agent's heartbeat; both answer with the other agents who have it open."""
    ticket = _ticket_or_404(request, ticket_id)
    if request.method == "POST":
        presence_beat(ticket=ticket, user=_agent(request))
    viewers = presence_list(ticket=ticket, exclude=_agent(request))
    response = render(request, "tickets/_presence_list.html", {"viewers": viewers})
    add_never_cache_headers(response)
    return response


@login_required
@require_GET
def message_original(request: HttpRequest, message_id: int) -> HttpResponse:
    """The whole received email behind an inbound message: quoted history, signature, headers."""
    try:
        original = inbound_original(user=_agent(request), message_id=message_id)
    except NotFound as exc:
        raise Http404 from exc
    return render(request, "mail/original.html", {"original": original, "message_id": message_id})

"""The solicitation composer of the ticket page (new thread, reply in a thread) and suggestions.

The composer is loaded on demand (the "Solicit" action, a thread's "Reply" button) into the
ticket page's solicitation slot; without JavaScript the same URLs answer whole pages.
"""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods

from comptoir.accounts.models import User
from comptoir.channels.email.views import ComposerForm
from comptoir.core.errors import DomainError, NotFound
from comptoir.core.sanitize import sanitize_html
from comptoir.solicitations.models import Solicitation
from comptoir.solicitations.selectors import recipient_suggestions, solicitation_get
from comptoir.solicitations.services import (
    solicitation_reply,
    solicitation_send,
    thread_subject,
)
from comptoir.tickets.models import Status, Ticket
from comptoir.tickets.selectors import ticket_get


class SolicitationForm(ComposerForm):
    """The reply composer's fields, plus who is solicited, the subject and the status switch."""

    recipient = forms.CharField(
        label=gettext_lazy("Recipient"), required=False, max_length=320, strip=True
    )
    subject = forms.CharField(label=gettext_lazy("Subject"), required=False, max_length=900)
    await_external = forms.BooleanField(required=False)


def _agent(request: HttpRequest) -> User:
    return cast(User, request.user)


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _ticket_or_404(request: HttpRequest, ticket_id: int) -> Ticket:
    try:
        return ticket_get(user=_agent(request), ticket_id=ticket_id)
    except NotFound as exc:
        raise Http404 from exc


def _solicitation_or_404(request: HttpRequest, solicitation_id: int) -> Solicitation:
    try:
        return solicitation_get(user=_agent(request), solicitation_id=solicitation_id)
    except NotFound as exc:
        raise Http404 from exc


def _context(
    ticket: Ticket, form: SolicitationForm, solicitation: Solicitation | None
) -> dict[str, Any]:
    data = form.data if form.is_bound else {}
    return {
        "ticket": ticket,
        "solicitation": solicitation,
        "reply_form": form,
        "recipient": solicitation.recipient_email if solicitation else data.get("recipient", ""),
        "subject": data.get("subject")
        if form.is_bound
        else (thread_subject(solicitation) if solicitation else ticket.subject),
        "await_external": bool(data.get("await_external")),
        "is_awaiting_external": ticket.status == Status.AWAITING_EXTERNAL,
        "draft_html": sanitize_html(data.get("body_html", "")) if form.is_bound else "",
        "draft_text": data.get("body", "") if form.is_bound else "",
    }


def _composer(request: HttpRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    if _is_htmx(request):
        response = render(request, "solicitations/_composer.html", context)
    else:
        response = render(request, "solicitations/compose_page.html", context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _refused(request: HttpRequest, context: dict[str, Any]) -> HttpResponse:
    # htmx: only the errors change, so the editor keeps the draft with its images and files.
    if _is_htmx(request):
        response = render(request, "mail/_errors.html", context)
        response["HX-Retarget"] = "#solicit-errors"
        response["HX-Reswap"] = "innerHTML"
        patch_vary_headers(response, ["HX-Request"])
        return response
    return _composer(request, context, status=400)


def _sent(request: HttpRequest, ticket: Ticket, solicitation: Solicitation) -> HttpResponse:
    if not _is_htmx(request):
        url = reverse("ticket_detail", args=[ticket.pk])
        return redirect(f"{url}#solicitation-{solicitation.pk}")
    response = render(
        request, "solicitations/_sent.html", {"ticket": ticket, "solicitation": solicitation}
    )
    # The ticket page reloads its header and timeline (hx-trigger="ticket-changed from:body").
    response["HX-Trigger"] = "ticket-changed"
    patch_vary_headers(response, ["HX-Request"])
    return response


def _files_and_body(form: SolicitationForm) -> dict[str, Any]:
    data = form.cleaned_data
    body_html = data["body_html"] or ""
    return {
        "body_html": body_html,
        "body_text": "" if body_html else data["body"] or "",
        "attachments": form.new_attachments(),
        "template_id": data["template_id"],
        "template_attachment_ids": data["template_attachment_ids"],
        "await_external": bool(data["await_external"]),
    }


@login_required
@require_http_methods(["GET", "POST"])
def solicitation_new(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """GET: the composer of a new solicitation. POST: send it (a new thread on the ticket)."""
    ticket = _ticket_or_404(request, ticket_id)
    if request.method == "GET":
        return _composer(request, _context(ticket, SolicitationForm(), None))
    form = SolicitationForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            solicitation = solicitation_send(
                ticket=ticket,
                author=_agent(request),
                recipient=form.cleaned_data["recipient"],
                subject=form.cleaned_data["subject"],
                **_files_and_body(form),
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            return _sent(request, ticket, solicitation)
    return _refused(request, _context(ticket, form, None))


@login_required
@require_http_methods(["GET", "POST"])
def solicitation_reply_view(request: HttpRequest, solicitation_id: int) -> HttpResponse:
    """GET: the composer to write again in a thread (recipient fixed). POST: send it."""
    solicitation = _solicitation_or_404(request, solicitation_id)
    ticket = solicitation.ticket
    if request.method == "GET":
        return _composer(request, _context(ticket, SolicitationForm(), solicitation))
    form = SolicitationForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            solicitation_reply(
                solicitation=solicitation,
                author=_agent(request),
                subject=form.cleaned_data["subject"],
                **_files_and_body(form),
            )
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            return _sent(request, ticket, solicitation)
    return _refused(request, _context(ticket, form, solicitation))


@login_required
@require_GET
def recipient_suggestions_view(request: HttpRequest, ticket_id: int) -> JsonResponse:
    """Addresses solicited in the ticket's workspace, most used first, for the recipient field."""
    ticket = _ticket_or_404(request, ticket_id)
    try:
        suggestions = recipient_suggestions(
            user=_agent(request),
            workspace_id=ticket.workspace_id,
            query=request.GET.get("q", "")[:320],
        )
    except NotFound:
        suggestions = []  # sees the ticket without working in its workspace (an expert)
    results = [
        {
            "address": s["address"],
            "uses": s["uses"],
            "label": ngettext("%(count)d solicitation", "%(count)d solicitations", s["uses"])
            % {"count": s["uses"]},
        }
        for s in suggestions
    ]
    response = JsonResponse({"results": results})
    response["Cache-Control"] = "private, no-store"
    return response

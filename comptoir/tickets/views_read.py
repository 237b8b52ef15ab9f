"""Read state of a ticket from its page: read after 3 seconds on screen, or unread again."""

from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from comptoir.accounts.models import User
from comptoir.core.errors import NotFound
from comptoir.core.htmx import wants_partial
from comptoir.tickets.models import Ticket
from comptoir.tickets.selectors import ticket_get
from comptoir.tickets.services import ticket_mark_read, ticket_mark_unread


def _ticket(request: HttpRequest, ticket_id: int) -> Ticket:
    try:
        return ticket_get(user=cast(User, request.user), ticket_id=ticket_id)
    except NotFound as exc:
        raise Http404 from exc


def _answer(request: HttpRequest, ticket: Ticket, *, autoread: bool) -> HttpResponse:
    if wants_partial(request):
        return render(
            request, "tickets/_read_state.html", {"ticket": ticket, "read_autoread": autoread}
        )
    return redirect(reverse("ticket_detail", args=[ticket.pk]))


@login_required
@require_POST
def ticket_read(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The agent kept the ticket on screen long enough: its inbound messages are read."""
    ticket = _ticket(request, ticket_id)
    ticket_mark_read(ticket=ticket, agent=cast(User, request.user))
    return _answer(request, ticket, autoread=True)


@login_required
@require_POST
def ticket_unread(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Show the unread badge again; this page stops reading it on its own."""
    ticket = _ticket(request, ticket_id)
    ticket_mark_unread(ticket=ticket, agent=cast(User, request.user))
    return _answer(request, ticket, autoread=False)

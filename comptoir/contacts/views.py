"""Agent pages on contacts: the searchable list and the contact page with all its tickets."""

from __future__ import annotations

from typing import cast

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from comptoir.accounts.models import User
from comptoir.contacts.selectors import contact_get, contact_list, contact_tickets
from comptoir.core.errors import NotFound
from comptoir.core.htmx import render_page_or_partial

CONTACTS_PER_PAGE = 25
TICKETS_PER_PAGE = 25


def _agent(request: HttpRequest) -> User:
    # Every view here is behind login_required: the user is an agent, never anonymous.
    return cast(User, request.user)


@login_required
@require_GET
def contact_list_view(request: HttpRequest) -> HttpResponse:
    """Contacts of the agent's tenant, searchable by name, company, email or phone."""
    search = request.GET.get("q", "").strip()[:200]
    paginator = Paginator(contact_list(user=_agent(request), search=search), CONTACTS_PER_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    context = {"page": page, "search": search}
    return render_page_or_partial(request, "contacts/contact_list.html", "contact-results", context)


@login_required
@require_GET
def contact_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    """The contact, its identities and custom fields, and its tickets on every channel."""
    try:
        contact = contact_get(user=_agent(request), contact_id=contact_id)
    except NotFound as exc:
        raise Http404 from exc
    paginator = Paginator(contact_tickets(user=_agent(request), contact=contact), TICKETS_PER_PAGE)
    tickets = paginator.get_page(request.GET.get("page"))
    context = {"contact": contact, "tickets": tickets}
    return render_page_or_partial(
        request, "contacts/contact_detail.html", "contact-tickets", context
    )

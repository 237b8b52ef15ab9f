"""Agent actions on the ticket page (assign, contact, subject, transfer, qualify, close).

Every action is a POST. htmx gets an empty 204 with `HX-Trigger: ticket-changed`, on which
the page reloads its header and timeline in place; a browser without JS gets a redirect to
the ticket page. A refusal comes back next to the action that caused it (htmx: 200 with
`HX-Retarget`, as the error glue turns a 4xx into a navigation) or as a message on the
ticket page; missing rights are a 403 page without JS.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from comptoir.accounts.models import User
from comptoir.contacts.selectors import contact_get, contact_list
from comptoir.core.errors import DomainError, NotAllowed, NotFound
from comptoir.tickets.models import Priority, Ticket
from comptoir.tickets.selectors import ticket_get
from comptoir.tickets.selectors_actions import (
    contact_reason_pickable,
    ticket_assignees,
    ticket_get_for_handling,
)
from comptoir.tickets.services import (
    TRANSFER_STATUSES,
    ticket_assign,
    ticket_close,
    ticket_edit_subject,
    ticket_qualify,
    ticket_reopen,
    ticket_take_back,
    ticket_transfer,
)
from comptoir.tickets.services_contact import ticket_contact_from_sender, ticket_contact_link

CONTACT_RESULTS = 8
ActionView = Callable[[HttpRequest, Ticket], HttpResponse]


def _agent(request: HttpRequest) -> User:
    return cast(User, request.user)


def _is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _ticket_url(ticket: Ticket) -> str:
    return reverse("ticket_detail", args=[ticket.pk])


def _done(request: HttpRequest, ticket: Ticket, notice: str = "") -> HttpResponse:
    if notice:
        messages.info(request, notice)
    if _is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Trigger"] = "ticket-changed"
        return response
    return redirect(_ticket_url(ticket), permanent=False)


def _refused(request: HttpRequest, ticket: Ticket, action: str, message: str) -> HttpResponse:
    if _is_htmx(request):
        response = render(
            request, "tickets/actions/_feedback.html", {"message": message, "error": True}
        )
        response["HX-Retarget"] = f"#feedback-{action}"
        response["HX-Reswap"] = "innerHTML"
        return response
    messages.error(request, message)
    return redirect(_ticket_url(ticket))


def _forbidden(request: HttpRequest, message: str, action: str) -> HttpResponse:
    if _is_htmx(request):
        response = render(
            request, "tickets/actions/_feedback.html", {"message": message, "error": True}
        )
        response["HX-Retarget"] = f"#feedback-{action}"
        response["HX-Reswap"] = "innerHTML"
        return response
    return render(request, "tickets/actions/forbidden.html", {"message": message}, status=403)


def ticket_action(action: str) -> Callable[[ActionView], Callable[..., HttpResponse]]:
    """A POST on a ticket the agent may see (else 404) and handle (else 403)."""

    def decorate(view: ActionView) -> Callable[..., HttpResponse]:
        @login_required
        @require_POST
        @wraps(view)
        def wrapper(request: HttpRequest, ticket_id: int) -> HttpResponse:
            try:
                ticket = ticket_get_for_handling(user=_agent(request), ticket_id=ticket_id)
            except NotFound as exc:
                raise Http404 from exc
            except NotAllowed as exc:
                return _forbidden(request, str(exc), action)
            try:
                response = view(request, ticket)
            except NotAllowed as exc:
                return _forbidden(request, str(exc), action)
            except NotFound:
                return _refused(request, ticket, action, _("This item no longer exists."))
            except DomainError as exc:
                return _refused(request, ticket, action, str(exc))
            patch_vary_headers(response, ["HX-Request"])
            return response

        return wrapper

    return decorate


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# Assign ---------------------------------------------------------------------------------


@ticket_action("assign")
def assign(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    """Give the ticket to me, to another agent of the workspace, or to nobody."""
    value = request.POST.get("assignee", "")
    me = _agent(request)
    if value == "me":
        assignee: User | None = me
    elif value == "":
        assignee = None
    else:
        pk = _int(value)
        assignee = next((a.user for a in ticket_assignees(ticket=ticket) if a.user.pk == pk), None)
        if assignee is None:
            raise DomainError(_("Pick an agent of this workspace."))
    ticket_assign(ticket=ticket, assignee=assignee, author=me)
    return _done(request, ticket)


# Contact --------------------------------------------------------------------------------


@login_required
@require_GET
def contact_search(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Contacts of the tenant matching name, email or phone, to link (as the agent types)."""
    try:
        ticket = ticket_get(user=_agent(request), ticket_id=ticket_id)
    except NotFound as exc:
        raise Http404 from exc
    query = request.GET.get("q", "").strip()[:200]
    results = (
        list(contact_list(user=_agent(request), search=query)[:CONTACT_RESULTS]) if query else []
    )
    context = {"ticket": ticket, "query": query, "results": results}
    template = "tickets/actions/_contact_results.html"
    if not _is_htmx(request):
        template = "tickets/actions/contact_search_page.html"
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@ticket_action("contact")
def contact_link(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    """Link an existing contact; the sender's address is remembered on it when free."""
    pk = _int(request.POST.get("contact"))
    if pk is None:
        raise DomainError(_("Pick a contact to link."))
    contact = contact_get(user=_agent(request), contact_id=pk)
    link = ticket_contact_link(ticket=ticket, contact=contact, author=_agent(request))
    return _done(request, ticket, link.notice())


@ticket_action("contact")
def contact_create_from_sender(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    """Create a contact from the sender's name and email, and link it."""
    link = ticket_contact_from_sender(ticket=ticket, author=_agent(request))
    return _done(
        request,
        ticket,
        _("Contact %(contact)s created and linked.") % {"contact": link.contact},
    )


@ticket_action("contact")
def contact_unlink(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    """Unlink the contact (the addresses it learnt stay with it)."""
    ticket_contact_link(ticket=ticket, contact=None, author=_agent(request))
    return _done(request, ticket)


# Subject --------------------------------------------------------------------------------


@login_required
def subject(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """Without JS, the subject is edited on a page of its own; POST saves it."""
    if request.method == "POST":
        return _subject_save(request, ticket_id)
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    try:
        ticket = ticket_get_for_handling(user=_agent(request), ticket_id=ticket_id)
    except NotFound as exc:
        raise Http404 from exc
    except NotAllowed as exc:
        return _forbidden(request, str(exc), "subject")
    return render(request, "tickets/actions/subject_page.html", {"ticket": ticket})


@ticket_action("subject")
def _subject_save(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    try:
        ticket_edit_subject(
            ticket=ticket, subject=request.POST.get("subject", ""), author=_agent(request)
        )
    except DomainError:
        if _is_htmx(request):
            raise DomainError(_("The subject cannot be empty.")) from None
        context = {"ticket": ticket, "error": _("The subject cannot be empty.")}
        return render(request, "tickets/actions/subject_page.html", context, status=400)
    return _done(request, ticket)


# Transfer -------------------------------------------------------------------------------


@ticket_action("transfer")
def transfer(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    """Hand the ticket to an expert or an external agent of the workspace."""
    target = request.POST.get("target", "")
    if target not in TRANSFER_STATUSES:
        raise DomainError(_("Transfer to an expert or to an external agent."))
    pk = _int(request.POST.get("to"))
    to = next((a.user for a in ticket_assignees(ticket=ticket) if a.user.pk == pk), None)
    if to is None:
        raise DomainError(_("Pick the person to transfer the request to."))
    ticket_transfer(ticket=ticket, to=to, target=target, author=_agent(request))
    return _done(request, ticket)


@ticket_action("bar")
def take_back(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    """Take a transferred ticket back (to process, assigned to me)."""
    ticket_take_back(ticket=ticket, author=_agent(request))
    return _done(request, ticket)


# Qualify, close, reopen -----------------------------------------------------------------


@ticket_action("qualify")
def qualify(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    """Set contact reason and priority; the "close" button also closes the ticket."""
    priority = request.POST.get("priority") or None
    if priority is not None and priority not in Priority.values:
        raise DomainError(_("Pick a priority: low, medium or high."))
    reason_value = request.POST.get("contact_reason", "")
    reason = None
    if reason_value:
        reason = contact_reason_pickable(ticket=ticket, reason_id=_int(reason_value) or 0)
        if reason is None:
            raise DomainError(_("Pick one of the workspace's active contact reasons."))
    me = _agent(request)
    ticket_qualify(
        ticket=ticket,
        author=me,
        priority=priority,
        contact_reason=reason,
        clear_contact_reason=reason is None and "contact_reason" in request.POST,
    )
    if request.POST.get("close"):
        ticket_close(ticket=ticket, author=me)
    return _done(request, ticket)


@ticket_action("qualify")
def close(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    """Close the ticket (it stays in "all"; a new inbound message reopens it)."""
    ticket_close(ticket=ticket, author=_agent(request))
    return _done(request, ticket)


@ticket_action("bar")
def reopen(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    """Reopen a closed ticket (to process)."""
    ticket_reopen(ticket=ticket, author=_agent(request))
    return _done(request, ticket)

"""API routes for agent actions on a ticket: assign, contact, subject, transfer, qualify, close.

Each needs the right to handle requests in the ticket's workspace (403 otherwise); a ticket
the agent may not see is a 404. Bodies have defaults everywhere so that an incomplete body
is answered after the ticket is found (404 before 422: nothing is said about foreign ids).
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from comptoir.accounts.models import User
from comptoir.api.auth import agent
from comptoir.api.schemas import ErrorOut, Ref, TicketItem, ValidationErrorOut, ticket_item
from comptoir.contacts.selectors import contact_get
from comptoir.core.errors import DomainError
from comptoir.tickets.models import Ticket
from comptoir.tickets.selectors_actions import (
    contact_reason_pickable,
    ticket_assignees,
    ticket_get_for_handling,
)
from comptoir.tickets.services import (
    ticket_assign,
    ticket_close,
    ticket_edit_subject,
    ticket_qualify,
    ticket_reopen,
    ticket_take_back,
    ticket_transfer,
)
from comptoir.tickets.services_contact import ticket_contact_from_sender, ticket_contact_link

router = Router(tags=["ticket actions"])

ERRORS: dict[int, Any] = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ValidationErrorOut}


class TicketStateOut(TicketItem):
    contact_reason: Ref | None


class AssigneeOut(Schema):
    id: int
    name: str
    initials: str
    email: str
    role: str = Field(description="administrator, coordinator, agent, expert or external_agent")
    role_label: str


class AssignIn(Schema):
    assignee_id: int | Literal["me"] | None = Field(
        None, description='An agent id from GET /tickets/{id}/assignees, "me", or null to unassign.'
    )


class TicketContactIn(Schema):
    contact_id: int | None = Field(
        None, description="A contact of the tenant to link; null (without create) unlinks."
    )
    create_from_sender: bool = Field(
        False, description="Create a contact from the sender's name and email, and link it."
    )


class TicketContactOut(Schema):
    ticket: TicketStateOut
    contact: Ref | None
    created: bool
    remembered: str = Field(description="The sender's email, newly added to the contact.")
    address_owner: Ref | None = Field(
        description="Another contact already owns the sender's email: it stays with them."
    )
    notice: str = Field(description="A sentence for the agent about the address, or empty.")


class SubjectIn(Schema):
    subject: str = Field("", max_length=998)


class TransferIn(Schema):
    target: Literal["expert", "external"] | None = Field(
        None, description="expert (status awaiting_expert) or external (awaiting_external)."
    )
    to_id: int | None = Field(None, description="The person it goes to (and is assigned to).")


class QualifyIn(Schema):
    priority: Literal["low", "medium", "high"] | None = None
    contact_reason_id: int | None = Field(
        None, description="An active reason of the ticket's workspace; null clears it."
    )


def _state(ticket: Ticket) -> dict[str, Any]:
    ticket.refresh_from_db()
    data = ticket_item(ticket)
    reason = ticket.contact_reason
    data["contact_reason"] = {"id": reason.pk, "name": reason.name} if reason else None
    return data


def _ticket(request: HttpRequest, ticket_id: int) -> Ticket:
    return ticket_get_for_handling(user=agent(request), ticket_id=ticket_id)


def _member(ticket: Ticket, user_id: int) -> User:
    for a in ticket_assignees(ticket=ticket):
        if a.user.pk == user_id:
            return a.user
    raise DomainError(_("This person may not handle requests in this workspace."))


@router.get(
    "/tickets/{ticket_id}/assignees",
    response={200: list[AssigneeOut], 403: ErrorOut, 404: ErrorOut},
    summary="Who may be given the ticket",
    description=(
        "Active members of the ticket's workspace holding the right to handle requests, "
        "with their role: pick an `expert` for a transfer to an expert, an `external_agent` "
        "for a transfer to an external agent."
    ),
)
def ticket_assignees_list(request: HttpRequest, ticket_id: int) -> list[dict[str, Any]]:
    ticket = _ticket(request, ticket_id)
    return [
        {
            "id": a.user.pk,
            "name": str(a.user),
            "initials": a.user.initials,
            "email": a.user.email,
            "role": a.role,
            "role_label": a.role_label,
        }
        for a in ticket_assignees(ticket=ticket)
    ]


@router.post(
    "/tickets/{ticket_id}/assign",
    response={200: TicketStateOut, **ERRORS},
    summary="Assign or unassign the ticket",
)
def ticket_assign_action(request: HttpRequest, ticket_id: int, payload: AssignIn) -> Any:
    ticket = _ticket(request, ticket_id)
    me = agent(request)
    if payload.assignee_id is None:
        assignee = None
    elif payload.assignee_id == "me":
        assignee = me
    else:
        assignee = _member(ticket, int(payload.assignee_id))
    ticket_assign(ticket=ticket, assignee=assignee, author=me)
    return _state(ticket)


@router.post(
    "/tickets/{ticket_id}/contact",
    response={200: TicketContactOut, **ERRORS},
    summary="Link, create or unlink the ticket's contact",
    description=(
        "`contact_id` links an existing contact and remembers the sender's email on it, "
        "unless another contact owns that address (`address_owner` then names it). "
        "`create_from_sender` creates the contact from the sender's name and email (409 if "
        "another contact owns the address). Neither: unlink."
    ),
)
def ticket_contact_action(request: HttpRequest, ticket_id: int, payload: TicketContactIn) -> Any:
    ticket = _ticket(request, ticket_id)
    me = agent(request)
    if payload.create_from_sender and payload.contact_id is not None:
        raise DomainError(_("Give either a contact to link or create_from_sender, not both."))
    if payload.create_from_sender:
        link = ticket_contact_from_sender(ticket=ticket, author=me)
    else:
        contact = (
            contact_get(user=me, contact_id=payload.contact_id)
            if payload.contact_id is not None
            else None
        )
        link = ticket_contact_link(ticket=ticket, contact=contact, author=me)
    owner = link.address_owner
    return {
        "ticket": _state(ticket),
        "contact": {"id": link.contact.pk, "name": str(link.contact)} if link.contact else None,
        "created": link.created,
        "remembered": link.remembered,
        "address_owner": {"id": owner.pk, "name": str(owner)} if owner else None,
        "notice": link.notice(),
    }


@router.post(
    "/tickets/{ticket_id}/subject",
    response={200: TicketStateOut, **ERRORS},
    summary="Edit the ticket's subject",
)
def ticket_subject_action(request: HttpRequest, ticket_id: int, payload: SubjectIn) -> Any:
    ticket = _ticket(request, ticket_id)
    if not payload.subject.strip():
        raise DomainError(_("The subject cannot be empty."))
    ticket_edit_subject(ticket=ticket, subject=payload.subject, author=agent(request))
    return _state(ticket)


@router.post(
    "/tickets/{ticket_id}/transfer",
    response={200: TicketStateOut, **ERRORS},
    summary="Transfer the ticket to an expert or an external agent",
    description=(
        "The ticket waits in `awaiting_expert` or `awaiting_external` and is assigned to "
        "`to_id`, a member of its workspace (an external agent for `external`)."
    ),
)
def ticket_transfer_action(request: HttpRequest, ticket_id: int, payload: TransferIn) -> Any:
    ticket = _ticket(request, ticket_id)
    if payload.target is None:
        raise DomainError(_("Transfer to an expert or to an external agent."))
    if payload.to_id is None:
        raise DomainError(_("Pick the person to transfer the request to."))
    to = _member(ticket, payload.to_id)
    ticket_transfer(ticket=ticket, to=to, target=payload.target, author=agent(request))
    return _state(ticket)


@router.post(
    "/tickets/{ticket_id}/take-back",
    response={200: TicketStateOut, **ERRORS},
    summary="Take a transferred ticket back",
    description="Back to `to_process`, assigned to the agent taking it back.",
)
def ticket_take_back_action(request: HttpRequest, ticket_id: int) -> Any:
    ticket = _ticket(request, ticket_id)
    ticket_take_back(ticket=ticket, author=agent(request))
    return _state(ticket)


@router.post(
    "/tickets/{ticket_id}/qualify",
    response={200: TicketStateOut, **ERRORS},
    summary="Set the contact reason and/or the priority",
    description="Fields left out are unchanged; `contact_reason_id: null` clears the reason.",
)
def ticket_qualify_action(request: HttpRequest, ticket_id: int, payload: QualifyIn) -> Any:
    ticket = _ticket(request, ticket_id)
    reason = None
    if payload.contact_reason_id is not None:
        reason = contact_reason_pickable(ticket=ticket, reason_id=payload.contact_reason_id)
        if reason is None:
            raise DomainError(_("Pick one of the workspace's active contact reasons."))
    ticket_qualify(
        ticket=ticket,
        author=agent(request),
        priority=payload.priority,
        contact_reason=reason,
        clear_contact_reason=(
            "contact_reason_id" in payload.model_fields_set and payload.contact_reason_id is None
        ),
    )
    return _state(ticket)


@router.post(
    "/tickets/{ticket_id}/close",
    response={200: TicketStateOut, **ERRORS},
    summary="Close the ticket",
    description="It stays listed under all; a new inbound message or /reopen reopens it.",
)
def ticket_close_action(request: HttpRequest, ticket_id: int) -> Any:
    ticket = _ticket(request, ticket_id)
    ticket_close(ticket=ticket, author=agent(request))
    return _state(ticket)


@router.post(
    "/tickets/{ticket_id}/reopen",
    response={200: TicketStateOut, **ERRORS},
    summary="Reopen a closed ticket",
    description="Back to `to_process`; 422 if the ticket is not closed.",
)
def ticket_reopen_action(request: HttpRequest, ticket_id: int) -> Any:
    ticket = _ticket(request, ticket_id)
    ticket_reopen(ticket=ticket, author=agent(request))
    return _state(ticket)

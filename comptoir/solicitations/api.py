"""API routes for solicitations: a ticket's threads, a new one, a reply in one, suggestions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from comptoir.api.auth import agent
from comptoir.api.schemas import ErrorOut, MessageOut, ValidationErrorOut
from comptoir.channels.email.api_replies import ComposedIn, attachments_in, message_out
from comptoir.core.errors import NotFound
from comptoir.solicitations.selectors import (
    Suggestion,
    Thread,
    recipient_suggestions,
    solicitation_get,
    ticket_threads,
)
from comptoir.solicitations.services import (
    solicitation_reply,
    solicitation_send,
    thread_subject,
)
from comptoir.tickets.selectors import ticket_get

router = Router(tags=["solicitations"])


class _Written(ComposedIn):
    template_id: int | None = Field(
        None, ge=1, description="The response template the text was written from, if any."
    )
    template_attachment_ids: list[int] = Field(
        default_factory=list, max_length=100, description="The template's files to send."
    )
    await_external: bool = Field(
        False,
        description="Move the ticket to awaiting_external; the answer moves it back to "
        "to_process once no solicitation that moved it still waits.",
    )


# Required fields are checked by the services (422 with a sentence), after the ticket or
# solicitation was found: a foreign id answers 404 whatever the body.
class SolicitationIn(_Written):
    recipient: str = Field("", max_length=320, description="The outside person's email address.")
    subject: str = Field("", max_length=900, description="Default: the ticket's subject.")


class ThreadReplyIn(_Written):
    subject: str = Field(
        "",
        max_length=900,
        description="The recipient is always the address solicited. Default subject: "
        '"Re: " and the subject of the thread\'s last message.',
    )


class ThreadMessageOut(MessageOut):
    unexpected_sender: bool = Field(
        description="An answer from another address than the one solicited."
    )


class SolicitationOut(Schema):
    id: int
    ticket_id: int
    number: int
    recipient: str
    subject: str
    status: str = Field(description="waiting | answered")
    created_at: datetime
    last_message_at: datetime
    answered_at: datetime | None
    messages: list[ThreadMessageOut]


class SuggestionOut(Schema):
    address: str
    uses: int = Field(description="How many solicitations were sent to it in the workspace.")
    last_used_at: datetime


def _thread_out(thread: Thread) -> dict[str, Any]:
    s = thread.solicitation
    return {
        "id": s.pk,
        "ticket_id": s.ticket_id,
        "number": s.number,
        "recipient": s.recipient_email,
        "subject": s.subject,
        "status": s.status,
        "created_at": s.created_at,
        "last_message_at": s.last_message_at,
        "answered_at": s.answered_at,
        "messages": [
            {**message_out(m), "unexpected_sender": m.pk in thread.unexpected}
            for m in thread.messages
        ],
    }


def _one(solicitation_id: int, ticket: Any) -> dict[str, Any]:
    return _thread_out(ticket_threads(ticket=ticket, solicitation_ids=[solicitation_id])[0])


@router.get(
    "/tickets/{ticket_id}/solicitations",
    response={200: list[SolicitationOut], 404: ErrorOut},
    summary="List the ticket's solicitations",
    description="Each thread with its messages, oldest first. Never shown to the contact.",
)
def solicitations_list(request: HttpRequest, ticket_id: int) -> list[dict[str, Any]]:
    ticket = ticket_get(user=agent(request), ticket_id=ticket_id)
    return [_thread_out(t) for t in ticket_threads(ticket=ticket)]


@router.post(
    "/tickets/{ticket_id}/solicitations",
    response={201: SolicitationOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="Solicit someone outside by email",
    description=(
        "Opens a new thread on the ticket and sends its first email through the outbox. "
        "Answers are threaded back into this solicitation (Message-ID/References, and a "
        "signed token in the subject), never into the customer's conversation. Merge fields "
        "are rendered when sending; `{{ticket.history_link}}` issues the exchange-history "
        "link for the solicited person."
    ),
)
def solicitations_create(
    request: HttpRequest, ticket_id: int, payload: SolicitationIn
) -> Status[Any]:
    user = agent(request)
    ticket = ticket_get(user=user, ticket_id=ticket_id)
    solicitation = solicitation_send(
        ticket=ticket,
        author=user,
        recipient=payload.recipient,
        subject=payload.subject or ticket.subject,
        body_html=payload.body_html,
        body_text=payload.body_text,
        attachments=attachments_in(payload.attachments),
        template_id=payload.template_id,
        template_attachment_ids=payload.template_attachment_ids,
        await_external=payload.await_external,
    )
    return Status(201, _one(solicitation.pk, ticket))


@router.post(
    "/solicitations/{solicitation_id}/replies",
    response={201: SolicitationOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="Write again in a solicitation's thread",
    description="Always to the address solicited, in reply to the thread's last message.",
)
def solicitations_reply(
    request: HttpRequest, solicitation_id: int, payload: ThreadReplyIn
) -> Status[Any]:
    user = agent(request)
    solicitation = solicitation_get(user=user, solicitation_id=solicitation_id)
    solicitation_reply(
        solicitation=solicitation,
        author=user,
        subject=payload.subject or thread_subject(solicitation),
        body_html=payload.body_html,
        body_text=payload.body_text,
        attachments=attachments_in(payload.attachments),
        template_id=payload.template_id,
        template_attachment_ids=payload.template_attachment_ids,
        await_external=payload.await_external,
    )
    return Status(201, _one(solicitation.pk, solicitation.ticket))


class SuggestionsQuery(Schema):
    q: str = Field("", max_length=320, description="Part of the address.")
    limit: int = Field(8, ge=1, le=50)


@router.get(
    "/tickets/{ticket_id}/solicitations/recipients",
    response={200: list[SuggestionOut], 404: ErrorOut},
    summary="Suggest recipients",
    description="Addresses already solicited in the ticket's workspace, most used first.",
)
def solicitations_recipients(
    request: HttpRequest, ticket_id: int, filters: Query[SuggestionsQuery]
) -> list[Suggestion]:
    user = agent(request)
    ticket = ticket_get(user=user, ticket_id=ticket_id)
    try:
        return recipient_suggestions(
            user=user, workspace_id=ticket.workspace_id, query=filters.q, limit=filters.limit
        )
    except NotFound:
        return []

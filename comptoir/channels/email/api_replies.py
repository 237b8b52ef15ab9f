"""API routes for replies and internal notes on a ticket, and who has it open.

Files travel as base64 in the JSON body. The whole body is bounded by Django's
DATA_UPLOAD_MAX_MEMORY_SIZE; the attachments of one message by the composer's limit
(`comptoir.tickets.composed.attachments_max_bytes`), whichever is smaller.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError

from comptoir.api.auth import agent
from comptoir.api.schemas import ErrorOut, MessageOut, ValidationErrorOut, agent_ref
from comptoir.channels.email.replies import ReplyConflict, ticket_reply
from comptoir.channels.email.templatetags.composer import MAIL_CHANNELS
from comptoir.core.errors import DomainError
from comptoir.tickets.models import Message
from comptoir.tickets.notes import note_add
from comptoir.tickets.presence import presence_list
from comptoir.tickets.selectors import ticket_get
from comptoir.tickets.services import NewAttachment

router = Router(tags=["replies and notes"])


class AttachmentIn(Schema):
    filename: str = Field(min_length=1, max_length=255)
    content_type: str = Field("application/octet-stream", max_length=255)
    content_base64: str = Field(description="The file's bytes, base64-encoded.")
    inline: bool = Field(
        False,
        description="An image shown in the HTML body, which references it as "
        '`<img src="cid:CONTENT_ID">`.',
    )
    content_id: str = Field("", max_length=255, description="Required when `inline` is true.")


class ComposedIn(Schema):
    body_html: str = Field("", description="HTML; sanitized by the server.")
    body_text: str = Field("", description="Plain text; derived from body_html when empty.")
    attachments: list[AttachmentIn] = Field(default_factory=list, max_length=50)


class ReplyIn(ComposedIn):
    seen_message_id: int | None = Field(
        None,
        ge=0,
        description="The newest message id you have seen. When a message the contact can see "
        "is newer, nothing is sent and the answer is 409 with `newer_message_ids`.",
    )
    template_id: int | None = Field(
        None,
        ge=1,
        description="The response template the reply was written from (see "
        "`GET /tickets/{ticket_id}/templates`). It must be offered on this ticket: active, "
        "same workspace, in scope; otherwise 422 and nothing is sent.",
    )
    template_attachment_ids: list[int] = Field(
        default_factory=list,
        max_length=100,
        description="Ids of the template's files to send with the reply (the `attachments` "
        "of its preview); inline ones are referenced in `body_html` as `cid:CONTENT_ID`.",
    )


class ConflictOut(Schema):
    detail: str
    newer_message_ids: list[int]


class ViewerOut(Schema):
    id: int
    name: str
    initials: str
    since: datetime


def attachments_in(items: list[AttachmentIn]) -> list[NewAttachment]:
    """The base64 files of a JSON body as attachments; 422 for a file that is not base64."""
    files = []
    for item in items:
        try:
            content = base64.b64decode(item.content_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise HttpError(422, f"“{item.filename}” is not valid base64.") from exc
        if item.inline and not item.content_id:
            raise HttpError(422, f"The inline image “{item.filename}” needs a content_id.")
        files.append(
            NewAttachment(
                filename=item.filename,
                content=content,
                content_type=item.content_type or "application/octet-stream",
                content_id=item.content_id if item.inline else "",
                is_inline=item.inline,
            )
        )
    return files


def message_out(message: Message) -> dict[str, Any]:
    """A message as the API shows it (MessageOut)."""
    return {
        "id": message.pk,
        "kind": message.kind,
        "author": agent_ref(message.author),
        "sender": {"email": message.sender_email, "name": message.sender_name},
        "subject": message.subject,
        "body_text": message.body_text,
        "body_html": message.body_html,
        "attachments": [
            {"id": a.pk, "filename": a.filename, "content_type": a.content_type, "size": a.size}
            for a in message.attachments.order_by("id")
        ],
        "created_at": message.created_at,
    }


@router.post(
    "/tickets/{ticket_id}/reply",
    response={
        201: MessageOut,
        403: ErrorOut,
        404: ErrorOut,
        409: ConflictOut,
        422: ValidationErrorOut,
    },
    summary="Reply to the contact by email",
    description=(
        "Sends the reply through the outbox (email and web-form requests) and moves the "
        "ticket to awaiting_contact. Inline images are sent as `cid:` parts of a "
        "multipart/related email. Merge fields (`{{contact.first_name}}`…) are rendered "
        "when sending; `{{ticket.history_link}}` issues the exchange-history link then. "
        "With `template_id`, the template's files listed in `template_attachment_ids` are "
        "attached."
    ),
)
def tickets_reply(request: HttpRequest, ticket_id: int, payload: ReplyIn) -> Status[Any]:
    user = agent(request)
    ticket = ticket_get(user=user, ticket_id=ticket_id)
    if ticket.channel not in MAIL_CHANNELS:
        raise DomainError("Replies on this channel are not sent by email: add a note.")
    try:
        message = ticket_reply(
            ticket=ticket,
            author=user,
            body_html=payload.body_html,
            body_text=payload.body_text,
            attachments=attachments_in(payload.attachments),
            seen_message_id=payload.seen_message_id,
            template_id=payload.template_id,
            template_attachment_ids=payload.template_attachment_ids,
        )
    except ReplyConflict as exc:
        return Status(409, {"detail": str(exc), "newer_message_ids": [m.pk for m in exc.newer]})
    return Status(201, message_out(message))


@router.post(
    "/tickets/{ticket_id}/notes",
    response={201: MessageOut, 403: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut},
    summary="Add an internal note",
    description="Visible to agents only; never sent, never shown to the contact.",
)
def tickets_note(request: HttpRequest, ticket_id: int, payload: ComposedIn) -> Status[Any]:
    user = agent(request)
    ticket = ticket_get(user=user, ticket_id=ticket_id)
    message = note_add(
        ticket=ticket,
        author=user,
        body_html=payload.body_html,
        body_text=payload.body_text,
        attachments=attachments_in(payload.attachments),
    )
    return Status(201, message_out(message))


@router.get(
    "/tickets/{ticket_id}/presence",
    response={200: list[ViewerOut], 404: ErrorOut},
    summary="Who else has the ticket open",
    description="Agents whose ticket page sent a heartbeat in the last half-minute.",
)
def tickets_presence(request: HttpRequest, ticket_id: int) -> list[dict[str, Any]]:
    user = agent(request)
    ticket = ticket_get(user=user, ticket_id=ticket_id)
    return [
        {"id": v.user_id, "name": v.name, "initials": v.initials, "since": v.since}
        for v in presence_list(ticket=ticket, exclude=user)
    ]

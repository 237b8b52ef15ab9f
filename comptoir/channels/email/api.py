"""Raw MIME over HTTP: `POST /api/v1/inbound/email`, for providers' inbound webhooks.

The answer is 202 only once the raw bytes are committed (durable first); processing runs
afterwards as a task. A transient fault (database unavailable) answers 503 so the sender
retries; a retry of a stored message answers 202 with "duplicate": true and stores nothing.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest
from ninja import Router, Schema, Status
from ninja.errors import HttpError

from comptoir.accounts.models import User
from comptoir.accounts.rights import Right, has_right
from comptoir.api.auth import BearerAuth as _BearerAuth
from comptoir.api.auth import agent
from comptoir.api.schemas import ErrorOut
from comptoir.channels.email.selectors_inbound import mailbox_for_agent
from comptoir.channels.email.store import MessageTooLarge, inbound_store
from comptoir.core.errors import NotFound

logger = logging.getLogger(__name__)

router = Router(tags=["inbound email"])

UNAVAILABLE = "The desk cannot store mail right now; retry later."


class BearerAuth(_BearerAuth):
    """The bearer token of an agent; a database fault while checking it is a 503, not a 500.

    Same name as the API's own class: OpenAPI names security schemes after the class, and
    this is the same scheme (HTTP bearer) to a client.
    """

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        try:
            return super().authenticate(request, token)
        except DatabaseError as exc:
            logger.warning("inbound email refused, database unavailable: %s", exc)
            raise HttpError(503, UNAVAILABLE) from exc


class InboundOut(Schema):
    id: int
    duplicate: bool


@router.post(
    "/inbound/email",
    auth=BearerAuth(),
    response={
        202: InboundOut,
        400: ErrorOut,
        401: ErrorOut,
        404: ErrorOut,
        413: ErrorOut,
        503: ErrorOut,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"message/rfc822": {"schema": {"type": "string", "format": "binary"}}},
        },
        "parameters": [
            {
                "in": "header",
                "name": "X-Comptoir-Mailbox",
                "schema": {"type": "string"},
                "description": "The mailbox address the mail was sent to (or ?mailbox=).",
            },
            {"in": "query", "name": "mailbox", "schema": {"type": "string"}, "required": False},
        ],
    },
    summary="Receive one raw email (MIME)",
)
def inbound_email_receive(request: HttpRequest) -> Status:
    """Store one raw email for a mailbox of the caller's tenant; 202 once stored durably."""
    address = (
        request.headers.get("X-Comptoir-Mailbox") or request.GET.get("mailbox") or ""
    ).strip()
    if not address:
        raise HttpError(
            400, "Say which mailbox this mail is for: header X-Comptoir-Mailbox or ?mailbox=."
        )
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError as exc:
        raise HttpError(400, "The Content-Length header is not a number.") from exc
    if length > settings.MAIL_MAX_BYTES:
        raise HttpError(413, f"The email is larger than {settings.MAIL_MAX_BYTES} bytes.")
    try:
        mailbox = mailbox_for_agent(user=agent(request), address=address)
    except NotFound as exc:
        raise HttpError(404, f"No mailbox {address!r} in your workspaces.") from exc
    except DatabaseError as exc:
        raise HttpError(503, UNAVAILABLE) from exc
    if not has_right(agent(request), mailbox.workspace_id, Right.INGEST_MAIL):
        # Raw mail can claim any sender: only accounts trusted with it may post it.
        raise HttpError(403, "This account may not deliver email (right: ingest_mail).")
    # Read the stream rather than request.body: that one refuses anything over
    # DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB), far below a mail's legitimate size.
    raw = request.read(settings.MAIL_MAX_BYTES + 1)
    if len(raw) > settings.MAIL_MAX_BYTES:
        raise HttpError(413, f"The email is larger than {settings.MAIL_MAX_BYTES} bytes.")
    if not raw.strip():
        raise HttpError(400, "The request body must be the raw email (message/rfc822).")
    try:
        row, created = inbound_store(
            raw=raw, transport="http", mailbox=mailbox, envelope_to=mailbox.address
        )
    except MessageTooLarge as exc:
        raise HttpError(413, f"The email is larger than {settings.MAIL_MAX_BYTES} bytes.") from exc
    except DatabaseError as exc:
        logger.warning("inbound email refused, database unavailable: %s", exc)
        raise HttpError(503, UNAVAILABLE) from exc
    return Status(202, {"id": row.pk, "duplicate": not created})

"""The shapes the API reads and answers, and the functions that fill them from models."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from ninja import Field, Schema
from pydantic import field_validator

from comptoir.accounts.models import Queue, User, Workspace
from comptoir.contacts.models import Contact, IdentityKind
from comptoir.tickets.models import Attachment, Event, Message, Ticket
from comptoir.tickets.selectors_timeline import TimelineItem


class ErrorOut(Schema):
    detail: str


class ValidationErrorOut(Schema):
    detail: str | list[dict[str, Any]] = Field(
        description="A message, or one entry per invalid field with its `loc` and `msg`."
    )


class Ref(Schema):
    id: int
    name: str


class AgentRef(Schema):
    id: int
    name: str
    initials: str


class WorkspaceOut(Schema):
    id: int
    name: str
    slug: str


class QueueOut(Schema):
    id: int
    name: str
    workspace: Ref


class TicketItem(Schema):
    id: int
    number: int
    subject: str
    status: str
    channel: str
    priority: str
    workspace: Ref
    queue: Ref
    contact: Ref | None
    requester_email: str
    requester_name: str
    assignee: AgentRef | None
    has_unread: bool
    message_count: int
    created_at: datetime
    updated_at: datetime
    status_changed_at: datetime


class TicketPage(Schema):
    items: list[TicketItem]
    next_cursor: str | None = Field(
        description="Pass as `cursor` to get the next page; null on the last page."
    )
    total: int = Field(description="Number of tickets matching the filters, all pages.")


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int


class SenderOut(Schema):
    email: str
    name: str


class MessageOut(Schema):
    id: int
    kind: str
    author: AgentRef | None
    sender: SenderOut
    subject: str
    body_text: str
    body_html: str = Field(description="Sanitized HTML, safe to render.")
    attachments: list[AttachmentOut]
    created_at: datetime


class EventOut(Schema):
    id: int
    kind: str
    author: AgentRef | None
    data: dict[str, Any]
    created_at: datetime


class TimelineEntry(Schema):
    type: Literal["message", "event"]
    created_at: datetime
    message: MessageOut | None = None
    event: EventOut | None = None


class TicketDetail(TicketItem):
    contact_reason: Ref | None
    timeline: list[TimelineEntry] = Field(description="Messages and history events, oldest first.")


class IdentityOut(Schema):
    kind: str
    value: str
    is_primary: bool


class ContactItem(Schema):
    id: int
    name: str = Field(description="First and last name; empty when unknown.")
    first_name: str
    last_name: str
    company: str
    language: str
    emails: list[str]
    phones: list[str]
    created_at: datetime


class ContactPage(Schema):
    items: list[ContactItem]
    page: int
    page_size: int
    total: int
    num_pages: int


class CustomValueOut(Schema):
    key: str
    label: str
    field_type: str
    workspace_id: int
    value: str


class ContactTicketOut(Schema):
    id: int
    number: int
    subject: str
    status: str
    channel: str
    workspace: Ref
    created_at: datetime


class ContactDetail(Schema):
    id: int
    name: str
    first_name: str
    last_name: str
    company: str
    language: str
    created_at: datetime
    updated_at: datetime
    identities: list[IdentityOut]
    custom_fields: list[CustomValueOut]
    tickets: list[ContactTicketOut] = Field(description="Newest first, at most 50.")
    tickets_total: int


class ContactIn(Schema):
    first_name: str = Field("", max_length=150)
    last_name: str = Field("", max_length=150)
    company: str = Field("", max_length=200)
    language: Literal["fr", "en"] = "fr"
    emails: list[str] = Field(default_factory=list, max_length=20)
    phones: list[str] = Field(default_factory=list, max_length=20)

    @field_validator("emails")
    @classmethod
    def _valid_emails(cls, emails: list[str]) -> list[str]:
        cleaned = [e.strip() for e in emails if e.strip()]
        for email in cleaned:
            try:
                validate_email(email)
            except DjangoValidationError as exc:
                raise ValueError(f"invalid email address: {email}") from exc
        return cleaned

    @field_validator("phones")
    @classmethod
    def _strip_phones(cls, phones: list[str]) -> list[str]:
        return [p.strip() for p in phones if p.strip()]


def agent_ref(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.pk, "name": str(user), "initials": user.initials}


def ref(obj: Workspace | Queue | Any) -> dict[str, Any] | None:
    if obj is None:
        return None
    return {"id": obj.pk, "name": str(obj.name)}


def contact_ref(contact: Contact | None) -> dict[str, Any] | None:
    if contact is None:
        return None
    return {"id": contact.pk, "name": contact.full_name}


def ticket_item(t: Ticket) -> dict[str, Any]:
    """A ticket as listed; reads only relations the selectors already joined."""
    return {
        "id": t.pk,
        "number": t.number,
        "subject": t.subject,
        "status": t.status,
        "channel": t.channel,
        "priority": t.priority,
        "workspace": ref(t.workspace),
        "queue": ref(t.queue),
        "contact": contact_ref(t.contact),
        "requester_email": t.requester_email,
        "requester_name": t.requester_name,
        "assignee": agent_ref(t.assignee),
        "has_unread": t.has_unread,
        "message_count": t.message_count,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
        "status_changed_at": t.status_changed_at,
    }


def _attachment(a: Attachment) -> dict[str, Any]:
    return {"id": a.pk, "filename": a.filename, "content_type": a.content_type, "size": a.size}


def _message(m: Message, attachments: Iterable[Attachment]) -> dict[str, Any]:
    return {
        "id": m.pk,
        "kind": m.kind,
        "author": agent_ref(m.author),
        "sender": {"email": m.sender_email, "name": m.sender_name},
        "subject": m.subject,
        "body_text": m.body_text,
        "body_html": m.body_html,
        "attachments": [_attachment(a) for a in attachments],
        "created_at": m.created_at,
    }


def _event(e: Event) -> dict[str, Any]:
    return {
        "id": e.pk,
        "kind": e.kind,
        "author": agent_ref(e.author),
        "data": e.data or {},
        "created_at": e.created_at,
    }


def timeline_entry(item: TimelineItem) -> dict[str, Any]:
    return {
        "type": item.kind,
        "created_at": item.created_at,
        "message": _message(item.message, item.attachments) if item.message is not None else None,
        "event": _event(item.event) if item.event is not None else None,
    }


def contact_item(c: Contact) -> dict[str, Any]:
    """A contact as listed; identities come from the selector's prefetch."""
    identities = list(c.identities.all())
    return {
        "id": c.pk,
        "name": c.full_name,
        "first_name": c.first_name,
        "last_name": c.last_name,
        "company": c.company,
        "language": c.language,
        "emails": [i.value for i in identities if i.kind == IdentityKind.EMAIL],
        "phones": [i.value for i in identities if i.kind == IdentityKind.PHONE],
        "created_at": c.created_at,
    }

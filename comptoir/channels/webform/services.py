"""Writes of the web form channel: a submission becomes a contact's ticket, acknowledged."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from comptoir.channels.email.acknowledgments import acknowledgment_send
from comptoir.channels.webform.models import Submission, WebForm
from comptoir.contacts.models import (
    Contact,
    ContactIdentity,
    CustomField,
    CustomFieldValue,
    IdentityKind,
)
from comptoir.contacts.normalize import normalize_identity
from comptoir.contacts.services import contact_add_identity, contact_create
from comptoir.core import clock
from comptoir.core.errors import DomainError
from comptoir.tickets.models import Channel, MessageKind, Ticket
from comptoir.tickets.services import NewAttachment, message_add, ticket_create

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SubmissionData:
    """A validated submission (forms.SubmissionForm checked every field)."""

    name: str
    email: str
    subject: str
    message: str
    phone: str = ""
    custom_values: Mapping[str, str] = field(default_factory=dict)
    attachments: Sequence[NewAttachment] = ()
    language: str = "fr"


@dataclass(frozen=True)
class SubmitResult:
    ticket: Ticket
    created: bool


def _split_name(name: str) -> tuple[str, str]:
    first, _sep, last = name.strip().partition(" ")
    return first, last.strip()


def _add_phone(contact: Contact, phone: str) -> None:
    """Remember the phone on the contact unless another contact already has it."""
    value = normalize_identity(IdentityKind.PHONE, phone)
    if not value:
        return
    taken = ContactIdentity.objects.filter(
        tenant_id=contact.tenant_id, kind=IdentityKind.PHONE, value=value
    ).exists()
    if taken:
        return
    try:
        with transaction.atomic():
            contact_add_identity(
                contact=contact,
                kind=IdentityKind.PHONE,
                value=value,
                is_primary=not contact.identities.filter(kind=IdentityKind.PHONE).exists(),
            )
    except DomainError:
        # Taken concurrently: the phone stays in the message, the ticket goes on.
        pass


def _contact_by_email(tenant_id: int, email: str) -> Contact | None:
    identity = (
        ContactIdentity.objects.select_related("contact")
        .filter(tenant_id=tenant_id, kind=IdentityKind.EMAIL, value=email)
        .first()
    )
    return identity.contact if identity else None


def contact_for_submission(
    *, web_form: WebForm, data: SubmissionData, now: datetime
) -> tuple[Contact, bool]:
    """The contact owning the submitted email, else a new one from the form's details."""
    email = normalize_identity(IdentityKind.EMAIL, data.email)
    contact = _contact_by_email(web_form.tenant_id, email)
    created = False
    if contact is None:
        first, last = _split_name(data.name)
        try:
            with transaction.atomic():
                contact = contact_create(
                    tenant=web_form.tenant,
                    first_name=first,
                    last_name=last,
                    language=data.language,
                    emails=[email],
                    now=now,
                )
                created = True
        except DomainError:
            # Another submission created the contact between our read and our insert.
            contact = _contact_by_email(web_form.tenant_id, email)
            if contact is None:
                raise
    if data.phone:
        _add_phone(contact, data.phone)
    return contact, created


def _store_custom_values(
    contact: Contact, fields: Sequence[CustomField], values: Mapping[str, str], created: bool
) -> None:
    """Keep the answers on the contact; an existing contact's values are only filled in.

    Anyone can type someone else's address into a public form: letting the form overwrite
    what agents know about an existing contact would let a stranger rewrite it. The answers
    are in the message in any case.
    """
    by_key = {f.key: f for f in fields}
    for key, value in values.items():
        f = by_key.get(key)
        if f is None or not value:
            continue
        row = CustomFieldValue.objects.filter(contact=contact, field=f).first()
        if row is None:
            CustomFieldValue.objects.create(contact=contact, field=f, value=value)
        elif created or not row.value:
            row.value = value
            row.save(update_fields=["value"])


def _body(data: SubmissionData, fields: Sequence[CustomField]) -> str:
    details: list[str] = []
    if data.phone:
        details.append(f"{_('Phone')}: {data.phone}")
    labels = {f.key: f.label for f in fields}
    for key, value in data.custom_values.items():
        if key in labels and value:
            details.append(f"{labels[key]}: {value}")
    if not details:
        return data.message
    return data.message + "\n\n--\n" + "\n".join(details)


def _acknowledge(ticket: Ticket, data: SubmissionData, now: datetime) -> None:
    """Queue the acknowledgment; a failure is logged and never undoes the ticket."""
    # The outbox encodes the name (RFC 2047); quotes and backslashes could only break it.
    name = data.name.replace("\\", "").replace('"', "")
    recipient = f'"{name}" <{data.email}>' if name else data.email
    try:
        with transaction.atomic():
            acknowledgment_send(ticket=ticket, recipient=recipient, now=now)
    except Exception:
        logger.exception("acknowledgment of web form ticket %s failed", ticket.pk)


def webform_submit(
    *,
    web_form: WebForm,
    data: SubmissionData,
    custom_fields: Sequence[CustomField] = (),
    nonce: str = "",
    now: datetime | None = None,
) -> SubmitResult:
    """Turn a submission into a ticket of the form's queue; the same nonce gives the same ticket.

    One transaction: the contact (matched by email or created), its custom values, the
    ticket, the inbound message with its attachments and the acknowledgment's outbox row.
    The mail itself leaves after commit (the outbox schedules it).
    """
    now = now or clock.now()
    if nonce:
        done = Submission.objects.select_related("ticket").filter(web_form=web_form, nonce=nonce)
        if (previous := done.first()) is not None:
            return SubmitResult(ticket=previous.ticket, created=False)
    try:
        with transaction.atomic():
            ticket = _submit(web_form, data, custom_fields, nonce, now)
    except IntegrityError:
        # The same rendered form was posted twice at once: the first post's ticket.
        previous = Submission.objects.filter(web_form=web_form, nonce=nonce).first()
        if not nonce or previous is None:
            raise
        return SubmitResult(ticket=previous.ticket, created=False)
    return SubmitResult(ticket=ticket, created=True)


def _submit(
    web_form: WebForm,
    data: SubmissionData,
    custom_fields: Sequence[CustomField],
    nonce: str,
    now: datetime,
) -> Ticket:
    contact, created = contact_for_submission(web_form=web_form, data=data, now=now)
    ticket = ticket_create(
        queue=web_form.queue,
        channel=Channel.WEBFORM,
        subject=data.subject,
        contact=contact,
        requester_email=data.email,
        requester_name=data.name,
        now=now,
    )
    if nonce:
        Submission.objects.create(web_form=web_form, nonce=nonce, ticket=ticket, created_at=now)
    _store_custom_values(contact, custom_fields, data.custom_values, created)
    message_add(
        ticket=ticket,
        kind=MessageKind.INBOUND,
        body_text=_body(data, custom_fields),
        sender_email=data.email,
        sender_name=data.name,
        subject=data.subject,
        attachments=data.attachments,
        now=now,
    )
    _acknowledge(ticket, data, now)
    return ticket

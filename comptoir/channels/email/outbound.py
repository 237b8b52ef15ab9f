"""The one door for outgoing mail: every email we send is an outbox row written here.

`email_send` runs inside the caller's transaction, so the row exists exactly when the
caller's change does; delivery (delivery.py) happens after commit and is retried by a
periodic sweep until the relay takes the message.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import datetime
from email.utils import formataddr, getaddresses

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from comptoir.accounts.models import Tenant
from comptoir.channels.email import ids
from comptoir.channels.email.models import Mailbox, OutgoingEmail, OutgoingStatus
from comptoir.channels.email.threads import thread_record
from comptoir.core import clock
from comptoir.core.errors import DomainError
from comptoir.tickets.models import Attachment, Message, MessageKind, Ticket

logger = logging.getLogger(__name__)

AUTO_SUBMITTED_VALUES = ("", "auto-generated", "auto-replied")
# Characters that end or fold a header line; anything carrying them is an injection attempt.
_HEADER_BREAKERS = ("\r", "\n", "\x00", "\x0b", "\x0c", "\u2028", "\u2029", "\x85")


class InvalidEmail(DomainError):
    """An address, name or header we refuse to put into an email."""


def _has_breaker(value: str) -> bool:
    return any(c in value for c in _HEADER_BREAKERS)


def check_header_value(name: str, value: str) -> str:
    """Return `value` if it fits on one header line; raise InvalidEmail otherwise."""
    if _has_breaker(value):
        raise InvalidEmail(
            _("The %(header)s contains a line break, which email headers forbid.")
            % {"header": name}
        )
    return value


def parse_address(value: str) -> tuple[str, str]:
    """Split "Name <a@b>" or "a@b" into (name, addr-spec); one valid address or InvalidEmail."""
    check_header_value(_("address"), value)
    found = getaddresses([value])
    if len(found) != 1:
        raise InvalidEmail(_("“%(value)s” is not one email address.") % {"value": value})
    name, addr = found[0]
    try:
        validate_email(addr)
    except ValidationError as exc:
        raise InvalidEmail(
            _("“%(value)s” is not a valid email address.") % {"value": value}
        ) from exc
    return name.strip(), addr


def format_address(value: str) -> str:
    """The canonical, safely quoted form of one address (refuses anything else)."""
    name, addr = parse_address(value)
    return formataddr((name, addr)) if name else addr


def address_only(value: str) -> str:
    """The lower-cased addr-spec of one address (the key of flags and auto-reply logs)."""
    return parse_address(value)[1].lower()


def _strip_brackets(message_id: str) -> str:
    return message_id.strip().strip("<>").strip()


def _check_message_id(value: str) -> str:
    value = _strip_brackets(check_header_value("Message-ID", value))
    if any(c.isspace() or c in "<>" for c in value):
        raise InvalidEmail(_("“%(value)s” is not a Message-ID.") % {"value": value})
    return value


def valid_message_ids(values: Iterable[str]) -> list[str]:
    """The well-formed Message-IDs among `values` (from others' mail), without brackets."""
    result = []
    for value in values:
        try:
            if value and (checked := _check_message_id(value)):
                result.append(checked)
        except InvalidEmail:
            continue
    return result


def from_address_for(*, tenant: Tenant | int, ticket: Ticket | None = None) -> str:
    """Our sender: the queue's mailbox, else the workspace's, else DEFAULT_FROM_EMAIL."""
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    mailboxes = Mailbox.objects.filter(tenant_id=tenant_id, is_active=True).order_by("id")
    mailbox = None
    if ticket is not None:
        mailbox = (
            mailboxes.filter(queue_id=ticket.queue_id).first()
            or mailboxes.filter(workspace_id=ticket.workspace_id).first()
        )
    if mailbox is None:
        return settings.DEFAULT_FROM_EMAIL
    name = " ".join(mailbox.display_name.split())
    return formataddr((name, mailbox.address)) if name else mailbox.address


def subject_with_token(subject: str, ticket: Ticket, token: str = "") -> str:
    """Append the ticket's reply token (or `token`) once; a subject carrying it is kept."""
    token = token or ids.reply_token(ticket.tenant_id, ticket.number)
    if token.lower() in subject.lower():
        return subject
    return f"{subject} {token}".strip()


def _attachment_ids(
    tenant_id: int, attachments: Iterable[Attachment | int], body_html: str
) -> list[int]:
    """The ids to attach, each checked: ours, never an internal note's, and inline ones with
    a Content-ID that fits in a header.
    """
    wanted = [a.pk if isinstance(a, Attachment) else int(a) for a in attachments]
    if not wanted:
        return []
    rows = {
        pk: (kind, content_id, is_inline)
        for pk, kind, content_id, is_inline in Attachment.objects.filter(
            tenant_id=tenant_id, pk__in=wanted
        ).values_list("pk", "message__kind", "content_id", "is_inline")
    }
    if missing := [pk for pk in wanted if pk not in rows]:
        raise DomainError(_("Unknown attachments: %(ids)s") % {"ids": missing})
    for pk in wanted:
        kind, content_id, is_inline = rows[pk]
        # Notes are for agents only: their files never leave by mail, whoever the mail is for.
        if kind == MessageKind.NOTE:
            raise DomainError(_("Attachment %(id)s belongs to an internal note.") % {"id": pk})
        if is_inline and content_id:
            check_header_value("Content-ID", content_id)
            if f'src="cid:{content_id}"' not in body_html:
                # delivery.py makes it a plain attachment: harmless, but the caller erred.
                logger.info("inline attachment %s is not referenced by the HTML body", pk)
    return wanted


def _thread_record(tenant_id: int, ticket_id: int, message_id: str) -> None:
    thread_record(tenant_id=tenant_id, ticket_id=ticket_id, ids=[message_id])


def _schedule_delivery(outgoing_id: int) -> None:
    # Enqueueing can fail (Redis away); the row is committed and the sweep sends it anyway.
    try:
        from comptoir.channels.email.tasks_outbound import outgoing_deliver_task

        outgoing_deliver_task(outgoing_id)
    except Exception:
        logger.exception("could not enqueue delivery of outgoing email %s", outgoing_id)


def email_send(
    *,
    tenant: Tenant | int,
    to: Sequence[str],
    subject: str,
    body_text: str,
    body_html: str = "",
    kind: str,
    idempotency_key: str,
    ticket: Ticket | None = None,
    ticket_message: Message | None = None,
    cc: Sequence[str] = (),
    reply_to: str = "",
    in_reply_to: str = "",
    references: Sequence[str] = (),
    auto_submitted: str = "",
    attachments: Sequence[Attachment | int] = (),
    from_email: str | None = None,
    subject_token: str = "",
    now: datetime | None = None,
) -> OutgoingEmail:
    """Queue one email in the caller's transaction; the same idempotency key never queues twice.

    `subject_token`: the token to put in the subject instead of the ticket's reply token (a
    side thread of the ticket, such as a solicitation, has its own).
    """
    tenant_id = tenant if isinstance(tenant, int) else tenant.pk
    if not idempotency_key or _has_breaker(idempotency_key):
        raise DomainError("an idempotency key is required")
    existing = OutgoingEmail.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    now = now or clock.now()
    if ticket is not None and ticket.tenant_id != tenant_id:
        raise DomainError("ticket of another tenant")
    if auto_submitted not in AUTO_SUBMITTED_VALUES:
        raise DomainError(f"unknown Auto-Submitted value {auto_submitted!r}")
    to_list = [format_address(a) for a in to]
    if not to_list:
        raise InvalidEmail(_("An email needs at least one recipient."))
    cc_list = [format_address(a) for a in cc]
    sender = format_address(from_email or from_address_for(tenant=tenant_id, ticket=ticket))
    reply_to = format_address(reply_to) if reply_to else ""
    subject = check_header_value(_("subject"), subject).strip()
    if ticket is not None:
        subject = subject_with_token(subject, ticket, subject_token)
    in_reply_to = _check_message_id(in_reply_to) if in_reply_to else ""
    refs: list[str] = []
    for ref in references:
        ref = _check_message_id(ref)
        if ref and ref not in refs:
            refs.append(ref)
    if in_reply_to and in_reply_to not in refs:
        refs.append(in_reply_to)
    message_id = ids.make_message_id()
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = OutgoingEmail.objects.create(
                    tenant_id=tenant_id,
                    ticket=ticket,
                    ticket_message=ticket_message,
                    idempotency_key=idempotency_key,
                    kind=kind,
                    from_email=sender,
                    to=to_list,
                    cc=cc_list,
                    reply_to=reply_to,
                    subject=subject[:998],
                    body_text=body_text,
                    body_html=body_html,
                    message_id=message_id,
                    in_reply_to=in_reply_to,
                    # Long threads: the first id and the most recent ones are what clients use.
                    references=" ".join(refs[:1] + refs[1:][-19:]),
                    auto_submitted=auto_submitted,
                    attachment_ids=_attachment_ids(tenant_id, attachments, body_html),
                    status=OutgoingStatus.QUEUED,
                    next_attempt_at=now,
                    created_at=now,
                )
        except IntegrityError:
            # Another transaction queued the same key between our check and our insert.
            existing = OutgoingEmail.objects.filter(idempotency_key=idempotency_key).first()
            if existing is None:
                raise
            return existing
        if ticket is not None:
            _thread_record(tenant_id, ticket.pk, message_id)
        transaction.on_commit(lambda: _schedule_delivery(row.pk))
    return row

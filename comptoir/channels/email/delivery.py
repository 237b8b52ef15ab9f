"""Deliver outbox rows through Django's email backend, once, with retries and backoff.

Claim: a conditional UPDATE moves a due row's `next_attempt_at` into the future (a lease)
and counts the attempt; only the worker whose UPDATE matched sends. Two workers, a retry
of the task and the periodic sweep can therefore never send one row twice while it is
being sent. A worker that dies mid-send leaves the row queued; the lease expires and the
sweep tries again.

The one duplicate window that no outbox can close: the relay accepted the message (250
to DATA) and the process died before the UPDATE to "sent" committed. The row is then sent
again after the lease, with the same Message-ID, so clients and our own threading see the
same message (most clients collapse such duplicates).
"""

from __future__ import annotations

import logging
import random
import smtplib
from datetime import datetime, timedelta
from email.mime.base import MIMEBase
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import BadHeaderError, SafeMIMEMultipart
from django.db.models import F

from comptoir.channels.email.models import OutgoingEmail, OutgoingStatus
from comptoir.channels.email.outbound import _HEADER_BREAKERS, InvalidEmail, format_address
from comptoir.core import clock
from comptoir.tickets.models import Attachment

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 10
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
# How long a claimed row is left alone; longer than any SMTP conversation (EMAIL_TIMEOUT).
LEASE = timedelta(minutes=10)


def _one_line(value: str) -> str:
    """Defence in depth: rows written before validation, or by hand, still cannot inject."""
    for c in _HEADER_BREAKERS:
        value = value.replace(c, " ")
    return value.strip()


class PermanentFailure(Exception):
    """The row itself is unusable (an address no relay will take); retrying cannot help."""


def _address(value: str) -> str:
    try:
        return format_address(_one_line(value))
    except InvalidEmail as exc:
        raise PermanentFailure(f"invalid address {_one_line(value)!r}") from exc


def _bracketed(message_id: str) -> str:
    return f"<{_one_line(message_id).strip('<>')}>"


def backoff_delay(attempts: int) -> timedelta:
    """1 min * 2^(attempts-1), capped at 6 h, plus up to 20 % jitter so retries spread out."""
    base = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** max(0, attempts - 1)))
    return base + base * random.uniform(0, 0.2)


class _RelatedEmail(EmailMultiAlternatives):
    """Text, HTML alternative, and inline images as multipart/related beside the HTML."""

    inline_parts: list[MIMEBase]
    html: str = ""

    def _create_alternatives(self, msg: Any) -> Any:
        if not self.inline_parts or not self.html:
            return super()._create_alternatives(msg)  # type: ignore[misc]
        encoding = self.encoding or settings.DEFAULT_CHARSET
        alternative = SafeMIMEMultipart(_subtype="alternative", encoding=encoding)
        alternative.attach(msg)
        related = SafeMIMEMultipart(_subtype="related", encoding=encoding)
        related.attach(self._create_mime_attachment(self.html, "text/html"))  # type: ignore[attr-defined]
        for part in self.inline_parts:
            related.attach(part)
        alternative.attach(related)
        return alternative


def _read(attachment: Attachment) -> bytes:
    with attachment.file.open("rb") as handle:
        return handle.read()


def _inline_part(attachment: Attachment) -> MIMEBase:
    maintype, _slash, subtype = (attachment.content_type or "").partition("/")
    if not maintype or not subtype or _one_line(attachment.content_type) != attachment.content_type:
        maintype, subtype = "application", "octet-stream"
    part = MIMEBase(maintype, subtype)
    part.set_payload(_read(attachment))
    from email import encoders

    encoders.encode_base64(part)
    part.add_header("Content-ID", _bracketed(attachment.content_id))
    part.add_header("Content-Disposition", "inline", filename=_one_line(attachment.filename))
    return part


def build_message(row: OutgoingEmail, connection: Any = None) -> EmailMultiAlternatives:
    """The Django email for an outbox row: our headers, both bodies, files and inline images."""
    headers = {"Message-ID": _bracketed(row.message_id)}
    if row.in_reply_to:
        headers["In-Reply-To"] = _bracketed(row.in_reply_to)
    refs = [r for r in _one_line(row.references).split() if r]
    if refs:
        headers["References"] = " ".join(_bracketed(r) for r in refs)
    if row.auto_submitted:
        headers["Auto-Submitted"] = _one_line(row.auto_submitted)
        # Asks Exchange/Outlook not to answer our automatic mail with their own (loops).
        headers["X-Auto-Response-Suppress"] = "All"
    email = _RelatedEmail(
        subject=_one_line(row.subject),
        body=row.body_text,
        from_email=_address(row.from_email),
        to=[_address(a) for a in row.to],
        cc=[_address(a) for a in row.cc],
        reply_to=[_address(row.reply_to)] if row.reply_to else None,
        headers=headers,
        connection=connection,
    )
    email.inline_parts = []
    email.html = row.body_html
    if row.body_html:
        email.attach_alternative(row.body_html, "text/html")
    attachments = Attachment.objects.filter(tenant_id=row.tenant_id, pk__in=row.attachment_ids)
    by_id = {a.pk: a for a in attachments}
    for pk in row.attachment_ids:
        attachment = by_id.get(pk)
        if attachment is None:
            continue
        if attachment.is_inline and attachment.content_id and row.body_html:
            email.inline_parts.append(_inline_part(attachment))
        else:
            email.attach(_one_line(attachment.filename), _read(attachment), attachment.content_type)
    return email


def _is_permanent(exc: BaseException) -> bool:
    """5xx answers and malformed messages will not get better by waiting."""
    if isinstance(exc, (PermanentFailure, BadHeaderError, UnicodeError)):
        return True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(exc, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)):
        return exc.smtp_code >= 500
    return False


def outgoing_claim(*, outgoing_id: int, now: datetime) -> bool:
    """Take the row for one delivery attempt; False when it is not due or someone has it.

    `now` decides what is due; the lease runs from the clock at claim time, so a sweep
    that has been busy for a while (a hanging relay) never hands out an expired lease that
    another worker could take while this one is still sending.
    """
    claimed = OutgoingEmail.objects.filter(
        pk=outgoing_id, status=OutgoingStatus.QUEUED, next_attempt_at__lte=now
    ).update(next_attempt_at=_later_of(now, clock.now()) + LEASE, attempts=F("attempts") + 1)
    return claimed == 1


def outgoing_deliver(
    *, outgoing_id: int, now: datetime | None = None, connection: Any = None
) -> bool:
    """Send one due outbox row if we can claim it; True when the relay accepted it."""
    now = now or clock.now()
    if not outgoing_claim(outgoing_id=outgoing_id, now=now):
        return False
    row = OutgoingEmail.objects.get(pk=outgoing_id)
    try:
        email = build_message(row, connection=connection or get_connection(fail_silently=False))
        email.send(fail_silently=False)
    except Exception as exc:
        _record_failure(row, exc, now)
        return False
    OutgoingEmail.objects.filter(pk=row.pk).update(
        status=OutgoingStatus.SENT, sent_at=clock.now(), last_error=""
    )
    return True


def _record_failure(row: OutgoingEmail, exc: BaseException, now: datetime) -> None:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    permanent = _is_permanent(exc)
    if permanent or row.attempts >= MAX_ATTEMPTS:
        logger.warning("outgoing email %s failed for good: %s", row.pk, error)
        OutgoingEmail.objects.filter(pk=row.pk).update(
            status=OutgoingStatus.FAILED, last_error=error
        )
        return
    logger.info("outgoing email %s not sent yet (attempt %s): %s", row.pk, row.attempts, error)
    # Backoff counts from when the attempt failed, not from when the sweep started.
    OutgoingEmail.objects.filter(pk=row.pk).update(
        next_attempt_at=_later_of(now, clock.now()) + backoff_delay(row.attempts),
        last_error=error,
    )


def _later_of(a: datetime, b: datetime) -> datetime:
    return a if a >= b else b


def outgoing_due_ids(*, now: datetime, limit: int = 100) -> list[int]:
    """Queued rows whose next attempt is due, oldest due first (index outgoing_due)."""
    return list(
        OutgoingEmail.objects.filter(status=OutgoingStatus.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def outgoing_deliver_due(*, now: datetime | None = None, limit: int = 100) -> int:
    """Try every due row once (the periodic sweep); returns how many the relay accepted."""
    now = now or clock.now()
    sent = 0
    for pk in outgoing_due_ids(now=now, limit=limit):
        if outgoing_deliver(outgoing_id=pk, now=now):
            sent += 1
    return sent


def outgoing_retry(*, outgoing: OutgoingEmail, now: datetime | None = None) -> OutgoingEmail:
    """Put a failed row back in the queue now (an administrator fixed the cause)."""
    now = now or clock.now()
    OutgoingEmail.objects.filter(pk=outgoing.pk, status=OutgoingStatus.FAILED).update(
        status=OutgoingStatus.QUEUED, attempts=0, next_attempt_at=now
    )
    outgoing.refresh_from_db()
    return outgoing

"""Deliver outbox rows through Django's email backend, once, with retries and backoff.

Claim: one statement moves due rows' `next_attempt_at` into the future (a lease), counts
the attempt and returns the rows it took (`UPDATE … WHERE id = ANY(ARRAY(SELECT … LIMIT n
FOR UPDATE SKIP LOCKED)) RETURNING id`; SQLite runs one writer at a time, so the statement alone
is race-free there). Only the worker whose UPDATE took a row sends it: two workers, a retry
of the task and the periodic sweep can never send one row twice while it is leased. A
worker that dies mid-batch leaves its unsent rows queued; the lease expires and the sweep
tries them again.

Batches: the sweep and the task that a bulk send queues claim up to BATCH rows at once,
build and send them over one SMTP connection (a sender thread waits on the relay while
the next mail is built), then mark the accepted ones sent in one UPDATE and give each
refused one its own outcome (a retry with backoff, or failed for good on a 5xx or an
unusable row). One refused recipient fails its own row only. A relay that cannot be
reached or hangs up (421) sends every unsent row of the batch back with backoff; the
sweep then stops for this round, so a relay that is down costs one batch an attempt, not
the whole queue. A batch that has used half its lease (a very slow relay) hands its
untried rows back without counting an attempt, so no row is sent once its lease is over.
The one-row send after a commit (a reply) is a batch of one: the same code sends both.

The one duplicate window that no outbox can close: the relay accepted a message (250 to
DATA) and the process died before the UPDATE to "sent" committed. Rows are marked sent
right after their batch, so the window covers the messages of one batch (BATCH rows, well
under a second to a healthy relay); such a row is sent again after the lease, with the
same Message-ID, so clients and our own threading see the same message (most clients
collapse such duplicates).
"""

from __future__ import annotations

import base64
import functools
import logging
import queue
import random
import smtplib
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.mime.base import MIMEBase
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.message import BadHeaderError, SafeMIMEMultipart
from django.db import connection as db
from django.db import transaction
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
# Rows claimed and sent together over one connection; also the most a crash can resend.
BATCH = 100
# The sweep (every minute) stops draining after this long; the next run goes on.
DRAIN_SECONDS = 50.0


def _one_line(value: str) -> str:
    """Defence in depth: rows written before validation, or by hand, still cannot inject."""
    for c in _HEADER_BREAKERS:
        value = value.replace(c, " ")
    return value.strip()


class PermanentFailure(Exception):
    """The row itself is unusable (an address no relay will take); retrying cannot help."""


@functools.lru_cache(maxsize=1024)  # a batch's sender is the same on every row
def _address(value: str) -> str:
    try:
        return format_address(_one_line(value))
    except InvalidEmail as exc:
        raise PermanentFailure(f"invalid address {_one_line(value)!r}") from exc


# Non-ASCII subjects as base64 encoded words, made here in one pass: for UTF-8 the stdlib
# measures every prefix of the subject (quadratic), a third of the time spent building a
# mail. 42 bytes give 68-character words, so the first fits on the line after "Subject: ".
_WORD_BYTES = 42


def _subject(value: str) -> str:
    value = _one_line(value)
    if value.isascii():
        return value
    words: list[str] = []
    chunk: list[str] = []
    size = 0
    for char in value:
        length = len(char.encode())
        if size + length > _WORD_BYTES:
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(char)
        size += length
    words.append("".join(chunk))
    # Adjacent encoded words on one line (Django refuses line breaks; readers join them).
    return " ".join(f"=?utf-8?b?{base64.b64encode(w.encode()).decode()}?=" for w in words)


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
    _built: Any = None

    def message(self, **kwargs: Any) -> Any:
        # Built once: delivery builds it ahead, the backend then asks for it again.
        if kwargs:
            return super().message(**kwargs)
        if self._built is None:
            self._built = super().message()
        return self._built

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
        subject=_subject(row.subject),
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
    if not row.attachment_ids:
        return email  # most mail: spare the query's construction
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


def _later_of(a: datetime, b: datetime) -> datetime:
    return a if a >= b else b


def _claim_sql(*, ids: Sequence[int] | None) -> str:
    table = db.ops.quote_name(OutgoingEmail._meta.db_table)
    # 'queued' is literal so that SQLite can prove the partial index outgoing_due applies.
    due = f"status = '{OutgoingStatus.QUEUED.value}' AND next_attempt_at <= %s"
    only = ""
    if ids is not None:
        only = " AND id IN ({})".format(", ".join(["%s"] * len(ids)))
    pick = f"SELECT id FROM {table} WHERE {due}{only} ORDER BY next_attempt_at LIMIT %s"
    if db.features.has_select_for_update_skip_locked:
        # ARRAY(…) runs the pick once (an InitPlan); as `IN (…)` PostgreSQL may rescan it
        # and take more than LIMIT rows.
        taken = f"id = ANY(ARRAY({pick} FOR UPDATE SKIP LOCKED))"
    else:
        taken = f"id IN ({pick})"
    # The outer condition is checked again on the row version a concurrent claimer left.
    return (
        f"UPDATE {table} SET next_attempt_at = %s, attempts = attempts + 1 "
        f"WHERE {due} AND {taken} RETURNING id"
    )


def outgoing_claim_many(
    *, now: datetime, limit: int = BATCH, ids: Sequence[int] | None = None
) -> list[int]:
    """Lease up to `limit` due rows (of `ids` when given) in one statement; the ids taken.

    `now` decides what is due; the lease runs from the clock at claim time, so a sweep
    that has been busy for a while (a hanging relay) never hands out an expired lease that
    another worker could take while this one is still sending.
    """
    if ids is not None and not ids:
        return []
    adapt = db.ops.adapt_datetimefield_value
    due = adapt(now)
    lease = adapt(_later_of(now, clock.now()) + LEASE)
    params: list[Any] = [lease, due, due, *(ids or []), limit]
    with db.cursor() as cursor:
        cursor.execute(_claim_sql(ids=ids), params)
        return sorted(pk for (pk,) in cursor.fetchall())


def outgoing_claim(*, outgoing_id: int, now: datetime) -> bool:
    """Take one row for one delivery attempt; False when it is not due or someone has it."""
    return bool(outgoing_claim_many(now=now, limit=1, ids=[outgoing_id]))


def _connection_lost(exc: BaseException) -> bool:
    """The relay is unreachable, timed out or hung up: no later row can go through it."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        # 421 is the relay closing the connection (smtplib closes its side too).
        return any(code == 421 for code, _msg in exc.recipients.values())
    if isinstance(exc, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)):
        return exc.smtp_code == 421
    # Otherwise smtplib reset the transaction and the connection serves the next row.
    return isinstance(exc, OSError)  # smtplib.SMTPException is an OSError too


def _close_quietly(connection: Any) -> None:
    try:
        connection.close()
    except Exception:  # a dead socket may fail to say QUIT; it is being dropped anyway
        logger.debug("closing the SMTP connection failed", exc_info=True)


class _Sender(threading.Thread):
    """Sends built mails over one connection, in order, while the next ones are built.

    The relay's answers are waited for here, so building the next mail (CPU) overlaps
    the relay's work. It touches no database: the caller records the outcomes.
    """

    def __init__(self, connection: Any, deadline: float) -> None:
        super().__init__(name="outbox-sender", daemon=True)
        self.connection = connection
        # Past it (time.monotonic), rows still queued go back untried: a slow relay must
        # never make us send a row whose lease ran out (another worker may have it).
        self.deadline = deadline
        self.inbox: queue.Queue[tuple[OutgoingEmail, EmailMultiAlternatives] | None] = queue.Queue(
            maxsize=16
        )
        self.sent: list[int] = []
        self.failed: list[tuple[OutgoingEmail, BaseException]] = []
        self.untried: list[int] = []
        self.lost: BaseException | None = None

    def run(self) -> None:
        while (item := self.inbox.get()) is not None:
            row, email = item
            if self.lost is not None:
                self.failed.append((row, self.lost))
                continue
            # The batch's first row always goes: it starts right after the claim.
            if (self.sent or self.failed) and time.monotonic() > self.deadline:
                self.untried.append(row.pk)
                continue
            try:
                # Opened here, not by send_messages, which would close what it opened.
                self.connection.open()
                # One message per call: an exception then belongs to this row alone.
                self.connection.send_messages([email])
            except Exception as exc:
                self.failed.append((row, exc))
                if _connection_lost(exc):
                    self.lost = exc
                    _close_quietly(self.connection)
                continue
            self.sent.append(row.pk)


def _send_rows(
    rows: Sequence[OutgoingEmail], *, now: datetime, connection: Any
) -> tuple[list[int], bool]:
    """Build and send claimed rows over one connection, then record every outcome.

    Returns the ids the relay accepted and whether the relay was lost (unreachable or
    hung up) before any row went through. The caller owns `connection` and closes it.
    """
    failed: list[tuple[OutgoingEmail, BaseException]] = []
    untried: list[int] = []
    # Past half the lease, untried rows go back: none may be sent after its lease ran out.
    deadline = time.monotonic() + LEASE.total_seconds() / 2
    sender = _Sender(connection, deadline)
    sender.start()
    try:
        for index, row in enumerate(rows):
            if sender.lost is not None:
                failed.extend((r, sender.lost) for r in rows[index:])
                break
            if index and time.monotonic() > deadline:
                untried = [r.pk for r in rows[index:]]
                break
            try:
                email = build_message(row, connection=connection)
                email.message()  # the MIME tree, built here rather than on the sender
            except Exception as exc:
                failed.append((row, exc))
                continue
            sender.inbox.put((row, email))
    finally:
        sender.inbox.put(None)
        sender.join()
        # Even when building failed unexpectedly: what the relay took must be marked sent.
        # Rows neither sent nor failed then stay leased until the lease runs out.
        _record_outcomes(
            sent=sender.sent,
            failed=failed + sender.failed,
            untried=untried + sender.untried,
            now=now,
        )
    return sender.sent, sender.lost is not None and not sender.sent


def _record_outcomes(
    *,
    sent: Sequence[int],
    failed: Sequence[tuple[OutgoingEmail, BaseException]],
    untried: Sequence[int],
    now: datetime,
) -> None:
    # Sent first, in a commit of its own: this closes the duplicate window of the batch.
    if sent:
        OutgoingEmail.objects.filter(pk__in=sent).update(
            status=OutgoingStatus.SENT, sent_at=clock.now(), last_error=""
        )
    if not failed and not untried:
        return
    with transaction.atomic():
        for row, exc in failed:
            _record_failure(row, exc, now)
        if untried:
            OutgoingEmail.objects.filter(pk__in=untried, status=OutgoingStatus.QUEUED).update(
                next_attempt_at=now, attempts=F("attempts") - 1
            )


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


def _deliver_claimed(ids: Sequence[int], *, now: datetime, connection: Any) -> tuple[int, bool]:
    rows = list(OutgoingEmail.objects.filter(pk__in=ids).order_by("pk"))
    sent, lost = _send_rows(rows, now=now, connection=connection)
    return len(sent), lost


def outgoing_deliver_many(
    *, ids: Sequence[int], now: datetime | None = None, connection: Any = None
) -> int:
    """Send the due rows among `ids` in batches over one connection; how many were accepted."""
    now = now or clock.now()
    own = connection is None
    connection = connection or get_connection(fail_silently=False)
    sent = 0
    try:
        for start in range(0, len(ids), BATCH):
            claimed = outgoing_claim_many(now=now, ids=ids[start : start + BATCH], limit=BATCH)
            if claimed:
                accepted, lost = _deliver_claimed(claimed, now=now, connection=connection)
                sent += accepted
                if lost:
                    break  # the relay is down: the sweep retries the rest, uncharged
    finally:
        if own:
            _close_quietly(connection)
    return sent


def outgoing_deliver(
    *, outgoing_id: int, now: datetime | None = None, connection: Any = None
) -> bool:
    """Send one due outbox row if we can claim it; True when the relay accepted it."""
    return outgoing_deliver_many(ids=[outgoing_id], now=now, connection=connection) == 1


def outgoing_due_ids(*, now: datetime, limit: int = BATCH) -> list[int]:
    """Queued rows whose next attempt is due, oldest due first (index outgoing_due)."""
    return list(
        OutgoingEmail.objects.filter(status=OutgoingStatus.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )


def outgoing_deliver_due(
    *,
    now: datetime | None = None,
    batch: int = BATCH,
    seconds: float = DRAIN_SECONDS,
    connection: Any = None,
) -> int:
    """Drain the due rows batch by batch over one connection (the sweep); how many were sent.

    Stops when nothing is due, after `seconds`, or when the relay cannot be reached (the
    rest waits for the next run instead of each paying an attempt).
    """
    now = now or clock.now()
    own = connection is None
    connection = connection or get_connection(fail_silently=False)
    stop = time.monotonic() + seconds
    sent = 0
    try:
        while claimed := outgoing_claim_many(now=now, limit=batch):
            accepted, lost = _deliver_claimed(claimed, now=now, connection=connection)
            sent += accepted
            if lost or len(claimed) < batch or time.monotonic() > stop:
                break
    finally:
        if own:
            _close_quietly(connection)
    return sent


def outgoing_retry(*, outgoing: OutgoingEmail, now: datetime | None = None) -> OutgoingEmail:
    """Put a failed row back in the queue now (an administrator fixed the cause)."""
    now = now or clock.now()
    OutgoingEmail.objects.filter(pk=outgoing.pk, status=OutgoingStatus.FAILED).update(
        status=OutgoingStatus.QUEUED, attempts=0, next_attempt_at=now
    )
    outgoing.refresh_from_db()
    return outgoing

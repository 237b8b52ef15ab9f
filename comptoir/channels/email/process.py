"""Process stored inbound emails: parse, filter, thread, route — once each, in one transaction.

A stored email (InboundEmail, status "received") is processed exactly once: the status
moves to processed / quarantined / ignored in the same transaction as every write it
causes, so a crash before the commit leaves it "received" (processed again on restart, by
the task retry or the sweeper) and a crash after leaves nothing to redo (a re-run is a
no-op). A parse failure quarantines the raw message (`comptoir mail replay` retries it);
any other failure (storage down, database error) rolls everything back and counts an
attempt, and after MAX_ATTEMPTS the message is quarantined so it stops retrying forever.

Bulk ingestion of mails not stored yet (`inbound_store_process_many`) writes each raw row
already processed, in the same transaction as its ticket writes: the raw bytes and their
processing commit together or not at all (the files it reads from stay the source until
then). If that transaction fails, the caller stores the raw rows on their own first and
processes them the usual way (the batch again, then one by one), so one bad mail costs
only itself.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F

from comptoir.channels.email.filters import decide
from comptoir.channels.email.ids import is_our_message_id
from comptoir.channels.email.models import (
    InboundEmail,
    InboundStatus,
    Mailbox,
    OutgoingEmail,
)
from comptoir.channels.email.parsed import ParsedEmail
from comptoir.channels.email.routing import BatchItem, RouteContext, route, route_batch
from comptoir.core import clock
from comptoir.tickets.bulk import new_instances, rows_update, values_insert

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
BATCH_SIZE = 100


def _summary(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=-6))
    return text[-4000:]


def _parse(raw: bytes) -> ParsedEmail:
    # Imported here: the parser is a separate, pure module; importing it lazily keeps this
    # module importable on its own (and the cost out of Django start-up).
    from comptoir.channels.email.parse import parse_email

    return parse_email(raw)


def _facts(tenant_id: int, parsed: ParsedEmail, ctx: RouteContext) -> dict[str, bool]:
    is_ours = bool(parsed.message_id) and is_our_message_id(parsed.message_id)
    sent = False
    if is_ours:
        mid = parsed.message_id.strip("<> ")
        sent = OutgoingEmail.objects.filter(
            tenant_id=tenant_id, message_id__in={mid, mid.lower()}
        ).exists()
    return {
        "is_our_sent_mail": sent,
        "from_our_mailbox": ctx.is_our_mailbox(parsed.from_email),
        "has_our_message_id": is_ours and not sent,
    }


_ROW_FIELDS = ["status", "ticket", "ticket_message", "error", "attempts", "processed_at"]


def _quarantine(row: InboundEmail, error: str, now: datetime) -> None:
    row.status = InboundStatus.QUARANTINED
    row.error = error
    row.attempts += 1
    row.processed_at = now


def _parse_row(
    row: InboundEmail, now: datetime, ready: ParsedEmail | None = None
) -> ParsedEmail | None:
    """The parsed mail, or None when the row went to quarantine (fields set, not saved).

    `ready`: the row's bytes already parsed (by the ingest's parser child).
    """
    try:
        parsed = ready if ready is not None else _parse(bytes(row.raw))
    except Exception as exc:
        # Nothing else is written: the raw bytes wait in quarantine for a fixed parser.
        logger.warning("inbound email %s quarantined: %s", row.pk or row.dedup_key, exc)
        _quarantine(row, "parse error: " + _summary(exc), now)
        return None
    # The parser salvages what it can rather than raise; a salvaged mail may have lost its
    # attachments or body structure, so it waits in quarantine for a fixed parser instead of
    # becoming an incomplete ticket.
    crashes = [d for d in parsed.defects if d.startswith("parser-crash")]
    if crashes:
        _quarantine(row, "parse error: " + ", ".join(crashes), now)
        return None
    if row.mailbox is None:
        _quarantine(row, "its mailbox was deleted before it was processed", now)
        return None
    return parsed


def _process_rows(
    rows: Sequence[InboundEmail],
    now: datetime,
    *,
    bulk: bool = False,
    parsed: Sequence[ParsedEmail | None] = (),
    save: bool = True,
) -> None:
    """Process locked, still-received rows inside the caller's transaction.

    `bulk`: the same decisions, written in bulk (routing.route_batch) — bulk ingestion.
    `parsed`: the rows already parsed, in the order of `rows` (None: parse it here).
    `save`: write the rows' new fields (False: the caller inserts the rows afterwards).
    """
    ctx = RouteContext()
    ready = list(parsed) + [None] * (len(rows) - len(parsed))
    parsed_rows = [
        (row, p)
        for row, p in ((r, _parse_row(r, now, given)) for r, given in zip(rows, ready, strict=True))
        if p
    ]
    ctx.prefetch([(row.tenant_id, p) for row, p in parsed_rows])
    if bulk:
        items = []
        for row, p in parsed_rows:
            assert row.mailbox is not None
            decision = decide(p, **_facts(row.tenant_id, p, ctx))
            items.append(BatchItem(row=row, mailbox=row.mailbox, parsed=p, decision=decision))
        outcomes = route_batch(items=items, now=now, context=ctx)
        done = list(zip([row for row, _p in parsed_rows], outcomes, strict=True))
    else:
        done = []
        for row, p in parsed_rows:
            assert row.mailbox is not None
            decision = decide(p, **_facts(row.tenant_id, p, ctx))
            outcome = route(
                row=row, mailbox=row.mailbox, parsed=p, decision=decision, now=now, context=ctx
            )
            done.append((row, outcome))
    for row, outcome in done:
        row.status = outcome.status
        row.ticket = outcome.ticket
        if outcome.message is not None:
            row.ticket_message = outcome.message
        else:
            row.ticket_message_id = outcome.message_pk
        row.error = outcome.note
        row.attempts += 1
        row.processed_at = now
    ctx.index.flush()
    if not save:
        return
    if len(rows) == 1:
        rows[0].save(update_fields=_ROW_FIELDS)
    elif rows:
        # Django's bulk_update (a CASE per field and row) cost more than the rest of the
        # batch's writes when profiled: one parametrized UPDATE run for all rows instead.
        rows_update(rows, _ROW_FIELDS)


def _locked(ids: Sequence[int], *, without_raw: bool = False) -> list[InboundEmail]:
    # FOR UPDATE (PostgreSQL): two workers given the same id process it once. SQLite
    # ignores it; its write transactions are serialized anyway (IMMEDIATE mode).
    rows_qs = InboundEmail.objects.select_for_update().filter(pk__in=list(ids)).order_by("pk")
    if without_raw:
        # Already parsed: the bytes need not cross from the database again, and the batch
        # path reads no other field (building 16-field instances showed in the profile).
        rows_qs = rows_qs.only(
            "id", "tenant_id", "mailbox_id", "status", "attempts", "ticket_id", "ticket_message_id"
        )
    rows = list(rows_qs)
    # The few mailboxes of a batch once each, shared by their rows (not one copy per row).
    mailboxes = Mailbox.objects.select_related("queue").in_bulk(
        {row.mailbox_id for row in rows if row.mailbox_id is not None}
    )
    for row in rows:
        row.mailbox = mailboxes.get(row.mailbox_id) if row.mailbox_id is not None else None
    return rows


def _record_failure(ids: Sequence[int], exc: BaseException) -> None:
    """Count a failed attempt (outside the rolled-back transaction); quarantine at the cap."""
    error = _summary(exc)
    try:
        with transaction.atomic():
            pending = InboundEmail.objects.filter(pk__in=list(ids), status=InboundStatus.RECEIVED)
            pending.update(attempts=F("attempts") + 1, error=error)
            pending.filter(attempts__gte=MAX_ATTEMPTS).update(status=InboundStatus.QUARANTINED)
    except Exception:
        # The database itself may be what failed; the row stays "received" and is retried.
        logger.exception("could not record the failure of inbound emails %s", list(ids))


def inbound_process(*, inbound_id: int, now: datetime | None = None) -> InboundEmail | None:
    """Process one stored email; a no-op unless it is still "received". Raises on faults."""
    now = now or clock.now()
    try:
        with transaction.atomic():
            rows = _locked([inbound_id])
            if not rows:
                return None
            row = rows[0]
            if row.status == InboundStatus.RECEIVED:
                _process_rows([row], now)
            return row
    except Exception as exc:
        _record_failure([inbound_id], exc)
        raise


@dataclass
class BatchResult:
    processed: int = 0
    quarantined: int = 0
    ignored: int = 0
    skipped: int = 0  # already processed before (re-runs, redeliveries)
    failed: list[int] = field(default_factory=list)  # left "received": retried later

    def add(self, other: BatchResult) -> None:
        self.processed += other.processed
        self.quarantined += other.quarantined
        self.ignored += other.ignored
        self.skipped += other.skipped
        self.failed.extend(other.failed)


def _count(result: BatchResult, status: str) -> None:
    if status == InboundStatus.PROCESSED:
        result.processed += 1
    elif status == InboundStatus.QUARANTINED:
        result.quarantined += 1
    elif status == InboundStatus.IGNORED:
        result.ignored += 1


def inbound_process_many(
    *,
    inbound_ids: Iterable[int],
    now: datetime | None = None,
    parsed: Mapping[int, ParsedEmail] | None = None,
) -> BatchResult:
    """Process stored emails in one transaction; if any fails, again one by one.

    One transaction for a batch is what makes bulk ingestion fast; falling back to one
    transaction per email on error means a bad email never loses the good ones.
    `parsed`: some of them already parsed from their stored bytes, by id (the ingest's
    parser child); the others are parsed here.
    """
    now = now or clock.now()
    ids = list(dict.fromkeys(inbound_ids))
    result = BatchResult()
    if not ids:
        return result
    ready = parsed or {}
    try:
        with transaction.atomic():
            rows = []
            for row in _locked(ids, without_raw=all(i in ready for i in ids)):
                if row.status == InboundStatus.RECEIVED:
                    rows.append(row)
                else:
                    result.skipped += 1
            _process_rows(rows, now, bulk=len(rows) > 1, parsed=[ready.get(row.pk) for row in rows])
            for row in rows:
                _count(result, row.status)
        return result
    except Exception as exc:
        if len(ids) == 1:
            _record_failure(ids, exc)
            return BatchResult(failed=list(ids))
    result = BatchResult()
    for inbound_id in ids:
        try:
            done = inbound_process(inbound_id=inbound_id, now=now)
        except Exception:
            logger.exception("inbound email %s failed; it will be retried", inbound_id)
            result.failed.append(inbound_id)
            continue
        if done is not None:
            _count(result, done.status)
    return result


@dataclass(frozen=True)
class NewInbound:
    """A received mail not stored yet, for `inbound_store_process_many`."""

    mailbox: Mailbox
    raw: bytes
    dedup_key: str  # headers.dedup_key(raw)
    transport: str
    parsed: ParsedEmail | None = None  # parsed already from these very bytes


_NEW_ROW_FIELDS = [
    "tenant_id", "mailbox_id", "transport", "envelope_to", "dedup_key", "raw", "size",
    "received_at", "status", "ticket_id", "ticket_message_id", "error", "attempts",
    "processed_at",
]  # fmt: skip


def inbound_store_process_many(
    *, mails: Sequence[NewInbound], now: datetime | None = None
) -> tuple[list[int], BatchResult]:
    """Store new mails and process them in one transaction; returns their ids (in order).

    Each raw row is inserted with its outcome (status, ticket, message) after its ticket
    writes, in the same transaction: no row is ever seen stored but unprocessed, and no
    UPDATE rewrites it. Raises on any failure, with nothing written: the caller then
    stores the raw rows durably first and processes them the usual way
    (`inbound_process_many`). A mail the parser cannot read is stored quarantined, as
    `inbound_process` would leave it. The dedup keys must be new (checked by the caller;
    a concurrent writer of the same key makes the INSERT fail, hence the whole batch).
    """
    now = now or clock.now()
    result = BatchResult()
    if not mails:
        return [], result
    rows: list[InboundEmail] = new_instances(
        InboundEmail,
        [
            {
                "tenant_id": m.mailbox.tenant_id,
                "mailbox": m.mailbox,
                "transport": m.transport,
                "envelope_to": m.mailbox.address,
                "dedup_key": m.dedup_key,
                "raw": m.raw,
                "size": len(m.raw),
                "status": InboundStatus.RECEIVED.value,
                "received_at": now,
            }
            for m in mails
        ],
    )
    with transaction.atomic():
        _process_rows(rows, now, bulk=len(rows) > 1, parsed=[m.parsed for m in mails], save=False)
        ids = values_insert(
            InboundEmail,
            _NEW_ROW_FIELDS,
            [
                (
                    row.tenant_id,
                    row.mailbox_id,
                    row.transport,
                    row.envelope_to,
                    row.dedup_key,
                    row.raw,
                    row.size,
                    row.received_at,
                    str(row.status),  # a plain str for the driver, not the enum member
                    row.ticket_id,
                    row.ticket_message_id,
                    row.error,
                    row.attempts,
                    row.processed_at,
                )
                for row in rows
            ],
        )
    for row in rows:
        _count(result, row.status)
    return ids, result


def inbound_process_pending(
    *,
    older_than: timedelta = timedelta(minutes=2),
    limit: int = 1000,
    now: datetime | None = None,
) -> BatchResult:
    """Process emails stored but never processed (a crash between store and task, case 2)."""
    now = now or clock.now()
    ids = list(
        InboundEmail.objects.filter(
            status=InboundStatus.RECEIVED, received_at__lte=now - older_than
        )
        .order_by("received_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    result = BatchResult()
    for start in range(0, len(ids), BATCH_SIZE):
        result.add(inbound_process_many(inbound_ids=ids[start : start + BATCH_SIZE], now=now))
    return result


def inbound_replay(
    *, inbound_ids: Sequence[int] = (), all_quarantined: bool = False, now: datetime | None = None
) -> BatchResult:
    """Process quarantined emails again (after a parser fix): back to received, then process."""
    qs = InboundEmail.objects.filter(status=InboundStatus.QUARANTINED)
    if not all_quarantined:
        qs = qs.filter(pk__in=list(inbound_ids))
    ids = list(qs.order_by("pk").values_list("pk", flat=True))
    result = BatchResult()
    for start in range(0, len(ids), BATCH_SIZE):
        chunk = ids[start : start + BATCH_SIZE]
        InboundEmail.objects.filter(pk__in=chunk, status=InboundStatus.QUARANTINED).update(
            status=InboundStatus.RECEIVED, error="", attempts=0
        )
        result.add(inbound_process_many(inbound_ids=chunk, now=now))
    return result

"""Bulk writes on tickets for batch ingestion: the same rows as ticket_create/message_add.

Run inside the caller's transaction. One statement per kind of row for a whole batch (plus
one UPDATE per group of tickets that gained the same number of messages) instead of several
per ticket; the single-item services in services.py stay the reference semantics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import F, Model

from comptoir.accounts.models import Queue, Tenant, User
from comptoir.contacts.models import Contact
from comptoir.core.errors import DomainError
from comptoir.tickets.counts import CountKey, count_key, counts_add
from comptoir.tickets.models import (
    Attachment,
    Channel,
    Event,
    EventKind,
    Message,
    MessageKind,
    Priority,
    Status,
    Ticket,
)
from comptoir.tickets.services import NewAttachment, attachment_stored

# Field types whose Python values the database drivers take as they are.
_PLAIN_TYPES = frozenset(
    {
        "BooleanField",
        "CharField",
        "EmailField",
        "TextField",
        "ForeignKey",
        "IntegerField",
        "BigIntegerField",
        "PositiveIntegerField",
        "PositiveBigIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
    }
)


def _converters(fields: Sequence[Any]) -> list[Callable[[Any], Any] | None]:
    converters: list[Callable[[Any], Any] | None] = []
    for f in fields:
        kind = f.get_internal_type()
        if kind in _PLAIN_TYPES:
            converters.append(None)
        elif kind == "DateTimeField":
            converters.append(_datetimes())
        else:
            converters.append(_prep(f))
    return converters


def _datetimes() -> Callable[[Any], Any]:
    # A batch writes the same few instants in thousands of cells: adapt each once.
    seen: dict[Any, Any] = {}
    adapt = connection.ops.adapt_datetimefield_value

    def convert(value: Any) -> Any:
        if value not in seen:
            seen[value] = adapt(value)
        return seen[value]

    return convert


@contextmanager
def _cursor(*, raw: bool = False) -> Iterator[Any]:
    """A cursor for big parametrized statements, Django's error classes kept.

    PostgreSQL: a server-side binding psycopg cursor. Django's default one binds on the
    client, quoting every value in Python — profiled at several times SQLite's cost for the
    same rows (bytea and JSON most of all). `raw`: placeholders are $1, $2… (psycopg's
    RawCursor), sparing psycopg a parse of a statement with thousands of %s.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg

    connection.ensure_connection()
    factory = psycopg.RawCursor if raw else psycopg.Cursor
    with connection.wrap_database_errors, factory(connection.connection) as cursor:
        yield cursor


def _prep(f: Any) -> Callable[[Any], Any]:
    def convert(value: Any) -> Any:
        return f.get_db_prep_save(value, connection)

    return convert


def _column(f: Any) -> str:
    return str(connection.ops.quote_name(f.column))


def rows_update(objs: Sequence[Model], field_names: Sequence[str]) -> None:
    """Save `field_names` of many rows of one model: one UPDATE run with many parameter sets.

    Django's bulk_update builds a CASE per field and row; profiling showed it costing more
    than the rest of a batch's writes.
    """
    if not objs:
        return
    meta = type(objs[0])._meta
    fields: list[Any] = [meta.get_field(name) for name in field_names]
    converters = _converters(fields)
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        connection.ops.quote_name(meta.db_table),
        ", ".join(f"{_column(f)} = %s" for f in fields),
        _column(meta.pk),
    )
    params = []
    for obj in objs:
        row = []
        for f, convert in zip(fields, converters, strict=True):
            value = getattr(obj, f.attname)
            row.append(value if convert is None or value is None else convert(value))
        row.append(obj.pk)
        params.append(row)
    with _cursor() as cursor:
        cursor.executemany(sql, params)


def rows_insert(objs: Sequence[Model]) -> None:
    """INSERT new rows of one model in multi-row statements, setting their ids (RETURNING).

    What bulk_create does, minus its per-value machinery: profiling the ingest showed
    Django's INSERT compilation (prepare_value, field_as_sql) costing several times the
    database's own work. Plain columns go as they are, the others through the field's own
    get_db_prep_save. Only for models without pre_save magic (auto_now, files).
    """
    if not objs:
        return
    meta = type(objs[0])._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    ops = connection.ops
    converters = _converters(fields)
    attnames = [f.attname for f in fields]
    numbered = connection.vendor == "postgresql"
    head = "INSERT INTO {} ({}) VALUES ".format(
        ops.quote_name(meta.db_table), ", ".join(_column(f) for f in fields)
    )
    tail = " RETURNING " + _column(meta.pk)
    # PostgreSQL takes at most 65,535 parameters per statement.
    size = max(1, min(ops.bulk_batch_size(fields, objs), 65535 // len(fields), 1000))
    with _cursor(raw=numbered) as cursor:
        for start in range(0, len(objs), size):
            chunk = objs[start : start + size]
            width = len(fields)
            if numbered:
                values = ", ".join(
                    "(" + ", ".join(f"${r * width + c + 1}" for c in range(width)) + ")"
                    for r in range(len(chunk))
                )
            else:
                values = ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * len(chunk))
            params: list[Any] = []
            for obj in chunk:
                for attname, convert in zip(attnames, converters, strict=True):
                    value = getattr(obj, attname)
                    params.append(value if convert is None or value is None else convert(value))
            cursor.execute(head + values + tail, params)
            for obj, (pk,) in zip(chunk, cursor.fetchall(), strict=True):
                obj.pk = pk
                obj._state.adding = False
                obj._state.db = connection.alias


@dataclass(frozen=True)
class NewTicket:
    queue: Queue
    channel: str
    subject: str
    contact: Contact | None = None
    requester_email: str = ""
    requester_name: str = ""
    author: User | None = None
    priority: str = Priority.LOW


@dataclass
class NewMessage:
    ticket: Ticket
    kind: str
    body_text: str = ""
    body_html: str = ""
    author: User | None = None
    sender_email: str = ""
    sender_name: str = ""
    subject: str = ""
    to: Sequence[str] = ()
    cc: Sequence[str] = ()
    message_id: str = ""
    in_reply_to: str = ""
    references: str = ""
    attachments: Sequence[NewAttachment] = field(default_factory=tuple)
    is_auto_reply: bool = False


def ticket_number_last(*, tenant_id: int) -> int:
    """The tenant's last ticket number, its row locked until commit (the next are last+1…)."""
    # FOR UPDATE on PostgreSQL; SQLite's write transaction (IMMEDIATE) is exclusive anyway.
    return (
        Tenant.objects.select_for_update()
        .values_list("last_ticket_number", flat=True)
        .get(pk=tenant_id)
    )


def tickets_create_bulk(*, tickets: Sequence[NewTicket], now: datetime) -> list[Ticket]:
    """Open new tickets numbered in list order, with their "created" events and counts."""
    by_tenant: dict[int, list[int]] = {}
    channels = set(Channel.values)
    for i, t in enumerate(tickets):
        if t.channel not in channels:
            raise DomainError(f"unknown channel {t.channel!r}")
        if t.contact is not None and t.contact.tenant_id != t.queue.tenant_id:
            raise DomainError("contact of another tenant")
        by_tenant.setdefault(t.queue.tenant_id, []).append(i)
    numbers: dict[int, int] = {}
    for tenant_id, indexes in sorted(by_tenant.items()):
        # One UPDATE reserves every number: the row stays locked until commit.
        Tenant.objects.filter(pk=tenant_id).update(
            last_ticket_number=F("last_ticket_number") + len(indexes)
        )
        last = Tenant.objects.values_list("last_ticket_number", flat=True).get(pk=tenant_id)
        for offset, i in enumerate(indexes):
            numbers[i] = last - len(indexes) + 1 + offset
    rows = [
        Ticket(
            tenant_id=t.queue.tenant_id,
            workspace_id=t.queue.workspace_id,
            queue=t.queue,
            number=numbers[i],
            channel=t.channel,
            subject=t.subject.strip()[:998],
            contact=t.contact,
            requester_email=t.requester_email.lower()[:320],
            requester_name=t.requester_name[:200],
            priority=t.priority,
            status=Status.NEW,
            status_changed_at=now,
            created_at=now,
            updated_at=now,
        )
        for i, t in enumerate(tickets)
    ]
    if not rows:
        return rows
    rows_insert(rows)
    moves: dict[CountKey, int] = {}
    for ticket in rows:
        key = count_key(ticket)
        moves[key] = moves.get(key, 0) + 1
    counts_add(moves)
    rows_insert(
        [
            Event(
                tenant_id=ticket.tenant_id,
                ticket=ticket,
                kind=EventKind.CREATED,
                author=t.author,
                data={"channel": t.channel},
                created_at=now,
            )
            for ticket, t in zip(rows, tickets, strict=True)
        ]
    )
    return rows


def messages_add_bulk(*, messages: Sequence[NewMessage], now: datetime) -> list[Message]:
    """Add messages to tickets (bodies already sanitized); tickets' counters in few UPDATEs."""
    kinds = set(MessageKind.values)
    for m in messages:
        if m.kind not in kinds:
            raise DomainError(f"unknown message kind {m.kind!r}")
        if m.ticket.pk is None:
            raise DomainError("message for an unsaved ticket")
    rows = [
        Message(
            tenant_id=m.ticket.tenant_id,
            ticket=m.ticket,
            kind=m.kind,
            author=m.author,
            # The same column limits as message_add: one path must not fail where the other
            # would store.
            sender_email=m.sender_email[:320],
            sender_name=m.sender_name[:200],
            to=list(m.to),
            cc=list(m.cc),
            subject=m.subject[:998],
            body_text=m.body_text,
            body_html=m.body_html,
            message_id=m.message_id,
            in_reply_to=m.in_reply_to,
            references=m.references,
            is_auto_reply=m.is_auto_reply,
            created_at=now,
        )
        for m in messages
    ]
    if not rows:
        return rows
    rows_insert(rows)
    attachments: list[Attachment] = []
    for m, message in zip(messages, rows, strict=True):
        # Files one by one through the storage (as message_add does); rows in one INSERT.
        attachments += [attachment_stored(message, a) for a in m.attachments]
    if attachments:
        Attachment.objects.bulk_create(attachments)
    # Tickets that gained the same number of messages (and unread state) share one UPDATE.
    gained: dict[int, list[Any]] = {}
    for m in messages:
        entry = gained.setdefault(m.ticket.pk, [0, False, []])
        entry[0] += 1
        entry[1] = entry[1] or m.kind in (MessageKind.INBOUND, MessageKind.SOLICITATION_IN)
        entry[2].append(m.ticket)
    groups: dict[tuple[int, bool], list[int]] = {}
    for pk, (count, unread, _tickets) in gained.items():
        groups.setdefault((count, unread), []).append(pk)
    for (count, unread), pks in sorted(groups.items()):
        updates: dict[str, Any] = {
            "message_count": F("message_count") + count,
            "last_message_at": now,
            "updated_at": now,
        }
        if unread:
            updates["has_unread"] = True
        for start in range(0, len(pks), 500):
            Ticket.objects.filter(pk__in=sorted(pks[start : start + 500])).update(**updates)
    # The caller's instances stay current, as message_add's refresh keeps them.
    for count, unread, tickets in gained.values():
        for ticket in {id(t): t for t in tickets}.values():
            ticket.message_count = (ticket.message_count or 0) + count
            ticket.last_message_at = now
            ticket.updated_at = now
            ticket.has_unread = ticket.has_unread or unread
    return rows

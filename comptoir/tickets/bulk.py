"""Bulk writes on tickets for batch ingestion: the same rows as ticket_create/message_add.

Run inside the caller's transaction. One statement per kind of row for a whole batch instead
of several per ticket; the single-item services in services.py stay the reference semantics.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Model
from django.db.models.base import ModelState

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
    attnames = [f.attname for f in meta.concrete_fields if not f.primary_key]
    rows = [tuple(getattr(obj, a) for a in attnames) for obj in objs]
    pks = values_insert(type(objs[0]), attnames, rows)
    for obj, pk in zip(objs, pks, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias


# Default values that can be shared by the instances of one batch (not lists, dicts…).
_IMMUTABLE = (str, int, float, bool, bytes, datetime, type(None))


def new_instances(model: type[Model], rows: Sequence[dict[str, Any]]) -> list[Any]:
    """Unsaved instances of `model` from attname → value dicts; see `instance_maker`."""
    if not rows:
        return []
    make = instance_maker(model, list(rows[0]))
    return [make(values) for values in rows]


def instance_maker(model: type[Model], names: Sequence[str]) -> Callable[[dict[str, Any]], Any]:
    """A function making unsaved instances of `model` from dicts with the keys `names`.

    The other fields get their default. What `model(**values)` gives for a model without
    custom __init__ or init signals, at a fraction of its cost: Model.__init__ took ~80 µs
    per Ticket (a get_default and a descriptor per field), more than its INSERT. Defaults
    are computed once per maker (each instance gets its own when mutable). A related
    instance may be given under the field's name (`queue=…`): its id is set and the
    instance cached, as the descriptor does.
    """
    meta = model._meta
    relations = {f.name: f.attname for f in meta.concrete_fields if f.is_relation}
    given = set(names)
    missing = [f for f in meta.concrete_fields if f.attname not in given and f.name not in given]
    shared: dict[str, Any] = {}
    per_instance: list[Any] = []
    for f in missing:
        value = None if f.primary_key else f.get_default()
        if isinstance(value, _IMMUTABLE):
            shared[f.attname] = value
        else:
            per_instance.append(f)
    new = model.__new__

    def make(values: dict[str, Any]) -> Any:
        obj = new(model)
        state = ModelState()
        attrs = dict(shared)
        for name, value in values.items():
            attname = relations.get(name)
            if attname is not None and attname != name:
                attrs[attname] = value.pk if value is not None else None
                state.fields_cache[name] = value
            else:
                attrs[name] = value
        for f in per_instance:
            attrs[f.attname] = f.get_default()
        attrs["_state"] = state
        obj.__dict__.update(attrs)
        return obj

    return make


def values_insert(
    model: type[Model],
    names: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    ignore_conflicts: bool = False,
) -> list[int]:
    """INSERT rows given as tuples (values of the fields `names`, by attname), no instances.

    Returns the new ids in order (none with `ignore_conflicts`: ON CONFLICT DO NOTHING).
    The model's other fields get their default, computed once for all rows. Building a
    model instance per row cost more than its INSERT (profile of the ingest); this is for
    bulk paths that need no instance afterwards. Same rules as `rows_insert`.
    """
    if not rows:
        return []
    meta = model._meta
    given: list[Any] = [meta.get_field(n) for n in names]
    by_attname = {f.attname: f for f in given}
    others = [f for f in meta.concrete_fields if not f.primary_key and f.attname not in by_attname]
    fields = [*given, *others]
    converters = _converters(fields)
    # The defaults are the same for every row: converted once.
    defaults = [f.get_default() for f in others]
    for i, value in enumerate(defaults):
        convert = converters[len(given) + i]
        if convert is not None and value is not None:
            defaults[i] = convert(value)
    # Most columns go as they are: only these few are converted, row by row.
    to_convert = [(i, c) for i, c in enumerate(converters[: len(given)]) if c is not None]
    width = len(fields)
    numbered = connection.vendor == "postgresql"
    head = "INSERT INTO {} ({}) VALUES ".format(
        connection.ops.quote_name(meta.db_table), ", ".join(_column(f) for f in fields)
    )
    tail = " ON CONFLICT DO NOTHING" if ignore_conflicts else " RETURNING " + _column(meta.pk)
    size = max(1, min(_max_params() // width, 1000))
    pks: list[int] = []
    with _cursor(raw=numbered) as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            values = _placeholders(width, len(chunk), numbered=numbered)
            params: list[Any] = []
            for row in chunk:
                if len(row) != len(given):
                    raise ValueError(f"a row of {len(row)} values for {len(given)} fields")
                start_at = len(params)
                params.extend(row)
                for i, convert in to_convert:
                    value = params[start_at + i]
                    if value is not None:
                        params[start_at + i] = convert(value)
                params.extend(defaults)
            cursor.execute(head + values + tail, params)
            if not ignore_conflicts:
                pks.extend(pk for (pk,) in cursor.fetchall())
    return pks


@functools.lru_cache(maxsize=64)
def _placeholders(width: int, rows: int, *, numbered: bool) -> str:
    """`($1, $2), ($3, $4)…` (or `%s`): the same few shapes come back batch after batch."""
    if numbered:
        return ", ".join(
            "(" + ", ".join(f"${r * width + c + 1}" for c in range(width)) + ")"
            for r in range(rows)
        )
    return ", ".join(["(" + ", ".join(["%s"] * width) + ")"] * rows)


def values_in(
    model: type[Model],
    names: Sequence[str],
    *,
    tenant_id: int,
    column: str,
    values: Sequence[Any],
) -> list[tuple[Any, ...]]:
    """`model.objects.filter(tenant_id=…, <column>__in=values).values_list(*names)`, cheaper.

    PostgreSQL: the list goes as one array parameter (`= ANY`), bound on the server. Django's
    `IN (%s, …)` prepares each value and psycopg splits a query with one placeholder per
    value on the client; for the ingest's lookups of hundreds of ids per batch, that showed
    in the profile. SQLite: the ORM query as it is.
    """
    if connection.vendor != "postgresql":
        lookup = {"tenant_id": tenant_id, f"{column}__in": list(values)}
        return list(model._default_manager.filter(**lookup).values_list(*names))
    if not values:
        return []
    meta = model._meta
    sql = "SELECT {} FROM {} WHERE {} = %s AND {} = ANY(%s)".format(
        ", ".join(_column(meta.get_field(n)) for n in names),
        connection.ops.quote_name(meta.db_table),
        _column(meta.get_field("tenant_id")),
        _column(meta.get_field(column)),
    )
    with _cursor() as cursor:
        cursor.execute(sql, [tenant_id, list(values)])
        return [tuple(row) for row in cursor.fetchall()]


def _max_params() -> int:
    # PostgreSQL takes at most 65,535 parameters per statement. SQLite says its own limit
    # (32,766 since 3.32; Django assumes the old 999, i.e. ~70 rows of a wide table).
    if connection.vendor == "sqlite":
        import sqlite3

        connection.ensure_connection()
        return int(connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    return 65535


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
        last = _numbers_reserve(tenant_id, len(indexes))
        for offset, i in enumerate(indexes):
            numbers[i] = last - len(indexes) + 1 + offset
    rows: list[Ticket] = new_instances(
        Ticket,
        [
            {
                "tenant_id": t.queue.tenant_id,
                "workspace_id": t.queue.workspace_id,
                "queue": t.queue,
                "number": numbers[i],
                "channel": t.channel,
                "subject": t.subject.strip()[:998],
                "contact": t.contact,
                "requester_email": t.requester_email.lower()[:320],
                "requester_name": t.requester_name[:200],
                "priority": t.priority,
                "status": Status.NEW.value,
                "status_changed_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for i, t in enumerate(tickets)
        ],
    )
    if not rows:
        return rows
    rows_insert(rows)
    moves: dict[CountKey, int] = {}
    for ticket in rows:
        key = count_key(ticket)
        moves[key] = moves.get(key, 0) + 1
    counts_add(moves)
    values_insert(
        Event,
        ["tenant_id", "ticket_id", "kind", "author_id", "data", "created_at"],
        [
            (
                ticket.tenant_id,
                ticket.pk,
                EventKind.CREATED.value,
                t.author.pk if t.author is not None else None,
                {"channel": t.channel},
                now,
            )
            for ticket, t in zip(rows, tickets, strict=True)
        ],
    )
    return rows


def _numbers_reserve(tenant_id: int, count: int) -> int:
    """Reserve `count` ticket numbers of the tenant; returns the last. Locks its row."""
    # One statement (UPDATE … RETURNING) where the ORM needs an UPDATE and a SELECT.
    table = connection.ops.quote_name(Tenant._meta.db_table)
    column = connection.ops.quote_name("last_ticket_number")
    pk = _column(Tenant._meta.pk)
    with _cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {column} = {column} + %s WHERE {pk} = %s RETURNING {column}",
            [count, tenant_id],
        )
        return int(cursor.fetchone()[0])


_MESSAGE_FIELDS = [
    "tenant_id", "ticket_id", "kind", "author_id", "sender_email", "sender_name", "to", "cc",
    "subject", "body_text", "body_html", "message_id", "in_reply_to", "references",
    "is_auto_reply", "created_at",
]  # fmt: skip


def messages_add_bulk(*, messages: Sequence[NewMessage], now: datetime) -> list[int]:
    """Add messages to tickets (bodies already sanitized); returns their ids, in order.

    The tickets' counters move in one UPDATE; the caller's Ticket instances are kept
    current, as message_add's refresh keeps its ticket.
    """
    kinds = set(MessageKind.values)
    for m in messages:
        if m.kind not in kinds:
            raise DomainError(f"unknown message kind {m.kind!r}")
        if m.ticket.pk is None:
            raise DomainError("message for an unsaved ticket")
    if not messages:
        return []
    # Rows as tuples: a Message instance each cost more than the INSERT (profile).
    pks = values_insert(
        Message,
        _MESSAGE_FIELDS,
        [
            (
                m.ticket.tenant_id,
                m.ticket.pk,
                m.kind,
                m.author.pk if m.author is not None else None,
                # The same column limits as message_add: one path must not fail where the
                # other would store.
                m.sender_email[:320],
                m.sender_name[:200],
                list(m.to),
                list(m.cc),
                m.subject[:998],
                m.body_text,
                m.body_html,
                m.message_id,
                m.in_reply_to,
                m.references,
                m.is_auto_reply,
                now,
            )
            for m in messages
        ],
    )
    attachments: list[Attachment] = []
    for m, pk in zip(messages, pks, strict=True):
        if m.attachments:
            # Files one by one through the storage (as message_add does); rows in one INSERT.
            message = Message(id=pk, tenant_id=m.ticket.tenant_id, ticket=m.ticket)
            attachments += [attachment_stored(message, a) for a in m.attachments]
    if attachments:
        Attachment.objects.bulk_create(attachments)
    gained: dict[int, list[Any]] = {}
    for m in messages:
        entry = gained.setdefault(m.ticket.pk, [0, False, []])
        entry[0] += 1
        entry[1] = entry[1] or m.kind in (MessageKind.INBOUND, MessageKind.SOLICITATION_IN)
        entry[2].append(m.ticket)
    _counters_add([(pk, count, unread) for pk, (count, unread, _t) in gained.items()], now)
    for count, unread, tickets in gained.values():
        for ticket in {id(t): t for t in tickets}.values():
            ticket.message_count = (ticket.message_count or 0) + count
            ticket.last_message_at = now
            ticket.updated_at = now
            ticket.has_unread = ticket.has_unread or unread
    return pks


def _counters_add(gains: Sequence[tuple[int, int, bool]], now: datetime) -> None:
    """Tickets gained messages: (ticket id, how many, any unread) — one UPDATE … FROM VALUES.

    The same changes as message_add's F() update, for many tickets in one statement (one
    round trip to PostgreSQL instead of one per group of tickets).
    """
    table = connection.ops.quote_name(Ticket._meta.db_table)
    when = _datetimes()(now)
    if connection.vendor == "postgresql":
        # Three array parameters whatever the number of tickets: a constant statement, no
        # client-side work per placeholder.
        chunk = sorted(gains)
        with _cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET message_count = {table}.message_count + v.n, "
                "last_message_at = %s, updated_at = %s, "
                f"has_unread = CASE WHEN v.unread THEN TRUE ELSE {table}.has_unread END "
                "FROM unnest(%s::bigint[], %s::integer[], %s::boolean[]) AS v(id, n, unread) "
                f"WHERE {table}.{_column(Ticket._meta.pk)} = v.id",
                [
                    when,
                    when,
                    [pk for pk, _n, _u in chunk],
                    [n for _pk, n, _u in chunk],
                    [u for _pk, _n, u in chunk],
                ],
            )
        return
    size = 2000
    with _cursor() as cursor:
        for start in range(0, len(gains), size):
            chunk = sorted(gains[start : start + size])
            values = ", ".join(
                ["(CAST(%s AS bigint), CAST(%s AS integer), CAST(%s AS boolean))"] * len(chunk)
            )
            params: list[Any] = [when, when]
            for pk, count, unread in chunk:
                params += [pk, count, unread]
            cursor.execute(
                f"UPDATE {table} SET message_count = {table}.message_count + v.column2, "
                "last_message_at = %s, updated_at = %s, "
                f"has_unread = CASE WHEN v.column3 THEN TRUE ELSE {table}.has_unread END "
                f"FROM (VALUES {values}) AS v WHERE {table}.{_column(Ticket._meta.pk)} = v.column1",
                params,
            )

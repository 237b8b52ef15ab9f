"""A ticket's timeline: its messages and history events, oldest first, folded when long."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.db import connection

from comptoir.core.joined_rows import id_in, load_joined
from comptoir.tickets.models import Attachment, Event, Message, Ticket
from comptoir.tickets.selectors import ALL


@dataclass(frozen=True)
class TimelineItem:
    kind: str  # "message" | "event"
    created_at: datetime
    message: Message | None = None
    event: Event | None = None
    attachments: tuple[Attachment, ...] = ()  # the message's, loaded with it


class FoldedTimeline(NamedTuple):
    items: list[TimelineItem]
    hidden_count: int  # items folded away
    # The ticket's newest message (what the composer carries as seen; 0 with no message),
    # None when the messages were not listed (kinds="events").
    newest_message_id: int | None


def ticket_timeline_folded(
    *, ticket: Ticket, kinds: str = ALL, fold_at: int | None, keep_latest: int = 0
) -> FoldedTimeline:
    """The timeline, or when longer than `fold_at` its first item and `keep_latest` last ones.

    `fold_at=None`: never fold. The order of every item comes from one query; only the
    shown items are loaded in full (bodies, authors) through `load_joined`, which spares the
    ORM's query building on every view, and their attachments come with each item
    (`TimelineItem.attachments`): `prefetch_related` costs twice as much in Python for the
    same rows (a related manager and a queryset per message).
    """
    keys = _timeline_keys(ticket_id=ticket.pk, kinds=kinds)
    shown = keys
    if fold_at is not None and len(keys) > fold_at:
        shown = [keys[0], *keys[-keep_latest:]] if keep_latest else keys[:1]
    message_ids = [pk for kind, pk in shown if kind == 1]
    event_ids = [pk for kind, pk in shown if kind == 0]
    quote = connection.ops.quote_name
    messages: dict[int, Message] = {}
    files: dict[int, list[Attachment]] = {}
    if message_ids:
        matching, params = id_in(message_ids)
        for m in load_joined(
            Message, where=f"t.{quote('id')} {matching}", params=params, related=("author",)
        ):
            messages[m.pk] = m
        for attachment in load_joined(
            Attachment,
            where=f"t.{quote('message_id')} {matching}",
            params=params,
            order_by=f"t.{quote('id')}",
        ):
            files.setdefault(attachment.message_id, []).append(attachment)
    events: dict[int, Event] = {}
    if event_ids:
        matching, params = id_in(event_ids)
        for e in load_joined(
            Event, where=f"t.{quote('id')} {matching}", params=params, related=("author",)
        ):
            events[e.pk] = e
    items = [
        TimelineItem(
            "message",
            messages[pk].created_at,
            message=messages[pk],
            attachments=tuple(files.get(pk, ())),
        )
        if kind == 1
        else TimelineItem("event", events[pk].created_at, event=events[pk])
        for kind, pk in shown
    ]
    newest = None
    if kinds in (ALL, "messages"):
        newest = max((pk for kind, pk in keys if kind == 1), default=0)
    return FoldedTimeline(items, len(keys) - len(shown), newest)


def _timeline_keys(*, ticket_id: int, kinds: str) -> list[tuple[int, int]]:
    """(0 event | 1 message, id) of every item of the timeline, in its order.

    By time, events before messages at equal times (the "created" event comes before the
    message that made it), then id; sorted by the database in one query. The times stay in
    the database: PostgreSQL's rows would otherwise bring ~140 of them to convert in Python
    (~5 µs each through Django's time-zone loader), only to be thrown away.
    """
    quote = connection.ops.quote_name
    parts: list[str] = []
    for kind, model in ((1, Message), (0, Event)):
        if kinds == ALL or kinds == ("messages" if kind else "events"):
            parts.append(
                f"SELECT {kind} AS k, {quote('id')}, {quote('created_at')} AS t "
                f"FROM {quote(model._meta.db_table)} WHERE {quote('ticket_id')} = %s"
            )
    if not parts:
        return []
    union = " UNION ALL ".join(parts)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT k, {quote('id')} FROM ({union}) items ORDER BY t, k, {quote('id')}",
            [ticket_id] * len(parts),
        )
        return cursor.fetchall()

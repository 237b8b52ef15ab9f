"""The ticket page shows each solicitation as one grouped thread in the timeline.

The timeline lists messages one by one; this replaces a thread's messages by one entry, at
the place of the thread's first message shown, holding every message of the thread and
its state.
"""

from __future__ import annotations

from typing import Any

from comptoir.channels.email.timeline_states import mail_states_for_messages
from comptoir.solicitations.models import SolicitationMessage
from comptoir.solicitations.selectors import ticket_threads
from comptoir.tickets.models import MessageKind, Ticket

THREAD_KINDS = (MessageKind.SOLICITATION_OUT, MessageKind.SOLICITATION_IN)


def group_threads(*, ticket: Ticket, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows` (the ticket page's, each with an `item`) with each thread's messages grouped."""
    message_ids = [
        row["item"].message.pk
        for row in rows
        if row["item"].message and row["item"].message.kind in THREAD_KINDS
    ]
    if not message_ids:
        return rows  # no query for the tickets without solicitations
    thread_of = dict(
        SolicitationMessage.objects.filter(message_id__in=message_ids).values_list(
            "message_id", "solicitation_id"
        )
    )
    threads = {
        t.solicitation.pk: t
        for t in ticket_threads(ticket=ticket, solicitation_ids=sorted(set(thread_of.values())))
    }
    sent = [
        m for t in threads.values() for m in t.messages if m.kind == MessageKind.SOLICITATION_OUT
    ]
    delivery = mail_states_for_messages(message_ids=[m.pk for m in sent]).delivery
    for message in sent:
        message.delivery = delivery.get(message.pk)  # type: ignore[attr-defined]
    grouped: list[dict[str, Any]] = []
    shown: set[int] = set()
    for row in rows:
        message = row["item"].message
        solicitation_id = thread_of.get(message.pk) if message else None
        if solicitation_id is None or solicitation_id not in threads:
            grouped.append(row)
            continue
        if solicitation_id in shown:
            continue
        shown.add(solicitation_id)
        grouped.append({**row, "thread": threads[solicitation_id]})
    return grouped

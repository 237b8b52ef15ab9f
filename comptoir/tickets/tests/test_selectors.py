from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from comptoir.core.errors import NotFound
from comptoir.tickets.models import MessageKind, Status
from comptoir.tickets.selectors import (
    InboxFilters,
    inbox_status_counts,
    inbox_total,
    list_cursor,
    ticket_get,
    ticket_list,
    ticket_list_after,
)
from comptoir.tickets.selectors_timeline import ticket_timeline_folded
from comptoir.tickets.services import (
    NewAttachment,
    message_add,
    ticket_assign,
    ticket_change_status,
    ticket_create,
)


@pytest.fixture
def tickets(cast):
    base = timezone.now() - timedelta(days=1)
    made = []
    for i in range(6):
        queue = cast.boutique_queue if i % 2 == 0 else cast.boutique_queue_2
        made.append(
            ticket_create(
                queue=queue,
                channel="email" if i < 4 else "chat",
                subject=f"B{i}",
                now=base + timedelta(minutes=i),
            )
        )
    made.append(ticket_create(queue=cast.assurance_queue, channel="email", subject="A0", now=base))
    made.append(ticket_create(queue=cast.other_queue, channel="email", subject="O0", now=base))
    return made


def test_agent_of_one_workspace_never_sees_the_other(cast, tickets):
    page = ticket_list(user=cast.boutique_agent, filters=InboxFilters())
    assert [t.subject for t in page.tickets] == ["B5", "B4", "B3", "B2", "B1", "B0"]
    assert page.total == 6
    with pytest.raises(NotFound):
        ticket_get(user=cast.boutique_agent, ticket_id=tickets[6].pk)
    with pytest.raises(NotFound):
        ticket_get(user=cast.admin, ticket_id=tickets[7].pk)
    assert ticket_get(user=cast.admin, ticket_id=tickets[6].pk).subject == "A0"


def test_filters_and_totals_agree(cast, tickets):
    ticket_change_status(ticket=tickets[0], status=Status.CLOSED, author=cast.admin)
    ticket_assign(ticket=tickets[1], assignee=cast.boutique_agent, author=cast.admin)
    user = cast.boutique_agent
    cases = {
        InboxFilters(status="open"): {"B1", "B2", "B3", "B4", "B5"},
        InboxFilters(status="closed"): {"B0"},
        InboxFilters(channel="chat"): {"B4", "B5"},
        InboxFilters(channel="email", status="open"): {"B1", "B2", "B3"},
        InboxFilters(queue_id=cast.boutique_queue_2.pk): {"B1", "B3", "B5"},
        InboxFilters(assignee="mine"): {"B1"},
        InboxFilters(assignee="unassigned"): {"B0", "B2", "B3", "B4", "B5"},
    }
    for filters, expected in cases.items():
        page = ticket_list(user=user, filters=filters)
        assert {t.subject for t in page.tickets} == expected, filters
        assert page.total == inbox_total(user=user, filters=filters) == len(expected), filters


def test_status_counts_cover_every_tab(cast, tickets):
    ticket_change_status(ticket=tickets[0], status=Status.CLOSED, author=cast.admin)
    counts = inbox_status_counts(user=cast.admin, filters=InboxFilters())
    assert counts["all"] == 7
    assert counts["open"] == 6
    assert counts["closed"] == 1
    assert counts["new"] == 6


def test_pages_split_without_overlap(cast, tickets):
    first = ticket_list(user=cast.boutique_agent, filters=InboxFilters(), page=1, page_size=4)
    second = ticket_list(user=cast.boutique_agent, filters=InboxFilters(), page=2, page_size=4)
    assert first.num_pages == 2 and first.has_next and not second.has_next
    assert {t.pk for t in first.tickets}.isdisjoint({t.pk for t in second.tickets})
    assert len(first.tickets) + len(second.tickets) == 6
    # A page past the end shows the last page rather than nothing.
    assert (
        ticket_list(user=cast.boutique_agent, filters=InboxFilters(), page=99, page_size=4).page
        == 2
    )


def test_keyset_walk_returns_each_ticket_once(cast, tickets):
    seen, after = [], None
    while True:
        batch = ticket_list_after(user=cast.admin, filters=InboxFilters(), after=after, limit=3)
        if not batch:
            break
        seen += [t.pk for t in batch]
        after = list_cursor(batch[-1], order="newest")
    assert len(seen) == len(set(seen)) == 7


def test_filters_from_params_ignore_invalid_values():
    f = InboxFilters.from_params(
        {"status": "bogus", "channel": "fax", "queue": "x", "assignee": "?"}
    )
    assert f == InboxFilters()
    f = InboxFilters.from_params(
        {"status": "open", "channel": "sms", "queue": "3", "assignee": "mine"}
    )
    assert (f.status, f.channel, f.queue_id, f.assignee) == ("open", "sms", 3, "mine")


def test_timeline_is_oldest_first_and_filters_by_kind(cast):
    t0 = timezone.now() - timedelta(hours=3)
    t = ticket_create(queue=cast.boutique_queue, channel="email", subject="x", now=t0)
    message_add(ticket=t, kind=MessageKind.INBOUND, body_text="1", now=t0)
    ticket_change_status(
        ticket=t, status=Status.TO_PROCESS, author=cast.admin, now=t0 + timedelta(hours=1)
    )
    message_add(
        ticket=t,
        kind=MessageKind.NOTE,
        body_text="2",
        author=cast.admin,
        now=t0 + timedelta(hours=2),
    )

    def items(kinds: str = "all") -> list:
        return ticket_timeline_folded(ticket=t, kinds=kinds, fold_at=None).items

    assert [(i.kind, i.message.body_text if i.message else i.event.kind) for i in items()] == [  # type: ignore[union-attr]
        ("event", "created"),
        ("message", "1"),
        ("event", "status"),
        ("message", "2"),
    ]
    assert [i.kind for i in items("messages")] == ["message", "message"]
    assert [i.kind for i in items("events")] == ["event", "event"]


def _labels(items):
    return [i.message.body_text if i.message else i.event.kind for i in items]


def test_the_folded_timeline_keeps_the_order_of_the_full_one(cast):
    # Equal times included: the "created" event comes before the message that made it.
    t0 = timezone.now() - timedelta(hours=3)
    t = ticket_create(queue=cast.boutique_queue, channel="email", subject="x", now=t0)
    message_add(ticket=t, kind=MessageKind.INBOUND, body_text="m0", now=t0)
    for n in range(1, 6):
        at = t0 + timedelta(minutes=n)
        message_add(
            ticket=t,
            kind=MessageKind.NOTE,
            body_text=f"m{n}",
            author=cast.admin,
            now=at,
            attachments=[NewAttachment(f"m{n}.txt", b"x")] if n in (2, 5) else (),
        )
        if n == 3:
            ticket_change_status(ticket=t, status=Status.TO_PROCESS, author=cast.admin, now=at)

    expected = {
        "all": ["created", "m0", "m1", "m2", "status", "m3", "m4", "m5"],
        "messages": ["m0", "m1", "m2", "m3", "m4", "m5"],
        "events": ["created", "status"],
    }
    for kinds, labels in expected.items():
        full = ticket_timeline_folded(ticket=t, kinds=kinds, fold_at=None)
        assert _labels(full.items) == labels
        assert full.hidden_count == 0

    folded = ticket_timeline_folded(ticket=t, fold_at=4, keep_latest=2)
    assert _labels(folded.items) == ["created", "m4", "m5"]
    assert folded.hidden_count == 5
    # The attachments come with each shown message, and only with it.
    files = {
        i.message.body_text: [a.filename for a in i.attachments] for i in folded.items if i.message
    }
    assert files == {"m4": [], "m5": ["m5.txt"]}


def test_the_folded_timeline_knows_the_newest_message(cast):
    t0 = timezone.now() - timedelta(hours=1)
    t = ticket_create(queue=cast.boutique_queue, channel="email", subject="x", now=t0)
    assert ticket_timeline_folded(ticket=t, fold_at=None).newest_message_id == 0
    first = message_add(ticket=t, kind=MessageKind.INBOUND, body_text="a", now=t0)
    last = message_add(ticket=t, kind=MessageKind.INBOUND, body_text="b", now=t0)

    # Folded away or not, and whatever the times, the newest is the latest written.
    assert ticket_timeline_folded(ticket=t, fold_at=1).newest_message_id == last.pk > first.pk
    # Listing events only, the messages were not read: unknown.
    assert ticket_timeline_folded(ticket=t, kinds="events", fold_at=None).newest_message_id is None

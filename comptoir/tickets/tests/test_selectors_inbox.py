"""The inbox's order (attention first), the unread filter and count, and the live version."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from comptoir.tickets.models import MessageKind, Status
from comptoir.tickets.selectors import (
    InboxFilters,
    inbox_status_counts,
    inbox_total,
    inbox_version,
    list_cursor,
    row_stamps,
    ticket_list,
    ticket_list_after,
    ticket_page_stamps,
    unread_count,
)
from comptoir.tickets.services import (
    message_add,
    ticket_change_status,
    ticket_create,
    ticket_mark_read,
    ticket_mark_unread,
)

pytestmark = pytest.mark.django_db

BASE = timezone.now() - timedelta(days=2)


def _ticket(queue, subject, minutes, *, status=Status.TO_PROCESS, channel="email"):
    ticket = ticket_create(
        queue=queue, channel=channel, subject=subject, now=BASE + timedelta(minutes=minutes)
    )
    if status != Status.NEW:
        ticket_change_status(ticket=ticket, status=status, author=None)
    return ticket


def _inbound(ticket, minutes):
    message_add(
        ticket=ticket,
        kind=MessageKind.INBOUND,
        body_text="news",
        now=BASE + timedelta(minutes=minutes),
    )


def _subjects(user, filters=None, **kwargs):
    return [
        t.subject
        for t in ticket_list(user=user, filters=filters or InboxFilters(), **kwargs).tickets
    ]


@pytest.fixture
def desk(cast):
    """Boutique: two handled tickets, one new, one handled with an unread message, one closed."""
    q1, q2 = cast.boutique_queue, cast.boutique_queue_2
    t = {
        "old_handled": _ticket(q1, "old handled", 0),
        "unread_old": _ticket(q2, "unread old", 10),
        "new": _ticket(q1, "new", 20, status=Status.NEW),
        "recent_handled": _ticket(q2, "recent handled", 30),
        "closed": _ticket(q1, "closed", 40, status=Status.CLOSED),
    }
    # The old ticket got a message after the new one arrived: it leads the list.
    _inbound(t["unread_old"], 25)
    return t


def test_new_and_unread_tickets_come_first_latest_activity_first_then_newest_first(cast, desk):
    assert _subjects(cast.boutique_agent) == [
        "unread old",
        "new",
        "closed",
        "recent handled",
        "old handled",
    ]


def test_a_new_inbound_message_moves_its_ticket_to_the_front_and_reading_it_moves_it_back(
    cast, desk
):
    _inbound(desk["old_handled"], 50)
    assert _subjects(cast.boutique_agent)[0] == "old handled"
    ticket_mark_read(ticket=desk["old_handled"], agent=cast.boutique_agent)
    ticket_mark_read(ticket=desk["unread_old"], agent=cast.boutique_agent)
    # Read again: back in creation order after the new ticket, which still needs attention.
    assert _subjects(cast.boutique_agent) == [
        "new",
        "closed",
        "recent handled",
        "unread old",
        "old handled",
    ]
    ticket_mark_unread(ticket=desk["old_handled"], agent=cast.boutique_agent)
    assert _subjects(cast.boutique_agent)[:2] == ["old handled", "new"]


def test_an_agent_of_another_workspace_sees_none_of_it(cast, desk):
    _ticket(cast.assurance_queue, "insurance", 60, status=Status.NEW)
    assert _subjects(cast.assurance_agent) == ["insurance"]
    # The admin sees both workspaces merged in one order.
    assert _subjects(cast.admin)[:3] == ["insurance", "unread old", "new"]


@pytest.mark.parametrize("size", [1, 2, 3, 4])
def test_pages_cover_both_parts_once_in_order_at_every_page_size(cast, desk, size):
    expected = _subjects(cast.admin)
    seen: list[str] = []
    page = 1
    while True:
        result = ticket_list(user=cast.admin, filters=InboxFilters(), page=page, page_size=size)
        seen += [t.subject for t in result.tickets]
        if not result.has_next:
            break
        page += 1
    assert seen == expected


def test_filters_apply_to_both_parts(cast, desk):
    user = cast.boutique_agent
    assert _subjects(user, InboxFilters(status="open")) == [
        "unread old",
        "new",
        "recent handled",
        "old handled",
    ]
    assert _subjects(user, InboxFilters(queue_id=cast.boutique_queue_2.pk)) == [
        "unread old",
        "recent handled",
    ]
    assert _subjects(user, InboxFilters(status=Status.NEW)) == ["new"]


def test_unread_filter_lists_only_unread_tickets_and_its_counts_agree(cast, desk):
    user = cast.boutique_agent
    _inbound(desk["closed"], 45)  # a closed ticket can hold an unread message too
    filters = InboxFilters(unread=True)
    assert _subjects(user, filters) == ["closed", "unread old"]
    assert inbox_total(user=user, filters=filters) == 2
    assert unread_count(user=user, filters=InboxFilters()) == 2
    counts = inbox_status_counts(user=user, filters=filters)
    assert (counts["all"], counts["open"], counts["closed"], counts["new"]) == (2, 1, 1, 0)
    open_unread = InboxFilters(unread=True, status="open")
    assert _subjects(user, open_unread) == ["unread old"]
    assert unread_count(user=user, filters=InboxFilters(status="open")) == 1
    assert InboxFilters.from_params({"unread": "1"}).unread
    assert not InboxFilters.from_params({"unread": "no"}).unread


def test_unread_count_stops_past_its_cap(cast, desk):
    for i in range(4):
        _inbound(_ticket(cast.boutique_queue, f"more {i}", 100 + i), 110 + i)
    assert unread_count(user=cast.boutique_agent, filters=InboxFilters()) == 5
    assert unread_count(user=cast.boutique_agent, filters=InboxFilters(), cap=2) == 3


@pytest.mark.parametrize("order", ["attention", "newest"])
def test_keyset_walk_returns_each_ticket_once_in_list_order(cast, desk, order):
    seen, after = [], None
    while True:
        batch = ticket_list_after(
            user=cast.admin, filters=InboxFilters(), after=after, limit=2, order=order
        )
        if not batch:
            break
        seen += [t.subject for t in batch]
        after = list_cursor(batch[-1], order=order)
    if order == "attention":
        assert seen == _subjects(cast.admin)
    else:
        assert seen == ["closed", "recent handled", "new", "unread old", "old handled"]


def test_page_stamps_match_the_page_and_the_version_moves_with_a_message(cast, desk):
    user, filters = cast.boutique_agent, InboxFilters()

    def version():
        counts = inbox_status_counts(user=user, filters=filters)
        stamps = ticket_page_stamps(user=user, filters=filters, page=1, total=counts["all"])
        page = ticket_list(user=user, filters=filters, total=counts["all"])
        assert stamps == row_stamps(page.tickets)
        unread = unread_count(user=user, filters=filters)
        return inbox_version(counts=counts, unread=unread, page=1, stamps=stamps)

    first = version()
    assert version() == first
    _inbound(desk["recent_handled"], 60)
    second = version()
    assert second != first
    ticket_mark_read(ticket=desk["recent_handled"], agent=cast.boutique_agent)
    assert version() not in (first, second)


def _plan(sql: str, params) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # A tiny table is cheaper to scan: make the planner show whether it *can* use it.
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("SET LOCAL enable_bitmapscan = off")
            cursor.execute("SET LOCAL enable_sort = off")
            cursor.execute("EXPLAIN " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        return "\n".join(str(row) for row in cursor.fetchall())


def test_the_attention_part_walks_the_partial_index_in_order(cast, desk):
    from comptoir.tickets.models import Ticket
    from comptoir.tickets.selectors import ATTENTION, _attention_order

    order = _attention_order()
    for extra in ({}, {"has_unread": True}):
        qs = (
            Ticket.objects.filter(workspace_id=cast.boutique.pk)
            .filter(ATTENTION)
            .filter(**extra)
            .order_by(*order)
            .values("pk")[:25]
        )
        sql, params = qs.query.sql_with_params()
        plan = _plan(sql, params)
        assert "ticket_ws_attention" in plan, plan
        assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def test_unread_filter_counts_stop_at_their_cap_and_the_inbox_says_so(
    cast, desk, monkeypatch, client
):
    from comptoir.tickets import selectors, views

    for i in range(4):
        _inbound(_ticket(cast.boutique_queue, f"more {i}", 100 + i), 110 + i)
    user, filters = cast.boutique_agent, InboxFilters(unread=True)
    assert inbox_total(user=user, filters=filters) == 5
    monkeypatch.setattr(selectors, "UNREAD_FILTER_CAP", 2)
    monkeypatch.setattr(views, "UNREAD_FILTER_CAP", 2)
    assert inbox_total(user=user, filters=filters) == 3
    assert inbox_status_counts(user=user, filters=filters)["all"] == 3
    client.force_login(user)
    body = client.get("/", {"unread": "1"}).content.decode()
    assert 'class="notice muted"' in body
    assert 'class="notice muted"' not in client.get("/").content.decode()


def test_the_unread_count_reads_an_index_never_the_table(cast, desk):
    from comptoir.tickets.selectors import _first_rows, _unread_tickets

    unfiltered = _unread_tickets(cast.boutique_agent, InboxFilters(), [cast.boutique.pk])
    sql, params = _first_rows(unfiltered, [cast.boutique.pk], 100, "pk")
    plan = _plan(f"SELECT COUNT(*) FROM ({sql}) AS x", params)
    # Either partial index holds only unread (or new) tickets, never the whole table; the
    # planner picks by its statistics.
    assert "ticket_ws_unread" in plan or "ticket_ws_attention" in plan, plan
    filters = InboxFilters(channel="email", status="open", assignee="unassigned")
    filtered = _unread_tickets(cast.boutique_agent, filters, [cast.boutique.pk])
    sql, params = _first_rows(filtered, [cast.boutique.pk], 100, "pk")
    plan = _plan(f"SELECT COUNT(*) FROM ({sql}) AS x", params)
    # SQLite says "USING (COVERING) INDEX", PostgreSQL "Index (Only) Scan using".
    index_read = r"USING (COVERING )?INDEX ticket_ws_|Index (Only )?Scan using ticket_ws_"
    assert re.search(index_read, plan), plan

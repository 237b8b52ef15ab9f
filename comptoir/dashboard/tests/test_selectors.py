"""Each figure of `dashboard_figures`, with time moved through its `now` parameter."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import translation

from comptoir.core.errors import NotFound
from comptoir.dashboard.formatting import format_count, format_duration
from comptoir.dashboard.selectors import dashboard_figures
from comptoir.dashboard.tests.helpers import reply_at, ticket_at, utc
from comptoir.tickets.models import MessageKind, Status
from comptoir.tickets.services import ticket_assign, ticket_change_status, ticket_close

pytestmark = pytest.mark.django_db

# 10 March 2026, 12:00 in Paris (UTC+1 in winter).
NOW = utc(2026, 3, 10, 11, 0)


def _queue_figures(d, queue):
    for block in d.workspaces:
        for row in block.queues:
            if row.queue_id == queue.pk:
                return row.figures
    raise AssertionError(f"queue {queue} not on the dashboard")


def _block(d, workspace):
    return next(b for b in d.workspaces if b.workspace_id == workspace.pk)


def test_new_counts_tickets_created_since_local_midnight(cast):
    ticket_at(cast.boutique_queue, utc(2026, 3, 9, 22, 59))  # 23:59 on the 9th in Paris
    ticket_at(cast.boutique_queue, utc(2026, 3, 9, 23, 0))  # midnight on the 10th in Paris
    ticket_at(cast.boutique_queue, utc(2026, 3, 10, 10, 0))
    ticket_at(cast.boutique_queue_2, utc(2026, 3, 10, 10, 30))

    d = dashboard_figures(user=cast.admin, now=NOW)

    assert d.day == date(2026, 3, 10)
    assert _queue_figures(d, cast.boutique_queue).new == 2
    assert _queue_figures(d, cast.boutique_queue_2).new == 1
    assert _block(d, cast.boutique).total.new == 3
    assert d.total.new == 3


def test_a_ticket_at_23_30_utc_belongs_to_the_next_paris_day(cast):
    late = utc(2026, 3, 10, 23, 30)  # 00:30 on the 11th in Paris
    ticket_at(cast.boutique_queue, late)

    same_utc_day = dashboard_figures(user=cast.admin, now=utc(2026, 3, 10, 22, 0))
    next_paris_day = dashboard_figures(user=cast.admin, now=utc(2026, 3, 10, 23, 45))

    assert same_utc_day.day == date(2026, 3, 10)
    assert same_utc_day.total.new == 0
    assert next_paris_day.day == date(2026, 3, 11)
    assert next_paris_day.total.new == 1


def test_day_boundaries_follow_summer_time(cast):
    # Paris is UTC+2 from 29 March 2026: the day starts at 22:00 UTC the day before.
    ticket_at(cast.boutique_queue, utc(2026, 6, 14, 21, 59))  # 23:59 on the 14th
    ticket_at(cast.boutique_queue, utc(2026, 6, 14, 22, 0))  # 00:00 on the 15th

    d = dashboard_figures(user=cast.admin, now=utc(2026, 6, 15, 8, 0))

    assert d.total.new == 1


def test_open_and_unassigned_are_counted_now_whatever_the_creation_day(cast):
    old = ticket_at(cast.boutique_queue, utc(2025, 12, 1, 9, 0))
    assigned = ticket_at(cast.boutique_queue, utc(2026, 3, 1, 9, 0))
    ticket_assign(ticket=assigned, assignee=cast.boutique_agent, author=cast.admin, now=NOW)
    waiting = ticket_at(cast.boutique_queue, utc(2026, 3, 2, 9, 0))
    ticket_change_status(ticket=waiting, status=Status.AWAITING_CONTACT, author=cast.admin, now=NOW)
    closed = ticket_at(cast.boutique_queue, utc(2026, 3, 3, 9, 0))
    ticket_close(ticket=closed, author=cast.admin, now=utc(2026, 3, 4, 9, 0))

    f = _queue_figures(dashboard_figures(user=cast.admin, now=NOW), cast.boutique_queue)

    assert f.open == 3
    assert f.unassigned == 2
    assert old.pk  # created months ago, still open and unassigned


def test_closed_today_counts_tickets_closed_since_local_midnight_and_still_closed(cast):
    yesterday = ticket_at(cast.boutique_queue, utc(2026, 3, 1, 9, 0))
    ticket_close(ticket=yesterday, author=cast.admin, now=utc(2026, 3, 9, 22, 30))  # 23:30 Paris
    today = ticket_at(cast.boutique_queue, utc(2026, 3, 1, 9, 0))
    ticket_close(ticket=today, author=cast.admin, now=utc(2026, 3, 9, 23, 30))  # 00:30 Paris
    reopened = ticket_at(cast.boutique_queue, utc(2026, 3, 1, 9, 0))
    ticket_close(ticket=reopened, author=cast.admin, now=utc(2026, 3, 10, 8, 0))
    ticket_change_status(
        ticket=reopened, status=Status.TO_PROCESS, author=cast.admin, now=utc(2026, 3, 10, 9, 0)
    )
    other_queue = ticket_at(cast.boutique_queue_2, utc(2026, 3, 10, 7, 0))
    ticket_close(ticket=other_queue, author=cast.admin, now=utc(2026, 3, 10, 10, 0))

    d = dashboard_figures(user=cast.admin, now=NOW)

    assert _queue_figures(d, cast.boutique_queue).closed == 1
    assert _queue_figures(d, cast.boutique_queue_2).closed == 1
    assert _block(d, cast.boutique).total.closed == 2
    assert _queue_figures(d, cast.boutique_queue).open == 1  # the reopened one


def test_median_first_response_with_an_odd_number_of_tickets(cast):
    for created, replied in (
        (utc(2026, 3, 10, 8, 0), utc(2026, 3, 10, 8, 10)),  # 10 min
        (utc(2026, 3, 10, 7, 0), utc(2026, 3, 10, 8, 5)),  # 65 min
        (utc(2026, 3, 9, 20, 0), utc(2026, 3, 10, 9, 0)),  # 13 h, created yesterday
    ):
        reply_at(ticket_at(cast.boutique_queue, created), replied)

    f = _queue_figures(dashboard_figures(user=cast.admin, now=NOW), cast.boutique_queue)

    assert f.first_responses == 3
    assert f.median_first_response == 65 * 60


def test_median_first_response_with_an_even_number_of_tickets(cast):
    a = ticket_at(cast.boutique_queue, utc(2026, 3, 10, 8, 0))
    reply_at(a, utc(2026, 3, 10, 8, 10))
    b = ticket_at(cast.boutique_queue, utc(2026, 3, 10, 8, 0))
    reply_at(b, utc(2026, 3, 10, 8, 40))

    f = _queue_figures(dashboard_figures(user=cast.admin, now=NOW), cast.boutique_queue)

    assert f.median_first_response == 25 * 60


def test_notes_automatic_messages_and_later_replies_are_not_first_responses(cast):
    noted = ticket_at(cast.boutique_queue, utc(2026, 3, 10, 8, 0))
    reply_at(noted, utc(2026, 3, 10, 8, 1), kind=MessageKind.NOTE)
    reply_at(noted, utc(2026, 3, 10, 8, 2), kind=MessageKind.AUTOMATIC)
    reply_at(noted, utc(2026, 3, 10, 8, 2), kind=MessageKind.SOLICITATION_OUT)
    reply_at(noted, utc(2026, 3, 10, 8, 30))  # the real first reply: 30 min
    reply_at(noted, utc(2026, 3, 10, 9, 30))  # a second reply changes nothing
    only_notes = ticket_at(cast.boutique_queue, utc(2026, 3, 10, 8, 0))
    reply_at(only_notes, utc(2026, 3, 10, 8, 5), kind=MessageKind.NOTE)
    answered_yesterday = ticket_at(cast.boutique_queue, utc(2026, 3, 9, 8, 0))
    reply_at(answered_yesterday, utc(2026, 3, 9, 8, 5))
    reply_at(answered_yesterday, utc(2026, 3, 10, 8, 5))

    f = _queue_figures(dashboard_figures(user=cast.admin, now=NOW), cast.boutique_queue)

    assert f.first_responses == 1
    assert f.median_first_response == 30 * 60


def test_median_first_response_is_none_without_replies_today(cast):
    ticket = ticket_at(cast.boutique_queue, utc(2026, 3, 10, 8, 0))
    reply_at(ticket, utc(2026, 3, 10, 8, 1), kind=MessageKind.NOTE)

    d = dashboard_figures(user=cast.admin, now=NOW)

    assert _queue_figures(d, cast.boutique_queue).median_first_response is None
    assert d.total.median_first_response is None


def test_workspace_total_median_is_over_all_its_tickets_not_a_median_of_medians(cast):
    for minutes in (10, 20, 30):
        t = ticket_at(cast.boutique_queue, utc(2026, 3, 10, 8, 0))
        reply_at(t, utc(2026, 3, 10, 8, 0) + timedelta(minutes=minutes))
    t = ticket_at(cast.boutique_queue_2, utc(2026, 3, 10, 8, 0))
    reply_at(t, utc(2026, 3, 10, 8, 50))

    d = dashboard_figures(user=cast.admin, now=NOW)

    assert _block(d, cast.boutique).total.median_first_response == 25 * 60


def test_other_workspaces_and_tenants_are_never_counted(cast):
    mine = ticket_at(cast.boutique_queue, utc(2026, 3, 10, 8, 0))
    reply_at(mine, utc(2026, 3, 10, 8, 10))
    for queue in (cast.assurance_queue, cast.other_queue):
        t = ticket_at(queue, utc(2026, 3, 10, 8, 0), channel="phone")
        reply_at(t, utc(2026, 3, 10, 9, 0))
        closed = ticket_at(queue, utc(2026, 3, 10, 8, 0))
        ticket_close(ticket=closed, author=None, now=utc(2026, 3, 10, 9, 0))

    d = dashboard_figures(user=cast.boutique_agent, now=NOW)

    assert [b.workspace_id for b in d.workspaces] == [cast.boutique.pk]
    assert (d.total.new, d.total.open, d.total.closed) == (1, 1, 0)
    assert d.total.response_times == [600.0]
    assert [s.channel for s in d.chart.series] == ["email"]
    other = dashboard_figures(user=cast.other_agent, now=NOW)
    assert (other.total.new, other.total.open, other.total.closed) == (2, 1, 1)


def test_a_workspace_the_user_may_not_see_is_not_found(cast):
    with pytest.raises(NotFound):
        dashboard_figures(user=cast.boutique_agent, workspace_id=cast.assurance.pk, now=NOW)
    with pytest.raises(NotFound):
        dashboard_figures(user=cast.admin, workspace_id=cast.other_workspace.pk, now=NOW)


def test_workspace_filter_keeps_one_workspace(cast):
    ticket_at(cast.boutique_queue, utc(2026, 3, 10, 8, 0))
    ticket_at(cast.assurance_queue, utc(2026, 3, 10, 8, 0))

    d = dashboard_figures(user=cast.admin, workspace_id=cast.assurance.pk, now=NOW)

    assert [b.name for b in d.workspaces] == ["Assurance"]
    assert d.total.new == 1
    assert sum(s.total for s in d.chart.series) == 1


def test_every_active_queue_has_a_row_even_without_tickets(cast):
    d = dashboard_figures(user=cast.admin, now=NOW)

    assert [(b.name, [q.name for q in b.queues]) for b in d.workspaces] == [
        ("Assurance", ["Sinistres"]),
        ("Boutique", ["Commandes", "Retours"]),
    ]
    assert d.total.new == 0
    assert d.chart.series == []


def test_chart_counts_tickets_per_local_day_and_channel_over_30_days(cast):
    now = utc(2026, 4, 10, 10, 0)  # 12:00 in Paris, summer time
    q = cast.boutique_queue
    ticket_at(q, utc(2026, 3, 11, 21, 59), channel="email")  # 11 March 22:59 Paris: too old
    ticket_at(q, utc(2026, 3, 11, 23, 0), channel="email")  # 12 March 00:00 Paris: first day
    ticket_at(q, utc(2026, 3, 28, 23, 30), channel="chat")  # 29 March 00:30 (UTC+1)
    ticket_at(q, utc(2026, 3, 29, 22, 30), channel="chat")  # 30 March 00:30 (UTC+2)
    ticket_at(q, utc(2026, 3, 29, 21, 30), channel="phone")  # 29 March 23:30 (UTC+2)
    ticket_at(q, utc(2026, 4, 10, 9, 0), channel="email")  # today
    ticket_at(q, utc(2026, 4, 10, 22, 30), channel="email")  # tomorrow in Paris: not yet

    chart = dashboard_figures(user=cast.admin, now=now).chart

    assert len(chart.days) == 30
    assert chart.days[0] == date(2026, 3, 12)
    assert chart.days[-1] == date(2026, 4, 10)
    by_channel = {s.channel: dict(zip(chart.days, s.counts, strict=True)) for s in chart.series}
    assert sorted(by_channel) == ["chat", "email", "phone"]
    assert by_channel["email"][date(2026, 3, 12)] == 1
    assert by_channel["email"][date(2026, 4, 10)] == 1
    assert sum(by_channel["email"].values()) == 2
    assert by_channel["chat"][date(2026, 3, 29)] == 1
    assert by_channel["chat"][date(2026, 3, 30)] == 1
    assert by_channel["phone"][date(2026, 3, 29)] == 1
    assert chart.day_totals[chart.days.index(date(2026, 3, 29))] == 2


@pytest.mark.parametrize(
    ("seconds", "fr", "en"),
    [
        (None, "—", "—"),
        (42, "42 s", "42 s"),
        (59.6, "1 min", "1 min"),
        (25 * 60, "25 min", "25 min"),
        (65 * 60, "1 h 05 min", "1 h 05 min"),
        (13 * 3600 + 59 * 60 + 40, "14 h 00 min", "14 h 00 min"),
        (3 * 86400 + 4 * 3600, "3 j 4 h", "3 d 4 h"),
    ],
)
def test_durations_are_written_as_each_language_does(seconds, fr, en):
    with translation.override("fr"):
        assert format_duration(seconds) == fr
    with translation.override("en"):
        assert format_duration(seconds) == en


def test_counts_are_grouped_as_each_language_does():
    with translation.override("fr"):
        assert format_count(1234567).replace("\u202f", " ").replace("\xa0", " ") == "1 234 567"
    with translation.override("en"):
        assert format_count(1234567) == "1,234,567"


def test_a_reply_dated_before_its_ticket_counts_as_immediate(cast):
    # Imported history can put the first reply before the ticket's own creation time.
    ticket = ticket_at(cast.boutique_queue, utc(2026, 3, 10, 9, 0))
    reply_at(ticket, utc(2026, 3, 10, 8, 0))

    f = _queue_figures(dashboard_figures(user=cast.admin, now=NOW), cast.boutique_queue)

    assert f.response_times == [0.0]

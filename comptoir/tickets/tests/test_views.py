"""The inbox, the ticket page and attachment downloads, as an agent sees them."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from comptoir.tickets.models import MessageKind, Status
from comptoir.tickets.services import (
    NewAttachment,
    message_add,
    ticket_assign,
    ticket_change_status,
    ticket_create,
    ticket_edit_subject,
    ticket_mark_read,
)

INBOX = "/"


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


def _ticket(queue, subject, *, minutes_ago=0, channel="email", **kwargs):
    return ticket_create(
        queue=queue,
        channel=channel,
        subject=subject,
        now=timezone.now() - timedelta(minutes=minutes_ago),
        **kwargs,
    )


def _subjects(response):
    return [t.subject for t in response.context["page"].tickets]


@pytest.fixture
def boutique(client, cast):
    client.force_login(cast.boutique_agent)
    return client


# Inbox -----------------------------------------------------------------------------------


def test_inbox_requires_login(client, db):
    response = client.get(INBOX)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_inbox_lists_visible_tickets_newest_first(boutique, cast):
    _ticket(cast.boutique_queue, "older", minutes_ago=10, contact=cast.alice)
    _ticket(cast.boutique_queue_2, "newer", minutes_ago=1, requester_email="bob@example.com")
    response = boutique.get(INBOX)
    assert response.status_code == 200
    assert _subjects(response) == ["newer", "older"]
    body = response.content.decode()
    assert "Alice Dupont" in body
    assert "bob@example.com" in body
    assert reverse("ticket_detail", args=[response.context["page"].tickets[0].pk]) in body


def test_inbox_rows_show_labels_cut_subjects_and_local_times(boutique, cast):
    long_subject = "Commande " + "é" * 130
    _ticket(cast.boutique_queue, long_subject, minutes_ago=2, channel="whatsapp")
    empty = _ticket(cast.boutique_queue, "", minutes_ago=1, requester_email="x@example.com")
    boutique.cookies["django_language"] = "en"
    body = boutique.get(INBOX).content.decode()

    assert ("Commande " + "é" * 110) + "…" in body
    assert long_subject not in body
    assert "(no subject)" in body
    assert ">WhatsApp</span>" in body
    assert ">New</span>" in body
    assert ">Low</span>" in body
    local = timezone.localtime(empty.created_at)
    assert f'<time datetime="{local.isoformat()}">{local:%m/%d/%Y}' in body


def test_agent_of_one_workspace_never_sees_the_other(boutique, cast):
    _ticket(cast.boutique_queue, "boutique request")
    _ticket(cast.assurance_queue, "assurance secret")
    _ticket(cast.other_queue, "globex secret")
    response = boutique.get(INBOX)
    assert _subjects(response) == ["boutique request"]
    assert "secret" not in response.content.decode()
    # Asking for the other workspace explicitly gives nothing either.
    response = boutique.get(INBOX, {"workspace": cast.assurance.pk})
    assert _subjects(response) == []
    assert "Sinistres" not in response.content.decode()


def test_status_filters_and_tab_counts(boutique, cast):
    t_new = _ticket(cast.boutique_queue, "still new", minutes_ago=3)
    t_closed = _ticket(cast.boutique_queue, "done", minutes_ago=2)
    t_wait = _ticket(cast.boutique_queue, "waiting", minutes_ago=1)
    ticket_change_status(ticket=t_closed, status=Status.CLOSED, author=cast.boutique_agent)
    ticket_change_status(ticket=t_wait, status=Status.AWAITING_CONTACT, author=None)

    response = boutique.get(INBOX)
    counts = {value: count for value, _, count in response.context["status_tabs"]}
    assert counts["all"] == 3
    assert counts["open"] == 2
    assert counts["new"] == 1
    assert counts["closed"] == 1
    assert counts["awaiting_contact"] == 1
    assert counts["to_process"] == 0

    # The new ticket needs attention: first, though older.
    assert _subjects(boutique.get(INBOX, {"status": "open"})) == ["still new", "waiting"]
    assert _subjects(boutique.get(INBOX, {"status": "closed"})) == ["done"]
    assert _subjects(boutique.get(INBOX, {"status": "new"})) == [t_new.subject]
    # An unknown status is ignored rather than an error.
    assert len(_subjects(boutique.get(INBOX, {"status": "bogus"}))) == 3


def test_channel_queue_and_assignee_filters(boutique, cast):
    mail = _ticket(cast.boutique_queue, "by mail", minutes_ago=3, channel="email")
    _ticket(cast.boutique_queue_2, "by phone", minutes_ago=2, channel="phone")
    chat = _ticket(cast.boutique_queue, "by chat", minutes_ago=1, channel="chat")
    ticket_assign(ticket=mail, assignee=cast.boutique_agent, author=cast.boutique_agent)
    ticket_assign(ticket=chat, assignee=cast.expert, author=cast.boutique_agent)

    assert _subjects(boutique.get(INBOX, {"channel": "phone"})) == ["by phone"]
    assert _subjects(boutique.get(INBOX, {"queue": cast.boutique_queue_2.pk})) == ["by phone"]
    assert _subjects(boutique.get(INBOX, {"assignee": "mine"})) == ["by mail"]
    assert _subjects(boutique.get(INBOX, {"assignee": "unassigned"})) == ["by phone"]
    response = boutique.get(INBOX, {"channel": "email", "assignee": "mine"})
    assert _subjects(response) == ["by mail"]
    counts = {value: count for value, _, count in response.context["status_tabs"]}
    assert counts["all"] == 1
    # Initials of the assignee are shown in the row.
    assert cast.boutique_agent.initials in response.content.decode()


def test_workspace_filter_for_an_agent_of_several_workspaces(client, cast):
    _ticket(cast.boutique_queue, "boutique one")
    _ticket(cast.assurance_queue, "assurance one")
    client.force_login(cast.admin)
    response = client.get(INBOX)
    assert sorted(_subjects(response)) == ["assurance one", "boutique one"]
    assert 'name="workspace"' in response.content.decode()
    response = client.get(INBOX, {"workspace": cast.assurance.pk})
    assert _subjects(response) == ["assurance one"]
    # The queue select then offers only that workspace's queues.
    body = response.content.decode()
    assert "Sinistres" in body
    assert "Commandes" not in body


def test_single_workspace_agent_gets_no_workspace_select(boutique, cast):
    assert 'name="workspace"' not in boutique.get(INBOX).content.decode()


def test_inbox_paginates_on_the_server(boutique, cast, settings):
    settings.INBOX_PAGE_SIZE = 5
    for i in range(12):
        _ticket(cast.boutique_queue, f"ticket {i:02d}", minutes_ago=100 - i)
    first = boutique.get(INBOX)
    page = first.context["page"]
    assert (page.page, page.num_pages, page.total) == (1, 3, 12)
    assert _subjects(first)[0] == "ticket 11"
    body = first.content.decode()
    assert "page=2" in body
    third = boutique.get(INBOX, {"page": 3})
    assert _subjects(third) == ["ticket 01", "ticket 00"]
    # Out-of-range and junk page numbers land on a real page.
    assert boutique.get(INBOX, {"page": 99}).context["page"].page == 3
    assert boutique.get(INBOX, {"page": "x"}).context["page"].page == 1


def test_pagination_links_keep_the_filters(boutique, cast, settings):
    settings.INBOX_PAGE_SIZE = 2
    for i in range(3):
        _ticket(cast.boutique_queue, f"phone {i}", channel="phone", minutes_ago=10 - i)
    body = boutique.get(INBOX, {"channel": "phone"}).content.decode()
    assert "?channel=phone&amp;page=2" in body


def test_htmx_request_gets_only_the_results_partial(boutique, cast):
    _ticket(cast.boutique_queue, "partial please")
    response = boutique.get(INBOX, {"status": "open"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="inbox-results"')
    assert "<html" not in body
    assert "partial please" in body
    assert "HX-Request" in response["Vary"]
    full = boutique.get(INBOX, {"status": "open"})
    assert "<html" in full.content.decode()


def test_htmx_history_restore_gets_the_whole_page(boutique, cast):
    response = boutique.get(INBOX, HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in response.content.decode()


def test_unread_tickets_carry_a_badge_and_read_ones_none(boutique, cast):
    ticket = _ticket(cast.boutique_queue, "unread one")
    message_add(ticket=ticket, kind=MessageKind.INBOUND, body_text="hello")
    body = boutique.get(INBOX).content.decode()
    assert 'class="is-unread"' in body
    assert 'class="unread-badge"' in body
    ticket_mark_read(ticket=ticket, agent=cast.boutique_agent)
    body = boutique.get(INBOX).content.decode()
    assert "is-unread" not in body
    assert 'class="unread-badge"' not in body


def _count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_inbox_runs_a_bounded_number_of_queries(boutique, cast, django_assert_max_num_queries):
    for i in range(5):
        t = _ticket(cast.boutique_queue, f"t{i}", contact=cast.alice)
        ticket_assign(ticket=t, assignee=cast.boutique_agent, author=None)
    boutique.get(INBOX)  # warm the session
    expected = _count_queries(boutique, INBOX)
    for i in range(25):
        t = _ticket(cast.boutique_queue_2, f"u{i}", requester_email=f"u{i}@example.com")
        ticket_assign(ticket=t, assignee=cast.expert, author=None)
    # The page reads the tickets needing attention, then the others when the first part
    # does not fill it: at most the count measured above, whatever the number of rows.
    with django_assert_max_num_queries(expected):
        response = boutique.get(INBOX)
    assert len(_subjects(response)) == 25
    with django_assert_max_num_queries(expected):
        boutique.get(INBOX, {"status": "open", "channel": "email", "assignee": "mine"})


# Ticket page ------------------------------------------------------------------------------


def test_ticket_page_shows_header_and_timeline_oldest_first(boutique, cast):
    t0 = timezone.now() - timedelta(hours=2)
    ticket = ticket_create(
        queue=cast.boutique_queue,
        channel="email",
        subject="Colis perdu",
        contact=cast.alice,
        now=t0,
    )
    message_add(
        ticket=ticket,
        kind=MessageKind.INBOUND,
        body_text="Mon colis n'est pas arrivé.\nMerci",
        sender_email="alice@example.com",
        sender_name="Alice Dupont",
        now=t0 + timedelta(minutes=1),
    )
    ticket_assign(
        ticket=ticket,
        assignee=cast.boutique_agent,
        author=cast.admin,
        now=t0 + timedelta(minutes=2),
    )
    message_add(
        ticket=ticket,
        kind=MessageKind.NOTE,
        body_html="<p>Vérifier avec <strong>le transporteur</strong></p>",
        author=cast.boutique_agent,
        now=t0 + timedelta(minutes=3),
    )
    ticket_change_status(
        ticket=ticket,
        status=Status.AWAITING_CONTACT,
        author=cast.boutique_agent,
        now=t0 + timedelta(minutes=4),
    )
    ticket_edit_subject(
        ticket=ticket,
        subject="Colis perdu (Colissimo)",
        author=cast.boutique_agent,
        now=t0 + timedelta(minutes=5),
    )
    response = boutique.get(reverse("ticket_detail", args=[ticket.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert f"#{ticket.number}" in body
    assert "Colis perdu (Colissimo)" in body
    assert reverse("contact_detail", args=[cast.alice.pk]) in body
    kinds = [
        row["item"].message.kind if row["item"].message else row["item"].event.kind
        for row in response.context["rows"]
    ]
    assert kinds == ["created", "inbound", "assignment", "note", "status", "subject"]
    # Plain text bodies are escaped and keep their line breaks; sanitized HTML is rendered.
    assert "Mon colis n&#x27;est pas arrivé.<br>Merci" in body
    assert "<strong>le transporteur</strong>" in body
    assert "tl-message--note" in body
    assert body.index("Mon colis") < body.index("le transporteur")
    # One readable sentence per event (created, assignment, status, subject).
    assert body.count('class="tl-event__text"') == 4
    for sentence in ("Attribuée à", "Statut changé de", "Objet modifié de"):
        assert sentence in body


def test_plain_text_bodies_are_escaped(boutique, cast):
    ticket = _ticket(cast.boutique_queue, "<b>subject</b>")
    message_add(ticket=ticket, kind=MessageKind.INBOUND, body_text="<script>alert(1)</script>")
    body = boutique.get(reverse("ticket_detail", args=[ticket.pk])).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "<b>subject</b>" not in body


def test_ticket_page_filters_messages_or_events(boutique, cast):
    ticket = _ticket(cast.boutique_queue, "filtered")
    message_add(ticket=ticket, kind=MessageKind.INBOUND, body_text="a message")
    ticket_change_status(ticket=ticket, status=Status.TO_PROCESS, author=cast.boutique_agent)
    url = reverse("ticket_detail", args=[ticket.pk])

    only_messages = boutique.get(url, {"show": "messages"})
    assert [r["item"].kind for r in only_messages.context["rows"]] == ["message"]
    only_events = boutique.get(url, {"show": "events"})
    assert [r["item"].kind for r in only_events.context["rows"]] == ["event", "event"]
    assert boutique.get(url, {"show": "junk"}).context["show"] == "all"

    partial = boutique.get(url, {"show": "events"}, HTTP_HX_REQUEST="true").content.decode()
    # The fragment holds the header and the timeline (a reply changes both), not the page.
    assert partial.lstrip().startswith('<div id="ticket-main"')
    assert '<div id="timeline"' in partial
    assert "<html" not in partial
    assert "a message" not in partial


def test_a_long_history_opens_folded_and_unfolds_on_demand(boutique, cast):
    ticket = _ticket(cast.boutique_queue, "long", minutes_ago=120)
    start = timezone.now() - timedelta(minutes=100)
    for i in range(60):
        message_add(
            ticket=ticket,
            kind=MessageKind.INBOUND,
            body_text=f"message number {i:02d}",
            now=start + timedelta(minutes=i),
        )
    url = reverse("ticket_detail", args=[ticket.pk])

    folded = boutique.get(url)
    rows = folded.context["rows"]
    # The creation event, then the 25 latest messages; 35 messages are folded away.
    assert len(rows) == 26
    assert rows[0]["item"].event is not None
    assert [r["item"].message.body_text for r in rows[1:]][-1] == "message number 59"
    assert rows[1]["item"].message.body_text == "message number 35"
    body = folded.content.decode()
    assert "Afficher les 35 éléments plus anciens" in body
    assert "message number 34" not in body

    full = boutique.get(url, {"full": "1"})
    assert len(full.context["rows"]) == 61
    assert "message number 00" in full.content.decode()
    # A short history is never folded.
    short = _ticket(cast.boutique_queue, "short")
    message_add(ticket=short, kind=MessageKind.INBOUND, body_text="only one")
    assert boutique.get(reverse("ticket_detail", args=[short.pk])).context["hidden_count"] == 0


def test_status_event_reads_as_a_sentence_with_its_author(client, cast):
    client.force_login(cast.boutique_agent)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    ticket = _ticket(cast.boutique_queue, "sentence")
    ticket_change_status(ticket=ticket, status=Status.CLOSED, author=cast.boutique_agent)
    body = client.get(reverse("ticket_detail", args=[ticket.pk])).content.decode()
    assert "Status changed from New to Closed" in body
    assert "by Bruno Martin" in body


@pytest.mark.parametrize("where", ["assurance_queue", "other_queue"])
def test_ticket_page_is_404_for_foreign_tickets(boutique, cast, where):
    ticket = _ticket(getattr(cast, where), "secret")
    response = boutique.get(reverse("ticket_detail", args=[ticket.pk]))
    assert response.status_code == 404
    assert b"secret" not in response.content
    assert boutique.get(reverse("ticket_detail", args=[999999])).status_code == 404


def test_ticket_page_runs_a_constant_number_of_queries(boutique, cast, django_assert_num_queries):
    ticket = _ticket(cast.boutique_queue, "busy", contact=cast.alice)
    # The whole history, unfolded: the count must not grow with it.
    url = reverse("ticket_detail", args=[ticket.pk]) + "?full=1"

    def add(n):
        for i in range(n):
            message_add(
                ticket=ticket,
                kind=MessageKind.INBOUND if i % 2 else MessageKind.NOTE,
                body_text=f"message {i}",
                author=cast.boutique_agent if i % 2 == 0 else None,
                attachments=[NewAttachment(f"f{i}.txt", b"x")],
            )
            ticket_change_status(
                ticket=ticket,
                status=Status.TO_PROCESS if i % 2 else Status.AWAITING_CONTACT,
                author=cast.boutique_agent,
            )

    add(5)
    boutique.get(url)
    expected = _count_queries(boutique, url)
    add(25)
    with django_assert_num_queries(expected):
        response = boutique.get(url)
    assert sum(1 for r in response.context["rows"] if r["item"].message) == 30


# Attachments ------------------------------------------------------------------------------


def test_attachment_downloads_with_safe_headers(boutique, cast):
    ticket = _ticket(cast.boutique_queue, "with file")
    message = message_add(
        ticket=ticket,
        kind=MessageKind.INBOUND,
        body_text="see attached",
        attachments=[NewAttachment("<img src=x>.png", b"<html><script>1</script>", "image/png")],
    )
    attachment = message.attachments.get()
    page = boutique.get(reverse("ticket_detail", args=[ticket.pk])).content.decode()
    assert reverse("attachment_download", args=[attachment.pk]) in page
    assert "<img src=x>" not in page

    response = boutique.get(reverse("attachment_download", args=[attachment.pk]))
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"<html><script>1</script>"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("default-src 'none'")


def test_attachment_with_a_strange_content_type_is_served_as_octet_stream(boutique, cast):
    ticket = _ticket(cast.boutique_queue, "odd type")
    message = message_add(
        ticket=ticket,
        kind=MessageKind.INBOUND,
        attachments=[NewAttachment("a.bin", b"x", "text/html; charset=utf-8")],
    )
    response = boutique.get(reverse("attachment_download", args=[message.attachments.get().pk]))
    assert response["Content-Type"] == "application/octet-stream"


@pytest.mark.parametrize("where", ["assurance_queue", "other_queue"])
def test_foreign_attachments_are_404(boutique, cast, where):
    ticket = _ticket(getattr(cast, where), "secret")
    message = message_add(
        ticket=ticket, kind=MessageKind.INBOUND, attachments=[NewAttachment("s.txt", b"secret")]
    )
    response = boutique.get(reverse("attachment_download", args=[message.attachments.get().pk]))
    assert response.status_code == 404
    assert b"secret" not in response.content

"""GET /tickets (filters, keyset pages) and GET /tickets/{id} (the timeline)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import signing

from comptoir.accounts.services import token_create
from comptoir.core import clock
from comptoir.tickets.services import (
    NewAttachment,
    message_add,
    ticket_assign,
    ticket_close,
    ticket_create,
)

pytestmark = pytest.mark.django_db

ITEM_FIELDS = {
    "id",
    "number",
    "subject",
    "status",
    "channel",
    "priority",
    "workspace",
    "queue",
    "contact",
    "requester_email",
    "requester_name",
    "assignee",
    "has_unread",
    "message_count",
    "created_at",
    "updated_at",
    "status_changed_at",
}


def _ticket(queue, subject="Où est ma commande ?", channel="email", minutes_ago=0, **kw):
    now = clock.now() - timedelta(minutes=minutes_ago)
    return ticket_create(queue=queue, channel=channel, subject=subject, now=now, **kw)


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [t["id"] for t in response.json()["items"]]


def test_the_list_shows_the_agents_tickets_newest_first_with_every_field(cast, api_as):
    old = _ticket(cast.boutique_queue, minutes_ago=10, contact=cast.alice)
    new = _ticket(cast.boutique_queue_2, minutes_ago=1, requester_email="bob@example.com")
    _ticket(cast.assurance_queue)
    ticket_assign(ticket=old, assignee=cast.boutique_agent, author=cast.admin)

    body = api_as(cast.boutique_agent).get("/tickets").json()

    assert [t["id"] for t in body["items"]] == [new.pk, old.pk]
    assert body["total"] == 2
    assert body["next_cursor"] is None
    first, second = body["items"]
    assert set(first) == ITEM_FIELDS
    assert first["contact"] is None
    assert first["requester_email"] == "bob@example.com"
    assert first["queue"] == {"id": cast.boutique_queue_2.pk, "name": "Retours"}
    assert first["workspace"] == {"id": cast.boutique.pk, "name": "Boutique"}
    assert second["contact"] == {"id": cast.alice.pk, "name": "Alice Dupont"}
    assert second["assignee"] == {
        "id": cast.boutique_agent.pk,
        "name": "Bruno Martin",
        "initials": "BM",
    }
    assert second["status"] == "new"
    assert second["channel"] == "email"


def test_status_filters_match_the_inbox(cast, api_as):
    open_ticket = _ticket(cast.boutique_queue, minutes_ago=2)
    closed = _ticket(cast.boutique_queue, minutes_ago=1)
    ticket_close(ticket=closed, author=cast.admin)
    api = api_as(cast.boutique_agent)

    assert _ids(api.get("/tickets", {"status": "open"})) == [open_ticket.pk]
    assert _ids(api.get("/tickets", {"status": "closed"})) == [closed.pk]
    assert _ids(api.get("/tickets", {"status": "new"})) == [open_ticket.pk]
    # The new ticket needs attention: it comes first, whatever its age.
    assert _ids(api.get("/tickets", {"status": "all"})) == [open_ticket.pk, closed.pk]
    newest = api.get("/tickets", {"status": "all", "order": "newest"})
    assert _ids(newest) == [closed.pk, open_ticket.pk]
    assert api.get("/tickets", {"status": "open"}).json()["total"] == 1


def test_channel_queue_assignee_and_workspace_filters(cast, api_as):
    by_mail = _ticket(cast.boutique_queue, channel="email", minutes_ago=3)
    by_phone = _ticket(cast.boutique_queue_2, channel="phone", minutes_ago=2)
    insurance = _ticket(cast.assurance_queue, channel="email", minutes_ago=1)
    ticket_assign(ticket=by_phone, assignee=cast.admin, author=cast.admin)
    api = api_as(cast.admin)

    assert _ids(api.get("/tickets", {"channel": "phone"})) == [by_phone.pk]
    assert _ids(api.get("/tickets", {"queue": cast.boutique_queue.pk})) == [by_mail.pk]
    assert _ids(api.get("/tickets", {"assignee": "mine"})) == [by_phone.pk]
    assert _ids(api.get("/tickets", {"assignee": "unassigned"})) == [insurance.pk, by_mail.pk]
    assert _ids(api.get("/tickets", {"workspace": cast.assurance.pk})) == [insurance.pk]
    response = api.get("/tickets", {"workspace": cast.boutique.pk, "channel": "email"})
    assert _ids(response) == [by_mail.pk]
    assert response.json()["total"] == 1


@pytest.mark.parametrize(
    "params",
    [
        {"status": "pending"},
        {"channel": "fax"},
        {"assignee": "someone"},
        {"queue": "0"},
        {"queue": "abc"},
        {"workspace": "-3"},
        {"limit": "0"},
        {"limit": "101"},
    ],
)
def test_invalid_filter_values_answer_422_instead_of_being_ignored(cast, api_as, params):
    response = api_as(cast.boutique_agent).get("/tickets", params)
    assert response.status_code == 422
    assert response.json()["detail"]


def test_filtering_on_a_workspace_of_another_agent_answers_404(cast, api_as):
    api = api_as(cast.boutique_agent)
    assert api.get("/tickets", {"workspace": cast.assurance.pk}).status_code == 404
    assert api.get("/tickets", {"workspace": cast.other_workspace.pk}).status_code == 404


def test_walking_the_cursor_returns_every_ticket_once_in_order(cast, api_as):
    same_time = clock.now() - timedelta(hours=1)
    tickets = [_ticket(cast.boutique_queue, minutes_ago=m) for m in (1, 2, 3, 4)]
    # Tickets sharing a creation time must still be split cleanly across pages.
    tickets += [
        ticket_create(queue=cast.boutique_queue, channel="chat", subject=f"s{i}", now=same_time)
        for i in range(4)
    ]
    expected = [t.pk for t in sorted(tickets, key=lambda t: (t.created_at, t.pk), reverse=True)]
    api = api_as(cast.boutique_agent)

    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        body = api.get("/tickets", params).json()
        assert body["total"] == 8
        seen += [t["id"] for t in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert seen == expected
    assert pages == 3


def test_the_cursor_keeps_the_filters_of_the_request(cast, api_as):
    phones = [_ticket(cast.boutique_queue, channel="phone", minutes_ago=m) for m in (1, 3, 5)]
    for m in (2, 4):
        _ticket(cast.boutique_queue, channel="email", minutes_ago=m)
    api = api_as(cast.boutique_agent)
    first = api.get("/tickets", {"channel": "phone", "limit": 2}).json()
    rest = api.get(
        "/tickets", {"channel": "phone", "limit": 2, "cursor": first["next_cursor"]}
    ).json()
    assert [t["id"] for t in first["items"] + rest["items"]] == [t.pk for t in phones]
    assert rest["next_cursor"] is None


@pytest.mark.parametrize("tamper", ["flip", "truncate", "forged", "garbage"])
def test_a_tampered_cursor_answers_400(cast, api_as, tamper):
    for m in range(3):
        _ticket(cast.boutique_queue, minutes_ago=m)
    api = api_as(cast.boutique_agent)
    cursor = api.get("/tickets", {"limit": 1}).json()["next_cursor"]
    assert cursor
    bad = {
        "flip": cursor[:-1] + ("A" if cursor[-1] != "A" else "B"),
        "truncate": cursor[: len(cursor) // 2],
        # Well-formed, but signed with another key than ours.
        "forged": signing.dumps(
            ["2000-01-01T00:00:00+00:00", 1], key="not-our-secret", salt="comptoir.api.cursor"
        ),
        "garbage": "not a cursor",
    }[tamper]
    response = api.get("/tickets", {"cursor": bad})
    assert response.status_code == 400
    assert response.json()["detail"] == "Invalid cursor."


def test_the_detail_carries_the_timeline_oldest_first(cast, api_as):
    start = clock.now() - timedelta(hours=2)
    ticket = ticket_create(
        queue=cast.boutique_queue,
        channel="email",
        subject="Colis abîmé",
        contact=cast.alice,
        now=start,
    )
    inbound = message_add(
        ticket=ticket,
        kind="inbound",
        body_text="Le colis est arrivé abîmé.",
        body_html="<p>Le colis est arrivé abîmé.</p>",
        sender_email="alice@example.com",
        sender_name="Alice Dupont",
        subject="Colis abîmé",
        attachments=[NewAttachment("photo.jpg", b"\xff\xd8jpeg", "image/jpeg")],
        now=start,
    )
    note = message_add(
        ticket=ticket,
        kind="note",
        body_text="Vérifier avec le transporteur",
        author=cast.boutique_agent,
        now=start + timedelta(minutes=5),
    )
    ticket_close(ticket=ticket, author=cast.boutique_agent, now=start + timedelta(minutes=10))

    response = api_as(cast.boutique_agent).get(f"/tickets/{ticket.pk}")

    assert response.status_code == 200
    body = response.json()
    assert body["number"] == ticket.number
    assert body["status"] == "closed"
    assert body["message_count"] == 2
    assert body["contact"] == {"id": cast.alice.pk, "name": "Alice Dupont"}
    assert body["contact_reason"] is None
    timeline = body["timeline"]
    assert [(e["type"], (e["message"] or e["event"])["kind"]) for e in timeline] == [
        ("event", "created"),
        ("message", "inbound"),
        ("message", "note"),
        ("event", "status"),
    ]
    first_message = timeline[1]["message"]
    assert first_message["id"] == inbound.pk
    assert first_message["sender"] == {"email": "alice@example.com", "name": "Alice Dupont"}
    assert first_message["subject"] == "Colis abîmé"
    assert first_message["body_html"] == "<p>Le colis est arrivé abîmé.</p>"
    assert first_message["author"] is None
    [attachment] = first_message["attachments"]
    assert attachment["filename"] == "photo.jpg"
    assert attachment["content_type"] == "image/jpeg"
    assert attachment["size"] == 6
    assert set(attachment) == {"id", "filename", "content_type", "size"}
    assert timeline[2]["message"]["id"] == note.pk
    assert timeline[2]["message"]["author"]["name"] == "Bruno Martin"
    status_event = timeline[3]["event"]
    assert status_event["data"] == {"old": "new", "new": "closed"}
    assert status_event["author"]["initials"] == "BM"


def test_a_ticket_of_another_workspace_answers_404(cast, api_as):
    ticket = _ticket(cast.assurance_queue)
    response = api_as(cast.boutique_agent).get(f"/tickets/{ticket.pk}")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert api_as(cast.assurance_agent).get(f"/tickets/{ticket.pk}").status_code == 200


def test_a_ticket_of_another_tenant_answers_404(cast, api_as):
    ticket = _ticket(cast.other_queue)
    assert api_as(cast.admin).get(f"/tickets/{ticket.pk}").status_code == 404
    assert api_as(cast.admin).get("/tickets/999999").status_code == 404


def test_the_list_runs_the_same_number_of_queries_whatever_the_page_size(
    cast, client, django_assert_num_queries
):
    for m in range(30):
        ticket = _ticket(cast.boutique_queue, minutes_ago=m, contact=cast.alice)
        ticket_assign(ticket=ticket, assignee=cast.boutique_agent, author=cast.admin)
    headers = {"Authorization": f"Bearer {token_create(user=cast.boutique_agent)}"}
    # The first use of a token stamps last_used_at; measure the steady state.
    client.get("/api/v1/tickets", headers=headers)

    # token, rights, tickets, total
    for limit in (1, 5, 30):
        with django_assert_num_queries(4):
            response = client.get(
                "/api/v1/tickets", {"limit": limit, "order": "newest"}, headers=headers
            )
        assert len(response.json()["items"]) == limit
    with django_assert_num_queries(4):
        client.get("/api/v1/tickets", {"limit": 2, "status": "open"}, headers=headers)
    # The inbox order reads the tickets needing attention, then (past them) the others.
    with django_assert_num_queries(5):
        response = client.get("/api/v1/tickets", {"limit": 30}, headers=headers)
    assert len(response.json()["items"]) == 30


def test_the_detail_runs_the_same_number_of_queries_whatever_the_timeline(
    cast, client, django_assert_num_queries
):
    short = _ticket(cast.boutique_queue)
    message_add(ticket=short, kind="inbound", body_text="a")
    long = _ticket(cast.boutique_queue, contact=cast.alice)
    for i in range(10):
        message_add(
            ticket=long,
            kind="outbound" if i % 2 else "inbound",
            body_text=f"message {i}",
            author=cast.boutique_agent if i % 2 else None,
            attachments=[NewAttachment(f"f{i}.txt", b"x" * i, "text/plain")],
        )
        ticket_assign(
            ticket=long,
            assignee=cast.boutique_agent if i % 2 else cast.expert,
            author=cast.admin,
        )
    headers = {"Authorization": f"Bearer {token_create(user=cast.boutique_agent)}"}
    client.get("/api/v1/workspaces", headers=headers)

    # token, rights, ticket, the timeline's order, messages, attachments, events
    for ticket in (short, long):
        with django_assert_num_queries(7):
            response = client.get(f"/api/v1/tickets/{ticket.pk}", headers=headers)
        assert response.status_code == 200


# Unread filter, inbox order, read state ---------------------------------------------------


def test_default_order_puts_unread_and_new_first_and_unread_filters(cast, api_as):
    from comptoir.tickets.models import Status
    from comptoir.tickets.services import ticket_change_status

    handled = _ticket(cast.boutique_queue, minutes_ago=30)
    ticket_change_status(ticket=handled, status=Status.TO_PROCESS, author=None)
    newer = _ticket(cast.boutique_queue, minutes_ago=20)
    ticket_change_status(ticket=newer, status=Status.TO_PROCESS, author=None)
    fresh = _ticket(cast.boutique_queue, minutes_ago=10)
    api = api_as(cast.boutique_agent)
    assert _ids(api.get("/tickets")) == [fresh.pk, newer.pk, handled.pk]

    message_add(ticket=handled, kind="inbound", body_text="news")
    assert _ids(api.get("/tickets")) == [handled.pk, fresh.pk, newer.pk]
    assert _ids(api.get("/tickets", {"order": "newest"})) == [fresh.pk, newer.pk, handled.pk]
    unread = api.get("/tickets", {"unread": "true"})
    assert _ids(unread) == [handled.pk]
    assert unread.json()["total"] == 1
    assert api.get("/tickets", {"order": "oldest"}).status_code == 422


def test_attention_order_walks_every_ticket_once_across_both_parts(cast, api_as):
    from comptoir.tickets.models import Status
    from comptoir.tickets.services import ticket_change_status

    made = []
    for m in range(7):
        ticket = _ticket(cast.boutique_queue, minutes_ago=m)
        if m % 2:
            ticket_change_status(ticket=ticket, status=Status.TO_PROCESS, author=None)
        made.append(ticket.pk)
    api = api_as(cast.boutique_agent)
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = api.get("/tickets", params).json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))
    # New ones (even minutes) first, newest first; then the others.
    assert seen == [made[0], made[2], made[4], made[6], made[1], made[3], made[5]]


def test_read_and_unread_endpoints(cast, api_as):
    from comptoir.tickets.models import Event, EventKind, Ticket

    ticket = _ticket(cast.boutique_queue)
    message_add(ticket=ticket, kind="inbound", body_text="hello")
    api = api_as(cast.boutique_agent)
    response = api.post(f"/tickets/{ticket.pk}/read", {})
    assert response.status_code == 200
    assert response.json() == {"id": ticket.pk, "has_unread": False}
    assert not Ticket.objects.get(pk=ticket.pk).has_unread
    response = api.post(f"/tickets/{ticket.pk}/unread", {})
    assert response.json() == {"id": ticket.pk, "has_unread": True}
    assert Event.objects.filter(ticket=ticket, kind=EventKind.UNREAD).count() == 1
    foreign = _ticket(cast.assurance_queue)
    assert api.post(f"/tickets/{foreign.pk}/read", {}).status_code == 404
    assert api.post(f"/tickets/{foreign.pk}/unread", {}).status_code == 404

"""Read state: the services, the ticket page's endpoints, the history line, the inbox poll."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.urls import reverse

from comptoir.tickets.event_sentences import event_sentence
from comptoir.tickets.models import Event, EventKind, MessageKind, MessageRead, Status, Ticket
from comptoir.tickets.services import (
    message_add,
    ticket_change_status,
    ticket_create,
    ticket_mark_read,
    ticket_mark_unread,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


@pytest.fixture
def unread(cast):
    ticket = ticket_create(queue=cast.boutique_queue, channel="email", subject="Où est mon colis ?")
    message_add(ticket=ticket, kind=MessageKind.INBOUND, body_text="Bonjour")
    return ticket


@pytest.fixture
def boutique(client, cast):
    client.force_login(cast.boutique_agent)
    return client


def _fresh(ticket: Ticket) -> Ticket:
    return Ticket.objects.get(pk=ticket.pk)


# Services ---------------------------------------------------------------------------------


def test_mark_read_clears_the_badge_and_records_who_read_what(cast, unread):
    assert _fresh(unread).has_unread
    assert ticket_mark_read(ticket=unread, agent=cast.boutique_agent) == 1
    assert not _fresh(unread).has_unread
    assert MessageRead.objects.filter(agent=cast.boutique_agent).count() == 1
    # Reading again changes nothing and records nothing twice.
    assert ticket_mark_read(ticket=unread, agent=cast.boutique_agent) == 0


def test_mark_unread_shows_the_badge_again_and_records_one_history_event(cast, unread):
    ticket_mark_read(ticket=unread, agent=cast.boutique_agent)
    ticket_mark_unread(ticket=unread, agent=cast.boutique_agent)
    assert _fresh(unread).has_unread
    events = Event.objects.filter(ticket=unread, kind=EventKind.UNREAD)
    assert [(e.author, e.kind) for e in events] == [(cast.boutique_agent, EventKind.UNREAD)]
    # Already unread: no second event.
    ticket_mark_unread(ticket=unread, agent=cast.boutique_agent)
    assert events.count() == 1


def test_the_unread_event_reads_as_a_sentence_in_both_languages(cast, unread):
    from django.utils import translation

    ticket_mark_read(ticket=unread, agent=cast.boutique_agent)
    ticket_mark_unread(ticket=unread, agent=cast.boutique_agent)
    event = Event.objects.get(ticket=unread, kind=EventKind.UNREAD)
    with translation.override("en"):
        assert event_sentence(event) == "Marked as unread"


# Views ------------------------------------------------------------------------------------


def test_ticket_page_shows_the_read_state_ready_for_the_three_second_rule(boutique, unread):
    body = boutique.get(reverse("ticket_detail", args=[unread.pk])).content.decode()
    assert 'id="read-state"' in body
    assert 'data-unread="1"' in body
    assert 'data-autoread="1"' in body
    assert reverse("ticket_mark_read", args=[unread.pk]) in body
    # Opening the page alone reads nothing: only the script does, after 3 s on screen.
    assert _fresh(unread).has_unread


def test_read_endpoint_answers_the_fragment_to_htmx_and_redirects_without_js(
    boutique, cast, unread
):
    url = reverse("ticket_mark_read", args=[unread.pk])
    response = boutique.post(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith("{# ") is False and 'id="read-state"' in body
    assert 'data-unread="0"' in body
    assert reverse("ticket_mark_unread", args=[unread.pk]) in body
    assert not _fresh(unread).has_unread

    response = boutique.post(reverse("ticket_mark_unread", args=[unread.pk]))
    assert response.status_code == 302
    assert response.url == reverse("ticket_detail", args=[unread.pk])
    assert _fresh(unread).has_unread


def test_mark_unread_by_htmx_stops_this_page_from_reading_it_again(boutique, cast, unread):
    ticket_mark_read(ticket=unread, agent=cast.boutique_agent)
    response = boutique.post(
        reverse("ticket_mark_unread", args=[unread.pk]), HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert 'data-unread="1"' in body
    assert 'data-autoread="0"' in body


def test_read_endpoints_refuse_get_and_tickets_of_other_workspaces(boutique, cast):
    foreign = ticket_create(queue=cast.assurance_queue, channel="email", subject="x")
    message_add(ticket=foreign, kind=MessageKind.INBOUND, body_text="x")
    assert boutique.get(reverse("ticket_mark_read", args=[foreign.pk])).status_code == 405
    for name in ("ticket_mark_read", "ticket_mark_unread"):
        assert boutique.post(reverse(name, args=[foreign.pk])).status_code == 404
    assert _fresh(foreign).has_unread


# Inbox poll -------------------------------------------------------------------------------


def _version(response) -> str:
    found = re.search(r'data-version="([0-9a-f]+)"', response.content.decode())
    assert found, "the inbox carries its version"
    return found.group(1)


def _first_subject(response) -> str:
    found = re.search(r'<td class="col-subject"><a [^>]*>([^<]+)</a>', response.content.decode())
    assert found
    return found.group(1)


def test_inbox_poll_answers_204_until_something_on_the_page_changes(boutique, cast, unread):
    other = ticket_create(queue=cast.boutique_queue, channel="email", subject="plus ancien")
    ticket_change_status(ticket=other, status=Status.TO_PROCESS, author=None)
    first = boutique.get("/", {"status": "open"}, HTTP_HX_REQUEST="true")
    version = _version(first)
    assert f'"X-Inbox-Version": "{version}"' in first.content.decode()

    def poll():
        return boutique.get(
            "/", {"status": "open"}, HTTP_HX_REQUEST="true", HTTP_X_INBOX_VERSION=version
        )

    assert poll().status_code == 204
    message_add(ticket=other, kind=MessageKind.INBOUND, body_text="du nouveau")
    changed = poll()
    assert changed.status_code == 200
    assert _version(changed) != version
    assert _first_subject(changed) == "plus ancien"
    # The fresh version is quiet again; a read elsewhere changes it once more.
    version = _version(changed)
    assert poll().status_code == 204
    ticket_mark_read(ticket=unread, agent=cast.admin)
    assert poll().status_code == 200


def test_a_poll_that_is_not_htmx_gets_the_whole_page(boutique, unread):
    version = _version(boutique.get("/"))
    response = boutique.get("/", HTTP_X_INBOX_VERSION=version)
    assert response.status_code == 200
    assert "<html" in response.content.decode()


def test_inbox_unread_filter_and_count(boutique, cast, unread):
    ticket_create(queue=cast.boutique_queue, channel="email", subject="lu")
    response = boutique.get("/")
    assert response.context["unread_count"] == 1
    body = response.content.decode()
    assert 'id="f-unread"' in body
    filtered = boutique.get("/", {"unread": "1"})
    assert [t.subject for t in filtered.context["page"].tickets] == [unread.subject]
    assert 'id="f-unread" name="unread" value="1" checked' in filtered.content.decode()
    counts = {value: count for value, _, count in filtered.context["status_tabs"]}
    assert counts["all"] == 1

"""Full-text search: what is found, by whom, and how it is shown (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from django.db import connection

from comptoir.search.selectors import RECENT, search_tickets
from comptoir.tickets.models import Message, MessageKind, Ticket
from comptoir.tickets.notes import note_add
from comptoir.tickets.services import (
    message_add,
    ticket_create,
    ticket_edit_subject,
    ticket_link_contact,
)

pytestmark = pytest.mark.django_db


def _ticket(queue, subject, body="", *, kind=MessageKind.INBOUND, **kwargs):
    ticket = ticket_create(queue=queue, channel="email", subject=subject, **kwargs)
    if body:
        message_add(ticket=ticket, kind=kind, body_text=body)
    return ticket


def _found(user, query, **kwargs) -> list[int]:
    return [hit.ticket.pk for hit in search_tickets(user=user, query=query, **kwargs).hits]


def test_accents_and_capitals_do_not_matter(cast):
    t = _ticket(cast.boutique_queue, "Contrat résilié", "Mon contrat a été RÉSILIÉ sans préavis.")
    assert _found(cast.boutique_agent, "resilie") == [t.pk]
    assert _found(cast.boutique_agent, "Résilié") == [t.pk]
    assert _found(cast.boutique_agent, "PREAVIS") == [t.pk]


def test_every_word_must_match_somewhere_in_the_ticket(cast):
    both = _ticket(cast.boutique_queue, "Colis perdu", "Je demande un remboursement.")
    _ticket(cast.boutique_queue, "Colis abîmé", "Photo jointe.")
    # "colis" is in the subject, "remboursement" in the message: the ticket matches.
    assert _found(cast.boutique_agent, "colis remboursement") == [both.pk]


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="stemming comes with PostgreSQL's french config"
)
def test_french_stemming_on_postgresql(cast):
    t = _ticket(cast.boutique_queue, "Question", "J'attends le remboursement de mes commandes.")
    assert _found(cast.boutique_agent, "rembourser") == [t.pk]
    assert _found(cast.boutique_agent, "commande") == [t.pk]


def test_prefix_phrase_or_and_exclusion(cast):
    a = _ticket(cast.boutique_queue, "Remboursement", "Le colis est arrivé abîmé.")
    b = _ticket(cast.boutique_queue, "Livraison", "Le colis est arrivé en retard, colis ouvert.")
    c = _ticket(cast.boutique_queue, "Facture", "Facture jointe pour la livraison.")
    user = cast.boutique_agent
    assert _found(user, "rembours*") == [a.pk]
    assert _found(user, '"arrivé abîmé"') == [a.pk]
    assert _found(user, '"abîmé arrivé"') == []
    assert set(_found(user, "abîmé OR retard")) == {a.pk, b.pk}
    assert set(_found(user, "livraison")) == {b.pk, c.pk}
    assert _found(user, "livraison -facture") == [b.pk]
    assert _found(user, "livraison NOT facture") == [b.pk]


def test_odd_input_gives_a_clear_message_never_an_error(cast):
    _ticket(cast.boutique_queue, "Colis", "Le colis est arrivé.")
    user = cast.boutique_agent
    for text in [
        '"',
        '"colis',
        "colis\"'",
        "*",
        "AND OR NOT",
        "((colis))",
        "colis:*",
        "c*",
        "-",
        "\\",
        "colis) OR (",
        "NEAR(colis)",
        "{head}: colis",
        "'; DROP TABLE x; --",
        "colis\x00",
        "\x02colis\x03",
        "colis AND",
        "OR colis",
        "-colis",
    ]:
        page = search_tickets(user=user, query=text)
        assert page.problem or page.hits is not None, text
    assert _found(user, '"colis') != []
    assert _found(user, "((colis))") != []
    assert search_tickets(user=user, query="").problem
    assert search_tickets(user=user, query="   ").problem
    assert "seulement exclus" in search_tickets(user=user, query="-colis").problem
    assert search_tickets(user=user, query="!!! ???").problem
    short = search_tickets(user=user, query="co*")
    assert short.notices and not short.problem  # the * was dropped, "co" searched
    long_query = search_tickets(user=user, query="colis " * 100)
    assert long_query.notices and _found(user, "colis " * 100) != []


def test_another_workspace_or_tenant_is_never_found(cast):
    mine = _ticket(cast.boutique_queue, "Parapluie cassé", "Parapluie")
    theirs = _ticket(cast.assurance_queue, "Parapluie assuré", "Parapluie")
    foreign = _ticket(cast.other_queue, "Parapluie étranger", "Parapluie")
    assert _found(cast.boutique_agent, "parapluie") == [mine.pk]
    assert _found(cast.assurance_agent, "parapluie") == [theirs.pk]
    assert _found(cast.other_agent, "parapluie") == [foreign.pk]
    assert set(_found(cast.admin, "parapluie")) == {mine.pk, theirs.pk}
    # Asking for a workspace one is not in gives nothing.
    assert _found(cast.boutique_agent, "parapluie", workspace_id=cast.assurance.pk) == []


def test_internal_notes_are_found_by_agents(cast):
    t = _ticket(cast.boutique_queue, "Commande", "Bonjour")
    note_add(ticket=t, author=cast.boutique_agent, body_text="Client connu: geste commercial")
    hits = search_tickets(user=cast.boutique_agent, query="geste commercial").hits
    assert [h.ticket.pk for h in hits] == [t.pk]
    assert "<mark>geste</mark>" in hits[0].snippet


def test_automatic_messages_are_not_indexed(cast):
    t = _ticket(cast.boutique_queue, "Commande", "Bonjour")
    message_add(ticket=t, kind=MessageKind.AUTOMATIC, body_text="Accusé de réception zorglub")
    assert _found(cast.boutique_agent, "zorglub") == []


def test_contact_names_are_found_and_follow_renames(cast):
    t = _ticket(cast.boutique_queue, "Question", "Bonjour", contact=cast.alice)
    assert _found(cast.boutique_agent, "dupont") == [t.pk]
    hit = search_tickets(user=cast.boutique_agent, query="alice").hits[0]
    assert "<mark>Alice</mark>" in hit.requester
    cast.alice.last_name = "Lefèvre"
    cast.alice.save()
    assert _found(cast.boutique_agent, "dupont") == []
    assert _found(cast.boutique_agent, "lefevre") == [t.pk]
    unknown = _ticket(cast.boutique_queue, "Autre", "x", requester_name="Gérard Menvussa")
    assert _found(cast.boutique_agent, "gerard") == [unknown.pk]


def test_triggers_follow_inserts_updates_and_deletes(cast):
    t = _ticket(cast.boutique_queue, "Ancien sujet", "premier message")
    user = cast.boutique_agent
    ticket_edit_subject(ticket=t, subject="Nouveau sujet", author=user)
    assert _found(user, "ancien") == []
    assert _found(user, "nouveau") == [t.pk]
    m = message_add(ticket=t, kind=MessageKind.INBOUND, body_text="deuxième message xylophone")
    assert _found(user, "xylophone premier") == [t.pk]
    Message.objects.filter(pk=m.pk).update(body_text="deuxième message saxophone")
    assert _found(user, "xylophone") == []
    assert _found(user, "saxophone") == [t.pk]
    Message.objects.filter(pk=m.pk).delete()
    assert _found(user, "saxophone") == []
    assert _found(user, "premier") == [t.pk]
    ticket_link_contact(ticket=t, contact=cast.alice, author=user)
    assert _found(user, "alice") == [t.pk]
    ticket_link_contact(ticket=t, contact=None, author=user)
    assert _found(user, "alice") == []
    # Moved to another workspace (no service does it yet; the index must follow anyway).
    Ticket.objects.filter(pk=t.pk).update(workspace=cast.assurance, queue=cast.assurance_queue)
    assert _found(user, "nouveau") == []
    assert _found(cast.assurance_agent, "nouveau") == [t.pk]
    Ticket.objects.filter(pk=t.pk).delete()
    assert _found(cast.assurance_agent, "nouveau") == []


def test_highlights_escape_html_before_marking(cast):
    t = _ticket(
        cast.boutique_queue,
        "<script>alert(1)</script> colis",
        'Le <b>colis</b> & "<img src=x onerror=alert(1)>" colis',
        requester_name="<i>Colis</i> Man",
    )
    hit = search_tickets(user=cast.boutique_agent, query="colis").hits[0]
    assert hit.ticket.pk == t.pk
    for html in (hit.subject, hit.snippet, hit.requester):
        assert "<script" not in html and "<img" not in html and "<b>" not in html
        assert "<i>" not in html
        assert "<mark>" in html
    assert "&lt;script&gt;" in hit.subject
    assert "<mark>colis</mark>" in hit.subject
    assert "&lt;img src=x onerror=alert(1)&gt;" in hit.snippet


def test_relevance_puts_subject_matches_first_and_recent_sorts_by_date(cast):
    in_subject = _ticket(cast.boutique_queue, "Trottinette en panne", "Bonjour")
    in_body = _ticket(cast.boutique_queue, "Question", "Ma trottinette, bonjour")
    assert _found(cast.boutique_agent, "trottinette") == [in_subject.pk, in_body.pk]
    assert _found(cast.boutique_agent, "trottinette", sort=RECENT) == [in_body.pk, in_subject.pk]


def test_pages(cast):
    made = [_ticket(cast.boutique_queue, f"Tondeuse {i}", "x").pk for i in range(5)]
    first = search_tickets(user=cast.boutique_agent, query="tondeuse", sort=RECENT, page_size=2)
    assert first.total == 5 and first.num_pages == 3 and first.has_next
    assert [h.ticket.pk for h in first.hits] == made[::-1][:2]
    last = search_tickets(
        user=cast.boutique_agent, query="tondeuse", sort=RECENT, page=9, page_size=2
    )
    assert last.page == 3 and [h.ticket.pk for h in last.hits] == [made[0]]

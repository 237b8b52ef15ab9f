"""The triggers keep the index equal to a rebuild, on the bulk ingest path too."""

from __future__ import annotations

import pytest
from django.db import connection

from comptoir.channels.email.ingest_cli import store_batch
from comptoir.channels.email.process import inbound_process_many
from comptoir.channels.email.tests.inbound_helpers import ACME_ADDRESS, eml, mailbox_for
from comptoir.contacts.services import contact_create
from comptoir.search.index import search_index_paused, search_index_rebuild
from comptoir.search.selectors import search_tickets
from comptoir.tickets.bulk import NewMessage, NewTicket, messages_add_bulk, tickets_create_bulk
from comptoir.tickets.models import Message, MessageKind, Ticket
from comptoir.tickets.services import message_add, ticket_create

pytestmark = pytest.mark.django_db


def _index() -> list[tuple[object, ...]]:
    """The index's content, in a form that a rebuild must give again."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Appending shifts positions differently from one parse: compare the lexemes.
            cursor.execute(
                "SELECT ticket_id, workspace_id, strip(doc)::text "
                "FROM search_ticket_doc ORDER BY ticket_id"
            )
            return [tuple(row) for row in cursor.fetchall()]
        cursor.execute("SELECT rowid, scope, head, body FROM search_ticket_fts ORDER BY rowid")
        return [(pk, s, h, sorted(b.split("\n"))) for pk, s, h, b in cursor.fetchall()]


def _assert_index_equals_rebuild() -> list[tuple[object, ...]]:
    kept = _index()
    search_index_rebuild()
    assert kept == _index()
    return kept


def _found(user, query) -> list[int]:
    return [hit.ticket.pk for hit in search_tickets(user=user, query=query).hits]


def test_batch_ingest_indexes_new_tickets_and_replies(cast):
    mailbox = mailbox_for(cast.boutique_queue, ACME_ADDRESS)
    contact_create(tenant=cast.tenant, first_name="Hortense", emails=["hortense@client.example"])
    raws = []
    for k in range(12):
        root = f"<k{k}@client.example>"
        sender = f"Client {k} <client{k}@client.example>"
        if k == 3:
            sender = "Hortense <hortense@client.example>"
        raws.append(
            eml(from_=sender, subject=f"Demande {k}", message_id=root, body=f"texte{k} ouvert")
        )
        # The reply arrives in the same batch (sometimes before its original).
        reply = eml(
            from_=sender,
            subject=f"Re: Demande {k}",
            message_id=f"<k{k}-r@client.example>",
            in_reply_to=root,
            body=f"relance{k} bagatelle",
        )
        raws.insert(len(raws) - 1 if k % 2 else len(raws), reply)
    ids, new, _old, _refused = store_batch([(str(i), r, mailbox) for i, r in enumerate(raws)])
    assert new == 24
    result = inbound_process_many(inbound_ids=ids)
    assert not result.failed and result.processed == 24
    assert Ticket.objects.count() == 12
    user = cast.boutique_agent
    for k in (0, 5, 11):
        ticket = Message.objects.get(message_id=f"k{k}@client.example").ticket
        assert _found(user, f"texte{k}") == [ticket.pk]
        assert _found(user, f"relance{k} texte{k}") == [ticket.pk]
    assert len(_found(user, "bagatelle")) == 12
    hortense = Message.objects.get(message_id="k3@client.example").ticket_id
    assert _found(user, "hortense") == [hortense]
    assert len(_assert_index_equals_rebuild()) == 12


def test_bulk_writes_and_single_writes_give_the_rebuilt_index(cast):
    tickets = tickets_create_bulk(
        tickets=[
            NewTicket(queue=cast.boutique_queue, channel="email", subject=f"Lot {i}")
            for i in range(5)
        ]
        + [NewTicket(queue=cast.other_queue, channel="email", subject="Lot étranger")],
        now=ticket_create(queue=cast.boutique_queue, channel="phone", subject="x").created_at,
    )
    messages_add_bulk(
        messages=[
            NewMessage(ticket=t, kind=MessageKind.INBOUND, body_text=f"corps {i} <b>é</b>")
            for i, t in enumerate(tickets)
            for _ in range(2)
        ]
        + [NewMessage(ticket=tickets[0], kind=MessageKind.AUTOMATIC, body_text="robot")]
        + [NewMessage(ticket=tickets[1], kind=MessageKind.NOTE, body_text="note interne")],
        now=tickets[0].created_at,
    )
    message_add(ticket=tickets[2], kind=MessageKind.OUTBOUND, body_text="réponse envoyée")
    assert _found(cast.boutique_agent, "interne") == [tickets[1].pk]
    assert _found(cast.boutique_agent, "robot") == []
    assert _found(cast.boutique_agent, "etranger") == []
    assert _found(cast.other_agent, "etranger") == [tickets[5].pk]
    _assert_index_equals_rebuild()


def test_a_paused_index_is_rebuilt_and_its_triggers_restored(cast):
    with search_index_paused():
        ticket = ticket_create(queue=cast.boutique_queue, channel="email", subject="Pendant")
        message_add(ticket=ticket, kind=MessageKind.INBOUND, body_text="chargement")
    assert _found(cast.boutique_agent, "pendant chargement") == [ticket.pk]
    after = ticket_create(queue=cast.boutique_queue, channel="email", subject="Après")
    assert _found(cast.boutique_agent, "apres") == [after.pk]


def test_a_huge_message_is_cut_never_refused(cast):
    ticket = ticket_create(queue=cast.boutique_queue, channel="email", subject="Gros")
    words = " ".join(f"mot{i:06d}" for i in range(30_000))  # ~300 KB of distinct words
    for _ in range(3):
        message_add(ticket=ticket, kind=MessageKind.INBOUND, body_text=words)
    message_add(ticket=ticket, kind=MessageKind.INBOUND, body_text="dernier")
    assert _found(cast.boutique_agent, "mot000001") == [ticket.pk]
    assert ticket.messages.count() == 4

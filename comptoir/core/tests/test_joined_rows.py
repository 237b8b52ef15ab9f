"""load_joined gives what the ORM's select_related gives, field by field, from one query."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import Model
from django.test.utils import CaptureQueriesContext

from comptoir.channels.email.models import Acknowledgment
from comptoir.core.errors import NotFound
from comptoir.core.joined_rows import BIGINT_MAX, id_in, load_joined
from comptoir.tickets.models import Attachment, Event, Message, MessageKind, Ticket
from comptoir.tickets.selectors import ticket_get
from comptoir.tickets.services import (
    NewAttachment,
    attachment_stored,
    message_add,
    ticket_assign,
    ticket_create,
    ticket_qualify,
)

pytestmark = pytest.mark.django_db

TICKET_RELATIONS = ("workspace", "queue", "contact", "assignee", "contact_reason")


def _values(instance: Model) -> list[tuple[str, object, type]]:
    return [
        (f.attname, getattr(instance, f.attname), type(getattr(instance, f.attname)))
        for f in instance._meta.concrete_fields
    ]


def _where(column: str, ids: list[int]) -> tuple[str, list[object]]:
    matching, params = id_in(ids)
    return f"t.{connection.ops.quote_name(column)} {matching}", params


@pytest.fixture
def ticket(cast):
    ticket = ticket_create(
        queue=cast.boutique_queue, channel="email", subject="Colis abîmé", contact=cast.alice
    )
    ticket_assign(ticket=ticket, assignee=cast.boutique_agent, author=cast.admin)
    return ticket


def test_messages_equal_the_orms_with_json_booleans_times_and_authors(cast, ticket):
    made = [
        message_add(
            ticket=ticket,
            kind=MessageKind.INBOUND,
            body_text="Bonjour",
            sender_email="alice@example.com",
            to=["support@acme.test", "Zoé <zoe@example.org>"],
            cc=["bob@example.org"],
        ),
        message_add(
            ticket=ticket, kind=MessageKind.OUTBOUND, body_html="<p>Réponse</p>", author=cast.admin
        ),
    ]
    Message.objects.filter(pk=made[0].pk).update(is_auto_reply=True)
    ids = [m.pk for m in made]
    expected = Message.objects.filter(pk__in=ids).select_related("author").order_by("id")
    where, params = _where("id", ids)
    loaded = load_joined(
        Message, where=where, params=params, related=("author",), order_by="t.id DESC"
    )
    assert [m.pk for m in loaded] == ids[::-1]
    for mine, theirs in zip(loaded[::-1], expected, strict=True):
        assert _values(mine) == _values(theirs)
        assert (mine.author is None) == (theirs.author is None)
        if mine.author is not None and theirs.author is not None:
            assert _values(mine.author) == _values(theirs.author)
        assert mine._state.adding is False and mine._state.db == "default"
    assert loaded[1].to == ["support@acme.test", "Zoé <zoe@example.org>"]
    assert loaded[1].is_auto_reply is True and loaded[0].is_auto_reply is False
    assert loaded[1].created_at.tzinfo is not None
    assert loaded[0].created_at == made[1].created_at
    assert loaded[0].author == cast.admin and loaded[1].author is None


def test_attachments_keep_their_files(ticket, django_assert_num_queries):
    message = message_add(ticket=ticket, kind=MessageKind.INBOUND, body_text="Pièce jointe")
    stored = attachment_stored(
        message,
        NewAttachment("facture.pdf", b"%PDF-1.4 facture", "application/pdf", is_inline=True),
    )
    stored.save()
    where, params = _where("message_id", [message.pk])
    with django_assert_num_queries(1):
        (mine,) = load_joined(Attachment, where=where, params=params)
    assert _values(mine) == _values(Attachment.objects.get(pk=stored.pk))
    assert mine.is_inline is True
    with mine.file.open("rb") as handle:
        assert handle.read() == b"%PDF-1.4 facture"


def test_a_key_that_cannot_be_null_is_an_inner_join_as_the_orm_writes_it(ticket):
    where, params = _where("id", [ticket.pk])
    with CaptureQueriesContext(connection) as queries:
        load_joined(Ticket, where=where, params=params, related=TICKET_RELATIONS)
    (sql,) = [q["sql"] for q in queries.captured_queries]
    assert 'INNER JOIN "accounts_workspace"' in sql and 'INNER JOIN "accounts_queue"' in sql
    assert 'LEFT JOIN "contacts_contact"' in sql and 'LEFT JOIN "accounts_user"' in sql


def test_a_one_to_one_is_cached_on_both_sides(cast, django_assert_num_queries):
    ack = Acknowledgment.objects.create(
        tenant=cast.tenant,
        workspace=cast.boutique,
        queue=cast.boutique_queue,
        subject="Bien reçu",
        body="Nous revenons vers vous.",
    )
    where, params = _where("id", [ack.pk])
    with django_assert_num_queries(1):
        (mine,) = load_joined(Acknowledgment, where=where, params=params, related=("queue",))
        assert mine.queue is not None
        assert mine.queue.acknowledgment is mine


def test_related_rows_are_cached_and_a_null_key_is_none_without_a_query(
    cast, ticket, django_assert_num_queries
):
    event = Event.objects.filter(ticket=ticket, author__isnull=False).first()
    assert event is not None
    where, params = _where("ticket_id", [ticket.pk])
    with django_assert_num_queries(1):
        loaded = load_joined(
            Event, where=where, params=params, related=("author",), order_by="t.id"
        )
        authors = [e.author for e in loaded]
    assert cast.admin in authors and None in authors  # "created" has no author
    mine = next(e for e in loaded if e.pk == event.pk)
    assert _values(mine) == _values(event)
    assert mine.author is not None and event.author is not None
    assert _values(mine.author) == _values(event.author)
    assert mine.data == event.data and isinstance(mine.data, dict)


def test_a_ticket_and_its_five_relations_in_one_query(cast, ticket, django_assert_num_queries):
    where, params = _where("id", [ticket.pk])
    with django_assert_num_queries(1):
        (mine,) = load_joined(Ticket, where=where, params=params, related=TICKET_RELATIONS)
        related = [getattr(mine, name) for name in TICKET_RELATIONS]
    theirs = Ticket.objects.select_related(*TICKET_RELATIONS).get(pk=ticket.pk)
    assert _values(mine) == _values(theirs)
    for name, obj in zip(TICKET_RELATIONS, related, strict=True):
        other = getattr(theirs, name)
        assert (obj is None) == (other is None), name
        if obj is not None:
            assert _values(obj) == _values(other), name
    assert related[-1] is None  # no contact reason yet
    assert mine.has_unread is theirs.has_unread


def test_nothing_matching_is_an_empty_list(ticket):
    where, params = _where("id", [ticket.pk + 1000])
    assert load_joined(Ticket, where=where, params=params, related=TICKET_RELATIONS) == []


def test_only_foreign_keys_can_be_joined():
    with pytest.raises(TypeError, match="not a foreign key"):
        load_joined(Ticket, where="1 = 1", params=[], related=("subject",))


def test_ticket_get_keeps_the_rights_and_refuses_keys_out_of_range(cast, ticket):
    from comptoir.tickets.models import ContactReason

    reason = ContactReason.objects.create(tenant=cast.tenant, workspace=cast.boutique, name="Colis")
    ticket_qualify(ticket=ticket, author=cast.admin, contact_reason=reason)
    found = ticket_get(user=cast.boutique_agent, ticket_id=ticket.pk)
    assert found.contact_reason == reason and found.assignee == cast.boutique_agent
    assert found.contact == cast.alice and found.queue == cast.boutique_queue
    for user in (cast.assurance_agent, cast.other_agent):
        with pytest.raises(NotFound):
            ticket_get(user=user, ticket_id=ticket.pk)
    for forged in (0, -1, BIGINT_MAX + 1, 10**30):
        with pytest.raises(NotFound):
            ticket_get(user=cast.admin, ticket_id=forged)


def test_a_forged_huge_ticket_number_in_the_url_is_a_404(cast, client):
    client.force_login(cast.admin)
    assert client.get(f"/tickets/{10**30}/").status_code == 404

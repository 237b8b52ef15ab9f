"""The timeline's mail facts about its messages: delivery state and stored original, one query."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from comptoir.channels.email.delivery import outgoing_deliver
from comptoir.channels.email.models import OutgoingEmail, OutgoingStatus
from comptoir.channels.email.outbound import email_send
from comptoir.channels.email.tests.inbound_helpers import deliver, eml, message_of
from comptoir.channels.email.timeline_states import mail_states_for_messages
from comptoir.testing.smtp_sink import smtp_sink_fixture  # noqa: F401
from comptoir.tickets.models import MessageKind
from comptoir.tickets.services import message_add

pytestmark = pytest.mark.django_db


def _mail(ticket, message, key):
    return email_send(
        tenant=ticket.tenant,
        to=["Alice Dupont <alice@example.com>"],
        subject="Votre demande",
        body_text="Bonjour",
        kind="reply",
        idempotency_key=key,
        ticket=ticket,
        ticket_message=message,
    )


def test_states_of_received_sent_and_plain_messages_in_one_query(acme_mailbox, smtp_sink):
    received = message_of(deliver(acme_mailbox, eml(subject="Colis perdu")))
    ticket = received.ticket
    sent = message_add(ticket=ticket, kind=MessageKind.OUTBOUND, body_text="Réponse")
    retried = message_add(ticket=ticket, kind=MessageKind.OUTBOUND, body_text="Relance")
    note = message_add(ticket=ticket, kind=MessageKind.NOTE, body_text="Note")
    outgoing_deliver(outgoing_id=_mail(ticket, sent, "a").pk)
    first = _mail(ticket, retried, "b")
    OutgoingEmail.objects.filter(pk=first.pk).update(
        status=OutgoingStatus.FAILED, last_error="550 refusé"
    )
    _mail(ticket, retried, "c")  # sent again: its newest mail is what the timeline shows

    with CaptureQueriesContext(connection) as queries:
        states = mail_states_for_messages(
            message_ids=[received.pk, sent.pk, retried.pk, note.pk, 987654]
        )

    assert len(queries.captured_queries) == 1
    assert states.originals == {received.pk}
    assert states.delivery == {sent.pk: ("sent", ""), retried.pk: ("queued", "")}


def test_only_the_asked_messages_and_no_query_for_none(acme_mailbox):
    one = message_of(deliver(acme_mailbox, eml(subject="Un", message_id="<un@example.com>")))
    two = message_of(deliver(acme_mailbox, eml(subject="Deux", message_id="<deux@example.com>")))
    assert mail_states_for_messages(message_ids=[two.pk]).originals == {two.pk}
    assert mail_states_for_messages(message_ids=[one.pk, two.pk]).originals == {one.pk, two.pk}
    with CaptureQueriesContext(connection) as queries:
        assert mail_states_for_messages(message_ids=[]) == ({}, set())
    assert queries.captured_queries == []

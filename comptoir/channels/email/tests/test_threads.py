"""Threading: the ticket an inbound mail belongs to, within its tenant, whatever the order."""

from __future__ import annotations

from dataclasses import replace

from comptoir.channels.email.ids import reply_token
from comptoir.channels.email.models import OutgoingEmail, ThreadRef
from comptoir.channels.email.parsed import ParsedEmail
from comptoir.channels.email.threads import normalize_id, thread_find, thread_ids, thread_record
from comptoir.tickets.services import ticket_create


def parsed(**changes) -> ParsedEmail:
    base = ParsedEmail(
        message_id="new@client.example",
        in_reply_to=(),
        references=(),
        subject="Re: Ma commande",
        from_email="jean@client.example",
        from_name="Jean",
        reply_to=(),
        to=(),
        cc=(),
        date=None,
        headers={},
        body_text="",
        body_html="",
        visible_text="",
        visible_html="",
    )
    return replace(base, **changes)


def _ticket(queue, subject="Ma commande"):
    return ticket_create(queue=queue, channel="email", subject=subject)


def test_ids_are_indexed_without_brackets_and_lower_cased():
    assert normalize_id(" <ABC@Client.Example> ") == "abc@client.example"
    assert normalize_id("x" * 2000) == ""
    mail = parsed(message_id="A@x", in_reply_to=("<b@x>",), references=("c@x", "b@x"))
    assert thread_ids(mail) == ["a@x", "c@x", "b@x"]  # own id, then References order


def test_a_mail_citing_an_indexed_id_finds_its_ticket(cast):
    ticket = _ticket(cast.boutique_queue)
    thread_record(tenant_id=cast.tenant.pk, ticket_id=ticket.pk, ids=["<orig@client.example>"])
    match = thread_find(
        tenant_id=cast.tenant.pk, parsed=parsed(references=("orig@client.example",))
    )
    assert match is not None and match.ticket == ticket and match.by == "references"


def test_a_mail_citing_one_of_our_outgoing_ids_finds_its_ticket_even_unindexed(cast):
    ticket = _ticket(cast.boutique_queue)
    OutgoingEmail.objects.create(
        tenant=cast.tenant,
        ticket=ticket,
        idempotency_key="reply:1",
        kind="reply",
        from_email="support@acme.test",
        to=["jean@client.example"],
        subject="Re",
        body_text="x",
        message_id="18c.abcdef@comptoir.localhost",
    )
    match = thread_find(
        tenant_id=cast.tenant.pk, parsed=parsed(in_reply_to=("18c.abcdef@comptoir.localhost",))
    )
    assert match is not None and match.ticket == ticket and match.by == "outgoing"


def test_a_valid_subject_token_finds_its_ticket(cast):
    ticket = _ticket(cast.boutique_queue)
    subject = f"Re: Ma commande {reply_token(cast.tenant.pk, ticket.number)}"
    match = thread_find(tenant_id=cast.tenant.pk, parsed=parsed(subject=subject))
    assert match is not None and match.ticket == ticket and match.by == "token"


def test_a_forged_subject_token_is_ignored(cast):
    ticket = _ticket(cast.boutique_queue)
    assert (
        thread_find(
            tenant_id=cast.tenant.pk, parsed=parsed(subject=f"Re: [#{ticket.number}-deadbeef]")
        )
        is None
    )


def test_another_tenants_token_is_ignored(cast):
    _ticket(cast.boutique_queue)
    other = _ticket(cast.other_queue)
    token = reply_token(cast.other_tenant.pk, other.number)
    assert thread_find(tenant_id=cast.tenant.pk, parsed=parsed(subject=f"Re: {token}")) is None


def test_an_id_indexed_in_another_tenant_never_threads_here(cast):
    theirs = _ticket(cast.other_queue)
    thread_record(
        tenant_id=cast.other_tenant.pk, ticket_id=theirs.pk, ids=["shared@client.example"]
    )
    mail = parsed(in_reply_to=("shared@client.example",))
    assert thread_find(tenant_id=cast.tenant.pk, parsed=mail) is None


def test_when_several_tickets_match_the_oldest_wins(cast):
    older = _ticket(cast.boutique_queue)
    newer = _ticket(cast.boutique_queue)
    thread_record(tenant_id=cast.tenant.pk, ticket_id=newer.pk, ids=["b@x"])
    thread_record(tenant_id=cast.tenant.pk, ticket_id=older.pk, ids=["a@x"])
    match = thread_find(tenant_id=cast.tenant.pk, parsed=parsed(references=("b@x", "a@x")))
    assert match is not None and match.ticket == older


def test_recording_an_id_twice_keeps_its_first_ticket(cast):
    first = _ticket(cast.boutique_queue)
    second = _ticket(cast.boutique_queue)
    thread_record(tenant_id=cast.tenant.pk, ticket_id=first.pk, ids=["a@x"])
    thread_record(tenant_id=cast.tenant.pk, ticket_id=second.pk, ids=["a@x", "b@x"])
    refs = dict(ThreadRef.objects.values_list("message_id", "ticket_id"))
    assert refs == {"a@x": first.pk, "b@x": second.pk}


def test_a_mail_with_no_ids_and_no_token_starts_a_new_conversation(cast):
    _ticket(cast.boutique_queue)
    assert thread_find(tenant_id=cast.tenant.pk, parsed=parsed(message_id="")) is None

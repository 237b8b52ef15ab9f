"""The batch path of bulk ingestion (routing.route_batch): same results as one by one."""

from __future__ import annotations

import random

import pytest

from comptoir.channels.email import process as process_module
from comptoir.channels.email import routing as routing_module
from comptoir.channels.email.ids import reply_token
from comptoir.channels.email.ingest_cli import store_batch
from comptoir.channels.email.models import InboundEmail, InboundStatus, Mailbox, ThreadRef
from comptoir.channels.email.process import inbound_process, inbound_process_many
from comptoir.channels.email.tests.inbound_helpers import eml
from comptoir.tickets.counts import counts_rebuild
from comptoir.tickets.models import Event, InboxCount, Status, Ticket
from comptoir.tickets.services import ticket_close


def _mail(k: int, part: int, to: str, token: str = "") -> bytes:
    root = f"<c{k}-0@client.example>"
    sender = f"Client {k} <client{k}@client.example>"
    if part == 0:
        return eml(
            from_=sender,
            to=to,
            subject=f"Demande {k}",
            message_id=root,
            body=f"Demande {k}",
            attachments=[("facture.pdf", "application/pdf", b"%PDF-1.4 x")] if k % 4 == 0 else (),
        )
    if part == 1:
        return eml(
            from_=sender,
            to=to,
            subject=f"Re: Demande {k}",
            message_id=f"<c{k}-1@client.example>",
            in_reply_to=root,
            body="suite",
        )
    if part == 2:
        return eml(
            from_=sender,
            to=to,
            subject=f"Re: Demande {k}",
            message_id=f"<c{k}-2@client.example>",
            references=f"{root} <c{k}-1@client.example>",
            body="encore",
        )
    if part == 3:
        return eml(
            from_=sender,
            to=to,
            subject=f"Re: {token} Demande {k}",
            message_id=f"<c{k}-3@client.example>",
            body="token",
        )
    return eml(  # an out-of-office answer: joins, does not count as the contact's answer
        from_=sender,
        to=to,
        subject=f"Réponse automatique : Demande {k}",
        message_id=f"<c{k}-4@client.example>",
        in_reply_to=root,
        headers={"Auto-Submitted": "auto-replied"},
        body="absent",
    )


def _arrival(conversations: int, seed: int) -> list[tuple[int, int]]:
    """Shuffled arrival; a token reply never comes first in its conversation (no ticket yet)."""
    order = [(k, part) for k in range(1, conversations + 1) for part in range(5)]
    random.Random(seed).shuffle(order)
    first: dict[int, int] = {}
    for i, (k, _part) in enumerate(order):
        first.setdefault(k, i)
    for k, i in first.items():
        if order[i][1] == 3:
            j = order.index((k, 0))
            order[i], order[j] = order[j], order[i]
    return order


def _raws(mailbox: Mailbox, order: list[tuple[int, int]]) -> list[bytes]:
    numbers: dict[int, int] = {0: 1}  # conversation 0: the closed ticket, number 1
    for k, _part in order:
        numbers.setdefault(k, len(numbers) + 1)
    return [
        _mail(k, part, mailbox.address, reply_token(mailbox.tenant_id, numbers[k]))
        for k, part in order
    ]


def _closed_ticket(mailbox: Mailbox) -> Ticket:
    """Conversation 0, already answered and closed before the ingest."""
    (row_id,), _new, _old, _refused = store_batch([("c0", _mail(0, 0, mailbox.address), mailbox)])
    row = inbound_process(inbound_id=row_id)
    assert row is not None and row.ticket is not None
    return ticket_close(ticket=row.ticket, author=None)


def _picture(tenant_id: int) -> dict[str, object]:
    tickets = Ticket.objects.filter(tenant_id=tenant_id)
    return {
        "tickets": sorted(
            tickets.values_list(
                "number", "subject", "status", "message_count", "has_unread", "requester_email"
            )
        ),
        "messages": sorted(
            (t.number, tuple(sorted(t.messages.values_list("message_id", "is_auto_reply"))))
            for t in tickets
        ),
        "attachments": sorted(
            (t.number, m.attachments.count()) for t in tickets for m in t.messages.all()
        ),
        "events": sorted(
            Event.objects.filter(tenant_id=tenant_id).values_list("ticket__number", "kind")
        ),
        "refs": sorted(
            ThreadRef.objects.filter(tenant_id=tenant_id).values_list(
                "message_id", "ticket__number"
            )
        ),
        "inbound": sorted(
            InboundEmail.objects.filter(tenant_id=tenant_id).values_list(
                "dedup_key", "status", "ticket__number"
            )
        ),
    }


def _counts() -> list[tuple[object, ...]]:
    return sorted(
        InboxCount.objects.exclude(count=0).values_list(
            "workspace_id", "queue_id", "channel", "status", "assignee_key", "count"
        )
    )


def test_a_batch_gives_the_same_tickets_messages_refs_and_counts_as_one_by_one(
    acme_mailbox, globex_mailbox
):
    order = _arrival(30, seed=7)
    order.insert(75, (0, 1))  # a reply to the closed ticket, mid-batch
    results = {}
    for mailbox, batched in ((acme_mailbox, True), (globex_mailbox, False)):
        _closed_ticket(mailbox)
        raws = _raws(mailbox, order)
        ids, new, _old, _refused = store_batch([(str(i), r, mailbox) for i, r in enumerate(raws)])
        assert new == len(raws) == 151
        if batched:
            for start in range(0, len(ids), 40):
                result = inbound_process_many(inbound_ids=ids[start : start + 40])
                assert not result.failed
        else:
            for inbound_id in ids:
                inbound_process(inbound_id=inbound_id)
        results[batched] = _picture(mailbox.tenant_id)
    for key, batched_rows in results[True].items():
        one_by_one = results[False][key]
        assert batched_rows == one_by_one, (
            key,
            set(batched_rows) - set(one_by_one),  # type: ignore[call-overload]
            set(one_by_one) - set(batched_rows),  # type: ignore[call-overload]
        )
    picture = results[True]
    assert len(picture["tickets"]) == 31  # type: ignore[arg-type]
    auto = [mid for _n, msgs in picture["messages"] for mid, is_auto in msgs if is_auto]  # type: ignore[attr-defined]
    assert len(auto) == 30  # the out-of-office answers joined their tickets
    # The reply to the closed conversation reopened it, in both.
    assert Ticket.objects.get(tenant=acme_mailbox.tenant, number=1).status == Status.TO_PROCESS
    before = _counts()
    counts_rebuild()
    assert before == _counts()


def test_two_mails_of_one_conversation_in_one_batch_land_on_one_ticket(acme_mailbox):
    # The reply first, then its original, then a token-only reply: all in one batch.
    raws = [
        _mail(1, 2, acme_mailbox.address),
        _mail(1, 0, acme_mailbox.address),
        _mail(2, 0, acme_mailbox.address),
        _mail(1, 3, acme_mailbox.address, reply_token(acme_mailbox.tenant_id, 1)),
        _mail(2, 1, acme_mailbox.address),
    ]
    ids, *_rest = store_batch([(str(i), r, acme_mailbox) for i, r in enumerate(raws)])
    result = inbound_process_many(inbound_ids=ids)
    assert result.processed == 5
    assert Ticket.objects.count() == 2
    first = Ticket.objects.get(number=1)
    assert first.message_count == 3 and first.has_unread
    assert sorted(first.messages.values_list("message_id", flat=True)) == [
        "c1-0@client.example",
        "c1-2@client.example",
        "c1-3@client.example",
    ]
    assert Ticket.objects.get(number=2).message_count == 2


def test_a_mail_the_parser_cannot_read_is_quarantined_and_the_rest_of_its_batch_processed(
    acme_mailbox, monkeypatch
):
    real_parse = process_module._parse

    def parse(raw: bytes):  # type: ignore[no-untyped-def]
        if b"Demande 2" in raw:
            raise ValueError("parser bug")
        return real_parse(raw)

    monkeypatch.setattr(process_module, "_parse", parse)
    raws = [_mail(k, 0, acme_mailbox.address) for k in (1, 2, 3)]
    ids, *_rest = store_batch([(str(i), r, acme_mailbox) for i, r in enumerate(raws)])
    result = inbound_process_many(inbound_ids=ids)
    assert (result.processed, result.quarantined, result.failed) == (2, 1, [])
    assert Ticket.objects.count() == 2
    bad = InboundEmail.objects.get(pk=ids[1])
    assert bad.status == InboundStatus.QUARANTINED and "parser bug" in bad.error


def test_a_batch_that_fails_while_writing_is_processed_again_one_by_one(acme_mailbox, monkeypatch):
    def broken(**kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(routing_module, "messages_add_bulk", broken)
    raws = [_mail(1, 0, acme_mailbox.address), _mail(1, 1, acme_mailbox.address)]
    ids, *_rest = store_batch([(str(i), r, acme_mailbox) for i, r in enumerate(raws)])
    result = inbound_process_many(inbound_ids=ids)
    assert (result.processed, result.failed) == (2, [])
    assert Ticket.objects.get().message_count == 2
    assert Ticket.objects.get().number == 1  # the rolled-back batch took no number


@pytest.mark.parametrize("batched", [True, False])
def test_an_acknowledgment_is_queued_once_per_new_ticket_in_both_paths(
    acme_mailbox, acknowledgment, batched
):
    from comptoir.channels.email.models import OutgoingEmail

    raws = [_mail(1, 0, acme_mailbox.address), _mail(1, 1, acme_mailbox.address)]
    raws.append(_mail(2, 0, acme_mailbox.address))
    ids, *_rest = store_batch([(str(i), r, acme_mailbox) for i, r in enumerate(raws)])
    if batched:
        inbound_process_many(inbound_ids=ids)
    else:
        for inbound_id in ids:
            inbound_process(inbound_id=inbound_id)
    assert OutgoingEmail.objects.count() == 2
    assert sorted(Ticket.objects.values_list("message_count", flat=True)) == [2, 3]


def test_instances_made_in_bulk_are_those_the_model_makes(acme_mailbox):
    from django.utils import timezone

    from comptoir.tickets.bulk import new_instances

    queue, now = acme_mailbox.queue, timezone.now()
    values = {"tenant_id": queue.tenant_id, "queue": queue, "number": 7, "created_at": now}
    made = new_instances(Ticket, [values, {**values, "number": 8}])
    expected = Ticket(**values)
    for field in Ticket._meta.concrete_fields:
        if field.attname not in ("status_changed_at", "updated_at"):  # now(), at each call
            assert getattr(made[0], field.attname) == getattr(expected, field.attname), field
    assert made[0].queue is queue and made[0]._state.adding and made[1].number == 8
    assert made[0].__dict__.keys() >= expected.__dict__.keys() - {"_state"}

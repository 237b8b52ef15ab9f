"""Batched delivery of the outbox against a real SMTP server: one connection, row outcomes."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core.mail.backends.smtp import EmailBackend
from django.db import connection, transaction
from huey.contrib.djhuey import HUEY

from comptoir.channels.email import delivery
from comptoir.channels.email.delivery import (
    LEASE,
    outgoing_claim_many,
    outgoing_deliver_due,
    outgoing_deliver_many,
)
from comptoir.channels.email.models import OutgoingEmail, OutgoingStatus
from comptoir.channels.email.outbound import email_send
from comptoir.channels.email.outbound_batch import Draft, email_send_many
from comptoir.core import clock
from comptoir.testing.smtp_sink import smtp_sink_fixture  # noqa: F401
from comptoir.tickets.services import ticket_create

SQLITE_SKIP = pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="the in-memory, shared-cache SQLite test database fails a second writer at once "
    "('table is locked') instead of waiting as the WAL file of a real deployment does; "
    "the claim's concurrency is proven here on PostgreSQL",
)


@pytest.fixture
def ticket(cast):
    return ticket_create(
        queue=cast.boutique_queue, channel="email", subject="Colis perdu", contact=cast.alice
    )


@pytest.fixture
def connections_opened(monkeypatch):
    """How many SMTP connections Django's backend opened (the real ones, counted)."""
    opened: list[int] = []
    real_open = EmailBackend.open

    def counting_open(self):
        created = real_open(self)
        if created:
            opened.append(1)
        return created

    monkeypatch.setattr(EmailBackend, "open", counting_open)
    return opened


def _queue(ticket, n, *, prefix="r", now=None):
    """n outbox rows to distinct recipients, due at `now` (nothing scheduled: no commit)."""
    return [
        email_send(
            tenant=ticket.tenant,
            to=[f"{prefix}{i}@example.com"],
            subject=f"Votre demande n°{i} — reçue",
            body_text="Bonjour",
            kind="notification",
            idempotency_key=f"{prefix}-{i}",
            ticket=ticket,
            now=now,
        )
        for i in range(n)
    ]


def _statuses(rows):
    return {r.pk: OutgoingEmail.objects.get(pk=r.pk).status for r in rows}


def test_a_batch_goes_over_one_connection_and_is_marked_sent(ticket, smtp_sink, connections_opened):
    rows = _queue(ticket, 7)

    assert outgoing_deliver_due(batch=3) == 7

    assert len(connections_opened) == 1
    assert len(smtp_sink.messages) == 7
    sent_ids = sorted(m.parsed()["Message-ID"] for m in smtp_sink.messages)
    assert sent_ids == sorted(f"<{r.message_id}>" for r in rows)
    # Non-ASCII subjects (encoded words) read back exactly as written, token included.
    subjects = {str(m.parsed()["Subject"]) for m in smtp_sink.messages}
    assert subjects == {r.subject for r in rows}
    for row in OutgoingEmail.objects.filter(pk__in=[r.pk for r in rows]):
        assert (row.status, row.attempts, row.last_error) == (OutgoingStatus.SENT, 1, "")
        assert row.sent_at is not None
    assert outgoing_deliver_due() == 0


def test_rows_queued_together_are_delivered_by_one_task_over_one_connection(
    cast, ticket, smtp_sink, connections_opened, django_capture_on_commit_callbacks
):
    previous = HUEY.immediate
    HUEY.immediate = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            created = email_send_many(
                [
                    Draft(
                        ticket=ticket,
                        ticket_message=None,
                        to=[f"c{i}@example.com"],
                        subject="Toujours en cours",
                        body_text="Patience",
                        idempotency_key=f"many-{i}",
                        kind="waiting_message",
                        auto_submitted="auto-generated",
                    )
                    for i in range(5)
                ],
                now=clock.now(),
            )
    finally:
        HUEY.immediate = previous
    assert len(smtp_sink.messages) == 5
    assert len(connections_opened) == 1
    assert set(_statuses(created).values()) == {OutgoingStatus.SENT}


def test_one_refused_recipient_fails_its_own_row_only(ticket, smtp_sink):
    rows = _queue(ticket, 4)
    smtp_sink.refuse_recipients["r1@example.com"] = "550 5.1.1 No such user"
    smtp_sink.refuse_recipients["r2@example.com"] = "451 4.3.0 Mailbox busy"

    assert outgoing_deliver_due() == 2

    assert sorted(m.rcpt_tos[0] for m in smtp_sink.messages) == [
        "r0@example.com",
        "r3@example.com",
    ]
    refused, busy = (OutgoingEmail.objects.get(pk=rows[i].pk) for i in (1, 2))
    assert refused.status == OutgoingStatus.FAILED and "No such user" in refused.last_error
    assert busy.status == OutgoingStatus.QUEUED and "Mailbox busy" in busy.last_error
    assert busy.attempts == 1 and busy.next_attempt_at > clock.now()
    assert _statuses([rows[0], rows[3]]) == {
        rows[0].pk: OutgoingStatus.SENT,
        rows[3].pk: OutgoingStatus.SENT,
    }

    # The busy mailbox takes it on the retry; the others are not sent again.
    smtp_sink.refuse_recipients.clear()
    assert outgoing_deliver_due(now=busy.next_attempt_at) == 1
    assert len(smtp_sink.messages) == 3


def test_an_unusable_address_fails_its_row_and_the_batch_goes_on(ticket, smtp_sink):
    rows = _queue(ticket, 3)
    # Written by hand or before validation existed: no relay will take it.
    OutgoingEmail.objects.filter(pk=rows[1].pk).update(to=["not an address"])

    assert outgoing_deliver_due() == 2

    bad = OutgoingEmail.objects.get(pk=rows[1].pk)
    assert bad.status == OutgoingStatus.FAILED and "invalid address" in bad.last_error
    assert len(smtp_sink.messages) == 2


def test_relay_down_sends_the_whole_batch_back_with_backoff_and_stops_there(ticket, smtp_sink):
    rows = _queue(ticket, 5)
    smtp_sink.stop()
    start = clock.now()

    with time_machine.travel(start, tick=False):
        assert outgoing_deliver_due(batch=3) == 0

    tried = [OutgoingEmail.objects.get(pk=r.pk) for r in rows[:3]]
    for row in tried:
        assert row.status == OutgoingStatus.QUEUED and row.attempts == 1
        assert "Connection refused" in row.last_error or "Errno" in row.last_error
        assert timedelta(minutes=1) <= row.next_attempt_at - start <= timedelta(minutes=1.2)
    # The relay is down: the rest waits for the next run without paying an attempt.
    assert [OutgoingEmail.objects.get(pk=r.pk).attempts for r in rows[3:]] == [0, 0]

    smtp_sink.start()
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        assert outgoing_deliver_due(batch=3) == 5
    assert len(smtp_sink.messages) == 5
    assert set(_statuses(rows).values()) == {OutgoingStatus.SENT}
    assert [OutgoingEmail.objects.get(pk=r.pk).attempts for r in rows] == [2, 2, 2, 1, 1]


def test_a_relay_that_hangs_up_mid_batch_loses_no_row(ticket, smtp_sink, connections_opened):
    rows = _queue(ticket, 4)
    # 421: the relay closes the connection (smtplib drops it too); the rest cannot go.
    smtp_sink.refuse_recipients["r1@example.com"] = "421 4.3.2 Service shutting down"

    assert outgoing_deliver_many(ids=[r.pk for r in rows]) == 1

    assert [m.rcpt_tos[0] for m in smtp_sink.messages] == ["r0@example.com"]
    for row in OutgoingEmail.objects.filter(pk__in=[r.pk for r in rows[1:]]):
        assert row.status == OutgoingStatus.QUEUED and row.attempts == 1
        assert "421" in row.last_error and row.next_attempt_at > clock.now()

    smtp_sink.refuse_recipients.clear()
    later = max(OutgoingEmail.objects.values_list("next_attempt_at", flat=True))
    assert outgoing_deliver_due(now=later) == 3
    assert sorted(m.rcpt_tos[0] for m in smtp_sink.messages) == [
        f"r{i}@example.com" for i in range(4)
    ]
    assert len(connections_opened) == 2


def test_a_leased_row_is_not_claimed_again_until_its_lease_runs_out(ticket, smtp_sink):
    rows = _queue(ticket, 3)
    start = clock.now()
    with time_machine.travel(start, tick=False):
        claimed = outgoing_claim_many(now=start, limit=2)
        assert claimed == [rows[0].pk, rows[1].pk]
        # Another worker, now: only the row nobody holds.
        assert outgoing_claim_many(now=clock.now(), limit=10) == [rows[2].pk]
        assert outgoing_claim_many(now=clock.now(), limit=10) == []
        assert outgoing_deliver_many(ids=[r.pk for r in rows]) == 0
    assert smtp_sink.messages == []

    # The claimer died before sending: after the lease, the sweep sends each row once.
    with time_machine.travel(start + LEASE + timedelta(seconds=1), tick=False):
        assert outgoing_deliver_due() == 3
        assert outgoing_deliver_due() == 0
    assert len(smtp_sink.messages) == 3
    assert [OutgoingEmail.objects.get(pk=r.pk).attempts for r in rows] == [2, 2, 2]


def test_a_batch_past_half_its_lease_hands_its_untried_rows_back_uncounted(
    ticket, smtp_sink, monkeypatch
):
    rows = _queue(ticket, 3)
    # A lease so short that the batch is out of time after its first mail (a slow relay).
    monkeypatch.setattr(delivery, "LEASE", timedelta(0))

    assert outgoing_deliver_many(ids=[r.pk for r in rows]) == 1

    assert len(smtp_sink.messages) == 1
    first, *rest = (OutgoingEmail.objects.get(pk=r.pk) for r in rows)
    assert first.status == OutgoingStatus.SENT and first.attempts == 1
    for row in rest:
        assert row.status == OutgoingStatus.QUEUED and row.attempts == 0
        assert row.next_attempt_at <= clock.now()


def test_rows_queued_for_a_relay_that_answers_too_slowly_go_back_untried(
    ticket, smtp_sink, monkeypatch
):
    rows = _queue(ticket, 3)
    # Half the lease is 0.3 s: the three mails are built and queued at once, then the relay
    # takes 1 s to accept the first; the two others would be sent after their lease.
    monkeypatch.setattr(delivery, "LEASE", timedelta(seconds=0.6))
    smtp_sink.hold = threading.Event()
    threading.Timer(1.0, smtp_sink.hold.set).start()

    assert outgoing_deliver_many(ids=[r.pk for r in rows]) == 1

    assert len(smtp_sink.messages) == 1
    first, *rest = (OutgoingEmail.objects.get(pk=r.pk) for r in rows)
    assert first.status == OutgoingStatus.SENT
    for row in rest:
        assert row.status == OutgoingStatus.QUEUED and row.attempts == 0


@SQLITE_SKIP
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_batch_claimers_never_take_one_row_twice(cast):
    ticket = ticket_create(queue=cast.boutique_queue, channel="email", subject="Colis")
    later = clock.now() + timedelta(hours=1)
    with transaction.atomic():
        rows = _queue(ticket, 60, now=later)
    barrier = threading.Barrier(2)
    taken: list[list[int]] = [[], []]

    def worker(slot: int) -> None:
        try:
            barrier.wait(5)
            while claimed := outgoing_claim_many(now=later, limit=7):
                taken[slot].extend(claimed)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not set(taken[0]) & set(taken[1])
    assert sorted(taken[0] + taken[1]) == sorted(r.pk for r in rows)


@SQLITE_SKIP
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_send_each_row_once(cast, smtp_sink):
    ticket = ticket_create(queue=cast.boutique_queue, channel="email", subject="Colis")
    later = clock.now() + timedelta(hours=1)
    # Due in an hour: nothing is sent at commit, both sweeps find the same due rows.
    with transaction.atomic():
        rows = _queue(ticket, 40, now=later)
    barrier = threading.Barrier(2)
    results: list[int] = []

    def worker() -> None:
        try:
            barrier.wait(5)
            results.append(outgoing_deliver_due(now=later, batch=5))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sum(results) == 40
    received = [m.parsed()["Message-ID"] for m in smtp_sink.messages]
    assert len(received) == len(set(received)) == 40
    assert set(_statuses(rows).values()) == {OutgoingStatus.SENT}

"""Delivery of the outbox against a real SMTP server: retries, backoff, exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction
from huey.contrib.djhuey import HUEY

from comptoir.channels.email.delivery import (
    BACKOFF_CAP,
    MAX_ATTEMPTS,
    backoff_delay,
    outgoing_deliver,
    outgoing_deliver_due,
    outgoing_retry,
)
from comptoir.channels.email.models import OutgoingEmail, OutgoingStatus
from comptoir.channels.email.outbound import email_send
from comptoir.channels.email.timeline_states import mail_states_for_messages
from comptoir.core import clock
from comptoir.testing.smtp_sink import smtp_sink_fixture  # noqa: F401
from comptoir.tickets.models import MessageKind
from comptoir.tickets.services import message_add, ticket_create


@pytest.fixture
def ticket(cast):
    return ticket_create(
        queue=cast.boutique_queue, channel="email", subject="Colis perdu", contact=cast.alice
    )


@pytest.fixture
def huey_immediate():
    previous = HUEY.immediate
    HUEY.immediate = True
    yield HUEY
    HUEY.immediate = previous


def _send(ticket, key="k", **kw):
    return email_send(
        tenant=ticket.tenant,
        to=["alice@example.com"],
        subject="Votre demande",
        body_text="Bonjour",
        kind="notification",
        idempotency_key=key,
        ticket=ticket,
        **kw,
    )


def test_relay_down_keeps_the_mail_queued_with_its_error_then_delivers_it_once(ticket, smtp_sink):
    message = message_add(ticket=ticket, kind=MessageKind.OUTBOUND, body_text="Bonjour")
    smtp_sink.stop()
    row = _send(ticket, ticket_message=message)
    start = clock.now()
    with time_machine.travel(start, tick=False):
        assert not outgoing_deliver(outgoing_id=row.pk)
    row.refresh_from_db()
    assert row.status == OutgoingStatus.QUEUED
    assert row.attempts == 1
    assert "Connection refused" in row.last_error or "Errno" in row.last_error
    assert timedelta(minutes=1) <= row.next_attempt_at - start <= timedelta(minutes=1.2)
    status, error = mail_states_for_messages(message_ids=[message.pk]).delivery[message.pk]
    assert status == "queued" and error  # the ticket shows "not sent yet" and why

    # Not due yet: the sweep leaves it alone, even with the relay back.
    smtp_sink.start()
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        assert outgoing_deliver_due() == 0
    assert smtp_sink.messages == []

    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        assert outgoing_deliver_due() == 1
        assert outgoing_deliver_due() == 0
    with time_machine.travel(start + timedelta(hours=12), tick=False):
        assert outgoing_deliver_due() == 0
    assert len(smtp_sink.messages) == 1
    row.refresh_from_db()
    assert row.status == OutgoingStatus.SENT and row.attempts == 2 and row.last_error == ""


def test_backoff_doubles_and_is_capped():
    assert timedelta(minutes=1) <= backoff_delay(1) <= timedelta(minutes=1.2)
    assert timedelta(minutes=8) <= backoff_delay(4) <= timedelta(minutes=9.6)
    assert BACKOFF_CAP <= backoff_delay(30) <= BACKOFF_CAP * 1.2


def test_a_temporary_refusal_is_retried(ticket, smtp_sink):
    smtp_sink.refuse = "451 4.3.0 Try again later"
    row = _send(ticket)
    assert not outgoing_deliver(outgoing_id=row.pk)
    row.refresh_from_db()
    assert row.status == OutgoingStatus.QUEUED and "451" in row.last_error
    smtp_sink.refuse = None
    assert outgoing_deliver(outgoing_id=row.pk, now=row.next_attempt_at)
    assert len(smtp_sink.messages) == 1


def test_a_permanent_refusal_fails_at_once_with_its_reason(ticket, smtp_sink):
    smtp_sink.refuse_recipients["alice@example.com"] = "550 5.1.1 No such user"
    row = _send(ticket)
    assert not outgoing_deliver(outgoing_id=row.pk)
    row.refresh_from_db()
    assert row.status == OutgoingStatus.FAILED
    assert "No such user" in row.last_error
    # An administrator fixed the cause: the row goes back in the queue.
    smtp_sink.refuse_recipients.clear()
    outgoing_retry(outgoing=row)
    assert outgoing_deliver(outgoing_id=row.pk)
    assert len(smtp_sink.messages) == 1


def test_after_the_last_attempt_the_mail_is_marked_failed(ticket, smtp_sink):
    smtp_sink.stop()
    row = _send(ticket)
    now = clock.now()
    for _ in range(MAX_ATTEMPTS):
        row.refresh_from_db()
        now = max(now, row.next_attempt_at)
        outgoing_deliver(outgoing_id=row.pk, now=now)
    row.refresh_from_db()
    assert row.status == OutgoingStatus.FAILED
    assert row.attempts == MAX_ATTEMPTS
    assert outgoing_deliver_due(now=now + timedelta(days=7)) == 0


SQLITE_LOCKS = pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="the in-memory, shared-cache SQLite test database fails a second writer at once "
    "('table is locked') instead of waiting as the WAL file of a real deployment does; "
    "the claim's concurrency is proven here on PostgreSQL",
)


# The test thread reads the row while the worker claims it: on SQLite's in-memory test
# database that read alone can make the claim fail (CI saw it).
@SQLITE_LOCKS
@pytest.mark.django_db(transaction=True)
def test_a_second_worker_does_not_send_a_row_being_sent(cast, smtp_sink, huey_immediate):
    ticket = ticket_create(queue=cast.boutique_queue, channel="email", subject="Colis")
    later = clock.now() + timedelta(hours=1)
    with transaction.atomic():
        row = _send(ticket, now=later)
    smtp_sink.hold = threading.Event()
    results: list[bool] = []

    def worker() -> None:
        try:
            results.append(outgoing_deliver(outgoing_id=row.pk, now=later))
        finally:
            connection.close()

    first = threading.Thread(target=worker)
    first.start()
    try:
        # The first worker holds the claim while the relay has not answered DATA yet.
        for _ in range(100):
            row.refresh_from_db()
            if row.attempts:
                break
            threading.Event().wait(0.05)
        assert row.attempts == 1
        assert not outgoing_deliver(outgoing_id=row.pk, now=later)
        assert outgoing_deliver_due(now=later + timedelta(minutes=5)) == 0
    finally:
        smtp_sink.hold.set()
        first.join(10)
    assert results == [True]
    assert len(smtp_sink.messages) == 1


@SQLITE_LOCKS
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_deliveries_of_one_row_send_once(cast, smtp_sink, huey_immediate):
    ticket = ticket_create(queue=cast.boutique_queue, channel="email", subject="Colis")
    later = clock.now() + timedelta(hours=1)
    # Due in an hour: the delivery scheduled at commit finds nothing due yet.
    with transaction.atomic():
        row = _send(ticket, now=later)
    assert smtp_sink.messages == []
    barrier = threading.Barrier(2)
    results: list[bool] = []

    def worker() -> None:
        try:
            barrier.wait(5)
            results.append(outgoing_deliver(outgoing_id=row.pk, now=later))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(results) == [False, True]
    assert len(smtp_sink.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_commit_schedules_the_delivery_and_rollback_sends_nothing(cast, smtp_sink, huey_immediate):
    ticket = ticket_create(queue=cast.boutique_queue, channel="email", subject="Colis")
    with pytest.raises(RuntimeError), transaction.atomic():
        _send(ticket, key="rolled-back")
        raise RuntimeError("the caller's change failed")
    assert not OutgoingEmail.objects.filter(idempotency_key="rolled-back").exists()
    assert smtp_sink.messages == []
    with transaction.atomic():
        row = _send(ticket, key="committed")
        assert smtp_sink.messages == []  # nothing leaves before the commit
    assert len(smtp_sink.messages) == 1
    row.refresh_from_db()
    assert row.status == OutgoingStatus.SENT


def test_a_lease_runs_from_the_claim_not_from_a_sweep_that_started_long_ago(cast):
    # A sweep started at `started` and busy for 30 minutes (a hanging relay) must not hand
    # out a lease that has already expired: another worker would send the same mail again.
    from comptoir.channels.email.delivery import LEASE, outgoing_claim

    started = clock.now()
    row = email_send(
        tenant=cast.tenant,
        to=["alice@example.com"],
        subject="Lease",
        body_text="x",
        kind="notification",
        idempotency_key="lease-test",
    )
    OutgoingEmail.objects.filter(pk=row.pk).update(next_attempt_at=started)
    with time_machine.travel(started + timedelta(minutes=30), tick=False):
        assert outgoing_claim(outgoing_id=row.pk, now=started)
        row.refresh_from_db()
        assert row.next_attempt_at == started + timedelta(minutes=30) + LEASE
        # A second worker sweeping right now finds the row leased.
        assert not outgoing_claim(outgoing_id=row.pk, now=clock.now())


def test_an_administrator_sends_a_failed_email_again_from_the_outbox_screen(client, cast):
    from django.urls import reverse

    from comptoir.accounts.models import User
    from comptoir.testing.cast import PASSWORD

    ticket = ticket_create(queue=cast.boutique_queue, channel="email", subject="Colis")
    failed = _send(ticket)
    OutgoingEmail.objects.filter(pk=failed.pk).update(
        status=OutgoingStatus.FAILED, attempts=10, last_error="550 no such user"
    )
    foreign = email_send(
        tenant=cast.other_tenant,
        to=["x@example.com"],
        subject="Globex",
        body_text="x",
        kind="notification",
        idempotency_key="globex-failed",
    )
    OutgoingEmail.objects.filter(pk=foreign.pk).update(status=OutgoingStatus.FAILED)
    User.objects.filter(pk=cast.admin.pk).update(is_staff=True)
    client.login(email=cast.admin.email, password=PASSWORD)

    response = client.post(
        reverse("admin:mail_outgoingemail_changelist"),
        {"action": "send_again", "_selected_action": [failed.pk, foreign.pk]},
        follow=True,
    )

    assert response.status_code == 200
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (OutgoingStatus.QUEUED, 0)
    # Another tenant's row is not in this administrator's queryset: untouched.
    assert OutgoingEmail.objects.get(pk=foreign.pk).status == OutgoingStatus.FAILED

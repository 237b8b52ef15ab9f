"""Two sweeps at once (two schedulers, a retry) send each waiting message exactly once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from huey.contrib.djhuey import HUEY
from huey.exceptions import TaskLockedException

from comptoir.channels.email.models import OutgoingEmail
from comptoir.testing.smtp_sink import smtp_sink_fixture  # noqa: F401  (fixture)
from comptoir.waiting import services, sweep, tasks
from comptoir.waiting.models import WaitingMessageSend
from comptoir.waiting.tests.conftest import T0


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="the in-memory, shared-cache SQLite test database fails a second writer at once "
    "('table is locked') instead of waiting as the WAL file of a real deployment does; "
    "the concurrency of sweeps is proven here on PostgreSQL",
)
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_send_each_message_once(cast, make_ticket, smtp_sink, huey_immediate):
    message = services.waiting_message_create(
        workspace=cast.boutique,
        user=cast.admin,
        title="Patience",
        body="Bonjour {{contact.first_name}}",
        hours_to_process=2,
    )
    services.waiting_message_assign(
        waiting_message=message, user=cast.admin, workspace=cast.boutique
    )
    tickets = [make_ticket(at=T0 + timedelta(minutes=i)) for i in range(30)]
    now = T0 + timedelta(hours=3)
    barrier = threading.Barrier(2)
    results: list[sweep.SweepResult] = []

    def worker() -> None:
        try:
            barrier.wait(5)
            results.append(sweep.waiting_sweep(now=now))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)

    assert len(results) == 2
    assert sum(r.sent for r in results) == len(tickets)
    assert all(not r.errors for r in results)
    assert WaitingMessageSend.objects.count() == len(tickets)
    assert OutgoingEmail.objects.filter(kind=sweep.KIND).count() == len(tickets)
    # Every queued row reached the real SMTP sink once, after commit.
    assert len(smtp_sink.messages) == len(tickets)


@pytest.mark.django_db(transaction=True)
def test_the_periodic_task_is_scheduled_every_minute_and_locked(cast, make_ticket, huey_immediate):
    from datetime import datetime

    task_class = tasks.waiting_sweep_task.task_class
    assert task_class.validate_datetime(task_class, datetime(2026, 1, 1, 8, 17))
    # While another consumer holds the lock, a run sends nothing and fails fast.
    message = services.waiting_message_create(
        workspace=cast.boutique, user=cast.admin, title="P", body="B", hours_to_process=1
    )
    services.waiting_message_assign(
        waiting_message=message, user=cast.admin, workspace=cast.boutique
    )
    make_ticket(at=T0)
    lock = HUEY.lock_task("waiting-sweep")
    with lock, pytest.raises(TaskLockedException):
        tasks.waiting_sweep_task.call_local()
    assert not WaitingMessageSend.objects.exists()
    tasks.waiting_sweep_task.call_local()
    assert WaitingMessageSend.objects.count() == 1

"""Outbound tasks: deliver one queued email after commit; sweep due rows every minute."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_task()
def outgoing_deliver_task(outgoing_id: int) -> None:
    """Deliver one outbox row now (failures are retried by the sweep, not by Huey)."""
    from comptoir.channels.email.delivery import outgoing_deliver

    outgoing_deliver(outgoing_id=outgoing_id)


@db_periodic_task(crontab(minute="*"))
def outgoing_sweep_task() -> None:
    """Retry every queued email whose next attempt is due."""
    from comptoir.channels.email.delivery import outgoing_deliver_due

    outgoing_deliver_due()


__all__ = ["outgoing_deliver_task", "outgoing_sweep_task"]

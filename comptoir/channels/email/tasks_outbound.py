"""Outbound tasks: deliver queued email after commit; drain due rows every minute."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

logger = logging.getLogger(__name__)


@db_task()
def outgoing_deliver_task(outgoing_id: int) -> None:
    """Deliver one outbox row now (failures are retried by the sweep, not by Huey)."""
    from comptoir.channels.email.delivery import outgoing_deliver

    outgoing_deliver(outgoing_id=outgoing_id)


@db_task()
def outgoing_deliver_many_task(outgoing_ids: list[int]) -> None:
    """Deliver rows queued together (a bulk send) in batches over one SMTP connection."""
    from comptoir.channels.email.delivery import outgoing_deliver_many

    outgoing_deliver_many(ids=outgoing_ids)


def schedule_delivery_many(outgoing_ids: Sequence[int]) -> None:
    """Queue the delivery of rows written together (call after commit); never raises."""
    if not outgoing_ids:
        return
    # Enqueueing can fail (Redis away); the rows are committed and the sweep sends them anyway.
    try:
        outgoing_deliver_many_task(list(outgoing_ids))
    except Exception:
        logger.exception("could not enqueue delivery of %s outgoing emails", len(outgoing_ids))


@db_periodic_task(crontab(minute="*"))
def outgoing_sweep_task() -> None:
    """Send every queued email whose next attempt is due, batch after batch."""
    from comptoir.channels.email.delivery import outgoing_deliver_due

    outgoing_deliver_due()


__all__ = [
    "outgoing_deliver_many_task",
    "outgoing_deliver_task",
    "outgoing_sweep_task",
    "schedule_delivery_many",
]

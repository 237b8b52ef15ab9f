"""Inbound tasks: process a stored email; sweep up any the queue lost."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task


@db_task(retries=3, retry_delay=10)
def inbound_process_task(inbound_id: int) -> None:
    """Parse, route and record one stored email (see process.py)."""
    from comptoir.channels.email.process import inbound_process

    inbound_process(inbound_id=inbound_id)


@db_periodic_task(crontab(minute="*"))
def inbound_sweep_task() -> None:
    """Process stored emails whose task never ran (crash between store and queue, case 2)."""
    from comptoir.channels.email.process import inbound_process_pending

    inbound_process_pending()


__all__ = ["inbound_process_task", "inbound_sweep_task"]

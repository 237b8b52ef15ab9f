"""The periodic sweep of waiting messages, every minute."""

from __future__ import annotations

from huey import crontab
from huey.contrib.djhuey import HUEY, db_periodic_task


@db_periodic_task(crontab(minute="*"))
@HUEY.lock_task("waiting-sweep")
def waiting_sweep_task() -> None:
    """Send the due waiting messages; the lock keeps scaled-out consumers from overlapping."""
    from comptoir.waiting.sweep import waiting_sweep

    waiting_sweep()


__all__ = ["waiting_sweep_task"]

"""Inbound tasks: process a stored email."""

from __future__ import annotations

from huey.contrib.djhuey import db_task


@db_task(retries=3, retry_delay=10)
def inbound_process_task(inbound_id: int) -> None:
    """Parse, route and record one stored email (see process.py)."""
    from comptoir.channels.email.process import inbound_process

    inbound_process(inbound_id=inbound_id)


__all__ = ["inbound_process_task"]

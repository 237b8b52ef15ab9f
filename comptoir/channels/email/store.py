"""Durable first: store the raw bytes of a received email before anything acknowledges it."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction

from comptoir.channels.email.headers import dedup_key
from comptoir.channels.email.models import InboundEmail, InboundStatus, Mailbox
from comptoir.core import clock

__all__ = ["MessageTooLarge", "dedup_key", "inbound_store", "mailbox_for_address"]


class MessageTooLarge(Exception):
    """Over the hard size limit: transports refuse it (SMTP 552, HTTP 413)."""


def mailbox_for_address(address: str) -> Mailbox | None:
    """The active mailbox receiving mail for `address` (case-insensitive), if any."""
    return (
        Mailbox.objects.filter(address__iexact=address.strip(), is_active=True)
        .select_related("tenant", "workspace", "queue")
        .first()
    )


def inbound_store(
    *,
    raw: bytes,
    transport: str,
    mailbox: Mailbox,
    envelope_from: str = "",
    envelope_to: str = "",
    now: datetime | None = None,
    schedule: bool = True,
) -> tuple[InboundEmail, bool]:
    """Store the raw email once per tenant; returns (row, created). Commits before returning.

    A second delivery of the same message (SMTP retry, IMAP re-poll, HTTP retry) returns the
    row stored the first time and creates nothing. When `schedule` is true, processing is
    queued after the commit.
    """
    if len(raw) > settings.MAIL_MAX_BYTES:
        raise MessageTooLarge(f"{len(raw)} bytes > {settings.MAIL_MAX_BYTES}")
    key = dedup_key(raw)
    now = now or clock.now()
    existing = InboundEmail.objects.filter(tenant_id=mailbox.tenant_id, dedup_key=key).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            row = InboundEmail.objects.create(
                tenant_id=mailbox.tenant_id,
                mailbox=mailbox,
                transport=transport,
                envelope_from=envelope_from[:998],
                envelope_to=envelope_to[:998],
                dedup_key=key,
                raw=raw,
                size=len(raw),
                status=InboundStatus.RECEIVED,
                received_at=now,
            )
            if schedule:
                transaction.on_commit(lambda: _schedule(row.pk))
    except IntegrityError:
        # A concurrent delivery of the same message won the race: it is stored once.
        return InboundEmail.objects.get(tenant_id=mailbox.tenant_id, dedup_key=key), False
    return row, True


def _schedule(inbound_id: int) -> None:
    from comptoir.channels.email.tasks import inbound_process_task

    inbound_process_task(inbound_id)

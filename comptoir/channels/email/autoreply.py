"""At most one automatic mail per correspondent per window (RFC 3834 §2, case 25).

Two help desks that acknowledge each other's mail would otherwise loop forever; the window
also spares a customer who writes five times in a minute from five acknowledgments.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from comptoir.accounts.models import Tenant
from comptoir.channels.email.models import AddressFlag, AutoReplyLog
from comptoir.core import clock


def _window() -> timedelta:
    return timedelta(seconds=getattr(settings, "COMPTOIR_AUTO_REPLY_WINDOW_S", 3600))


def _key(correspondent: str) -> str:
    return correspondent.strip().lower()[:320]


def address_is_flagged(*, tenant_id: int, address: str) -> bool:
    """The address bounced before: automatic mail must not go there."""
    return AddressFlag.objects.filter(tenant_id=tenant_id, address=_key(address)).exists()


def auto_reply_allowed(
    *,
    tenant_id: int,
    correspondent: str,
    now: datetime | None = None,
    window: timedelta | None = None,
) -> bool:
    """No automatic mail went to `correspondent` within the window, and it is not flagged."""
    now = now or clock.now()
    window = window if window is not None else _window()
    key = _key(correspondent)
    if not key or address_is_flagged(tenant_id=tenant_id, address=key):
        return False
    return not AutoReplyLog.objects.filter(
        tenant_id=tenant_id, correspondent=key, sent_at__gt=now - window
    ).exists()


def auto_reply_record(
    *, tenant_id: int, correspondent: str, kind: str, now: datetime | None = None
) -> AutoReplyLog:
    """Remember that automatic mail of `kind` went to `correspondent` now."""
    return AutoReplyLog.objects.create(
        tenant_id=tenant_id,
        correspondent=_key(correspondent),
        kind=kind,
        sent_at=now or clock.now(),
    )


@transaction.atomic
def auto_reply_claim(
    *,
    tenant_id: int,
    correspondent: str,
    kind: str,
    now: datetime | None = None,
    window: timedelta | None = None,
) -> bool:
    """Check and record in one step; True when the caller may send its automatic mail."""
    now = now or clock.now()
    # Serialise claims of one tenant (the row ticket_create already locks for numbering),
    # so two workers processing two mails of one sender cannot both pass the check.
    Tenant.objects.select_for_update().filter(pk=tenant_id).values_list("pk", flat=True).first()
    if not auto_reply_allowed(
        tenant_id=tenant_id, correspondent=correspondent, now=now, window=window
    ):
        return False
    auto_reply_record(tenant_id=tenant_id, correspondent=correspondent, kind=kind, now=now)
    return True

"""The one source of "now": services take `now` as a parameter and default to this."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone


def now() -> datetime:
    """Return the current aware datetime (tests move it with time-machine)."""
    return timezone.now()

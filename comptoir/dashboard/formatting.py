"""Numbers and durations as the active language writes them ("1 234" / "1,234", "1 h 05 min")."""

from __future__ import annotations

from django.utils.formats import number_format
from django.utils.translation import gettext as _

NONE = "—"


def format_count(value: int) -> str:
    return number_format(value, force_grouping=True)


def format_duration(seconds: float | None) -> str:
    """A median first-response time, to the second under a minute, else to the minute."""
    if seconds is None:
        return NONE
    if seconds < 59.5:
        return _("%(seconds)s s") % {"seconds": round(seconds)}
    minutes = round(seconds / 60)
    if minutes < 60:
        return _("%(minutes)s min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return _("%(hours)s h %(minutes)02d min") % {"hours": hours, "minutes": minutes}
    days, hours = divmod(hours, 24)
    return _("%(days)s d %(hours)s h") % {"days": format_count(days), "hours": hours}

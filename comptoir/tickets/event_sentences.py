"""History sentences: one readable line per event of a ticket's timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.translation import gettext as _

from comptoir.tickets.models import Channel, Event, EventKind, Priority, Status


def transfer_sentence(data: dict[str, Any]) -> str:
    """A transfer to an expert or an external agent, or taking one back."""
    new, old = data.get("new") or "—", data.get("old") or ""
    if data.get("action") == "take_back":
        if old:
            return _("Taken back by %(new)s from %(old)s") % {"new": new, "old": old}
        return _("Taken back by %(new)s") % {"new": new}
    if data.get("target") == "external":
        return _("Transferred to the external agent %(new)s") % {"new": new}
    return _("Transferred to the expert %(new)s") % {"new": new}


def contact_sentence(data: dict[str, Any]) -> str:
    """Linking or unlinking a contact, with what became of the sender's address."""
    if not data.get("new"):
        return _("Contact unlinked (was %(old)s)") % {"old": data.get("old") or "—"}
    if data.get("created"):
        sentence = _("Contact %(new)s created from the sender and linked") % {"new": data["new"]}
    else:
        sentence = _("Linked to contact %(new)s") % {"new": data["new"]}
    if data.get("address_owner"):
        sentence += " · " + _("the address stays with %(owner)s") % {"owner": data["address_owner"]}
    elif data.get("remembered"):
        sentence += " · " + _("address %(email)s remembered") % {"email": data["remembered"]}
    return sentence


def _label(choices: type[Status] | type[Priority], value: Any) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return str(value or "")


def _event_date(value: Any) -> str:
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value or "—")
    return dateformat.format(timezone.localtime(moment), get_format("SHORT_DATETIME_FORMAT"))


def event_sentence(event: Event) -> str:
    """One readable line for a history event (without its author and time)."""
    data = event.data or {}
    kind = event.kind
    if kind == EventKind.CREATED:
        channel = data.get("channel")
        if channel in Channel.values:
            return _("Request created (channel: %(channel)s)") % {"channel": Channel(channel).label}
        return _("Request created")
    if kind == EventKind.STATUS:
        return _("Status changed from %(old)s to %(new)s") % {
            "old": _label(Status, data.get("old")),
            "new": _label(Status, data.get("new")),
        }
    if kind == EventKind.ASSIGNMENT:
        old, new = data.get("old") or "", data.get("new") or ""
        if new and old:
            return _("Reassigned from %(old)s to %(new)s") % {"old": old, "new": new}
        if new:
            return _("Assigned to %(new)s") % {"new": new}
        return _("Unassigned (was %(old)s)") % {"old": old or "—"}
    if kind == EventKind.QUALIFICATION:
        parts = []
        changes = data.get("changes") or {}
        if "priority" in changes:
            parts.append(
                _("priority %(old)s → %(new)s")
                % {
                    "old": _label(Priority, changes["priority"].get("old")),
                    "new": _label(Priority, changes["priority"].get("new")),
                }
            )
        if "contact_reason" in changes:
            parts.append(
                _("contact reason %(old)s → %(new)s")
                % {
                    "old": changes["contact_reason"].get("old") or "—",
                    "new": changes["contact_reason"].get("new") or "—",
                }
            )
        return _("Qualified: %(changes)s") % {"changes": ", ".join(parts) or "—"}
    if kind == EventKind.SUBJECT:
        return _("Subject changed from “%(old)s” to “%(new)s”") % {
            "old": data.get("old", ""),
            "new": data.get("new", ""),
        }
    if kind == EventKind.CONTACT:
        return contact_sentence(data)
    if kind == EventKind.TRANSFER:
        return transfer_sentence(data)
    if kind == EventKind.UNREAD:
        return _("Marked as unread")
    if kind == EventKind.HISTORY_LINK:
        return _("Link to the exchange history issued for %(to)s, valid until %(date)s") % {
            "to": data.get("recipient") or "—",
            "date": _event_date(data.get("expires_at")),
        }
    if kind == EventKind.WAITING_MESSAGE:
        return _("Waiting message “%(title)s” sent to %(to)s") % {
            "title": data.get("title", ""),
            "to": data.get("to", ""),
        }
    return event.get_kind_display()

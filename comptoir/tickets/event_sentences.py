"""History sentences for the events the ticket page's actions record (transfer, contact)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _


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

"""The action bar's lists as HTML: the people to assign or transfer to, the contact reasons.

These loops were the longest of the ticket page's templates (about 180 variable lookups
for a workspace of ten agents, ~1 ms a page). The markup is the templates' own, item for
item, with every value escaped (`core.templating.escape.esc`).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.utils.safestring import SafeString, mark_safe

from comptoir.core.templating.escape import esc
from comptoir.tickets.action_choices import Pick, Reason


def assign_items(people: Iterable[Pick], *, assignee_id: int | None) -> SafeString:
    """One `<li>` button per person other than the agent (`tickets/actions/_assign.html`)."""
    return mark_safe(
        "".join(
            f'\n        <li><button type="submit" name="assignee" value="{a.user.pk}" '
            f'class="pick" aria-pressed="{"true" if a.user.pk == assignee_id else "false"}">\n'
            f'          <span class="avatar avatar--sm" aria-hidden="true">{esc(a.user.initials)}'
            "</span>\n"
            f"          <span>{esc(a.user.name)}</span> "
            f'<span class="pick__role">{esc(a.role_label)}</span>\n'
            "        </button></li>\n        "
            for a in people
        )
    )


def person_options(people: Iterable[Pick], *, with_role: bool = False) -> SafeString:
    """`<option>`s of a transfer list, the role after the name when asked."""
    return mark_safe(
        "".join(
            f'<option value="{a.user.pk}">{esc(a.user.name)}'
            + (f" ({esc(a.role_label)})" if with_role else "")
            + "</option>"
            for a in people
        )
    )


def reason_options(reasons: Iterable[Reason], *, selected_id: int | None) -> SafeString:
    """`<option>`s of the contact reasons, the ticket's own selected."""
    return mark_safe(
        "".join(
            f'<option value="{r.pk}"{" selected" if r.pk == selected_id else ""}>'
            f"{esc(r.name)}</option>"
            for r in reasons
        )
    )

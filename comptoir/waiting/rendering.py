"""Waiting messages render with the one merge-field renderer of response templates."""

from __future__ import annotations

from datetime import datetime

from comptoir.tickets.models import Ticket


def unknown_fields(text: str, workspace_id: int | None) -> list[str]:
    """Merge fields of `text` the renderer does not know for this workspace (refused at save)."""
    from comptoir.responses import merge

    return merge.unknown_fields(text or "", workspace_id)


def render_subject_and_body(
    subject: str, body: str, *, ticket: Ticket, recipient: str, now: datetime
) -> tuple[str, str]:
    """Both filled for `ticket` at send time (a history link is issued once, shared by both)."""
    from comptoir.responses import merge

    context = merge.MergeContext(
        ticket=ticket, now=now, recipient=recipient, issue_history_link=True
    )
    return (
        merge.render(subject, one_line=True, context=context).text,
        merge.render(body, context=context).text,
    )

"""What every agent-written email shares: its rendered bodies, its thread ids, its message.

Used by the replies to the contact (`replies.py`) and by solicitations, so both send the same
way through the one door (`outbound.email_send`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from comptoir.accounts.models import User
from comptoir.channels.email.models import OutgoingEmail
from comptoir.channels.email.outbound import (
    address_only,
    email_send,
    from_address_for,
    valid_message_ids,
)
from comptoir.core.sanitize import html_to_text
from comptoir.tickets.composed import Composed
from comptoir.tickets.models import Message, Ticket
from comptoir.tickets.services import message_add

if TYPE_CHECKING:
    from comptoir.responses.merge import RenderedMessage

# References kept on an answer: the thread's root and the most recent ids.
MAX_REFERENCES = 20


def mail_bodies(rendered: RenderedMessage) -> tuple[str, str]:
    """(html, text) of a rendered message; the text always carries an issued history link.

    The text version drops a link's address, and a reader of text only needs it.
    """
    text = rendered.text or html_to_text(rendered.html).strip()
    if rendered.history_link_url and rendered.history_link_url not in text:
        text = f"{text}\n\n{rendered.history_link_url}"
    return rendered.html, text


def answer_ids(parent: Message | None) -> tuple[str, list[str]]:
    """In-Reply-To and References for a mail answering `parent` (RFC 5322 §3.6.4).

    The parent's References then its own id, bounded; ids from outside that are malformed
    are dropped rather than refused.
    """
    if parent is None:
        return "", []
    refs = [r for r in parent.references.split() if r]
    if parent.message_id not in refs:
        refs.append(parent.message_id)
    if len(refs) > MAX_REFERENCES:
        refs = refs[:1] + refs[-(MAX_REFERENCES - 1) :]
    in_reply_to = valid_message_ids([parent.message_id])
    return (in_reply_to[0] if in_reply_to else ""), valid_message_ids(refs)


def message_record_mail(message: Message, outgoing: OutgoingEmail) -> None:
    """Give the message the ids and subject of the email that carries it (threading needs them)."""
    message.message_id = outgoing.message_id
    message.subject = outgoing.subject
    message.in_reply_to = outgoing.in_reply_to
    message.references = outgoing.references
    message.save(update_fields=["message_id", "subject", "in_reply_to", "references"])


@dataclass(frozen=True)
class AgentMail:
    """An agent's email recorded on the ticket, before the outbox queues it."""

    message: Message
    rendered: RenderedMessage
    sender: str  # the From address


def agent_mail_add(
    *,
    ticket: Ticket,
    author: User,
    composed: Composed,
    typed_text: str,
    recipient: str,
    kind: str,
    now: datetime,
) -> AgentMail:
    """Render the agent's text for `recipient` and add it to the ticket as a `kind` message.

    Call it in the sending transaction with the send time: a `{{ticket.history_link}}` is
    issued then, cut off at that time, and rolled back with the mail if anything fails.
    `typed_text`: what the agent typed as plain text (a text derived from the HTML is derived
    again from the rendered HTML).
    """
    from comptoir.responses.merge import render_outgoing

    rendered = render_outgoing(
        ticket=ticket,
        agent=author,
        body_html=composed.body_html,
        body_text=composed.body_text if typed_text.strip() or not composed.body_html else "",
        recipient=recipient,
        now=now,
    )
    html, text = mail_bodies(rendered)
    sender = from_address_for(tenant=ticket.tenant_id, ticket=ticket)
    message = message_add(
        ticket=ticket,
        kind=kind,
        author=author,
        body_text=text,
        body_html=html,
        sender_email=address_only(sender),
        sender_name=author.get_full_name() or str(author),
        to=[recipient],
        attachments=composed.attachments,
        now=now,
    )
    return AgentMail(message=message, rendered=rendered, sender=sender)


def agent_mail_send(
    mail: AgentMail,
    *,
    ticket: Ticket,
    subject: str,
    kind: str,
    in_reply_to: str,
    references: list[str],
    now: datetime,
    subject_token: str = "",
) -> OutgoingEmail:
    """Queue `mail` through the one email door, to the recipient it was rendered for.

    The message then takes the mail's ids, and the history link, if any, its message.
    """
    message = mail.message
    outgoing = email_send(
        tenant=ticket.tenant_id,
        to=list(message.to),
        subject=subject,
        body_text=message.body_text,
        body_html=message.body_html,
        kind=kind,
        idempotency_key=f"{kind}:{message.pk}",
        ticket=ticket,
        ticket_message=message,
        in_reply_to=in_reply_to,
        references=references,
        attachments=list(message.attachments.order_by("id")),
        from_email=mail.sender,
        subject_token=subject_token,
        now=now,
    )
    message_record_mail(message, outgoing)
    mail.rendered.attach(message)
    return outgoing

"""Template helpers of the composer (reply and internal note) on the ticket page."""

from __future__ import annotations

from django import template
from django.template import Context

from comptoir.channels.email.replies import newest_message_id as _newest_message_id
from comptoir.tickets.composed import attachments_max_bytes
from comptoir.tickets.models import Channel, Ticket

register = template.Library()

# Channels whose replies leave through the email door.
MAIL_CHANNELS = (Channel.EMAIL, Channel.WEBFORM)


@register.simple_tag(takes_context=True)
def newest_message_id(context: Context, ticket: Ticket) -> int:
    """The newest message of the ticket when the composer opens (the collision check).

    The ticket page knows it from its timeline (`newest_message_id` in its context).
    """
    known = context.get("newest_message_id")
    return known if known is not None else _newest_message_id(ticket=ticket)


@register.simple_tag
def composer_max_bytes() -> int:
    return attachments_max_bytes()


@register.filter
def can_mail_reply(ticket: Ticket) -> bool:
    """Whether the composer offers "Reply" (email and web-form requests) besides notes."""
    return ticket.channel in MAIL_CHANNELS

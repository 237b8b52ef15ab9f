"""What the parser hands to the rest of the pipeline: frozen, ORM-free values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str  # as announced (decoded), not yet made safe: storage does that
    content_type: str
    content: bytes
    content_id: str = ""  # without angle brackets; set for inline cid: images
    is_inline: bool = False


@dataclass(frozen=True)
class BounceInfo:
    """A delivery status notification (multipart/report; report-type=delivery-status)."""

    original_message_id: str  # Message-ID of the mail that bounced, without <>, or ""
    failed_recipients: tuple[str, ...]
    action: str  # failed | delayed | delivered | relayed | expanded
    status: str  # e.g. 5.1.1
    diagnostic: str


@dataclass(frozen=True)
class ParsedEmail:
    # Identifiers, without angle brackets; message_id is "" when the mail has none.
    message_id: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str  # decoded (RFC 2047), unfolded, whole up to 998 characters (the column)
    from_email: str  # lower-cased address, "" when missing, invalid or over 320 characters
    from_name: str  # at most 200 characters; no string field holds a NUL character
    reply_to: tuple[str, ...]
    to: tuple[str, ...]
    cc: tuple[str, ...]
    date: datetime | None
    # Lower-cased names of the headers filters need (auto-submitted, precedence, list-id,
    # x-auto-response-suppress, x-loop, x-autoreply, x-autorespond, return-path, …),
    # decoded values; repeated headers joined with ", ".
    headers: Mapping[str, str]
    body_text: str  # the whole plain text (derived from HTML when the mail has none)
    body_html: str  # the whole HTML, sanitized (nh3); "" for text-only mail
    visible_text: str  # the new text, without quoted history and signature
    visible_html: str  # the new part as sanitized HTML
    attachments: tuple[ParsedAttachment, ...] = ()
    bounce: BounceInfo | None = None
    defects: tuple[str, ...] = field(default=())  # what the parser had to repair

"""Helpers for the inbound pipeline tests: real MIME bytes, mailboxes, one-call delivery."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

from comptoir.accounts.models import Queue
from comptoir.channels.email.models import InboundEmail, Mailbox
from comptoir.channels.email.process import inbound_process
from comptoir.channels.email.store import inbound_store
from comptoir.tickets.models import Message

ACME_ADDRESS = "support@acme.test"
GLOBEX_ADDRESS = "help@globex.test"


def mailbox_for(queue: Queue, address: str) -> Mailbox:
    return Mailbox.objects.create(
        tenant_id=queue.tenant_id, workspace_id=queue.workspace_id, queue=queue, address=address
    )


def eml(
    *,
    from_: str = "Jean Client <jean@client.example>",
    to: str = ACME_ADDRESS,
    subject: str = "Ma commande n'est pas arrivée",
    message_id: str | None = "<m1@client.example>",
    in_reply_to: str | None = None,
    references: str | None = None,
    body: str = "Bonjour,\n\nJe n'ai pas reçu ma commande.\n\nJean",
    html: str | None = None,
    headers: Mapping[str, str] | None = None,
    attachments: Iterable[tuple[str, str, bytes]] = (),
    inline_images: Iterable[tuple[str, str, bytes]] = (),  # (cid, filename, png bytes)
) -> bytes:
    """One realistic email as raw bytes (the stdlib writes it, the pipeline parses it)."""
    msg = EmailMessage()
    msg["From"] = from_
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = format_datetime(datetime(2026, 3, 2, 9, 30, tzinfo=UTC))
    if message_id:
        msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
    if references:
        msg["References"] = references
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    images = list(inline_images)
    if html is not None or images:
        msg.add_alternative(html or f"<p>{body}</p>", subtype="html")
        if images:
            html_part: Any = msg.get_payload()[-1]  # type: ignore[index]
            for cid, filename, data in images:
                html_part.add_related(
                    data,
                    maintype="image",
                    subtype="png",
                    cid=f"<{cid}>",
                    filename=filename,
                    disposition="inline",
                )
    for filename, ctype, data in attachments:
        maintype, subtype = ctype.split("/", 1)
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(msg)


def message_of(row: InboundEmail) -> Message:
    """The ticket message an inbound email became (it must have become one)."""
    assert row.ticket_message is not None
    return row.ticket_message


def deliver(mailbox: Mailbox, raw: bytes, transport: str = "lmtp") -> InboundEmail:
    """Store then process one email, as a transport and the task would; returns the row."""
    row, _created = inbound_store(raw=raw, transport=transport, mailbox=mailbox, schedule=False)
    inbound_process(inbound_id=row.pk)
    row.refresh_from_db()
    return row


def bounce_eml(
    *,
    original_message_id: str,
    failed: str = "nobody@client.example",
    to: str = ACME_ADDRESS,
    message_id: str = "<dsn1@mx.client.example>",
    action: str = "failed",
) -> bytes:
    """A delivery status notification (RFC 3464) for a mail we sent."""
    boundary = "DSN-BOUNDARY"
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@mx.client.example>\r\n"
        f"To: {to}\r\n"
        f"Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {message_id}\r\n"
        f"Auto-Submitted: auto-replied\r\n"
        f"MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        f"\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
        f"I'm sorry to have to inform you that your message could not be delivered.\r\n\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.client.example\r\n\r\n"
        f"Final-Recipient: rfc822; {failed}\r\n"
        f"Action: {action}\r\n"
        f"Status: 5.1.1\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{failed}>: Recipient address rejected\r\n\r\n"
        f"--{boundary}\r\n"
        f"Content-Type: text/rfc822-headers\r\n\r\n"
        f"From: {ACME_ADDRESS}\r\n"
        f"To: {failed}\r\n"
        f"Subject: Re: your request\r\n"
        f"Message-ID: <{original_message_id}>\r\n\r\n"
        f"--{boundary}--\r\n"
    ).encode()

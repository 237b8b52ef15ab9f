"""Delivery status notifications: standard (RFC 3464) and the common non-standard kinds."""

from __future__ import annotations

import re
from email.message import Message
from email.parser import HeaderParser
from email.policy import compat32

from comptoir.channels.email.parsed import BounceInfo

_ID = re.compile(r"<([^<>\s]{1,900})>")
_STATUS = re.compile(r"\b([245]\.\d{1,3}\.\d{1,3})\b")
_ADDR = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_MSGID_LINE = re.compile(r"^Message-ID:[ \t]*(.*(?:\n[ \t].*)?)$", re.IGNORECASE | re.MULTILINE)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|returned mail|delivery status notification|mail delivery (?:failed|failure"
    r"|subsystem)|delivery (?:has )?failed|failure notice|non remis|non distribu|"
    r"[ée]chec de (?:la )?(?:remise|distribution)|could not be delivered",
    re.IGNORECASE,
)
_BOUNCE_SENDER = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)


def first_id(value: str) -> str:
    """First `<id>` of a header value, lower-cased, without brackets ("" when none)."""
    m = _ID.search(value)
    if m:
        return m.group(1).lower()
    token = value.strip().split()
    return token[0].strip("<>").lower() if token and "@" in token[0] else ""


def _field(block: Message, name: str) -> str:
    value = block.get(name)
    if value is None:
        return ""
    return re.sub(r"\s+", " ", str(value)).strip()


def _original_id(report: Message) -> str:
    for part in report.walk():
        ctype = part.get_content_type()
        if ctype == "message/rfc822":
            payload = part.get_payload()
            if isinstance(payload, list) and payload:
                inner = payload[0]
                if isinstance(inner, Message) and inner.get("Message-ID"):
                    return first_id(str(inner.get("Message-ID")))
            elif isinstance(payload, str):
                found = _MSGID_LINE.search(payload)
                if found:
                    return first_id(found.group(1))
        elif ctype in ("text/rfc822-headers", "message/rfc822-headers"):
            payload = part.get_payload(decode=True)
            text = payload.decode("latin-1") if isinstance(payload, bytes) else ""
            headers = HeaderParser(policy=compat32).parsestr(text)
            if headers.get("Message-ID"):
                return first_id(str(headers.get("Message-ID")))
    return ""


def dsn_bounce(msg: Message) -> BounceInfo | None:
    """BounceInfo of a `multipart/report; report-type=delivery-status`, else None."""
    if msg.get_content_type() != "multipart/report":
        return None
    if (msg.get_param("report-type") or "").__str__().lower() != "delivery-status":
        return None
    recipients: list[str] = []
    action = status = diagnostic = ""
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = part.get_payload()
        if isinstance(blocks, str):
            # Some MTAs send it base64-encoded; compat32 then leaves it as text.
            raw = part.get_payload(decode=True)
            text = raw.decode("latin-1") if isinstance(raw, bytes) else ""
            blocks = [
                HeaderParser(policy=compat32).parsestr(chunk)
                for chunk in re.split(r"\n\s*\n", text)
            ]
        for block in blocks if isinstance(blocks, list) else []:
            if not isinstance(block, Message):
                continue
            final = _field(block, "Final-Recipient") or _field(block, "Original-Recipient")
            if final:
                addr = final.split(";", 1)[-1].strip().strip("<>").lower()
                if addr and addr not in recipients:
                    recipients.append(addr)
                if not action:
                    action = _field(block, "Action").lower()
                    status = _field(block, "Status")
                    diagnostic = _field(block, "Diagnostic-Code")
    return BounceInfo(
        original_message_id=_original_id(msg),
        failed_recipients=tuple(recipients[:50]),
        action=action or "failed",
        status=status,
        diagnostic=diagnostic[:2000],
    )


def loose_bounce(
    msg: Message, *, from_email: str, subject: str, headers: dict[str, str], text: str
) -> BounceInfo | None:
    """Non-standard bounces (qmail, Exim, some Exchange): recognised by sender or subject,
    and only when the original headers are there to tie it to a message we sent."""
    if not (_BOUNCE_SENDER.match(from_email) or _BOUNCE_SUBJECT.search(subject)):
        return None
    original = _original_id(msg)
    if not original:
        # Copied headers in the text itself ("--- Below this line is a copy of the message.")
        found = _MSGID_LINE.search(text)
        if found:
            original = first_id(found.group(1))
    if not original:
        return None
    failed = [
        a.strip().lower() for a in headers.get("x-failed-recipients", "").split(",") if a.strip()
    ]
    if not failed:
        before_copy = re.split(
            r"^(?:Message-ID|Received|Return-Path|From|Subject):",
            text,
            maxsplit=1,
            flags=re.I | re.M,
        )[0]
        failed = list(dict.fromkeys(a.lower() for a in _ADDR.findall(before_copy)))[:10]
    status = _STATUS.search(text)
    delayed = re.search(r"delay|retard|not yet been delivered", subject, re.I)
    diag = re.search(r"^.*\b[45]\d\d[ -].*$", text, re.M)
    return BounceInfo(
        original_message_id=original,
        failed_recipients=tuple(failed),
        action="delayed" if delayed else "failed",
        status=status.group(1) if status else "",
        diagnostic=(diag.group(0).strip() if diag else "")[:2000],
    )

"""Our own Message-IDs and the signed reply token carried in subjects."""

from __future__ import annotations

import hmac
import re
import secrets
import time
from hashlib import sha256

from django.conf import settings
from django.utils.encoding import force_bytes


def mail_domain() -> str:
    """The domain of every Message-ID we generate (COMPTOIR_MAIL_DOMAIN)."""
    return settings.COMPTOIR_MAIL_DOMAIN


def make_message_id() -> str:
    """A new Message-ID of ours, without angle brackets."""
    return f"{int(time.time() * 1000):x}.{secrets.token_hex(8)}@{mail_domain()}"


def is_our_message_id(message_id: str) -> bool:
    return message_id.lower().endswith("@" + mail_domain().lower())


def _signature(tenant_id: int, number: int, thread: int | None = None) -> str:
    key = force_bytes("comptoir.reply-token:" + settings.SECRET_KEY)
    what = f"{tenant_id}:{number}" if thread is None else f"{tenant_id}:{number}:s{thread}"
    return hmac.new(key, what.encode(), sha256).hexdigest()[:8]


def reply_token(tenant_id: int, number: int) -> str:
    """The token we put in subjects, e.g. "[#1234-1a2b3c4d]", signed per tenant and ticket."""
    return f"[#{number}-{_signature(tenant_id, number)}]"


_TOKEN = re.compile(r"\[#(\d{1,18})-([0-9a-f]{8})\]", re.IGNORECASE)


def find_reply_token(subject: str, tenant_id: int) -> int | None:
    """The ticket number of a valid token of this tenant in `subject`; forged tokens give None."""
    for number_s, sig in _TOKEN.findall(subject or ""):
        number = int(number_s)
        if hmac.compare_digest(sig.lower(), _signature(tenant_id, number)):
            return number
    return None


def thread_token(tenant_id: int, number: int, thread: int) -> str:
    """The token of a side thread of a ticket (a solicitation), e.g. "[#1234.2-9f8e7d6c]".

    Its shape never matches `find_reply_token`: an answer that lost its headers can only
    reach the side thread it was written in, never the customer's conversation.
    """
    return f"[#{number}.{thread}-{_signature(tenant_id, number, thread)}]"


_THREAD_TOKEN = re.compile(r"\[#(\d{1,18})\.(\d{1,9})-([0-9a-f]{8})\]", re.IGNORECASE)


def find_thread_token(subject: str, tenant_id: int) -> tuple[int, int] | None:
    """(ticket number, thread number) of a valid side-thread token of this tenant, or None."""
    for number_s, thread_s, sig in _THREAD_TOKEN.findall(subject or ""):
        number, thread = int(number_s), int(thread_s)
        if hmac.compare_digest(sig.lower(), _signature(tenant_id, number, thread)):
            return number, thread
    return None


def has_thread_token(subject: str) -> bool:
    """Whether `subject` carries something shaped like a side-thread token (unchecked)."""
    return bool(_THREAD_TOKEN.search(subject or ""))


def strip_thread_tokens(subject: str) -> str:
    """`subject` without its side-thread tokens (to start the next subject from it)."""
    return _THREAD_TOKEN.sub("", subject or "")

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


def _signature(tenant_id: int, number: int) -> str:
    key = force_bytes("comptoir.reply-token:" + settings.SECRET_KEY)
    mac = hmac.new(key, f"{tenant_id}:{number}".encode(), sha256).hexdigest()
    return mac[:8]


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

"""Signed tokens of the public form: one per rendered form, one per confirmation page.

The render token binds a post to a form we rendered (its key) within WEBFORM_TOKEN_MAX_AGE_S
and carries a random nonce, so posting the same rendered form twice (a double click, a
retried request) gives the same ticket. The confirmation token lets the thank-you page show
a ticket number without making numbers browsable.
"""

from __future__ import annotations

import secrets

from django.core import signing

from comptoir.channels.webform.conf import limit

_RENDER_SALT = "comptoir.webform.render"
_THANKS_SALT = "comptoir.webform.thanks"
THANKS_MAX_AGE_S = 7 * 24 * 3600


def render_token(key: str) -> str:
    return signing.dumps({"k": key, "n": secrets.token_urlsafe(16)}, salt=_RENDER_SALT)


def render_nonce(token: str, key: str) -> str | None:
    """The nonce of a valid, unexpired token issued for form `key`; None otherwise."""
    try:
        data = signing.loads(
            token, salt=_RENDER_SALT, max_age=int(limit("WEBFORM_TOKEN_MAX_AGE_S"))
        )
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("k") != key or not isinstance(data.get("n"), str):
        return None
    return str(data["n"])


def thanks_token(key: str, number: int) -> str:
    return signing.dumps({"k": key, "t": number}, salt=_THANKS_SALT)


def thanks_number(token: str, key: str) -> int | None:
    try:
        data = signing.loads(token, salt=_THANKS_SALT, max_age=THANKS_MAX_AGE_S)
    except signing.BadSignature:
        return None
    if not isinstance(data, dict) or data.get("k") != key or not isinstance(data.get("t"), int):
        return None
    return int(data["t"])

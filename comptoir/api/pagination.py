"""Opaque, signed keyset cursors: where the next page of a newest-first list starts."""

from __future__ import annotations

from datetime import datetime

from django.core import signing

_SALT = "comptoir.api.cursor"


class InvalidCursor(Exception):
    """The cursor was not made by us (tampered, truncated, or from another key)."""


def cursor_encode(created_at: datetime, pk: int) -> str:
    """Sign the (created_at, id) of the last row served."""
    return signing.dumps([created_at.isoformat(), pk], salt=_SALT)


def cursor_decode(cursor: str) -> tuple[datetime, int]:
    """The (created_at, id) a cursor carries; InvalidCursor if it was altered."""
    try:
        iso, pk = signing.loads(cursor, salt=_SALT)
        created_at = datetime.fromisoformat(iso)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise InvalidCursor from exc
    if not isinstance(pk, int) or created_at.tzinfo is None:
        raise InvalidCursor
    return created_at, pk

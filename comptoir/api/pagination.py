"""Opaque, signed keyset cursors: where the next page of a newest-first list starts."""

from __future__ import annotations

from datetime import datetime

from django.core import signing

from comptoir.tickets.selectors import ListCursor

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


def list_cursor_encode(cursor: ListCursor) -> str:
    """Sign where a list page stopped: its part (0 attention, 1 the rest), key and id.

    A cursor of the rest keeps the two-element form of `cursor_encode`, which older clients
    hold; only the attention part adds the part number.
    """
    if cursor.part == 1:
        return cursor_encode(cursor.key, cursor.pk)
    return signing.dumps([cursor.key.isoformat(), cursor.pk, cursor.part], salt=_SALT)


def list_cursor_decode(cursor: str) -> ListCursor:
    """The position a cursor carries; InvalidCursor if it was altered."""
    try:
        value = signing.loads(cursor, salt=_SALT)
        iso, pk, *rest = value
        key = datetime.fromisoformat(iso)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise InvalidCursor from exc
    part = rest[0] if rest else 1
    if not isinstance(pk, int) or key.tzinfo is None or part not in (0, 1) or len(rest) > 1:
        raise InvalidCursor
    return ListCursor(part=part, key=key, pk=pk)

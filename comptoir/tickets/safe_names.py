"""Safe file names for stored attachments (no path parts, no control characters)."""

from __future__ import annotations

import re
import unicodedata

_UNSAFE = re.compile(r"[^\w.\- ()]+", re.UNICODE)


def safe_filename(name: str, default: str = "attachment") -> str:
    """Return a name with no directory parts, markup or control characters, at most 150 chars."""
    name = unicodedata.normalize("NFC", name or "")
    name = name.replace("\\", "/").split("/")[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = _UNSAFE.sub("_", name).strip(" ._")
    if not name:
        return default
    stem, dot, ext = name.rpartition(".")
    if dot and len(ext) <= 16:
        return stem[: 150 - len(ext) - 1].rstrip(" ._") + "." + ext if stem else name[:150]
    return name[:150]

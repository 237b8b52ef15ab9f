"""Checks on the files a visitor attaches: how many, how big, and of which type.

The type is decided by the extension against an allow-list, and the content must not
contradict it: a "photo.png" holding HTML or a Windows program is refused. The stored
content type comes from the extension, never from what the browser or client claimed.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from comptoir.channels.webform.conf import limit
from comptoir.tickets.safe_names import safe_filename
from comptoir.tickets.services import NewAttachment

# Content that a browser would run or render whatever the file is called.
_ACTIVE_PREFIXES = (b"<!doctype html", b"<html", b"<script", b"<svg", b"<?xml")
# What each kind of picture or PDF starts with (the others are too varied to check).
_SIGNATURES: dict[str, tuple[bytes, ...]] = {
    "pdf": (b"%PDF",),
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpg": (b"\xff\xd8\xff",),
    "jpeg": (b"\xff\xd8\xff",),
    "gif": (b"GIF87a", b"GIF89a"),
}


@dataclass(frozen=True)
class Upload:
    filename: str
    content: bytes


def _extension(filename: str) -> str:
    name = safe_filename(filename)
    return name.rpartition(".")[2].lower() if "." in name else ""


def _looks_active(content: bytes) -> bool:
    if content.startswith(b"MZ"):  # a Windows program, whatever it is called
        return True
    head = content[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith(_ACTIVE_PREFIXES)


def file_errors(upload: Upload) -> list[str]:
    """What is wrong with one file, as messages for the visitor (empty: acceptable)."""
    name = safe_filename(upload.filename)
    allowed = tuple(limit("WEBFORM_ALLOWED_EXTENSIONS"))
    ext = _extension(upload.filename)
    max_bytes = int(limit("WEBFORM_MAX_FILE_BYTES"))
    if ext not in allowed:
        return [
            _("“%(name)s”: this type of file is not accepted. Accepted: %(types)s.")
            % {"name": name, "types": ", ".join(allowed)}
        ]
    if not upload.content:
        return [_("“%(name)s” is empty.") % {"name": name}]
    if len(upload.content) > max_bytes:
        return [too_big_error(upload.filename, len(upload.content))]
    signatures = _SIGNATURES.get(ext)
    if _looks_active(upload.content) or (signatures and not upload.content.startswith(signatures)):
        return [
            _("“%(name)s” does not contain what its name says (.%(ext)s).")
            % {"name": name, "ext": ext}
        ]
    return []


def too_big_error(filename: str, size: int) -> str:
    """The message for a file over the per-file limit (checked before reading it)."""
    return _("“%(name)s” is too big (%(size)s); the limit is %(max)s per file.") % {
        "name": safe_filename(filename),
        "size": filesizeformat(size),
        "max": filesizeformat(int(limit("WEBFORM_MAX_FILE_BYTES"))),
    }


def files_errors(uploads: Sequence[Upload], *, count: int | None = None) -> list[str]:
    """Every message about the set of files: each file, then their number and total size.

    `count` is the number of files sent when some were refused before being read.
    """
    errors = [e for u in uploads for e in file_errors(u)]
    count = len(uploads) if count is None else count
    max_files = int(limit("WEBFORM_MAX_FILES"))
    max_total = int(limit("WEBFORM_MAX_TOTAL_BYTES"))
    if count > max_files:
        errors.append(
            _("Attach at most %(max)d files (you attached %(count)d).")
            % {"max": max_files, "count": count}
        )
    total = sum(len(u.content) for u in uploads)
    if total > max_total:
        errors.append(
            _("The files weigh %(size)s together; the limit is %(max)s.")
            % {"size": filesizeformat(total), "max": filesizeformat(max_total)}
        )
    return errors


def as_attachments(uploads: Sequence[Upload]) -> list[NewAttachment]:
    """Checked uploads as attachments, typed from their extension."""
    result = []
    for u in uploads:
        content_type = mimetypes.guess_type("x." + _extension(u.filename))[0]
        result.append(
            NewAttachment(
                filename=safe_filename(u.filename),
                content=u.content,
                content_type=content_type or "application/octet-stream",
            )
        )
    return result

"""Content types we trust, and stored files served as downloads browsers never render."""

from __future__ import annotations

import re
from typing import Any

from django.http import FileResponse, Http404

_CONTENT_TYPE = re.compile(r"^[\w.+-]+/[\w.+-]+$")
FALLBACK = "application/octet-stream"


def clean_content_type(value: str | None) -> str:
    """`value` lower-cased if it is a plain type/subtype, else application/octet-stream."""
    value = (value or "").strip().lower()
    return value if _CONTENT_TYPE.match(value) else FALLBACK


def upload_content_type(upload: Any) -> str:
    """The content type a browser declared for an uploaded file, cleaned."""
    return clean_content_type(getattr(upload, "content_type", ""))


def safe_file_response(file: Any, filename: str, content_type: str) -> FileResponse:
    """A stored file as a download with nosniff and a sandboxing CSP; 404 if it is gone."""
    try:
        handle = file.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    response = FileResponse(
        handle, as_attachment=True, filename=filename, content_type=clean_content_type(content_type)
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-cache"
    return response

"""Limits of the web form, overridable in settings (WEBFORM_*) without touching the code."""

from __future__ import annotations

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Accepted attachments: at most this many, each and all together at most these sizes.
    "WEBFORM_MAX_FILES": 5,
    "WEBFORM_MAX_FILE_BYTES": 10 * 1024 * 1024,
    "WEBFORM_MAX_TOTAL_BYTES": 20 * 1024 * 1024,
    # Extensions a visitor may attach (documents and pictures; nothing a browser runs).
    "WEBFORM_ALLOWED_EXTENSIONS": (
        "pdf",
        "png",
        "jpg",
        "jpeg",
        "gif",
        "webp",
        "heic",
        "txt",
        "csv",
        "doc",
        "docx",
        "xls",
        "xlsx",
        "odt",
        "ods",
        "rtf",
        "zip",
    ),
    # Submissions per window: any post counts for its IP, accepted ones for their address.
    "WEBFORM_RATE_LIMIT_IP": 20,
    "WEBFORM_RATE_LIMIT_EMAIL": 5,
    "WEBFORM_RATE_WINDOW_S": 3600,
    # A rendered form may be posted within this many seconds.
    "WEBFORM_TOKEN_MAX_AGE_S": 24 * 3600,
}


def limit(name: str) -> Any:
    return getattr(settings, name, DEFAULTS[name])


def max_request_bytes() -> int:
    """The largest body worth reading: every file at its limit plus room for the text fields."""
    return int(limit("WEBFORM_MAX_TOTAL_BYTES")) + 1024 * 1024

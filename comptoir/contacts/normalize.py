"""Normalise identity values so one address or number maps to one contact."""

from __future__ import annotations

import re

from comptoir.contacts.models import IdentityKind

_PHONE_KEEP = re.compile(r"[^\d+]")


def normalize_identity(kind: str, value: str) -> str:
    """Lower-case emails, keep digits (and a leading +) of phones, strip chat handles."""
    value = value.strip()
    if kind == IdentityKind.EMAIL:
        return value.lower()
    if kind == IdentityKind.PHONE:
        digits = _PHONE_KEEP.sub("", value)
        if digits.startswith("00"):
            digits = "+" + digits[2:]
        return digits[:1] + digits[1:].replace("+", "")
    return value

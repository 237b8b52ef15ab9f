"""Header values as people read them: unfolded, 8-bit recovered, RFC 2047 decoded.

Done by hand rather than with `policy.default`, whose header registry costs several times
the whole rest of the parse; only the headers the desk uses go through here.
"""

from __future__ import annotations

import binascii
import hashlib
import re
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses

from comptoir.channels.email.charsets import decode_bytes, redecode_surrogates

_ENCODED_WORD = re.compile(r"=\?([^?\s]{1,64})\?([bBqQ])\?([^?]*)\?=")
_FOLD = re.compile(r"\r?\n(?=[ \t])|\r?\n$")
_ID = re.compile(r"<([^<>]{1,900})>")
_VALID_EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"\\]{1,200}@[^@\s<>()\[\],;:\"\\]{1,255}$")
_SUBJECT_PREFIX = re.compile(
    r"^\s*(?:(?:re|r[ée]f|r[ée]p|aw|antw|sv|vs|wg|fw|fwd|tr|enc|rv|rif|res|odp|ynt)"
    r"\s*(?:\[\d{1,4}\]|\(\d{1,4}\))?\s*[:\uff1a]\s*)+",
    re.IGNORECASE,
)
FORWARD_SUBJECT = re.compile(r"^\s*(?:(?:re|aw)\s*:\s*)*(?:fwd?|tr|wg|enc|rv)\s*[:\uff1a]", re.I)
_HEADER_PARSER = BytesHeaderParser(policy=compat32)


def dedup_key(raw: bytes) -> str:
    """The Message-ID without <> (lower-cased), or a hash of the raw bytes when it has none.

    What a stored mail is unique by, per tenant (store.py). Here, in a module without
    Django, so that the ingest's parser child (parse_ahead.py) can compute it too.
    """
    head = raw.split(b"\r\n\r\n", 1)[0] if b"\r\n\r\n" in raw[:262144] else raw.split(b"\n\n", 1)[0]
    try:
        value = _HEADER_PARSER.parsebytes(head).get("Message-ID")
    except Exception:
        value = None
    if value:
        cleaned = str(value).strip().strip("<>").strip()
        cleaned = "".join(cleaned.split())
        if cleaned and len(cleaned) <= 900:
            return cleaned.lower()
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def normalize_subject(subject: str) -> str:
    """Subject without reply/forward prefixes (Re, Fwd, TR, Réf, AW, …), spaces collapsed.

    For matching only (display keeps the original); case is kept, compare with casefold().
    """
    text = " ".join(subject.split())
    previous = None
    while previous != text:
        previous = text
        text = _SUBJECT_PREFIX.sub("", text)
        text = re.sub(r"^\[(?:fwd?|tr)\s*:\s*(.*)\]$", r"\1", text, flags=re.I).strip()
    return text


# --- header decoding --------------------------------------------------------------------


def _word_bytes(encoding: str, text: str) -> bytes:
    if encoding in "bB":
        cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
        cleaned += "=" * (-len(cleaned) % 4)
        try:
            return binascii.a2b_base64(cleaned)
        except (binascii.Error, ValueError):
            return text.encode("ascii", "replace")
    return binascii.a2b_qp(text.encode("ascii", "replace"), header=True)


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words, tolerating split multibyte words and bad padding."""
    if "=?" not in value:
        return value
    out: list[str] = []
    pending = b""
    pending_cs = ""
    pos = 0
    last_was_word = False

    def flush() -> None:
        nonlocal pending, pending_cs
        if pending:
            out.append(decode_bytes(pending, pending_cs or None)[0])
        pending, pending_cs = b"", ""

    for m in _ENCODED_WORD.finditer(value):
        gap = value[pos : m.start()]
        # Whitespace between two encoded words is not part of the text (RFC 2047 §6.2).
        if gap and not (last_was_word and gap.isspace()):
            flush()
            out.append(gap)
        charset = m.group(1).split("*", 1)[0].lower()
        if pending and charset != pending_cs:
            flush()
        pending_cs = charset
        pending += _word_bytes(m.group(2), m.group(3))
        last_was_word = True
        pos = m.end()
    flush()
    out.append(value[pos:])
    return "".join(out)


def unfold(value: str) -> str:
    return _FOLD.sub("", value).replace("\t", " ").replace("\r", "").replace("\n", " ")


def decode_header_value(value: object) -> str:
    """Unfold, recover 8-bit bytes, decode encoded words; never raises."""
    text = unfold(str(value))
    text = redecode_surrogates(text)
    return decode_words(text).strip()


_SIMPLE_ADDRESS = re.compile(
    r"^\s*([^<>@]*?)\s*<([^<>\s@]+@[^<>\s@]+)>\s*$|^\s*([^<>\s@]+@[^<>\s@]+)\s*$"
)


def _simple_pairs(value: str) -> list[tuple[str, str]] | None:
    """The common shapes without the (slow) RFC 5322 parser; None when unsure."""
    if '"' in value or "(" in value or "\\" in value or ";" in value or ":" in value:
        return None
    pairs = []
    for chunk in value.split(","):
        if not chunk.strip():
            continue
        m = _SIMPLE_ADDRESS.match(chunk)
        if m is None:
            return None
        pairs.append((m.group(1) or "", m.group(2) or m.group(3)))
    return pairs


def addresses(values: list[str]) -> list[tuple[str, str]]:
    """(decoded name, lower-cased address) pairs; invalid addresses have address ""."""
    result: list[tuple[str, str]] = []
    for raw in values:
        value = redecode_surrogates(unfold(raw))
        pairs = _simple_pairs(value)
        if pairs is None:
            try:
                pairs = getaddresses([value])
            except Exception:  # malformed beyond what getaddresses copes with
                pairs = [("", value)]
        for name, addr in pairs[:200]:
            name = " ".join(decode_words(name).split())
            addr = addr.strip().lower()
            if addr and "=?" in addr:
                addr = decode_words(addr).strip().lower()
            result.append((name, addr if _VALID_EMAIL.match(addr) else ""))
    return result


def ids(value: str, *, require_at: bool) -> list[str]:
    found = [m.strip().lower() for m in _ID.findall(value)]
    found = ["".join(x.split()) for x in found if x.strip()]
    if not found:
        found = [t.strip("<>").lower() for t in value.split() if "@" in t or not require_at]
    return list(dict.fromkeys(x for x in found if x))


# --- MIME walk --------------------------------------------------------------------------

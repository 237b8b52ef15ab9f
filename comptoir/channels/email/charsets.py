"""Bytes to text for mail that lies about (or says nothing of) its charset.

Order: the declared charset (after aliasing), then UTF-8, then Windows-1252, then Latin-1
(which decodes any byte). Every step is linear in the input, so CPU stays bounded whatever
the label. Only real text codecs are accepted: a label such as "base64", "rot13" or "zlib"
names a Python codec that is not a charset and is ignored.
"""

from __future__ import annotations

import codecs
import re
from functools import lru_cache

# Labels seen in the wild that Python does not know, or knows under a worse meaning.
_ALIASES = {
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "unicode-1-1-utf-8": "utf-8",
    "x-unicode20utf8": "utf-8",
    "us-ascii": "utf-8",  # a superset: 8-bit bytes behind "us-ascii" are usually UTF-8
    "ascii": "utf-8",
    "ansi_x3.4-1968": "utf-8",
    "iso-8859-1": "cp1252",  # what every browser does (WHATWG): Outlook sends cp1252 as latin-1
    "iso8859-1": "cp1252",
    "latin1": "cp1252",
    "latin-1": "cp1252",
    "l1": "cp1252",
    "windows-1252": "cp1252",
    "x-cp1252": "cp1252",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "iso-8859-8-i": "iso-8859-8",
    "iso-8859-6-i": "iso-8859-6",
    "x-mac-roman": "mac_roman",
    "macintosh": "mac_roman",
    "x-sjis": "shift_jis",
    "shift-jis": "shift_jis",
    "windows-31j": "cp932",
    "tis-620": "cp874",
    "windows-874": "cp874",
    "cp-850": "cp850",
    "ibm850": "cp850",
    "cp-1252": "cp1252",
    "cp-1251": "cp1251",
    "unknown-8bit": "",
    "unknown": "",
    "x-unknown": "",
    "x-user-defined": "",
    "default": "",
    "charset": "",
    "8bit": "",
}

_LABEL_JUNK = re.compile(r"[\"'\s;]")


@lru_cache(maxsize=256)
def codec_for(label: str | None) -> str:
    """Return a Python text codec name for a MIME charset label, or "" when unusable."""
    if not label:
        return ""
    name = _LABEL_JUNK.sub("", str(label)).lower()[:64]
    # RFC 2231 language suffix ("utf-8*fr") and stray parameters.
    name = name.split("*", 1)[0]
    if name in _ALIASES:
        return _ALIASES[name]
    for candidate in (name, name.replace("_", "-"), name.replace("-", "")):
        try:
            info = codecs.lookup(candidate)
        except (LookupError, ValueError):
            continue
        if not getattr(info, "_is_text_encoding", True):
            return ""  # base64, rot13, zlib…: codecs, not charsets
        if info.name in ("latin-1", "iso8859-1"):
            return "cp1252"
        if info.name == "ascii":
            return "utf-8"
        return info.name
    return ""


def decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, bool]:
    """Decode `data`; return (text, repaired) where repaired means a fallback was used."""
    if not data:
        return "", False
    codec = codec_for(declared)
    if codec:
        try:
            return data.decode(codec), False
        except (UnicodeDecodeError, LookupError, ValueError):
            pass
    if data.isascii():
        return data.decode("ascii"), bool(declared) and not codec
    # 8-bit data without a usable label, or one that lied: whatever decodes is a repair.
    for fallback in ("utf-8", "cp1252"):
        if fallback == codec:
            continue
        try:
            return data.decode(fallback), True
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1", errors="replace"), True


def redecode_surrogates(value: str, declared: str | None = None) -> str:
    """Header strings from `compat32` carry raw 8-bit bytes as surrogates; decode them."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    raw = value.encode("utf-8", "surrogateescape")
    text, _ = decode_bytes(raw, declared)
    return text

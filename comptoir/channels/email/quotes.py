"""The new part of a reply: quoted history and signatures removed, French and English.

Text: mail-parser-reply's header patterns ("On … wrote:", "From: … Sent: …", their French
and other-language forms) plus our own for what it misses (French Outlook with non-breaking
spaces, "Message d'origine", attributions folded over two lines), trailing `>` blocks and a
conservative signature rule. HTML: the quote containers mail clients mark (Gmail, Apple Mail,
Thunderbird, Outlook, Yahoo, Hotmail). Forwards are new content for a desk, so a forwarded
message is kept whole. Nothing here ever returns an empty result for a non-empty input:
when stripping would leave nothing, the whole is kept.
"""

from __future__ import annotations

import html as html_lib
import re
from functools import lru_cache
from typing import Any

from mailparser_reply.parser import EmailMessage

_header_regex: re.Pattern[str] | None = None


def _mpr_header_regex() -> re.Pattern[str]:
    global _header_regex
    if _header_regex is None:
        _header_regex = EmailMessage(text="", languages=["fr", "en"]).HEADER_REGEX
    return _header_regex


_NBSP = "\u00a0\u202f"
_OWN_HEADERS = re.compile(
    r"^(?:>\s?)*(?:"
    # French and English attributions, possibly folded over a few lines.
    r"Le\s[^\n]{0,200}(?:\n[^\n]{0,200}){0,2}?a\s+[ée]crit\s*:"
    r"|On\s[^\n]{0,200}(?:\n[^\n]{0,200}){0,2}?\swrote\s*:"
    # Outlook separators.
    r"|-{2,}\s*(?:Message d'origine|Message original|Original Message|Mensaje original"
    r"|Urspr[üu]ngliche Nachricht)\s*-{2,}"
    # Outlook header block: two consecutive header lines, French or English, any spacing.
    rf"|\*?(?:De|From|Von)[\s{_NBSP}]*\*?:[^\n]*\n(?:>\s?)*\*?"
    rf"(?:Envoy[ée]|Sent|Date|Gesendet|[ÀA]|To|Objet|Subject)[\s{_NBSP}]*\*?:"
    r")",
    re.MULTILINE | re.IGNORECASE,
)
_FORWARD = re.compile(
    r"^\s*(?:-{2,}\s*(?:Forwarded message|Message transf[ée]r[ée]|Mensaje reenviado"
    r"|Weitergeleitete Nachricht)\s*-{2,}|Begin forwarded message:|D[ée]but du message "
    r"r[ée]exp[ée]di[ée]\s*:|-{2,}\s*Forwarded by)",
    re.MULTILINE | re.IGNORECASE,
)
_SENT_FROM = re.compile(
    r"^\s*(?:Envoy[ée] (?:de|depuis) (?:mon|ma|un|une)\b|Sent from my\b|Sent from Mail for"
    r"|Get Outlook for\b|Obtenir Outlook pour\b|Sent with\b|Envoy[ée] avec\b"
    r"|T[ée]l[ée]charger Outlook\b)[^\n]{0,60}$",
    re.IGNORECASE,
)
_CLOSING = re.compile(
    r"^\s*(?:(?:bien |tr[èe]s )?cordialement|salutations(?: distingu[ée]es)?|bien [àa] (?:vous|toi)"
    r"|bonne (?:journ[ée]e|soir[ée]e|r[ée]ception)|merci d'avance|amicalement"
    r"|(?:best|kind|warm)(?: regards)?|regards|thanks(?: a lot)?|thank you|cheers"
    r"|all the best|sincerely)\s*[,.!]?\s*$",
    re.IGNORECASE,
)
_SIG_DASHES = re.compile(r"^(?:--|-- |__)\s*$")


def is_forward_text(text: str) -> bool:
    """True when `text` forwards a message before quoting any reply history."""
    fwd = _FORWARD.search(text)
    if not fwd:
        return False
    reply = _first_header(text)
    return reply is None or text.count("\n", 0, fwd.start()) <= reply[0]


_MPR_HINTS = (
    "wrote",
    "crit",
    "original",
    ":\n",
    "from:",
    "sent:",
    "subject:",
    "date:",
    "to:",
    "de :",
    "objet :",
    "envoy",
    "-----",
    "____",
    "schrieb",
    "von:",
)


def _first_header(text: str) -> tuple[int, int] | None:
    """Lines (first, last) of the first reply attribution / quoted header block, or None."""
    normalized = "\n".join(line.strip(" \t\r\u200b") for line in text.split("\n"))
    best: int | None = None
    end = 0
    m = _OWN_HEADERS.search(normalized)
    if m:
        best, end = m.start(), m.end()
    else:
        # mail-parser-reply's patterns (other languages, "Date:/To:" blocks) are ten times
        # slower than ours: only when ours found nothing and the text could hold a header.
        low = normalized.lower()
        if any(hint in low for hint in _MPR_HINTS):
            m = _mpr_header_regex().search(normalized)
            if m:
                best, end = m.start(), m.end()
                while best < len(normalized) and normalized[best] == "\n":
                    best += 1
    if best is None:
        return None
    # Same line structure as `text`: map the normalized offsets to line numbers.
    return normalized.count("\n", 0, best), normalized.count("\n", 0, max(best, end - 1))


_ATTRIBUTION_HINT = re.compile(r"@|\d{1,4}[./-]\d{1,2}[./-]\d{1,4}|\d{1,2}:\d{2}")


def _strip_trailing_quotes(lines: list[str]) -> list[str]:
    end = len(lines)
    while end > 0 and (not lines[end - 1].strip() or lines[end - 1].lstrip().startswith(">")):
        end -= 1
    if end < len(lines) and any(line.lstrip().startswith(">") for line in lines[end:]):
        # An attribution in a language we have no pattern for ("02.04.2012 14:20 пользователь
        # … написал:"): up to three lines ending with ":" that name a date or an address.
        last = lines[end - 1].rstrip()
        if last.endswith(":") and _ATTRIBUTION_HINT.search(last):
            start = end - 1
            while start > 0 and end - start < 3 and _ATTRIBUTION_HINT.search(lines[start - 1]):
                start -= 1
            return lines[:start]
        if last.endswith(":") and end >= 2 and _ATTRIBUTION_HINT.search(lines[end - 2]):
            return lines[: end - 2]
    return lines[:end]


def _strip_signature(lines: list[str]) -> list[str]:
    nonblank = [i for i, line in enumerate(lines) if line.strip()]
    if len(nonblank) < 2:
        return lines
    cut: int | None = None
    for i in nonblank[-3:]:
        if _SENT_FROM.match(lines[i]):
            cut = i
            break
    for i in nonblank[-15:]:
        if _SIG_DASHES.match(lines[i]) and i > nonblank[0]:
            cut = i if cut is None else min(cut, i)
            break
    for i in nonblank[-6:]:
        if _CLOSING.match(lines[i]) and i > nonblank[0] and (cut is None or i < cut):
            # A closing formula right after a greeting was probably the whole message.
            if len("".join(lines[:i]).strip()) >= 16:
                cut = i
            break
    if cut is None or not "".join(lines[:cut]).strip():
        return lines
    return lines[:cut]


def strip_quotes_text(text: str, *, signatures: bool = True, forward: bool = False) -> str:
    """Return the new part of a plain-text reply (whole text when nothing is left)."""
    if not text or not text.strip():
        return text.strip() if text else ""
    text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if not forward and not is_forward_text(text):
        header = _first_header(text)
        if header is not None and "".join(lines[: header[0]]).strip():
            lines = lines[: header[0]]
        elif header is not None:
            # Bottom-posting: the attribution and the quote come first, the reply after.
            rest = lines[header[1] + 1 :]
            while rest and (not rest[0].strip() or rest[0].lstrip().startswith(">")):
                rest = rest[1:]
            if "".join(rest).strip():
                lines = rest
        lines = _strip_trailing_quotes(lines)
    if signatures:
        lines = _strip_signature(lines)
    result = "\n".join(lines).strip()
    return result if result else text.strip()


# --- HTML ---------------------------------------------------------------------------------

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"


def _cls(name: str) -> str:
    return f"contains(concat(' ', normalize-space(@class), ' '), ' {name} ')"


def _style_has(fragment: str) -> str:
    return f"contains(translate(translate(@style, ' ', ''), '{_UPPER}', '{_LOWER}'), '{fragment}')"


# Where quoted history starts; everything from there to the end of the document goes.
# (hint, expression): the expression is only evaluated when the lower-cased HTML holds the hint.
_QUOTE_XPATHS = [
    ("gmail_quote", f"//div[{_cls('gmail_quote_container')}]"),
    ("gmail_quote", f"//div[{_cls('gmail_quote')}]"),
    ("moz-cite-prefix", f"//*[{_cls('moz-cite-prefix')}]"),
    ("cite", "//blockquote[@type='cite']"),
    ("divrplyfwdmsg", "//*[@id='divRplyFwdMsg']"),
    ("appendonsend", "//*[@id='appendonsend']"),
    ("olk_src_body_section", "//*[@id='OLK_SRC_BODY_SECTION']"),
    ("stopspelling", "//hr[@id='stopSpelling']"),
    ("yahoo_quoted", "//*[contains(@class, 'yahoo_quoted')]"),
    ("e1e1e1", f"//div[{_style_has('border-top:solid#e1e1e1')}]"),
    ("b5c4df", f"//div[{_style_has('border-top:solid#b5c4df')}]"),
    ("229", f"//div[{_style_has('border-top-color:rgb(229,229,229)')}]"),
    (
        "<hr",
        "//hr[following-sibling::*[1][starts-with(normalize-space(.), 'From:')"
        " or starts-with(normalize-space(.), 'De :') or starts-with(normalize-space(.), 'De:')]]",
    ),
]
_SIGNATURE_XPATHS = [
    ("gmail_signature", f"//*[{_cls('gmail_signature')}]"),
    ("moz-signature", f"//*[{_cls('moz-signature')}]"),
    ("signature", "//*[@id='Signature']"),
    ("ms-outlook-mobile-signature", "//*[@id='ms-outlook-mobile-signature']"),
]


def _cut_from(el) -> None:  # type: ignore[no-untyped-def]
    """Remove `el` and everything after it in document order."""
    node = el
    while True:
        parent = node.getparent()
        if parent is None or node.tag == "body":
            break
        for sib in list(node.itersiblings()):
            parent.remove(sib)
        if node is not el:
            node.tail = None
        node = parent
    parent = el.getparent()
    if parent is not None:
        prev = el.getprevious()
        if prev is not None and prev.tag == "hr" and not (prev.tail or "").strip():
            parent.remove(prev)  # Outlook puts an <hr> right before its header block
        el.tail = None
        parent.remove(el)


# Cheap substring tests (lower-cased) before paying for an HTML tree.
_HTML_HINTS = (
    "blockquote",
    "from:",
    "de :",
    "gmail_quote",
    "moz-cite-prefix",
    "cite",
    "divrplyfwdmsg",
    "appendonsend",
    "olk_src_body_section",
    "stopspelling",
    "yahoo_quoted",
    "border-top",
    "signature",
    "sent ",
    "envoy",
    "outlook",
)
_SENT_FROM_HINTS = ("sent ", "envoy", "outlook")


_OUTLOOK_BLOCK_XPATH = (
    "//p[starts-with(normalize-space(.), 'From:') or starts-with(normalize-space(.), 'De :')"
    " or starts-with(normalize-space(.), 'De\u00a0:') or starts-with(normalize-space(.), 'De:')]"
)
_OUTLOOK_BLOCK_TEXT = re.compile(
    r"^(?:From|De)\s*:.{0,500}?\b(?:Sent|Envoy[ée]|Date)\s*:", re.IGNORECASE | re.DOTALL
)


@lru_cache(maxsize=128)
def _finder(expressions: tuple[str, ...]) -> Any:
    import lxml.etree

    # One union expression: lxml returns the matches in document order.
    return lxml.etree.XPath(" | ".join(expressions))


def _find(doc: Any, low: str, table: list[tuple[str, str]]) -> list[Any]:
    expressions = tuple(xp for hint, xp in table if hint in low)
    return _finder(expressions)(doc) if expressions else []


def strip_quotes_html(html: str, *, signatures: bool = True, forward: bool = False) -> str:
    """Return the new part of an HTML reply as (unsanitized) HTML; the whole when none left.

    Returns `html` itself (the same object) when nothing was removed or anything went wrong:
    showing a quote is better than losing the message.
    """
    try:
        return _strip_quotes_html(html, signatures=signatures, forward=forward)
    except Exception:
        return html


def _strip_quotes_html(html: str, *, signatures: bool, forward: bool) -> str:
    low = html.lower() if html else ""
    if not low.strip() or not any(hint in low for hint in _HTML_HINTS):
        return html or ""
    import lxml.etree
    import lxml.html

    try:
        # lxml refuses str input that carries an XML encoding declaration.
        doc = lxml.html.document_fromstring(_XML_DECL.sub("", html, count=1))
    except (lxml.etree.ParserError, ValueError):
        return html
    body = doc.find("body")
    if body is None:
        return html
    if (
        not forward
        and ("forward" in low or "transf" in low or "xp" in low)
        and is_forward_text(body.text_content()[:50000])
    ):
        forward = True
    changed = False
    trim_attribution = False
    if not forward:
        found = _find(doc, low, _QUOTE_XPATHS)
        first = found[0] if found else None
        if "from:" in low or "de :" in low or "de&nbsp;:" in low or "de\u00a0:" in low:
            # Outlook desktop without a marked container: the header block is a plain <p>.
            for el in _finder((_OUTLOOK_BLOCK_XPATH,))(doc):
                if _OUTLOOK_BLOCK_TEXT.match(_block_text(el)):
                    first = el if first is None else _earliest(doc, first, el)
                    break
        if first is None:
            # A bare <blockquote> that ends the message (Yandex, Mail.ru…): a quote whose
            # attribution line sits just before it.
            quotes_ = body.findall(".//blockquote")
            if quotes_ and _nothing_after(quotes_[-1]):
                first = quotes_[-1]
                trim_attribution = True
        if first is not None:
            _cut_from(first)
            changed = True
    if signatures:
        for el in _find(doc, low, _SIGNATURE_XPATHS):
            if el.getparent() is not None:
                el.drop_tree()
                changed = True
        if any(hint in low for hint in _SENT_FROM_HINTS):
            for el in body.iter("div", "p", "span"):
                if len(el) > 2:
                    continue
                text = el.text_content()
                if len(text) < 90 and _SENT_FROM.match(text.strip()):
                    el.drop_tree()
                    changed = True
                    break
    if not changed:
        return html
    if not body.text_content().strip() and not body.xpath(".//img"):
        return html
    result = lxml.html.tostring(body, encoding="unicode")
    return _trim_attribution(result) if trim_attribution else result


_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>", re.I)
_BREAK_TAG = re.compile(r"<br\s*/?>|<p[\s>]|<div[\s>]|</p>|</div>|<blockquote", re.I)
_TAG = re.compile(r"<[^>]*>")
_TRAILING = re.compile(r"(?:\s|</[^>]+>|<br\s*/?>)*$", re.I)


def _block_text(el) -> str:  # type: ignore[no-untyped-def]
    text = el.text_content().replace("\u00a0", " ")
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def _nothing_after(el) -> bool:  # type: ignore[no-untyped-def]
    node = el
    while node is not None and node.tag != "body":
        if (node.tail or "").strip():
            return False
        for sib in node.itersiblings():
            if sib.text_content().strip() or sib.tag == "img":
                return False
        node = node.getparent()
    return True


def _earliest(doc, a, b):  # type: ignore[no-untyped-def]
    for el in doc.iter():
        if el is a or el is b:
            return el
    return a


def _trim_attribution(html: str) -> str:
    """Drop a trailing "<date>, <name> <address>:" line left above a removed quote."""
    window = max(0, len(html) - 4000)  # bounded: the attribution is at the very end
    end = _TRAILING.search(html, window)
    body, suffix = (html[: end.start()], html[end.start() :]) if end else (html, "")
    breaks = list(_BREAK_TAG.finditer(body, max(0, len(body) - 4000)))
    if not breaks:
        return html
    last = breaks[-1]
    if last is None:
        return html
    start = last.end()
    if not last.group(0).endswith(">"):
        start = body.find(">", start) + 1 or start
    tail = body[start:]
    text = html_lib.unescape(" ".join(_TAG.sub("", tail).split()))
    if 0 < len(text) < 300 and text.endswith(":") and _ATTRIBUTION_HINT.search(text):
        return body[:start] + "".join(re.findall(r"</[^>]+>", tail)) + suffix
    return html

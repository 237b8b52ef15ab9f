"""HTML that is safe to show to agents, and text derived from HTML.

Used by the email parser, and meant for the web form and the composer too. Inbound HTML is
hostile: scripts, event handlers, `javascript:` links, SVG, CSS `url()` and remote images
(tracking pixels) are all removed. Remote images are never fetched by the server and never
kept in the sanitized HTML; only `cid:` images (parts of the same mail) survive, so the UI
can rewrite them to the stored attachment later.
"""

from __future__ import annotations

import html as html_lib
import re

import nh3

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "center", "code", "col", "colgroup",
    "dd", "del", "div", "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "ins", "kbd", "li", "ol", "p", "pre", "q", "s", "samp", "small", "span",
    "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
    "tt", "u", "ul",
}  # fmt: skip

# Removed with their content, not just unwrapped.
_CLEAN_CONTENT = {"script", "style", "iframe", "object", "embed", "svg", "math", "noscript",
                  "template", "title", "head", "applet", "frame", "frameset", "xml"}  # fmt: skip

_ATTRIBUTES = {
    "*": {"style", "title", "dir", "lang", "align"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "valign", "width"},
    "th": {"colspan", "rowspan", "valign", "width"},
    "table": {"border", "cellpadding", "cellspacing", "width"},
    "font": {"color", "size"},
    "ol": {"start", "type"},
    "blockquote": {"type"},
}

# Formatting only: nothing that positions, overlays or loads anything.
_STYLE_PROPERTIES = {
    "color", "background-color", "font-weight", "font-style", "font-size", "font-family",
    "text-align", "text-decoration", "vertical-align", "white-space", "margin", "margin-left",
    "margin-right", "margin-top", "margin-bottom", "padding", "padding-left", "padding-right",
    "padding-top", "padding-bottom", "border", "border-left", "border-top", "border-collapse",
    "width", "line-height", "list-style-type",
}  # fmt: skip

_URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}
_CSS_DANGER = re.compile(r"url\s*\(|expression\s*\(|\\|@import|behavior\s*:|-moz-binding", re.I)


def _attribute_filter(tag: str, attr: str, value: str) -> str | None:
    if attr == "src":
        # Remote images would leak that the mail was read (and fetch attacker content);
        # only images carried inside the mail itself stay.
        return value if value[:4].lower() == "cid:" else None
    if attr == "style":
        return None if _CSS_DANGER.search(value) else value
    if attr == "href" and value.strip()[:4].lower() == "cid:":
        return None
    return value


_cleaner = nh3.Cleaner(
    tags=_TAGS,
    clean_content_tags=_CLEAN_CONTENT,
    attributes=_ATTRIBUTES,
    attribute_filter=_attribute_filter,
    url_schemes=_URL_SCHEMES,
    strip_comments=True,
    link_rel="noopener noreferrer nofollow",
    set_tag_attribute_values={"a": {"target": "_blank"}},
    filter_style_properties=_STYLE_PROPERTIES,
)

_BLANK_HTML = re.compile(r"^(?:\s|&nbsp;|<br\s*/?>|<p>\s*</p>|<div>\s*</div>)*$", re.I)


def sanitize_html(html: str) -> str:
    """Return `html` reduced to safe formatting markup (no script, no remote resources)."""
    if not html:
        return ""
    # ammonia rejects NUL; it is never meaningful in HTML.
    cleaned = _cleaner.clean(html.replace("\x00", ""))
    return "" if _BLANK_HTML.match(cleaned) else cleaned.strip()


def html_to_text(html: str) -> str:
    """Return the readable text of `html` (layout-aware, via inscriptis)."""
    if not html or not html.strip():
        return ""
    from inscriptis import get_text

    try:
        text = get_text(html.replace("\x00", ""))
    except Exception:  # lxml refuses some inputs ("Document is empty", bad encodings)
        text = re.sub(r"<[^>]*>", " ", html)
        text = html_lib.unescape(text)
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def text_to_html(text: str) -> str:
    """Return `text` as escaped HTML paragraphs, line breaks kept."""
    if not text:
        return ""
    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip("\n"))
    return "".join(
        "<p>" + html_lib.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs if p.strip()
    )

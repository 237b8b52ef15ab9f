"""What an agent wrote in the composer, checked once for replies and internal notes alike.

The composer's HTML is never trusted: it is sanitized here (nh3), and the text version the
mail and the search use is derived from it. Inline images are attachments whose content id
the HTML references as `cid:<id>`; one the HTML does not reference is kept as a plain
attachment rather than lost.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from comptoir.core.errors import DomainError
from comptoir.core.sanitize import html_to_text, sanitize_html
from comptoir.tickets.services import NewAttachment

# A Content-ID as we write them and as mail clients accept them: no quotes, spaces or
# angle brackets, so it can go into a header and an HTML attribute unchanged.
CONTENT_ID = re.compile(r"^[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9.-]{1,190}$")


def attachments_max_bytes() -> int:
    """The most an agent may attach to one message, all files and inline images together.

    Half the mail size limit: base64 makes files a third bigger in the mail, and the
    bodies and headers need room too.
    """
    limit = getattr(settings, "COMPOSER_ATTACHMENTS_MAX_BYTES", None)
    return int(limit) if limit else settings.MAIL_MAX_BYTES // 2


@dataclass(frozen=True)
class Composed:
    body_html: str
    body_text: str
    attachments: list[NewAttachment]


def _referenced_cids(body_html: str) -> set[str]:
    return set(re.findall(r'src="cid:([^"]+)"', body_html))


def composed_clean(
    *,
    body_html: str = "",
    body_text: str = "",
    attachments: Sequence[NewAttachment] = (),
    empty_error: str,
) -> Composed:
    """Sanitize, derive the text version, check inline images and sizes; refuse an empty one."""
    body_html = sanitize_html(body_html or "")
    body_text = (body_text or "").strip()
    if body_html and not body_text:
        body_text = html_to_text(body_html).strip()
    if body_html and not body_text and "<img" not in body_html:
        # An editor's empty document (<div><br></div>) or markup with no words at all.
        body_html = ""
    referenced = _referenced_cids(body_html)
    seen: set[str] = set()
    kept: list[NewAttachment] = []
    for attachment in attachments:
        if attachment.is_inline or attachment.content_id:
            cid = attachment.content_id.strip().strip("<>")
            if not CONTENT_ID.match(cid):
                raise DomainError(
                    _("“%(name)s” has an invalid inline image id.") % {"name": attachment.filename}
                )
            if not attachment.content_type.startswith("image/"):
                raise DomainError(
                    _("“%(name)s” is not an image: only images can be shown in the text.")
                    % {"name": attachment.filename}
                )
            if cid in seen:
                raise DomainError(_("Two inline images have the same id “%(cid)s”.") % {"cid": cid})
            seen.add(cid)
            if cid in referenced:
                attachment = replace(attachment, content_id=cid, is_inline=True)
            else:
                attachment = replace(attachment, content_id="", is_inline=False)
        kept.append(attachment)
    total = sum(len(a.content) for a in kept)
    limit = attachments_max_bytes()
    if total > limit:
        raise DomainError(
            _("The attachments weigh %(total)s; an email can carry at most %(limit)s.")
            % {"total": filesizeformat(total), "limit": filesizeformat(limit)}
        )
    if not body_text.strip() and not body_html and not kept:
        raise DomainError(empty_error)
    return Composed(body_html=body_html, body_text=body_text, attachments=kept)

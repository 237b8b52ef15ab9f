"""The ticket page's timeline rows: messages and events, each rendered to HTML here.

A timeline row is the page's hot loop: 26 rows on a folded long history, each with a dozen
tags. Through the template engine every variable, `{% translate %}` and `{% url %}` of every
row cost a lookup chain (about a quarter of the page's time for the rows alone). Here the
labels are translated and the URLs reversed once per page, and each row is one f-string in
which every value goes through `_e`: Django's `escape` without its lazy-string wrapper,
which cost more than the escaping. Solicitation threads keep their template
(`solicitations/_thread.html`): they are few.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import dateformat, timezone
from django.utils.formats import get_format
from django.utils.html import linebreaks
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from comptoir.channels.email.timeline_states import mail_states_for_messages
from comptoir.core.templating.escape import esc as _e
from comptoir.tickets.event_sentences import event_sentence
from comptoir.tickets.models import Attachment, Event, Message, MessageKind
from comptoir.tickets.selectors_timeline import TimelineItem
from comptoir.tickets.templatetags.ticket_extras import message_html

_ID = 987654321  # reversed once, then replaced by each id


def _url_pattern(name: str) -> str:
    return reverse(name, args=[_ID]).replace(str(_ID), "{}")


@dataclass(frozen=True)
class _Page:
    """What every row of one page shares: labels in the active language, URL shapes."""

    kinds: dict[str, str]
    time_format: str
    system: str
    to: str
    cc: str
    original: str
    attachments: str
    sent: str
    sending: str
    automatically: str
    original_url: str
    download_url: str

    @classmethod
    def current(cls) -> _Page:
        return cls(
            kinds={value: str(label) for value, label in MessageKind.choices},
            time_format=get_format("SHORT_DATETIME_FORMAT"),
            system=_("System"),
            to=_("To:"),
            cc=_("Cc:"),
            original=_("Show the full original"),
            attachments=_("Attachments"),
            sent=_("Sent"),
            sending=_("Sending…"),
            automatically=_("automatically"),
            original_url=_url_pattern("message_original"),
            download_url=_url_pattern("attachment_download"),
        )


def timeline_rows(timeline: Sequence[TimelineItem]) -> list[dict[str, Any]]:
    """One row per item, oldest first: the item (`item`) and its HTML (`html`)."""
    page = _Page.current()
    message_ids = [item.message.pk for item in timeline if item.message]
    delivery, originals = mail_states_for_messages(message_ids=message_ids)
    rows = []
    for item in timeline:
        created = timezone.localtime(item.created_at)
        time_iso, time_label = created.isoformat(), dateformat.format(created, page.time_format)
        message = item.message
        if message is not None:
            html = _message_html(
                page,
                message,
                list(item.attachments),
                time_iso=time_iso,
                time_label=time_label,
                delivery=delivery.get(message.pk),
                has_original=message.pk in originals,
            )
        else:
            assert item.event is not None  # an item is a message or an event
            html = _event_html(page, item.event, time_iso=time_iso, time_label=time_label)
        rows.append({"item": item, "html": html})
    return rows


def _message_html(
    page: _Page,
    m: Message,
    attachments: list[Attachment],
    *,
    time_iso: str,
    time_label: str,
    delivery: tuple[str, str] | None,
    has_original: bool,
) -> SafeString:
    label = _e(page.kinds.get(m.kind, ""))
    kind = _e(m.kind)
    # body_html was sanitized (nh3) by the channel that stored it; body_text is escaped.
    body = message_html(m, attachments) if m.body_html else linebreaks(m.body_text, autoescape=True)
    parts = [
        f'<li class="tl-message tl-message--{kind}" id="message-{m.pk}">'
        f'<article aria-label="{label}"><header class="tl-message__head">'
        f'<span class="kind kind--{kind}">{label}</span>'
        f'<span class="tl-message__who">{_who(page, m)}</span>'
        f'<time class="tl-time" datetime="{_e(time_iso)}">{_e(time_label)}</time></header>'
    ]
    if m.to:
        cc = f" · {_e(page.cc)} {_e(', '.join(m.cc))}" if m.cc else ""
        parts.append(f'<p class="tl-message__to muted">{_e(page.to)} {_e(", ".join(m.to))}{cc}</p>')
    parts.append(f'<div class="tl-message__body prose">{body}</div>')
    if has_original:
        parts.append(
            f'<p class="tl-message__original"><a href="{_e(page.original_url.format(m.pk))}">'
            f"{_e(page.original)}</a></p>"
        )
    if delivery:
        parts.append(_delivery_html(page, *delivery))
    if attachments:
        parts.append(_attachments_html(page, attachments))
    parts.append("</article></li>")
    return mark_safe("".join(parts))


def _who(page: _Page, m: Message) -> str:
    if m.author:
        return _e(str(m.author))
    if m.sender_name and m.sender_email:
        return f'{_e(m.sender_name)} <span class="muted">&lt;{_e(m.sender_email)}&gt;</span>'
    if m.sender_name or m.sender_email:
        return _e(m.sender_name or m.sender_email)
    return f'<span class="muted">{_e(page.system)}</span>'


def _delivery_html(page: _Page, state: str, reason: str) -> str:
    if state == "sent":
        text = page.sent
    elif state == "failed":
        text = _("Not delivered: %(reason)s") % {"reason": reason}
    elif reason:
        text = _("Not sent yet, will retry (%(reason)s)") % {"reason": reason}
    else:
        text = page.sending
    return f'<p class="delivery delivery--{_e(state)}" role="status">{_e(text)}</p>'


def _attachments_html(page: _Page, attachments: Iterable[Attachment]) -> str:
    items = "".join(
        f'<li><a href="{_e(page.download_url.format(a.pk))}" download>'
        f'<span aria-hidden="true">📎</span> {_e(a.filename)}</a>'
        f' <span class="muted">({_e(filesizeformat(a.size))})</span></li>'
        for a in attachments
    )
    return f'<ul class="attachments" aria-label="{_e(page.attachments)}">{items}</ul>'


def _event_html(page: _Page, e: Event, *, time_iso: str, time_label: str) -> SafeString:
    by = _("by %(author)s") % {"author": e.author} if e.author else page.automatically
    return mark_safe(
        f'<li class="tl-event tl-event--{_e(e.kind)}">'
        f'<span class="tl-event__text">{_e(event_sentence(e))}</span>'
        f'<span class="tl-event__meta">{_e(by)} · '
        f'<time datetime="{_e(time_iso)}">{_e(time_label)}</time></span></li>'
    )

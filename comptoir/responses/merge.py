"""Merge fields (champs de fusion): one renderer for templates, replies and automatic mail.

A placeholder is `{{name}}` (spaces inside the braces allowed) where `name` is one entry of
an allow-list: the standard fields below, `contact.custom.<key>` for each custom field of the
workspace, and the extra names a caller declares (an acknowledgment's `delay_hours`). There
is no template language: no filters, no tags, no attribute access — a name is looked up in
a table of resolvers, and anything else is an unknown field, refused when a template is
saved (`validate`) and rendered empty (and reported) if it slips through.

A field with no value for this ticket renders empty and is reported in `Rendered.missing`,
so the composer can show it before sending: a raw placeholder never leaves. The one
exception is `{{ticket.history_link}}`, which only exists once the message is sent: a preview
keeps it as a placeholder (reported in `deferred`), the sending path renders with
`issue_history_link=True`, which issues the link (history_link.py) and puts its URL in.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.utils import formats, timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from comptoir.core import clock
from comptoir.core.errors import DomainError

if TYPE_CHECKING:
    from comptoir.accounts.models import User, Workspace
    from comptoir.responses.models import HistoryLink
    from comptoir.tickets.models import Message, Ticket

PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
HISTORY_LINK = "ticket.history_link"
CUSTOM_PREFIX = "contact.custom."
SUPPORTED_LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"


@dataclass(frozen=True)
class MergeField:
    name: str
    label: str | Promise
    group: str  # contact | ticket | agent | other | custom


STANDARD_FIELDS: tuple[MergeField, ...] = (
    MergeField("contact.first_name", _("Contact: first name"), "contact"),
    MergeField("contact.last_name", _("Contact: last name"), "contact"),
    MergeField("contact.full_name", _("Contact: full name"), "contact"),
    MergeField("contact.email", _("Contact: email"), "contact"),
    MergeField("contact.phone", _("Contact: phone"), "contact"),
    MergeField("contact.company", _("Contact: company"), "contact"),
    MergeField("ticket.number", _("Request: number"), "ticket"),
    MergeField("ticket.subject", _("Request: subject"), "ticket"),
    MergeField("ticket.channel", _("Request: channel"), "ticket"),
    MergeField("ticket.queue", _("Request: queue"), "ticket"),
    MergeField("ticket.workspace", _("Request: workspace"), "ticket"),
    MergeField("ticket.priority", _("Request: priority"), "ticket"),
    MergeField("ticket.contact_reason", _("Request: contact reason"), "ticket"),
    MergeField("ticket.created_date", _("Request: creation date"), "ticket"),
    MergeField(HISTORY_LINK, _("Link to the exchange history"), "ticket"),
    MergeField("agent.first_name", _("Agent: first name"), "agent"),
    MergeField("agent.last_name", _("Agent: last name"), "agent"),
    MergeField("agent.signature", _("Agent: signature"), "agent"),
    MergeField("today", _("Today's date"), "other"),
)
STANDARD_NAMES = frozenset(f.name for f in STANDARD_FIELDS)

# Other spellings accepted everywhere (the acknowledgments' first variables among them).
ALIASES: dict[str, str] = {"contact.name": "contact.full_name"}

GROUP_LABELS: dict[str, str | Promise] = {
    "contact": _("Contact"),
    "ticket": _("Request"),
    "agent": _("Agent"),
    "other": _("Other"),
    "custom": _("Custom fields"),
}


class UnknownMergeFields(DomainError):
    """A text names fields outside the allow-list."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        listed = ", ".join(f"{{{{{n}}}}}" for n in names)
        super().__init__(
            ngettext(
                "Unknown merge field: %(names)s. Insert fields with the field picker.",
                "Unknown merge fields: %(names)s. Insert fields with the field picker.",
                len(names),
            )
            % {"names": listed}
        )


def placeholders(text: str) -> list[str]:
    """The names of every placeholder of `text`, once each, in order of appearance."""
    seen: list[str] = []
    for name in PLACEHOLDER.findall(text or ""):
        if name not in seen:
            seen.append(name)
    return seen


def custom_fields(workspace: Workspace | int) -> list[MergeField]:
    """`contact.custom.<key>` for every custom field of the workspace."""
    from comptoir.contacts.models import CustomField

    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    return [
        MergeField(CUSTOM_PREFIX + key, label, "custom")
        for key, label in CustomField.objects.filter(workspace_id=workspace_id)
        .order_by("position", "label")
        .values_list("key", "label")
    ]


def available_fields(workspace: Workspace | int) -> list[MergeField]:
    """Every field a template of this workspace may use (what the picker offers)."""
    return [*STANDARD_FIELDS, *custom_fields(workspace)]


def field_groups(workspace: Workspace | int) -> list[tuple[str, list[MergeField]]]:
    """The picker's groups: (label, fields), in display order, empty groups left out."""
    groups: dict[str, list[MergeField]] = {}
    for f in available_fields(workspace):
        groups.setdefault(f.group, []).append(f)
    return [(str(GROUP_LABELS[g]), groups[g]) for g in GROUP_LABELS if g in groups]


def unknown_fields(
    text: str, workspace: Workspace | int | None, *, extra: Iterable[str] = ()
) -> list[str]:
    """Names used in `text` that the renderer does not know for this workspace."""
    names = placeholders(text)
    if not names:
        return []
    allowed = set(STANDARD_NAMES) | set(ALIASES) | set(extra)
    if workspace is not None and any(n.startswith(CUSTOM_PREFIX) for n in names):
        allowed |= {f.name for f in custom_fields(workspace)}
    return [n for n in names if n not in allowed]


def validate(text: str, workspace: Workspace | int | None, *, extra: Iterable[str] = ()) -> None:
    """Refuse (UnknownMergeFields) a text naming a field outside the allow-list."""
    if unknown := unknown_fields(text, workspace, extra=extra):
        raise UnknownMergeFields(unknown)


@dataclass
class Rendered:
    text: str
    # Known fields with no value here: rendered empty, to show the agent before sending.
    missing: list[str] = field(default_factory=list)
    # Unknown names (not in the allow-list): rendered empty too.
    unknown: list[str] = field(default_factory=list)
    # Fields left as placeholders, filled when the message is sent (the history link).
    deferred: list[str] = field(default_factory=list)
    history_link_url: str = ""

    @property
    def missing_fields(self) -> list[str]:
        """Everything that rendered empty, as one list for the agent."""
        return [*self.missing, *self.unknown]


def _language(ticket: Ticket | None, language: str | None) -> str:
    if language in SUPPORTED_LANGUAGES:
        return language  # type: ignore[return-value]
    contact = ticket.contact if ticket is not None and ticket.contact_id else None
    code = getattr(contact, "language", "") or ""
    return code if code in SUPPORTED_LANGUAGES else DEFAULT_LANGUAGE


class MergeContext:
    """The values of one ticket/agent/moment, computed on first use and kept.

    Reuse one context to render a message's HTML and text (and subject): they then share
    one issued history link.
    """

    def __init__(
        self,
        *,
        ticket: Ticket | None = None,
        agent: User | None = None,
        now: datetime | None = None,
        language: str | None = None,
        extra: Mapping[str, object] | None = None,
        recipient: str = "",
        issue_history_link: bool = False,
    ) -> None:
        self.ticket = ticket
        self.agent = agent
        self.now = now or clock.now()
        self.language = _language(ticket, language)
        self.extra = {k: ("" if v is None else str(v)) for k, v in (extra or {}).items()}
        self.recipient = recipient
        self.issue_history_link = issue_history_link
        self.history_link_url = ""
        self.history_link: HistoryLink | None = None
        self._values: dict[str, str] = {}
        self._custom: dict[str, str] | None = None

    # Lookup ------------------------------------------------------------------------------

    def known(self, name: str) -> bool:
        name = ALIASES.get(name, name)
        if name in STANDARD_NAMES or name in self.extra:
            return True
        return name.startswith(CUSTOM_PREFIX) and name[len(CUSTOM_PREFIX) :] in self._customs()

    def value(self, name: str) -> str:
        """The field's text ("" when it has no value here); the name must be known."""
        name = ALIASES.get(name, name)
        if name in self.extra:
            return self.extra[name]
        if name not in self._values:
            with translation.override(self.language):
                self._values[name] = self._compute(name)
        return self._values[name]

    # Values ------------------------------------------------------------------------------

    def _customs(self) -> dict[str, str]:
        if self._custom is None:
            self._custom = {}
            if self.ticket is not None:
                from comptoir.contacts.models import CustomField, CustomFieldValue, FieldType

                fields = list(CustomField.objects.filter(workspace_id=self.ticket.workspace_id))
                values: dict[int, str] = {}
                if self.ticket.contact_id:
                    values = dict(
                        CustomFieldValue.objects.filter(
                            contact_id=self.ticket.contact_id, field__in=fields
                        ).values_list("field_id", "value")
                    )
                for f in fields:
                    raw = (values.get(f.pk) or "").strip()
                    if raw and f.field_type == FieldType.DATE:
                        raw = self._date_text(raw)
                    self._custom[f.key] = raw
        return self._custom

    def _date_text(self, value: date | datetime | str) -> str:
        if isinstance(value, str):
            try:
                day = date.fromisoformat(value)
            except ValueError:
                return value
        elif isinstance(value, datetime):
            day = timezone.localtime(value).date()
        else:
            day = value
        with translation.override(self.language):
            return str(formats.date_format(day, "DATE_FORMAT"))

    def _identity(self, kind: str) -> str:
        from comptoir.contacts.models import ContactIdentity

        if self.ticket is None or not self.ticket.contact_id:
            return ""
        value = (
            ContactIdentity.objects.filter(contact_id=self.ticket.contact_id, kind=kind)
            .order_by("-is_primary", "id")
            .values_list("value", flat=True)
            .first()
        )
        return value or ""

    def _compute(self, name: str) -> str:
        if name.startswith(CUSTOM_PREFIX):
            return self._customs().get(name[len(CUSTOM_PREFIX) :], "")
        if name == "today":
            return self._date_text(self.now)
        if name.startswith("agent."):
            return self._agent_value(name)
        if name.startswith("contact."):
            return self._contact_value(name)
        return self._ticket_value(name)

    def _agent_value(self, name: str) -> str:
        agent = self.agent
        if agent is None:
            return ""
        if name == "agent.first_name":
            return agent.first_name
        if name == "agent.last_name":
            return agent.last_name
        if name == "agent.signature":
            return agent.signature.strip()
        return ""

    def _contact_value(self, name: str) -> str:
        ticket = self.ticket
        if ticket is None:
            return ""
        contact = ticket.contact if ticket.contact_id else None
        if name == "contact.email":
            return self._identity("email") or ticket.requester_email
        if name == "contact.phone":
            return self._identity("phone")
        if name == "contact.full_name":
            return (contact.full_name if contact else "") or ticket.requester_name
        if contact is None:
            return ""
        if name == "contact.first_name":
            return contact.first_name
        if name == "contact.last_name":
            return contact.last_name
        if name == "contact.company":
            return contact.company
        return ""

    def _ticket_value(self, name: str) -> str:
        from comptoir.tickets.models import Channel, Priority

        ticket = self.ticket
        if ticket is None:
            return ""
        if name == "ticket.number":
            return str(ticket.number)
        if name == "ticket.subject":
            return ticket.subject
        if name == "ticket.channel":
            return _choice_label(Channel, ticket.channel)
        if name == "ticket.priority":
            return _choice_label(Priority, ticket.priority)
        if name == "ticket.queue":
            return ticket.queue.name
        if name == "ticket.workspace":
            return ticket.workspace.name
        if name == "ticket.contact_reason":
            return ticket.contact_reason.name if ticket.contact_reason_id else ""  # type: ignore[union-attr]
        if name == "ticket.created_date":
            return self._date_text(ticket.created_at)
        if name == HISTORY_LINK:
            return self._history_link()
        return ""

    def _history_link(self) -> str:
        if not self.history_link_url and self.ticket is not None:
            from comptoir.responses.history_link import history_link_create, history_link_url

            self.history_link = history_link_create(
                ticket=self.ticket, recipient=self.recipient, now=self.now, issued_by=self.agent
            )
            contact = self.ticket.contact if self.ticket.contact_id else None
            self.history_link_url = history_link_url(
                self.history_link, language=getattr(contact, "language", "") or ""
            )
        return self.history_link_url


def _choice_label(choices: Any, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def render(
    text: str,
    *,
    ticket: Ticket | None = None,
    agent: User | None = None,
    now: datetime | None = None,
    html: bool = False,
    one_line: bool = False,
    language: str | None = None,
    extra: Mapping[str, object] | None = None,
    recipient: str = "",
    issue_history_link: bool = False,
    context: MergeContext | None = None,
) -> Rendered:
    """Fill the placeholders of `text` for this ticket, agent and moment.

    `html`: `text` is (sanitized) HTML; values are escaped and the result sanitized again,
    so no value can add markup or a `javascript:` link. `one_line` flattens whitespace (a
    subject). `issue_history_link` issues the history link (send time only); otherwise
    `{{ticket.history_link}}` stays a placeholder and is listed in `deferred`.
    """
    ctx = context or MergeContext(
        ticket=ticket,
        agent=agent,
        now=now,
        language=language,
        extra=extra,
        recipient=recipient,
        issue_history_link=issue_history_link,
    )
    result = Rendered(text="")

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if not ctx.known(name):
            if name not in result.unknown:
                result.unknown.append(name)
            return ""
        if ALIASES.get(name, name) == HISTORY_LINK and not (
            ctx.issue_history_link and ctx.ticket is not None
        ):
            if HISTORY_LINK not in result.deferred:
                result.deferred.append(HISTORY_LINK)
            return "{{" + HISTORY_LINK + "}}"
        value = ctx.value(name)
        if not value.strip():
            if name not in result.missing:
                result.missing.append(name)
            return ""
        if one_line:
            value = " ".join(value.split())
        if html:
            # Braces escaped too: a value never becomes a placeholder of a later pass.
            value = (
                html_lib.escape(value)
                .replace("{", "&#123;")
                .replace("}", "&#125;")
                .replace("\n", "<br>")
            )
        return value

    rendered = PLACEHOLDER.sub(fill, text or "")
    if html:
        from comptoir.core.sanitize import sanitize_html

        rendered = sanitize_html(rendered)
    elif one_line:
        rendered = " ".join(rendered.split())
    result.text = rendered
    result.history_link_url = ctx.history_link_url
    return result


@dataclass
class RenderedMessage:
    html: str
    text: str
    subject: str
    missing: list[str]
    history_link: HistoryLink | None
    history_link_url: str = ""

    def attach(self, message: Message) -> None:
        """Record on the issued link which message carried it (call once the row exists)."""
        if self.history_link is not None and self.history_link.message_id is None:
            self.history_link.message = message
            self.history_link.save(update_fields=["message"])


def render_outgoing(
    *,
    ticket: Ticket,
    agent: User | None,
    body_html: str = "",
    body_text: str = "",
    subject: str = "",
    recipient: str = "",
    now: datetime | None = None,
    extra: Mapping[str, object] | None = None,
) -> RenderedMessage:
    """The sending path: fill an outgoing message's parts, issuing the history link if used.

    Call it in the sending transaction with the send time as `now`; the parts share one
    context, so a message that names `{{ticket.history_link}}` in its HTML and text issues
    one link. Anything still empty is in `missing` (the composer showed it before sending).
    """
    ctx = MergeContext(
        ticket=ticket,
        agent=agent,
        now=now,
        extra=extra,
        recipient=recipient,
        issue_history_link=True,
    )
    html = render(body_html, html=True, context=ctx) if body_html else None
    text = render(body_text, context=ctx) if body_text else None
    subj = render(subject, one_line=True, context=ctx) if subject else None
    missing: list[str] = []
    for part in (html, text, subj):
        for name in part.missing_fields if part else []:
            if name not in missing:
                missing.append(name)
    return RenderedMessage(
        html=html.text if html else "",
        text=text.text if text else "",
        subject=subj.text if subj else "",
        missing=missing,
        history_link=ctx.history_link,
        history_link_url=ctx.history_link_url,
    )

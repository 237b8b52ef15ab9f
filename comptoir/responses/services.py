"""Writes on response templates: each checks `manage_templates` and runs in one transaction."""

from __future__ import annotations

import base64
import binascii
import html as html_lib
import re
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from comptoir.accounts.models import Queue, Team, User, Workspace
from comptoir.accounts.rights import Right, has_right
from comptoir.core import clock
from comptoir.core.errors import DomainError, NotAllowed
from comptoir.core.sanitize import sanitize_html
from comptoir.responses import merge
from comptoir.responses.models import ResponseTemplate, ResponseTemplateAttachment
from comptoir.tickets.safe_names import safe_filename
from comptoir.tickets.services import NewAttachment

NAME_MAX = 200
_CONTENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,200}$")
_DATA_IMG = re.compile(r'(\ssrc=")data:(image/[a-z0-9.+-]+);base64,([^"]*)(")', re.I)
_SRC = re.compile(r'(\ssrc=")([^"]*)(")')


@dataclass(frozen=True)
class NewTemplateFile:
    filename: str
    content: bytes
    content_type: str = "application/octet-stream"
    is_inline: bool = False
    content_id: str = ""


def _require(user: User, workspace_id: int) -> None:
    if not has_right(user, workspace_id, Right.MANAGE_TEMPLATES):
        raise NotAllowed(_("You may not manage the templates of this workspace."))


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError(_("Give the template a name."))
    if len(name) > NAME_MAX:
        raise DomainError(_("The name is too long (200 characters at most)."))
    return name


def _scope(
    workspace: Workspace, queue_ids: Iterable[int], team_ids: Iterable[int]
) -> tuple[list[Queue], list[Team]]:
    queue_ids, team_ids = set(queue_ids), set(team_ids)
    queues = list(Queue.objects.filter(workspace=workspace, pk__in=queue_ids))
    teams = list(Team.objects.filter(workspace=workspace, pk__in=team_ids))
    if len(queues) != len(queue_ids) or len(teams) != len(team_ids):
        raise DomainError(_("Choose queues and teams of the template's workspace."))
    return queues, teams


def new_content_id() -> str:
    """A fresh id for an inline image (`cid:` in the body)."""
    return f"img-{secrets.token_hex(8)}@comptoir"


def _store(template: ResponseTemplate, new: NewTemplateFile) -> ResponseTemplateAttachment:
    content_id = new.content_id.strip()
    if new.is_inline:
        content_id = content_id or new_content_id()
        if not _CONTENT_ID.match(content_id):
            raise DomainError(_("Invalid image id: %(id)s") % {"id": content_id})
    attachment = ResponseTemplateAttachment(
        tenant_id=template.tenant_id,
        template=template,
        filename=safe_filename(new.filename or "file"),
        content_type=new.content_type or "application/octet-stream",
        size=len(new.content),
        content_id=content_id,
        is_inline=new.is_inline,
    )
    attachment.file.save(new.filename or "file", ContentFile(new.content), save=False)
    attachment.save()
    return attachment


def editor_image_url(attachment: ResponseTemplateAttachment) -> str:
    """Where the editor loads an inline image from (mapped back to `cid:` at save)."""
    return reverse("template_attachment_download", args=[attachment.pk])


def editor_html(
    body_html: str,
    attachments: Iterable[ResponseTemplateAttachment],
    pending: dict[str, str] | None = None,
) -> str:
    """Stored (sanitized) HTML with `cid:` images pointing at files the editor can load.

    `pending` maps content ids of images not stored yet (a form shown again with its
    errors) to `data:` URLs.
    """
    urls = {a.content_id: editor_image_url(a) for a in attachments if a.is_inline}
    urls.update(pending or {})

    def swap(match: re.Match[str]) -> str:
        value = html_lib.unescape(match.group(2))
        if value[:4].lower() == "cid:" and value[4:] in urls:
            url = html_lib.escape(urls[value[4:]])
            cid = html_lib.escape(value[4:])
            return f'{match.group(1)}{url}" data-cid="{cid}{match.group(3)}'
        return match.group(0)

    return _SRC.sub(swap, body_html or "")


def body_for_editor(template: ResponseTemplate) -> str:
    """The stored body with its images loadable by the editor."""
    return editor_html(template.body_html, template.attachments.all())


def editor_body_to_cid(html: str, attachments: Iterable[ResponseTemplateAttachment]) -> str:
    """The editor's HTML with our image URLs turned back into `cid:` references."""
    by_url = {editor_image_url(a): a.content_id for a in attachments if a.is_inline}

    def back_to_cid(match: re.Match[str]) -> str:
        path = urlsplit(html_lib.unescape(match.group(2))).path
        if path in by_url:
            return f"{match.group(1)}cid:{html_lib.escape(by_url[path])}{match.group(3)}"
        return match.group(0)

    return _SRC.sub(back_to_cid, html or "")


def _body_to_store(template: ResponseTemplate, body_html: str) -> str:
    """The editor's HTML with images as `cid:` references, embedded images stored, sanitized."""

    def embedded(match: re.Match[str]) -> str:
        content_type = match.group(2).lower()
        try:
            content = base64.b64decode(html_lib.unescape(match.group(3)), validate=False)
        except (binascii.Error, ValueError):
            return match.group(1) + match.group(4)
        ext = content_type.split("/", 1)[1].split("+", 1)[0]
        stored = _store(
            template,
            NewTemplateFile(f"image.{ext}", content, content_type, is_inline=True),
        )
        return f"{match.group(1)}cid:{stored.content_id}{match.group(4)}"

    body_html = editor_body_to_cid(body_html, template.attachments.all())
    body_html = _DATA_IMG.sub(embedded, body_html)
    return sanitize_html(body_html)


def _drop_unused_images(template: ResponseTemplate) -> None:
    # An image removed from the editor is no longer part of the template.
    body = html_lib.unescape(template.body_html)
    for a in template.attachments.filter(is_inline=True):
        if f"cid:{a.content_id}" not in body:
            _delete_after_commit(a)


def _delete_after_commit(attachment: ResponseTemplateAttachment) -> None:
    file = attachment.file
    attachment.delete()
    transaction.on_commit(lambda: file.delete(save=False))


def _check_size(template: ResponseTemplate) -> None:
    total = sum(template.attachments.values_list("size", flat=True))
    # A template's files go out with every use: keep room in the mail for the agent's own.
    if total > settings.MAIL_MAX_BYTES // 2:
        raise DomainError(_("The attachments are too large for an email."))


def _save_body(
    template: ResponseTemplate,
    body_html: str,
    files: Sequence[NewTemplateFile],
    remove_attachment_ids: Iterable[int] = (),
) -> None:
    # Refused before any file is written.
    merge.validate(body_html or "", template.workspace_id)
    for new in files:
        _store(template, new)
    remove = set(remove_attachment_ids)
    if remove:
        for a in template.attachments.filter(pk__in=remove, is_inline=False):
            _delete_after_commit(a)
    template.body_html = _body_to_store(template, body_html)
    merge.validate(template.body_html, template.workspace_id)
    template.save(update_fields=["body_html"])
    _drop_unused_images(template)
    _check_size(template)


@transaction.atomic
def template_create(
    *,
    user: User,
    workspace: Workspace,
    name: str,
    body_html: str,
    is_active: bool = True,
    queue_ids: Iterable[int] = (),
    team_ids: Iterable[int] = (),
    files: Sequence[NewTemplateFile] = (),
    now: datetime | None = None,
) -> ResponseTemplate:
    """Add a template to a workspace; unknown merge fields are refused (UnknownMergeFields)."""
    now = now or clock.now()
    _require(user, workspace.pk)
    queues, teams = _scope(workspace, queue_ids, team_ids)
    template = ResponseTemplate.objects.create(
        tenant_id=workspace.tenant_id,
        workspace=workspace,
        name=_clean_name(name),
        is_active=is_active,
        created_by=user,
        updated_by=user,
        created_at=now,
        updated_at=now,
    )
    template.queues.set(queues)
    template.teams.set(teams)
    _save_body(template, body_html, files)
    return template


@transaction.atomic
def template_update(
    *,
    user: User,
    template: ResponseTemplate,
    name: str | None = None,
    body_html: str | None = None,
    queue_ids: Iterable[int] | None = None,
    team_ids: Iterable[int] | None = None,
    files: Sequence[NewTemplateFile] = (),
    remove_attachment_ids: Iterable[int] = (),
    now: datetime | None = None,
) -> ResponseTemplate:
    """Edit a template; the change applies to its next use (sent messages keep their text)."""
    now = now or clock.now()
    _require(user, template.workspace_id)
    if name is not None:
        template.name = _clean_name(name)
    if queue_ids is not None or team_ids is not None:
        queues, teams = _scope(
            template.workspace,
            queue_ids if queue_ids is not None else template.queues.values_list("pk", flat=True),
            team_ids if team_ids is not None else template.teams.values_list("pk", flat=True),
        )
        template.queues.set(queues)
        template.teams.set(teams)
    template.updated_by = user
    template.updated_at = now
    template.save(update_fields=["name", "updated_by", "updated_at"])
    _save_body(
        template,
        template.body_html if body_html is None else body_html,
        files,
        remove_attachment_ids,
    )
    return template


@transaction.atomic
def template_set_active(
    *, user: User, template: ResponseTemplate, active: bool, now: datetime | None = None
) -> ResponseTemplate:
    """Show (active) or hide (inactive) the template in the composer's picker."""
    _require(user, template.workspace_id)
    if template.is_active != active:
        template.is_active = active
        template.updated_by = user
        template.updated_at = now or clock.now()
        template.save(update_fields=["is_active", "updated_by", "updated_at"])
    return template


@transaction.atomic
def template_delete(*, user: User, template: ResponseTemplate) -> None:
    """Delete a template and its files (messages already sent keep their copies)."""
    _require(user, template.workspace_id)
    files = [a.file for a in template.attachments.all()]
    template.delete()

    def remove_files() -> None:
        for f in files:
            f.delete(save=False)

    transaction.on_commit(remove_files)


def template_files_for_message(
    template: ResponseTemplate, *, exclude_ids: Iterable[int] = ()
) -> list[NewAttachment]:
    """The template's files as attachments of an outgoing message (minus those removed).

    Inline images keep their content id, so the body's `cid:` references still resolve.
    """
    excluded = set(exclude_ids)
    out: list[NewAttachment] = []
    for a in template.attachments.order_by("id"):
        if a.pk in excluded:
            continue
        with a.file.open("rb") as handle:
            content = handle.read()
        out.append(
            NewAttachment(
                filename=a.filename,
                content=content,
                content_type=a.content_type,
                content_id=a.content_id,
                is_inline=a.is_inline,
            )
        )
    return out

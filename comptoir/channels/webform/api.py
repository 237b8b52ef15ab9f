"""`POST /api/v1/webform/{key}`: a site's own form (or its server) posting JSON.

Public by design (no authentication, like the HTML form): the same validation as the page,
422 with the errors per field, CORS for the form's allowed origins (any site when none is
set; a browser from another origin is refused with 403), rate limits per IP and address,
attachments as base64 within the same size and type limits. An `Idempotency-Key` header
makes a retried post return the first post's ticket.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from ninja import Router, Schema

from comptoir.channels.webform import http, selectors
from comptoir.channels.webform.conf import limit
from comptoir.channels.webform.files import as_attachments, too_big_error
from comptoir.channels.webform.forms import CUSTOM_PREFIX, HONEYPOT, SubmissionForm
from comptoir.channels.webform.language import finish, public_language
from comptoir.channels.webform.models import WebForm
from comptoir.channels.webform.services import SubmissionData, webform_submit

logger = logging.getLogger(__name__)
router = Router(tags=["web form (public)"])

_TEXT_FIELDS = ("name", "email", "phone", "subject", "message", HONEYPOT)


class SubmittedOut(Schema):
    number: int | None
    detail: str


class FieldErrorOut(Schema):
    message: str
    code: str


class WebFormErrorsOut(Schema):
    detail: str
    errors: dict[str, list[FieldErrorOut]]


class PublicErrorOut(Schema):
    detail: str


_ATTACHMENT_SCHEMA = {
    "type": "object",
    "required": ["filename", "content_base64"],
    "properties": {
        "filename": {"type": "string", "example": "facture.pdf"},
        "content_base64": {"type": "string", "format": "byte"},
    },
}
_BODY_SCHEMA = {
    "type": "object",
    "required": ["name", "email", "subject", "message"],
    "properties": {
        "name": {"type": "string", "maxLength": 200},
        "email": {"type": "string", "format": "email"},
        "phone": {"type": "string", "maxLength": 40},
        "subject": {"type": "string", "maxLength": 200},
        "message": {"type": "string", "maxLength": 20000},
        "custom_fields": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "description": "Values of the workspace's custom fields shown on the form, by key.",
        },
        "attachments": {"type": "array", "items": _ATTACHMENT_SCHEMA},
        "website": {"type": "string", "description": "Honeypot: leave empty."},
    },
}


def _json(
    request: HttpRequest, web_form: WebForm | None, payload: dict[str, Any], status: int
) -> HttpResponse:
    response = JsonResponse(payload, status=status)
    http.add_cors(request, response, web_form)
    response["Cache-Control"] = "no-store"
    return response


def _error(request: HttpRequest, web_form: WebForm | None, detail: str, status: int) -> Any:
    return _json(request, web_form, {"detail": detail}, status)


def _field_errors(form: SubmissionForm) -> dict[str, list[dict[str, str]]]:
    errors: dict[str, list[dict[str, str]]] = {}
    for name, items in form.errors.get_json_data().items():
        key = name
        if name.startswith(CUSTOM_PREFIX):
            key = "custom_fields." + name.removeprefix(CUSTOM_PREFIX)
        errors[key] = [{"message": str(e["message"]), "code": str(e["code"] or "")} for e in items]
    return errors


def _decode_attachments(
    items: Any,
) -> tuple[list[SimpleUploadedFile], list[dict[str, str]]]:
    files: list[SimpleUploadedFile] = []
    errors: list[dict[str, str]] = []
    if items in (None, []):
        return files, errors
    if not isinstance(items, list):
        return files, [{"message": _("Attachments must be a list."), "code": "invalid"}]
    max_bytes = int(limit("WEBFORM_MAX_FILE_BYTES"))
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("content_base64"), str):
            errors.append(
                {
                    "message": _("Each attachment needs a filename and content_base64."),
                    "code": "invalid",
                }
            )
            continue
        filename = str(item.get("filename") or "")
        encoded = item["content_base64"]
        # Checked before decoding: base64 is 4 characters for 3 bytes.
        if len(encoded) * 3 // 4 > max_bytes + 3:
            size = len(encoded) * 3 // 4
            errors.append({"message": too_big_error(filename, size), "code": "too_big"})
            continue
        try:
            content = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            errors.append(
                {
                    "message": _("“%(name)s” is not valid base64.") % {"name": filename},
                    "code": "invalid",
                }
            )
            continue
        files.append(SimpleUploadedFile(filename or "attachment", content))
    return files, errors


@router.api_operation(
    ["OPTIONS"],
    "/webform/{key}",
    auth=None,
    summary="CORS preflight of the public web form",
    response={204: None},
)
def webform_preflight(request: HttpRequest, key: str) -> HttpResponse:
    """Answer a browser's preflight with the form's CORS headers (none for other origins)."""
    response = HttpResponse(status=204)
    http.add_cors(request, response, selectors.public_form(key))
    return response


@router.post(
    "/webform/{key}",
    auth=None,
    summary="Submit the public web form (JSON)",
    response={
        201: SubmittedOut,
        202: SubmittedOut,
        400: PublicErrorOut,
        403: PublicErrorOut,
        404: PublicErrorOut,
        413: PublicErrorOut,
        422: WebFormErrorsOut,
        429: PublicErrorOut,
        503: PublicErrorOut,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BODY_SCHEMA}},
        },
        "parameters": [
            {
                "in": "query",
                "name": "lang",
                "required": False,
                "schema": {"type": "string", "enum": ["fr", "en"]},
                "description": "Language of the messages (else Accept-Language, else French).",
            },
            {
                "in": "header",
                "name": "Idempotency-Key",
                "required": False,
                "schema": {"type": "string", "maxLength": 128},
                "description": "A retried post with the same key returns the first ticket.",
            },
        ],
    },
)
def webform_submit_json(request: HttpRequest, key: str) -> HttpResponse:
    """Create a ticket from a JSON submission: 201 with its number, or 422 with field errors."""
    language, _chosen = public_language(request)
    with translation.override(language):
        response = _submit(request, key, language)
    finish(request, response, language, False)
    return response


def _submit(request: HttpRequest, key: str, language: str) -> HttpResponse:
    web_form = selectors.public_form(key)
    if web_form is None:
        return _error(request, None, _("This form is not available."), 404)
    if not http.origin_allowed(request, web_form):
        return _error(request, web_form, _("This site may not post to this form."), 403)
    max_bytes = int(limit("WEBFORM_MAX_TOTAL_BYTES")) * 4 // 3 + 1024 * 1024
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    too_big = _("What you sent is too big. Attach smaller or fewer files and send again.")
    if length > max_bytes:
        return _error(request, web_form, too_big, 413)
    if http.ip_limited(request):
        response = _error(request, web_form, _("Too many requests; please try again later."), 429)
        response["Retry-After"] = http.retry_after()
        return response
    http.count_post(request)
    # The stream, not request.body: that one refuses bodies over DATA_UPLOAD_MAX_MEMORY_SIZE.
    raw = request.read(max_bytes + 1)
    if len(raw) > max_bytes:
        return _error(request, web_form, too_big, 413)
    try:
        payload = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        payload = None
    if not isinstance(payload, dict):
        return _error(request, web_form, _("The body must be a JSON object."), 400)
    data = {k: str(payload.get(k) or "") for k in _TEXT_FIELDS}
    custom = payload.get("custom_fields") or {}
    if isinstance(custom, dict):
        data.update({CUSTOM_PREFIX + str(k): str(v) for k, v in custom.items() if v is not None})
    files, file_errors = _decode_attachments(payload.get("attachments"))
    fields = selectors.form_custom_fields(web_form)
    form = SubmissionForm(data, MultiValueDict({"attachments": files}), custom_fields=fields)
    if form.is_spam:
        return _json(request, web_form, {"number": None, "detail": _("Thank you.")}, 202)
    valid = form.is_valid()
    if not valid or file_errors:
        errors = _field_errors(form)
        if file_errors:
            errors.setdefault("attachments", [])[:0] = file_errors
        detail = _("Please correct the fields listed in errors.")
        return _json(request, web_form, {"detail": detail, "errors": errors}, 422)
    email = form.cleaned_data["email"]
    if http.email_limited(email):
        response = _error(request, web_form, _("Too many requests; please try again later."), 429)
        response["Retry-After"] = http.retry_after()
        return response
    submission = SubmissionData(
        name=form.cleaned_data["name"],
        email=email,
        phone=form.cleaned_data["phone"],
        subject=form.cleaned_data["subject"],
        message=form.cleaned_data["message"],
        custom_values=form.custom_values(),
        attachments=as_attachments(form.uploads),
        language=language,
    )
    nonce = request.headers.get("Idempotency-Key", "").strip()[:128]
    try:
        result = webform_submit(
            web_form=web_form,
            data=submission,
            custom_fields=fields,
            nonce=f"api:{nonce}" if nonce else "",
        )
    except DatabaseError:
        logger.exception("web form %s: submission not stored", web_form.pk)
        response = _error(
            request, web_form, _("The request could not be saved; please retry later."), 503
        )
        response["Retry-After"] = "30"
        return response
    if result.created:
        http.count_submission(email)
    detail = _("Your request number is %(number)s.") % {"number": result.ticket.number}
    return _json(request, web_form, {"number": result.ticket.number, "detail": detail}, 201)

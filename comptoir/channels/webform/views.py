"""The public form pages: the form (plain page or embedded in an iframe) and its confirmation.

CSRF: these views are `csrf_exempt`, on purpose. Embedded in an iframe on a customer's
site, the form lives in a third-party context where browsers withhold our cookies (Django's
CSRF cookie is SameSite=Lax; Safari and Firefox block or partition third-party cookies, and
SameSite=None would need HTTPS everywhere), so Django's cookie-based CSRF check would refuse
every embedded post. CSRF protects what a signed-in user's cookies allow; this form uses no
cookie and grants nothing a direct POST could not, so a forged cross-site post gains an
attacker nothing. What the form does need is protection from abuse, and that is:
- a signed render token (tokens.py): a post must come from a form we rendered for this key
  within a day, and its nonce makes a double post give one ticket;
- a honeypot field that people never see;
- rate limits per IP (every post) and per email address (accepted submissions);
- limits on the number, size and type of files.
The session is never read here, so being signed in as an agent changes nothing.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from comptoir.channels.webform import http, selectors, tokens
from comptoir.channels.webform.conf import limit, max_request_bytes
from comptoir.channels.webform.files import as_attachments
from comptoir.channels.webform.forms import SubmissionForm
from comptoir.channels.webform.language import with_public_language
from comptoir.channels.webform.models import WebForm
from comptoir.channels.webform.services import SubmissionData, webform_submit

logger = logging.getLogger(__name__)


def _context_query(request: HttpRequest) -> str:
    """The query string that keeps the page's language and embedding across posts."""
    params = {"lang": get_language()}
    if request.GET.get("embed") == "1":
        params["embed"] = "1"
    return urlencode(params)


def _page(
    request: HttpRequest,
    web_form: WebForm | None,
    template: str,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    context.update(
        web_form=web_form,
        embed=request.GET.get("embed") == "1",
        query=_context_query(request),
    )
    response = render(request, template, context, status=status)
    response["Cache-Control"] = "no-store"
    return http.allow_framing(response, web_form)


def _unavailable(request: HttpRequest) -> HttpResponse:
    return _page(request, None, "webform/unavailable.html", {}, status=404)


def _form_page(
    request: HttpRequest,
    web_form: WebForm,
    form: SubmissionForm,
    *,
    status: int = 200,
    alert: str = "",
) -> HttpResponse:
    context = {
        "form": form,
        "token": tokens.render_token(web_form.public_key),
        "alert": alert,
        "max_file_bytes": int(limit("WEBFORM_MAX_FILE_BYTES")),
        "max_files": int(limit("WEBFORM_MAX_FILES")),
        "accept": ",".join("." + e for e in limit("WEBFORM_ALLOWED_EXTENSIONS")),
    }
    return _page(request, web_form, "webform/form.html", context, status=status)


@csrf_exempt
@require_http_methods(["GET", "POST"])
@with_public_language
def form_view(request: HttpRequest, key: str) -> HttpResponse:
    """Show the form; on post, validate and create the ticket, then confirm (post/redirect/get)."""
    web_form = selectors.public_form(key)
    if web_form is None:
        return _unavailable(request)
    fields = selectors.form_custom_fields(web_form)
    if request.method != "POST":
        return _form_page(request, web_form, SubmissionForm(custom_fields=fields))
    return _post(request, web_form, fields)


def _post(request: HttpRequest, web_form: WebForm, fields: list[Any]) -> HttpResponse:
    if int(request.META.get("CONTENT_LENGTH") or 0) > max_request_bytes():
        # Refused before parsing: nothing of an oversized body is read into the form.
        form = SubmissionForm(custom_fields=fields)
        alert = _("What you sent is too big. Attach smaller or fewer files and send again.")
        return _form_page(request, web_form, form, status=413, alert=alert)
    if http.ip_limited(request):
        return _rate_limited(request, web_form, fields)
    http.count_post(request)
    form = SubmissionForm(request.POST, request.FILES, custom_fields=fields)
    if form.is_spam:
        # The bot is shown the ordinary confirmation, without a number, and nothing is kept.
        return _page(request, web_form, "webform/thanks.html", {"number": None})
    nonce = tokens.render_nonce(str(request.POST.get("token", "")), web_form.public_key)
    if not form.is_valid():
        alert = _("Your files were not kept: please attach them again.") if request.FILES else ""
        return _form_page(request, web_form, form, alert=alert)
    if nonce is None:
        alert = _(
            "This form was open for too long. Please check your message, attach your files "
            "again if you had any, and send it again."
        )
        return _form_page(request, web_form, form, alert=alert)
    email = form.cleaned_data["email"]
    if http.email_limited(email):
        return _rate_limited(request, web_form, fields)
    data = SubmissionData(
        name=form.cleaned_data["name"],
        email=email,
        phone=form.cleaned_data["phone"],
        subject=form.cleaned_data["subject"],
        message=form.cleaned_data["message"],
        custom_values=form.custom_values(),
        attachments=as_attachments(form.uploads),
        language=get_language() or "fr",
    )
    try:
        result = webform_submit(web_form=web_form, data=data, custom_fields=fields, nonce=nonce)
    except DatabaseError:
        # Nothing was kept: say so, and give the visitor their text back to send again.
        logger.exception("web form %s: submission not stored", web_form.pk)
        alert = _(
            "Your request could not be saved just now. Please send it again in a moment "
            "(attach your files again if you had any)."
        )
        return _form_page(request, web_form, form, status=503, alert=alert)
    if result.created:
        http.count_submission(email)
    url = reverse(
        "webform_thanks",
        kwargs={
            "key": web_form.public_key,
            "token": tokens.thanks_token(web_form.public_key, result.ticket.number),
        },
    )
    return HttpResponseRedirect(f"{url}?{_context_query(request)}")


def _rate_limited(request: HttpRequest, web_form: WebForm, fields: list[Any]) -> HttpResponse:
    # The visitor's text is shown again, so waiting costs them nothing but time.
    form = SubmissionForm(initial=request.POST.dict(), custom_fields=fields)
    minutes = max(1, int(limit("WEBFORM_RATE_WINDOW_S")) // 60)
    alert = ngettext(
        "Too many requests were sent from here. Please try again in %(minutes)d minute.",
        "Too many requests were sent from here. Please try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}
    response = _form_page(request, web_form, form, status=429, alert=alert)
    response["Retry-After"] = http.retry_after()
    return response


@require_http_methods(["GET"])
@with_public_language
def thanks_view(request: HttpRequest, key: str, token: str) -> HttpResponse:
    """The confirmation page with the ticket's number."""
    web_form = selectors.public_form(key)
    number = tokens.thanks_number(token, key) if web_form is not None else None
    if web_form is None or number is None:
        return _unavailable(request)
    return _page(request, web_form, "webform/thanks.html", {"number": number})

"""The visitor's language on public web-form pages.

The agent desk ignores Accept-Language on purpose (core/middleware.py): a French team's
desk opens in French. A visitor of a public form is not an agent, so these pages follow,
in order: `?lang=fr|en` (the embed snippet passes the host page's language), the language
cookie, the browser's Accept-Language, then French. Scoped to the web-form views only.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation.trans_real import parse_accept_lang_header


def _supported() -> set[str]:
    return {code for code, _ in settings.LANGUAGES}


def public_language(request: HttpRequest) -> tuple[str, bool]:
    """(language, explicitly chosen by ?lang=) for a public request."""
    supported = _supported()
    asked = str(request.GET.get("lang", "")).lower()[:2]
    if asked in supported:
        return asked, True
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
    if cookie in supported:
        return cookie, False
    for code, _q in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        short = code.lower().split("-")[0]
        if short in supported:
            return short, False
    return settings.LANGUAGE_CODE, False


def finish(request: HttpRequest, response: HttpResponse, language: str, chosen: bool) -> None:
    """Mark the response with its language, and remember an explicit ?lang= choice."""
    response["Content-Language"] = language
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    if chosen:
        # Lax (Django's default): a cross-site iframe may not store it, which is why the
        # embed passes ?lang= on every URL instead of relying on the cookie.
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE or "Lax",
        )


def with_public_language(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Run `view` in the visitor's language (see the module docstring)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language, chosen = public_language(request)
        with translation.override(language):
            request.LANGUAGE_CODE = language
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
        finish(request, response, language, chosen)
        return response

    return wrapper

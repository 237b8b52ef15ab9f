"""Response headers of the public form: who may frame it, who may post to its API, limits."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from comptoir.channels.webform.conf import limit
from comptoir.channels.webform.models import WebForm
from comptoir.core import ratelimit

CORS_METHODS = "POST, OPTIONS"
CORS_HEADERS = "Content-Type, Accept-Language, Idempotency-Key"


def allow_framing(response: HttpResponse, web_form: WebForm | None) -> HttpResponse:
    """Let the form's allowed origins (any site when none is set) put the page in a frame.

    X-Frame-Options cannot name several origins, so the page is exempted from it and
    CSP frame-ancestors, which every current browser applies, says who may frame it.
    """
    origins = web_form.origins if web_form is not None else []
    ancestors = " ".join(["'self'", *origins]) if origins else "*"
    response["Content-Security-Policy"] = f"frame-ancestors {ancestors}"
    response.xframe_options_exempt = True  # type: ignore[attr-defined]
    return response


def origin_allowed(request: HttpRequest, web_form: WebForm) -> bool:
    """A request without Origin (a server posting) or from an allowed origin."""
    origin = request.headers.get("Origin", "")
    if not origin or not web_form.origins:
        return True
    return origin.rstrip("/").lower() in web_form.origins


def add_cors(request: HttpRequest, response: HttpResponse, web_form: WebForm | None) -> None:
    """CORS headers for the API: the caller's origin when allowed, `*` when any site is."""
    origin = request.headers.get("Origin", "")
    patch_vary_headers(response, ("Origin",))
    if web_form is None or not origin:
        return
    if not web_form.origins:
        response["Access-Control-Allow-Origin"] = "*"
    elif origin.rstrip("/").lower() in web_form.origins:
        response["Access-Control-Allow-Origin"] = origin
    else:
        return
    response["Access-Control-Allow-Methods"] = CORS_METHODS
    response["Access-Control-Allow-Headers"] = CORS_HEADERS
    response["Access-Control-Max-Age"] = "600"


def client_ip(request: HttpRequest) -> str:
    """The peer address (as the login limit counts it); behind a proxy, REMOTE_ADDR must be it."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def ip_key(request: HttpRequest) -> ratelimit.RateKey:
    return ("webform-ip", client_ip(request))


def email_key(email: str) -> ratelimit.RateKey:
    return ("webform-email", email.strip().lower())


def ip_limited(request: HttpRequest) -> bool:
    return ratelimit.is_limited([ip_key(request)], limit=int(limit("WEBFORM_RATE_LIMIT_IP")))


def email_limited(email: str) -> bool:
    return bool(email) and ratelimit.is_limited(
        [email_key(email)], limit=int(limit("WEBFORM_RATE_LIMIT_EMAIL"))
    )


def count_post(request: HttpRequest) -> None:
    ratelimit.record_failure([ip_key(request)], window_s=int(limit("WEBFORM_RATE_WINDOW_S")))


def count_submission(email: str) -> None:
    ratelimit.record_failure([email_key(email)], window_s=int(limit("WEBFORM_RATE_WINDOW_S")))


def retry_after() -> str:
    return str(int(limit("WEBFORM_RATE_WINDOW_S")))

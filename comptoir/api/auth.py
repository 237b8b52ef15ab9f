"""Who is calling the API: a bearer token, or the agent's browser session."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja.errors import AuthenticationError, HttpError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from comptoir.accounts.models import User
from comptoir.accounts.services import token_authenticate

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class BearerAuth(HttpBearer):
    """`Authorization: Bearer <key>` with a key from `comptoir token create`."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = token_authenticate(token.strip()) if token.strip() else None
        if user is None:
            # A wrong token is refused outright rather than falling back to the session,
            # so a script never silently acts as whoever is logged in in the browser.
            raise AuthenticationError()
        request.user = user
        return user


class SessionAuth(APIKeyCookie):
    """The logged-in agent's Django session, so the docs page can try the API.

    Unlike ninja's own, the CSRF check runs only once a session user is found, so a
    token-less POST answers 401 rather than a misleading CSRF 403; and it is still
    enforced for every unsafe method a session authenticates.
    """

    param_name = settings.SESSION_COOKIE_NAME

    def __init__(self) -> None:
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not user.is_active:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise HttpError(403, "CSRF check failed.")
        return user


def agent(request: HttpRequest) -> User:
    """The authenticated agent of an API request."""
    return request.auth  # type: ignore[attr-defined,no-any-return]

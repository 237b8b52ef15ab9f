"""The REST API: one NinjaAPI mounted at /api/v1/, its auth, error mapping and routers."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja import NinjaAPI
from ninja.errors import AuthenticationError
from ninja.openapi.docs import Swagger
from ninja.operation import Operation

from comptoir.api import contacts, organisation, ticket_actions, tickets
from comptoir.api.auth import BearerAuth, SessionAuth
from comptoir.channels.email import api as inbound_email
from comptoir.channels.email import api_replies
from comptoir.channels.webform import api as webform_api
from comptoir.core.errors import Conflict, DomainError, NotAllowed, NotFound
from comptoir.dashboard import api as dashboard_api
from comptoir.responses import api as responses_api
from comptoir.search import api as search_api
from comptoir.solicitations import api as solicitations_api
from comptoir.waiting import api as waiting_api


class OfflineSwagger(Swagger):
    """Swagger UI from our vendored static files: the docs page never loads a CDN."""

    template = "api/docs.html"
    # validatorUrl None: otherwise the UI sends the schema to validator.swagger.io.
    default_settings = {"layout": "BaseLayout", "deepLinking": True, "validatorUrl": None}

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        # ninja falls back to its CDN template unless "ninja" is an installed app; always ours.
        settings = {**self.settings, "url": self.get_openapi_url(api, kwargs)}
        context = {"swagger_settings": json.dumps(settings), "api": api, "add_csrf": True}
        return render(request, self.template, context)


class ComptoirAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        # "tickets_list" rather than ninja's "comptoir_api_tickets_tickets_list".
        return operation.view_func.__name__


api = ComptoirAPI(
    title="Comptoir API",
    version="1",
    description=(
        "Authenticate with `Authorization: Bearer <key>` (`comptoir token create --email …` "
        "prints a key), or with your logged-in session from this page."
    ),
    urls_namespace="api",
    auth=[BearerAuth(), SessionAuth()],
    docs=OfflineSwagger(),
)


def _error(request: HttpRequest, message: str, status: int) -> HttpResponse:
    return api.create_response(request, {"detail": message}, status=status)


@api.exception_handler(AuthenticationError)
def _unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = _error(request, "Authentication required: send a valid bearer token.", 401)
    response["WWW-Authenticate"] = 'Bearer realm="comptoir"'
    return response


@api.exception_handler(NotFound)
def _not_found(request: HttpRequest, exc: NotFound) -> HttpResponse:
    # Same answer whether the object is missing or belongs to someone else.
    return _error(request, "Not found.", 404)


@api.exception_handler(NotAllowed)
def _not_allowed(request: HttpRequest, exc: NotAllowed) -> HttpResponse:
    return _error(request, str(exc) or "Not allowed.", 403)


@api.exception_handler(Conflict)
def _conflict(request: HttpRequest, exc: Conflict) -> HttpResponse:
    return _error(request, str(exc), 409)


@api.exception_handler(DomainError)
def _refused(request: HttpRequest, exc: DomainError) -> HttpResponse:
    return _error(request, str(exc), 422)


api.add_router("", tickets.router)
api.add_router("", contacts.router)
api.add_router("", organisation.router)
api.add_router("", inbound_email.router)
api.add_router("", ticket_actions.router)
api.add_router("", api_replies.router)
api.add_router("", webform_api.router)
api.add_router("", search_api.router)
api.add_router("", dashboard_api.router)
api.add_router("", waiting_api.router)
api.add_router("", responses_api.router)
api.add_router("", solicitations_api.router)

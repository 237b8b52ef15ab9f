"""Every URL and API route, given another workspace's or tenant's object, answers 404/403.

The walk enumerates the URL resolver and the OpenAPI schema, so a new route with an id
parameter fails here until it is given a foreign object to try: no route is forgotten.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from comptoir.accounts.services import token_create
from comptoir.responses.testing import foreign_objects as responses_foreign_objects
from comptoir.solicitations.testing import foreign_objects as solicitations_foreign_objects
from comptoir.testing.cast import PASSWORD, Cast
from comptoir.tickets.models import MessageKind
from comptoir.tickets.services import NewAttachment, message_add, ticket_create
from comptoir.waiting.models import WaitingMessage

# URL prefixes that hold no tenant data of their own, or are checked elsewhere.
# "webform/" (and /api/v1/webform/ below): public by design, addressed by an unguessable
# public key rather than an id, and showing nothing of the tenant's data.
SKIPPED_PREFIXES = ("admin/", "i18n/", "api/v1/", "static/", "media/", "webform/")
PUBLIC_API_PREFIXES = ("/api/v1/webform/",)


def _walk(patterns: list[Any], prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for p in patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            yield route, p


def url_routes() -> list[str]:
    routes = []
    for route, _ in _walk(get_resolver().url_patterns):
        if route.startswith(SKIPPED_PREFIXES):
            continue
        if "<" in route:
            routes.append(route)
    return sorted(set(routes))


def api_routes() -> list[tuple[str, str]]:
    from comptoir.api.urls import api

    schema = api.get_openapi_schema()
    out = []
    for path, methods in schema["paths"].items():
        if "{" not in path or path.startswith(PUBLIC_API_PREFIXES):
            continue
        for method in methods:
            out.append((method.upper(), path))
    return sorted(out)


def _foreign_objects(cast: Cast, where: str) -> dict[str, int]:
    """Ids of objects `cast.boutique_agent` must never reach, by URL parameter name."""
    queue = cast.other_queue if where == "tenant" else cast.assurance_queue
    ticket = ticket_create(queue=queue, channel="email", subject="secret")
    message = message_add(
        ticket=ticket,
        kind=MessageKind.INBOUND,
        body_text="secret body",
        attachments=[NewAttachment("secret.txt", b"secret", "text/plain")],
    )
    contact = cast.other_contact
    workspace = cast.other_workspace if where == "tenant" else cast.assurance
    return {
        "ticket_id": ticket.pk,
        "number": ticket.number,
        "message_id": message.pk,
        "attachment_id": message.attachments.get().pk,
        "contact_id": contact.pk,
        "workspace_id": workspace.pk,
        "queue_id": queue.pk,
        **responses_foreign_objects(cast, where, ticket),
        **solicitations_foreign_objects(cast, where, ticket),
        "waiting_message_id": WaitingMessage.objects.create(
            tenant_id=workspace.tenant_id, workspace=workspace, title="secret", body="secret"
        ).pk,
    }


def _fill(route: str, ids: dict[str, int], style: str) -> str:
    pattern = r"<(?:\w+:)?(\w+)>" if style == "django" else r"\{(\w+)\}"

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        assert name in ids, f"route {route!r} has a parameter {name!r} with no foreign object"
        return str(ids[name])

    return re.sub(pattern, sub, route)


@pytest.mark.parametrize("where", ["tenant", "workspace"])
@pytest.mark.parametrize("route", url_routes())
def test_every_page_refuses_foreign_objects(client, cast, route, where):
    ids = _foreign_objects(cast, where)
    client.login(email=cast.boutique_agent.email, password=PASSWORD)
    url = "/" + _fill(route, ids, "django")
    for method in ("get", "post"):
        response = getattr(client, method)(url)
        assert response.status_code in (403, 404, 405), (method, url, response.status_code)
        assert b"secret" not in response.content


@pytest.mark.parametrize("where", ["tenant", "workspace"])
@pytest.mark.parametrize("method, route", api_routes())
def test_every_api_route_refuses_foreign_objects(client, cast, method, route, where):
    ids = _foreign_objects(cast, where)
    key = token_create(user=cast.boutique_agent)
    url = _fill(route, ids, "api")
    response = client.generic(
        method,
        url,
        data="{}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {key}",
    )
    assert response.status_code in (403, 404), (method, url, response.status_code)
    assert b"secret" not in response.content


def test_the_walk_finds_the_routes_it_must_cover():
    # Guards the walk itself: if enumeration broke, the tests above would pass on nothing.
    routes = url_routes()
    assert any("ticket_id" in r for r in routes)
    assert any("contact_id" in r for r in routes)
    assert any("attachment_id" in r for r in routes)
    assert any("ticket_id" in r for _, r in api_routes())

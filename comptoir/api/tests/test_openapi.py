"""The OpenAPI document and the interactive docs, served without any outside host."""

from __future__ import annotations

import re

import pytest
from django.contrib.staticfiles import finders
from openapi_spec_validator import validate

from comptoir.api.urls import api

pytestmark = pytest.mark.django_db


def _declared_routes() -> set[tuple[str, str]]:
    routes = set()
    for prefix, router in api._routers:
        for path, path_view in router.path_operations.items():
            full = "/api/v1/" + "/".join(p.strip("/") for p in (prefix, path) if p.strip("/"))
            for operation in path_view.operations:
                for method in operation.methods:
                    routes.add((method.lower(), full))
    return routes


def test_the_openapi_document_is_valid_and_lists_every_route(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    validate(schema)
    assert schema["openapi"].startswith("3.")
    documented = {(m, p) for p, ops in schema["paths"].items() for m in ops}
    declared = _declared_routes()
    assert declared == documented
    assert {
        ("get", "/api/v1/tickets"),
        ("get", "/api/v1/tickets/{ticket_id}"),
        ("get", "/api/v1/contacts"),
        ("post", "/api/v1/contacts"),
        ("get", "/api/v1/contacts/{contact_id}"),
        ("get", "/api/v1/workspaces"),
        ("get", "/api/v1/queues"),
    } <= documented


def test_every_route_requires_authentication_in_the_document(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert set(schema["components"]["securitySchemes"]) == {"BearerAuth", "SessionAuth"}
    for path, operations in schema["paths"].items():
        if path.startswith("/api/v1/webform/"):
            # The public web form: no authentication by design (its own rate limits).
            assert all("security" not in op for op in operations.values())
            continue
        for operation in operations.values():
            assert {"BearerAuth": []} in operation["security"]


def test_the_docs_page_loads_only_local_files(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    # Nothing that a browser would fetch may point off-site.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html)
    assert "cdn" not in html.lower()
    assert "unpkg" not in html.lower()
    assets = re.findall(r"""(?:src|href)="(/static/[^"]+)\"""", html)
    assert {
        "/static/vendor/swagger-ui/swagger-ui-bundle.js",
        "/static/vendor/swagger-ui/swagger-ui.css",
        "/static/api/swagger-init.js",
    } <= set(assets)
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset
    assert '"url": "/api/v1/openapi.json"' in html
    assert '"validatorUrl": null' in html

"""Who may call the API: bearer tokens, and the browser session with its CSRF check."""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from comptoir.accounts.models import ApiToken
from comptoir.accounts.services import token_create

pytestmark = pytest.mark.django_db


def _get(path: str, key: str | None = None, client: Client | None = None):
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return (client or Client()).get("/api/v1" + path, headers=headers)


def test_a_request_without_token_answers_401_in_json(cast):
    response = _get("/tickets")
    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_token_answers_401(cast):
    assert _get("/tickets", key="cpt_not-a-real-key").status_code == 401


def test_an_empty_bearer_answers_401(cast):
    assert _get("/tickets", key="").status_code == 401


def test_a_revoked_token_answers_401(cast):
    key = token_create(user=cast.boutique_agent)
    assert _get("/tickets", key=key).status_code == 200
    ApiToken.objects.filter(key_hash=ApiToken.hash(key)).update(revoked_at=timezone.now())
    assert _get("/tickets", key=key).status_code == 401


def test_the_token_of_a_deactivated_agent_answers_401(cast):
    key = token_create(user=cast.boutique_agent)
    cast.boutique_agent.is_active = False
    cast.boutique_agent.save(update_fields=["is_active"])
    assert _get("/tickets", key=key).status_code == 401


def test_a_good_token_answers_as_its_agent(cast):
    key = token_create(user=cast.boutique_agent)
    response = _get("/workspaces", key=key)
    assert response.status_code == 200
    assert [w["name"] for w in response.json()] == ["Boutique"]


def test_a_bad_token_is_refused_even_with_a_logged_in_session(cast):
    client = Client()
    client.force_login(cast.boutique_agent)
    assert _get("/workspaces", key="cpt_wrong", client=client).status_code == 401


def test_the_logged_in_session_may_read_the_api(cast):
    client = Client()
    client.force_login(cast.boutique_agent)
    response = client.get("/api/v1/workspaces")
    assert response.status_code == 200
    assert [w["name"] for w in response.json()] == ["Boutique"]


def test_a_session_write_without_csrf_token_is_refused(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.boutique_agent)
    response = client.post(
        "/api/v1/contacts", {"first_name": "Zoé"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_a_session_write_with_the_csrf_token_of_the_docs_page_succeeds(cast):
    client = Client(enforce_csrf_checks=True)
    client.force_login(cast.boutique_agent)
    assert client.get("/api/v1/docs").status_code == 200
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/api/v1/contacts",
        {"first_name": "Zoé"},
        content_type="application/json",
        headers={"X-CSRFToken": token},
    )
    assert response.status_code == 201


def test_a_token_write_needs_no_csrf_token(cast):
    key = token_create(user=cast.boutique_agent)
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/contacts",
        {"first_name": "Zoé"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 201


def test_an_anonymous_write_answers_401_not_a_csrf_error(cast):
    response = Client(enforce_csrf_checks=True).post(
        "/api/v1/contacts", {"first_name": "Zoé"}, content_type="application/json"
    )
    assert response.status_code == 401

"""GET /workspaces and GET /queues."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_workspaces_are_those_the_agent_holds_a_role_in(cast, api_as):
    assert [w["name"] for w in api_as(cast.boutique_agent).get("/workspaces").json()] == [
        "Boutique"
    ]
    assert [w["name"] for w in api_as(cast.admin).get("/workspaces").json()] == [
        "Assurance",
        "Boutique",
    ]
    assert set(api_as(cast.admin).get("/workspaces").json()[0]) == {"id", "name", "slug"}


def test_queues_of_the_agents_workspaces(cast, api_as):
    body = api_as(cast.boutique_agent).get("/queues").json()
    assert [(q["name"], q["workspace"]["name"]) for q in body] == [
        ("Commandes", "Boutique"),
        ("Retours", "Boutique"),
    ]


def test_queues_filtered_by_workspace(cast, api_as):
    body = api_as(cast.admin).get("/queues", {"workspace": cast.assurance.pk}).json()
    assert [q["id"] for q in body] == [cast.assurance_queue.pk]


def test_queues_of_a_workspace_the_agent_cannot_see_answer_404(cast, api_as):
    api = api_as(cast.boutique_agent)
    assert api.get("/queues", {"workspace": cast.assurance.pk}).status_code == 404
    assert api.get("/queues", {"workspace": cast.other_workspace.pk}).status_code == 404

"""The search page (full page, htmx fragment, no JS) and GET /api/v1/search."""

from __future__ import annotations

import pytest
from django.urls import reverse

from comptoir.accounts.services import token_create
from comptoir.tickets.models import MessageKind
from comptoir.tickets.services import message_add, ticket_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def tickets(cast):
    mine = ticket_create(queue=cast.boutique_queue, channel="email", subject="Vélo <b>volé</b>")
    message_add(ticket=mine, kind=MessageKind.INBOUND, body_text="Mon vélo a été volé hier.")
    theirs = ticket_create(queue=cast.other_queue, channel="email", subject="Vélo étranger")
    return {"mine": mine, "theirs": theirs}


def _login(client, user):
    client.force_login(user)
    return client


def test_the_page_shows_highlighted_results_of_visible_tickets(client, cast, tickets):
    page = _login(client, cast.boutique_agent).get(reverse("search"), {"q": "velo"})
    assert page.status_code == 200
    html = page.content.decode()
    assert "<!doctype html>" in html.lower()  # a whole page without htmx
    assert f'href="/tickets/{tickets["mine"].pk}/"' in html
    assert "<mark>Vélo</mark> &lt;b&gt;volé&lt;/b&gt;" in html
    assert "Mon <mark>vélo</mark>" in html
    assert f"/tickets/{tickets['theirs'].pk}/" not in html
    assert 'value="velo"' in html  # the top-bar box keeps the query


def test_htmx_gets_only_the_results(client, cast, tickets):
    page = _login(client, cast.boutique_agent).get(
        reverse("search"), {"q": "vélo"}, headers={"HX-Request": "true"}
    )
    html = page.content.decode()
    assert page.status_code == 200
    assert html.lstrip().startswith('<div id="search-page"')
    assert "<mark>" in html and "<html" not in html


@pytest.mark.parametrize("q", ["", '"', "-velo", "*", "a" * 5000, "((", "\x00"])
def test_odd_queries_answer_200_with_a_message(client, cast, tickets, q):
    page = _login(client, cast.boutique_agent).get(reverse("search"), {"q": q})
    assert page.status_code == 200


def test_the_page_needs_a_login(client):
    page = client.get(reverse("search"), {"q": "x"})
    assert page.status_code == 302 and "/login/" in page["Location"]


def test_page_in_english(client, cast, tickets):
    agent = _login(client, cast.boutique_agent)
    # The agent's language comes from the switcher's cookie (Accept-Language is ignored).
    agent.cookies["django_language"] = "en"
    page = agent.get(reverse("search"), {"q": "velo"})
    assert "1 matching request" in page.content.decode()


def test_api_search(client, cast, tickets):
    key = token_create(user=cast.boutique_agent, name="t")
    auth = {"Authorization": f"Bearer {key}"}
    answer = client.get("/api/v1/search", {"q": "velo vole"}, headers=auth)
    assert answer.status_code == 200, answer.content
    data = answer.json()
    assert data["total"] == 1 and not data["capped"]
    item = data["items"][0]
    assert item["ticket"]["id"] == tickets["mine"].pk
    assert item["subject_html"] == "<mark>Vélo</mark> &lt;b&gt;<mark>volé</mark>&lt;/b&gt;"
    assert "<mark>" in item["snippet_html"]
    # Another tenant's agent does not find it.
    other = token_create(user=cast.other_agent, name="t")
    theirs = client.get(
        "/api/v1/search", {"q": "velo"}, headers={"Authorization": f"Bearer {other}"}
    ).json()
    assert [i["ticket"]["id"] for i in theirs["items"]] == [tickets["theirs"].pk]


def test_api_refuses_what_cannot_be_searched(client, cast, tickets):
    key = token_create(user=cast.boutique_agent, name="t")
    auth = {"Authorization": f"Bearer {key}"}
    for q in ["", "-velo", "!!"]:
        answer = client.get("/api/v1/search", {"q": q}, headers=auth)
        assert answer.status_code == 422, (q, answer.content)
        assert answer.json()["detail"]
    assert client.get("/api/v1/search", {"q": "velo", "sort": "x"}, headers=auth).status_code == 422
    assert client.get("/api/v1/search", {"q": "velo"}).status_code == 401
    long = client.get("/api/v1/search", {"q": "velo " * 200}, headers=auth).json()
    assert long["notices"] and long["total"] == 1

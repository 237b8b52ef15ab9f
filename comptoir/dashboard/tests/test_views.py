"""The dashboard page and its JSON twin, through the real URL routing and auth."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse

from comptoir.accounts.services import token_create
from comptoir.dashboard.tests.helpers import reply_at, ticket_at, utc
from comptoir.tickets.services import ticket_close

pytestmark = pytest.mark.django_db

NOW = utc(2026, 3, 10, 11, 0)  # 12:00 in Paris


@pytest.fixture
def day(cast):
    """A morning in Boutique: three new tickets, one answered after 65 min, one closed."""
    a = ticket_at(cast.boutique_queue, utc(2026, 3, 10, 7, 0))
    reply_at(a, utc(2026, 3, 10, 8, 5))
    ticket_at(cast.boutique_queue, utc(2026, 3, 10, 8, 0), channel="phone")
    b = ticket_at(cast.boutique_queue_2, utc(2026, 3, 10, 9, 0), channel="webform")
    ticket_close(ticket=b, author=cast.admin, now=utc(2026, 3, 10, 10, 0))
    ticket_at(cast.assurance_queue, utc(2026, 2, 20, 9, 0))
    ticket_at(cast.other_queue, utc(2026, 3, 10, 9, 0))
    return cast


def _speak(client, language: str) -> None:
    """What the language switcher does: the agent's choice is kept in a cookie."""
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language


def _cells(html: str, workspace_id: int) -> dict[str, list[str]]:
    """Figure cells of one workspace's table, by figure name, rows in order (total last)."""
    section = re.search(
        rf'<section class="dashboard__workspace"[^>]*data-workspace="{workspace_id}".*?</section>',
        html,
        re.S,
    )
    assert section, f"no table for workspace {workspace_id}"
    cells: dict[str, list[str]] = {}
    for name, value in re.findall(r'data-figure="(\w+)">([^<]*)<', section.group(0)):
        cells.setdefault(name, []).append(value)
    return cells


@time_machine.travel(NOW, tick=False)
def test_page_shows_figures_per_queue_and_workspace_total_in_english(client, day):
    client.force_login(day.admin)
    _speak(client, "en")

    response = client.get(reverse("dashboard"))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "<h1>Dashboard</h1>" in html
    assert "Median first response" in html
    assert "New today" in html
    boutique = _cells(html, day.boutique.pk)
    # Rows: Commandes, Retours, Total.
    assert boutique["new"] == ["2", "1", "3"]
    assert boutique["open"] == ["2", "0", "2"]
    assert boutique["unassigned"] == ["2", "0", "2"]
    assert boutique["closed"] == ["0", "1", "1"]
    assert boutique["median"] == ["1 h 05 min", "—", "1 h 05 min"]
    assurance = _cells(html, day.assurance.pk)
    assert assurance["new"] == ["0", "0"]
    assert assurance["open"] == ["1", "1"]
    assert "Globex" not in html
    assert 'id="dashboard-chart-data"' in html
    assert "vendor/chartjs/chart.umd.min.js" in html
    assert 'hx-trigger="every 60s' in html


@time_machine.travel(NOW, tick=False)
def test_page_in_french(client, day):
    client.force_login(day.admin)
    _speak(client, "fr")

    html = client.get(reverse("dashboard")).content.decode()

    assert '<html lang="fr">' in html
    assert "<h1>Tableau de bord</h1>" in html
    assert _cells(html, day.boutique.pk)["median"][0] == "1 h 05 min"


@time_machine.travel(NOW, tick=False)
def test_chart_table_holds_the_30_days_and_the_channels(client, day):
    client.force_login(day.admin)
    _speak(client, "en")

    html = client.get(reverse("dashboard")).content.decode()

    table = re.search(r'<table class="table" id="dashboard-chart-table">.*?</table>', html, re.S)
    assert table
    assert len(re.findall(r"<tr data-day=", table.group(0))) == 30
    channels = re.findall(r'data-channel="(\w+)"', table.group(0))
    assert channels == ["email", "webform", "phone"]
    today = re.search(r'<tr data-day="2026-03-10">(.*?)</tr>', table.group(0), re.S)
    assert today
    assert re.findall(r'<td class="num">(\d+)</td>', today.group(1)) == ["1", "1", "1", "3"]


@time_machine.travel(NOW, tick=False)
def test_workspace_filter_and_htmx_refresh_answer_the_body_only(client, day):
    client.force_login(day.admin)
    url = reverse("dashboard") + f"?workspace={day.assurance.pk}"

    page = client.get(url).content.decode()
    partial = client.get(url, HTTP_HX_REQUEST="true").content.decode()

    assert f'data-workspace="{day.boutique.pk}"' not in page
    assert f'data-workspace="{day.assurance.pk}"' in page
    assert partial.lstrip().startswith('<div id="dashboard-body"')
    assert "<html" not in partial
    assert f'hx-get="/dashboard/?workspace={day.assurance.pk}"' in partial


def test_another_tenants_workspace_is_not_found(client, cast):
    client.force_login(cast.admin)

    url = reverse("dashboard")

    assert client.get(url, {"workspace": cast.other_workspace.pk}).status_code == 404
    assert client.get(url, {"workspace": "nonsense"}).status_code == 200


def test_an_agent_sees_only_its_workspace(client, cast):
    ticket_at(cast.assurance_queue, utc(2026, 3, 10, 9, 0))
    client.force_login(cast.boutique_agent)

    html = client.get(reverse("dashboard")).content.decode()

    assert f'data-workspace="{cast.boutique.pk}"' in html
    assert f'data-workspace="{cast.assurance.pk}"' not in html
    assert 'id="d-workspace"' not in html  # one workspace: no filter to offer
    assert client.get(reverse("dashboard"), {"workspace": cast.assurance.pk}).status_code == 404


def test_login_is_required(client, cast):
    response = client.get(reverse("dashboard"))

    assert response.status_code == 302
    assert "/login/" in response["Location"]


@time_machine.travel(NOW, tick=False)
def test_api_returns_the_same_figures(client, day):
    token = token_create(user=day.admin, name="test")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    data = client.get("/api/v1/dashboard", **auth).json()

    assert data["date"] == "2026-03-10"
    assert data["time_zone"] == "Europe/Paris"
    names = [w["name"] for w in data["workspaces"]]
    assert names == ["Assurance", "Boutique"]
    boutique = data["workspaces"][1]
    assert boutique["total"] == {
        "new": 3,
        "open": 2,
        "unassigned": 2,
        "closed_today": 1,
        "first_responses": 1,
        "median_first_response_seconds": 3900.0,
    }
    assert [(q["name"], q["new"], q["closed_today"]) for q in boutique["queues"]] == [
        ("Commandes", 2, 0),
        ("Retours", 1, 1),
    ]
    assert data["total"]["open"] == 3
    assert data["chart"]["days"][-1] == "2026-03-10"
    assert len(data["chart"]["days"]) == 30
    counts = {c["channel"]: c["counts"] for c in data["chart"]["channels"]}
    assert counts["email"][-1] == 1
    assert counts["email"][-19] == 1  # 20 February, Assurance
    assert "Globex" not in str(data)


@time_machine.travel(NOW, tick=False)
def test_api_workspace_filter_and_isolation(client, day):
    token = token_create(user=day.boutique_agent, name="test")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}

    mine = client.get(f"/api/v1/dashboard?workspace={day.boutique.pk}", **auth)
    other_ws = client.get(f"/api/v1/dashboard?workspace={day.assurance.pk}", **auth)
    other_tenant = client.get(f"/api/v1/dashboard?workspace={day.other_workspace.pk}", **auth)

    assert mine.status_code == 200
    assert [w["name"] for w in mine.json()["workspaces"]] == ["Boutique"]
    assert other_ws.status_code == 404
    assert other_tenant.status_code == 404
    assert client.get("/api/v1/dashboard").status_code == 401

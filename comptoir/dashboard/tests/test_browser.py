"""The dashboard in Chromium: the chart draws, its table says the same, htmx refreshes it."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Page, expect

from comptoir.dashboard.selectors import local_day, local_midnight
from comptoir.dashboard.tests.helpers import reply_at, ticket_at
from comptoir.testing.browser import login, mark_page, page_was_not_reloaded

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _empty_cache():
    # The login rate limit counts in the cache; each test starts with a clean slate.
    cache.clear()


def _earlier_today(minutes: int):
    """`minutes` ago, but never before today's local midnight (the live server's today)."""
    now = timezone.now()
    return max(now - timedelta(minutes=minutes), local_midnight(local_day(now)))


@pytest.fixture
def tickets(cast):
    now = timezone.now()
    answered = ticket_at(cast.boutique_queue, _earlier_today(50))
    reply_at(answered, now)
    ticket_at(cast.boutique_queue, _earlier_today(40), channel="phone")
    ticket_at(cast.boutique_queue_2, _earlier_today(30), channel="chat")
    ticket_at(cast.assurance_queue, now - timedelta(days=3), channel="webform")
    ticket_at(cast.assurance_queue, now - timedelta(days=12), channel="email")
    ticket_at(cast.other_queue, _earlier_today(20), channel="sms")  # another tenant
    return cast


def _number(text: str) -> int:
    return int(re.sub(r"\D", "", text) or 0)


def _chart_series(page: Page) -> dict[str, list[int]]:
    return page.evaluate(
        """() => {
          const chart = Chart.getChart(document.getElementById('dashboard-chart'));
          return Object.fromEntries(chart.data.datasets.map(d => [d.channel, d.data]));
        }"""
    )


def _canvas_has_ink(page: Page) -> bool:
    return page.evaluate(
        """() => {
          const c = document.getElementById('dashboard-chart');
          if (!c.width || !c.height) return false;
          const px = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
          for (let i = 3; i < px.length; i += 4) if (px[i] !== 0) return true;
          return false;
        }"""
    )


def _table_series(page: Page) -> dict[str, list[int]]:
    table = page.locator("#dashboard-chart-table")
    channels = table.locator("thead th[data-channel]").evaluate_all(
        "ths => ths.map(th => th.dataset.channel)"
    )
    rows = table.locator("tbody tr").evaluate_all(
        "trs => trs.map(tr => [...tr.querySelectorAll('td')].map(td => td.textContent))"
    )
    return {c: [_number(row[i]) for row in rows] for i, c in enumerate(channels)}


def _figure(page: Page, workspace_id: int, figure: str) -> str:
    cell = page.locator(
        f"section[data-workspace='{workspace_id}'] tfoot td[data-figure='{figure}']"
    )
    return cell.inner_text().strip()


@pytest.mark.parametrize(
    ("language", "heading", "summary"),
    [
        ("FR", "Tableau de bord", re.compile(r"tableau|table", re.I)),
        ("EN", "Dashboard", re.compile(r"table", re.I)),
    ],
)
def test_chart_renders_and_its_table_holds_the_same_numbers(
    page, live_server, tickets, language, heading, summary
):
    login(page, tickets.admin)
    page.goto("/dashboard/")
    if language == "EN":
        page.get_by_role("button", name="EN").click()

    expect(page.get_by_role("heading", level=1, name=heading)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", language.lower())
    expect(page.locator("#dashboard-chart")).to_have_attribute("data-rendered", "true")
    assert _canvas_has_ink(page)
    chart = _chart_series(page)
    assert sorted(chart) == ["chat", "email", "phone", "webform"]  # not the other tenant's sms
    assert sum(sum(v) for v in chart.values()) == 5

    page.locator("#dashboard-chart-details summary").filter(has_text=summary).click()
    expect(page.locator("#dashboard-chart-table")).to_be_visible()
    assert _table_series(page) == chart

    assert _figure(page, tickets.boutique.pk, "new") == "3"
    assert _figure(page, tickets.boutique.pk, "open") == "3"
    assert _figure(page, tickets.assurance.pk, "open") == "2"
    assert _figure(page, tickets.assurance.pk, "median") == "—"
    median = _figure(page, tickets.boutique.pk, "median")
    assert re.fullmatch(r"\d+ (s|min)|\d+ h \d\d min", median), median


def test_refresh_and_workspace_filter_swap_the_figures_without_reloading(
    page, live_server, tickets
):
    login(page, tickets.admin)
    page.goto("/dashboard/")
    expect(page.locator("#dashboard-chart")).to_have_attribute("data-rendered", "true")
    page.locator("#dashboard-chart-details summary").click()
    mark_page(page)

    ticket_at(tickets.boutique_queue, timezone.now(), channel="phone")
    # What the 60-second timer does, without waiting for it: the tab "becomes visible".
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")

    expect(
        page.locator(f"section[data-workspace='{tickets.boutique.pk}'] tfoot td[data-figure='new']")
    ).to_have_text("4")
    expect(page.locator("#dashboard-chart")).to_have_attribute("data-rendered", "true")
    expect(page.locator("#dashboard-chart-table")).to_be_visible()  # still open
    assert _table_series(page) == _chart_series(page)
    assert sum(_chart_series(page)["phone"]) == 2

    page.locator("#d-workspace").select_option(str(tickets.assurance.pk))
    expect(page.locator(f"section[data-workspace='{tickets.boutique.pk}']")).to_have_count(0)
    expect(page.locator(f"section[data-workspace='{tickets.assurance.pk}']")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"workspace={tickets.assurance.pk}"))
    # The swapped-in canvas is drawn after the swap settles; read it only once it is.
    expect(page.locator("#dashboard-chart")).to_have_attribute("data-rendered", "true")
    assert sorted(_chart_series(page)) == ["email", "webform"]
    assert page_was_not_reloaded(page)

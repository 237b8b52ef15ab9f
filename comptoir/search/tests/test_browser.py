"""Searching from the top bar in a real browser (Chromium): results while typing."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from comptoir.testing.browser import login, mark_page, page_was_not_reloaded
from comptoir.tickets.models import MessageKind
from comptoir.tickets.notes import note_add
from comptoir.tickets.services import message_add, ticket_create

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


def test_typing_in_the_top_bar_shows_highlighted_results_without_reload(page, cast):
    found = ticket_create(queue=cast.boutique_queue, channel="email", subject="Trottinette <b>")
    message_add(ticket=found, kind=MessageKind.INBOUND, body_text="Ma trottinette est cassée.")
    noted = ticket_create(queue=cast.boutique_queue, channel="email", subject="Autre demande")
    note_add(ticket=noted, author=cast.boutique_agent, body_text="Vue en magasin : trottinette")
    foreign = ticket_create(queue=cast.other_queue, channel="email", subject="Trottinette")
    login(page, cast.boutique_agent)
    mark_page(page)

    box = page.locator("#global-search")
    box.press_sequentially("trotinette", delay=20)  # a typo first: nothing found
    expect(page.locator("#search-page .empty")).to_be_visible()
    box.fill("")
    box.press_sequentially("TROTTINETTE", delay=20)
    hits = page.locator("#search-page .hit")
    expect(hits).to_have_count(2)
    expect(page).to_have_url(re.compile(r"/search/\?q=TROTTINETTE$"))
    assert page_was_not_reloaded(page)
    first = page.locator(f"#hit-{found.pk}")
    expect(first.locator("h2 mark")).to_have_text("Trottinette")
    expect(first.locator("h2")).to_contain_text("Trottinette <b>")  # shown as text, not HTML
    expect(page.locator(f"#hit-{noted.pk} .hit__snippet mark")).to_have_text("trottinette")
    expect(page.locator(f"#hit-{foreign.pk}")).to_have_count(0)

    # "Plus récentes" once the French catalogue has it; the link is found by its target.
    page.locator("#search-page .search__sort a[href*='sort=recent']").click()
    expect(page.locator("#search-page .hit").first).to_have_attribute("id", f"hit-{noted.pk}")
    assert page_was_not_reloaded(page)

    first_link = page.locator(f"#hit-{found.pk} h2 a")
    first_link.click()
    expect(page).to_have_url(re.compile(rf"/tickets/{found.pk}/$"))


def test_enter_in_the_box_and_odd_input(page, cast):
    ticket_create(queue=cast.boutique_queue, channel="email", subject="Parapluie")
    login(page, cast.boutique_agent)
    box = page.locator("#global-search")
    box.fill('"')
    box.press("Enter")
    expect(page.locator(".search__problem")).to_be_visible()
    box.fill("parapluie")
    box.press("Enter")
    expect(page.locator("#search-page .hit")).to_have_count(1)

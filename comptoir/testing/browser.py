"""Real-browser fixtures: Debian's Chromium, driven by Playwright, against the live server.

    pytestmark = pytest.mark.django_db(transaction=True)

    def test_x(page, live_server, cast):
        login(page, cast.boutique_agent)
        expect(page.get_by_role("heading", name="Demandes")).to_be_visible()

Registered for every test folder by the root conftest (`pytest_plugins`). The browser is
never downloaded (`playwright install` is not used): the tests drive /usr/bin/chromium and
are skipped, with that reason, where it is missing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

    from comptoir.accounts.models import User

# Playwright's sync API runs an event loop in the test thread, which makes Django refuse ORM
# calls there ("async context") although every call is in fact synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("COMPTOIR_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Long enough for a loaded machine (two pytest workers, each with Chromium and a live
# server, on two cores), short enough that a wrong assertion fails within seconds.
TIMEOUT_MS = int(os.environ.get("COMPTOIR_BROWSER_TIMEOUT_MS", "15000"))
VIEWPORT = {"width": 1400, "height": 900}


def launch_chromium(playwright: Any) -> Browser:
    """Start Debian's Chromium headless (never a downloaded browser)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One Chromium for the whole session (each test gets its own context)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as playwright:
        chromium = launch_chromium(playwright)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def new_page(browser: Browser, live_server: Any) -> Iterator[Callable[..., Page]]:
    """Open a page in a fresh context (its own cookies); `locale` is the browser's language."""
    contexts: list[BrowserContext] = []

    def make(locale: str = "fr-FR") -> Page:
        context = browser.new_context(
            base_url=live_server.url,
            locale=locale,
            viewport=VIEWPORT,  # type: ignore[arg-type]
        )
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    """A page of a French browser on the live server (`page.goto("/")` is the inbox)."""
    return new_page()


def login(page: Page, user: User, password: str | None = None) -> None:
    """Sign in through the login form and wait for the inbox."""
    from playwright.sync_api import expect

    from comptoir.testing.cast import PASSWORD

    page.goto("/login/")
    page.locator("#id_username").fill(user.email)
    page.locator("#id_password").fill(password or PASSWORD)
    page.locator("form[action='/login/'] button[type=submit]").click()
    expect(page.locator("#inbox-results")).to_be_visible()


def mark_page(page: Page) -> None:
    """Put a marker on `window`; it survives htmx swaps and vanishes on a full page load."""
    page.evaluate("window.__marker = 'still the same page'")


def page_was_not_reloaded(page: Page) -> bool:
    """True while the marker set by `mark_page` is still there."""
    return bool(page.evaluate("window.__marker === 'still the same page'"))

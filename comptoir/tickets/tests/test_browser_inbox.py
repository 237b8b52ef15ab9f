"""The inbox in a real browser: unread badges, the 3-second rule, mark unread, live updates.

Time in the page is Playwright's clock: paused, then moved on by exactly what each case
needs, so that "1 second" and "3 seconds" mean what they say even on a loaded machine.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, expect

from comptoir.testing.browser import login, mark_page, page_was_not_reloaded
from comptoir.tickets.models import EventKind, MessageKind, Status, Ticket
from comptoir.tickets.services import (
    message_add,
    ticket_change_status,
    ticket_create,
    ticket_mark_read,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()


def _ticket(queue, subject, *, minutes_ago, unread=False, status=Status.TO_PROCESS):
    ticket = ticket_create(
        queue=queue,
        channel="email",
        subject=subject,
        now=timezone.now() - timedelta(minutes=minutes_ago),
    )
    if status != Status.NEW:
        ticket_change_status(ticket=ticket, status=status, author=None)
    if unread:
        message_add(
            ticket=ticket,
            kind=MessageKind.INBOUND,
            body_text=f"Message : {subject}",
            sender_email="alice@example.com",
            now=timezone.now() - timedelta(minutes=minutes_ago),
        )
    return ticket


def _rows(page: Page):
    return page.locator("#inbox-results table.tickets tbody tr")


def _row(page: Page, subject: str):
    return _rows(page).filter(has_text=subject)


def _has_unread(ticket: Ticket) -> bool:
    return Ticket.objects.values_list("has_unread", flat=True).get(pk=ticket.pk)


def _pause(page: Page) -> None:
    """Stop the clock before the ticket opens: timers fire only when the test moves time.

    Paused on the inbox, the clock stays paused through the navigation, so the ticket page
    starts at a known time: pausing on the ticket page itself let an unknown stretch of real
    time (long on a loaded machine) count as time on screen, or even go back.
    """
    # A moment ahead of the page's clock, which keeps running until then; a number would be
    # read as seconds, hence the datetime. On a loaded machine that moment can pass before
    # Playwright gets to it ("Cannot fast-forward to the past"): read the clock again.
    for _attempt in range(5):
        now_ms = page.evaluate("Date.now()")
        try:
            page.clock.pause_at(datetime.fromtimestamp((now_ms + 200) / 1000, UTC))
            return
        except PlaywrightError as exc:
            if "to the past" not in str(exc):
                raise
    raise AssertionError("the page's clock kept running past every pause point")


def _login_with_clock(page: Page, user) -> None:
    """Log in, then load the inbox again under Playwright's clock (still running)."""
    login(page, user)
    page.clock.install()
    page.reload()
    expect(page.locator("#inbox-results")).to_be_visible()


def _open_ticket(page: Page, subject: str) -> None:
    page.locator("#inbox-results").get_by_role("link", name=subject).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(subject)
    # The heading shows before the deferred scripts run; on a loaded machine the read timer
    # could be armed only after the test had moved the clock, and that time not counted.
    page.wait_for_load_state("domcontentloaded")


def test_a_one_second_look_leaves_the_ticket_unread_three_seconds_read_it(page, cast):
    ticket = _ticket(cast.boutique_queue, "Colis abîmé", minutes_ago=5, unread=True)
    _login_with_clock(page, cast.boutique_agent)
    row = _row(page, "Colis abîmé")
    expect(row).to_have_class(re.compile(r"\bis-unread\b"))
    expect(row.locator(".unread-badge")).to_be_visible()

    _pause(page)
    _open_ticket(page, "Colis abîmé")
    state = page.locator("#read-state")
    expect(state).to_have_attribute("data-unread", "1")
    expect(state.locator(".readstate__badge")).to_be_visible()
    page.clock.run_for(1000)
    page.get_by_role("link", name="← Demandes").click()
    expect(_row(page, "Colis abîmé").locator(".unread-badge")).to_be_visible()
    assert _has_unread(ticket), "a one-second look marked the ticket read"

    _open_ticket(page, "Colis abîmé")
    page.clock.run_for(2500)
    expect(state).to_have_attribute("data-unread", "1")
    assert _has_unread(ticket)
    page.clock.run_for(600)  # 3.1 s on screen
    expect(state).to_have_attribute("data-unread", "0")
    expect(state.locator("form button[type=submit]")).to_be_visible()
    assert not _has_unread(ticket)

    page.get_by_role("link", name="← Demandes").click()
    row = _row(page, "Colis abîmé")
    expect(row).to_be_visible()
    expect(row).not_to_have_class(re.compile(r"\bis-unread\b"))
    expect(row.locator(".unread-badge")).to_have_count(0)


def test_time_on_a_hidden_tab_does_not_count(page, cast):
    ticket = _ticket(cast.boutique_queue, "Facture en double", minutes_ago=5, unread=True)
    _login_with_clock(page, cast.boutique_agent)
    _pause(page)
    _open_ticket(page, "Facture en double")
    page.clock.run_for(2000)
    _set_visibility(page, "hidden")
    page.clock.run_for(10_000)
    assert _has_unread(ticket), "time on a hidden tab counted"
    _set_visibility(page, "visible")
    page.clock.run_for(900)
    assert _has_unread(ticket)
    page.clock.run_for(200)  # 2 + 1.1 s visible
    expect(page.locator("#read-state")).to_have_attribute("data-unread", "0")
    assert not _has_unread(ticket)


def test_an_agent_marks_a_read_ticket_unread_again_and_it_stays_so(page, cast):
    ticket = _ticket(cast.boutique_queue, "Remboursement", minutes_ago=5, unread=True)
    ticket_mark_read(ticket=ticket, agent=cast.admin)
    _login_with_clock(page, cast.boutique_agent)
    expect(_row(page, "Remboursement").locator(".unread-badge")).to_have_count(0)
    _open_ticket(page, "Remboursement")
    _pause(page)
    mark_page(page)
    state = page.locator("#read-state")
    expect(state).to_have_attribute("data-unread", "0")

    state.locator("form button[type=submit]").click()
    expect(state).to_have_attribute("data-unread", "1")
    expect(state.locator(".readstate__badge")).to_be_visible()
    assert _has_unread(ticket)
    assert ticket.events.filter(kind=EventKind.UNREAD, author=cast.boutique_agent).exists()
    # This page does not read it again behind the agent's back.
    page.clock.run_for(10_000)
    expect(state).to_have_attribute("data-unread", "1")
    assert _has_unread(ticket)
    assert page_was_not_reloaded(page), "marking unread reloaded the page"

    page.get_by_role("link", name="← Demandes").click()
    expect(_row(page, "Remboursement").locator(".unread-badge")).to_be_visible()
    # The history says who marked it unread.
    _open_ticket(page, "Remboursement")
    expect(page.locator("ol.timeline li.tl-event--unread")).to_contain_text("Bruno Martin")


def _is_poll(response) -> bool:
    return "x-inbox-version" in response.request.headers


def _set_visibility(page: Page, state: str) -> None:
    page.evaluate(
        """state => {
            Object.defineProperty(document, 'visibilityState', {value: state, configurable: true});
            const hidden = state !== 'visible';
            Object.defineProperty(document, 'hidden', {value: hidden, configurable: true});
            document.dispatchEvent(new Event('visibilitychange'));
        }""",
        state,
    )


def test_a_new_message_moves_its_ticket_up_in_another_agents_inbox_without_reload(new_page, cast):
    for i in range(30):
        _ticket(cast.boutique_queue, f"Dossier traité {i:02d}", minutes_ago=200 - i)
    _ticket(cast.boutique_queue, "Déjà signalé", minutes_ago=100, unread=True)
    old = _ticket(cast.boutique_queue, "Vieille demande", minutes_ago=300)
    watcher = new_page()
    _login_with_clock(watcher, cast.boutique_agent)
    expect(_rows(watcher).first).to_contain_text("Déjà signalé")
    expect(_row(watcher, "Vieille demande")).to_have_count(0)  # on page 2
    _pause(watcher)
    mark_page(watcher)
    # The agent is reading further down, with the keyboard on a row's link.
    watcher.locator("#inbox-results").get_by_role("link", name="Dossier traité 20").focus()
    watcher.evaluate("window.scrollTo(0, 300)")
    scroll_before = watcher.evaluate("window.scrollY")
    assert scroll_before > 0

    # Nothing changed: the poll is answered 204 and the list stays as it is.
    with watcher.expect_response(_is_poll) as quiet:
        watcher.clock.run_for(10_500)
    assert quiet.value.status == 204

    message_add(
        ticket=old,
        kind=MessageKind.INBOUND,
        body_text="Je relance ma demande",
        sender_email="alice@example.com",
    )
    with watcher.expect_response(_is_poll) as changed:
        watcher.clock.run_for(10_500)
    assert changed.value.status == 200
    first = _rows(watcher).first
    expect(first).to_contain_text("Vieille demande")
    expect(first).to_have_class(re.compile(r"\bis-unread\b"))
    expect(first.locator(".unread-badge")).to_be_visible()
    assert page_was_not_reloaded(watcher), "the live update reloaded the page"
    assert watcher.evaluate("document.activeElement && document.activeElement.textContent") == (
        "Dossier traité 20"
    )
    assert watcher.evaluate("window.scrollY") == scroll_before
    expect(first).to_have_class(re.compile(r"\bis-arrived\b"))

    # A brand-new ticket appears at the top the same way.
    ticket_create(queue=cast.boutique_queue, channel="webform", subject="Toute nouvelle")
    with watcher.expect_response(_is_poll):
        watcher.clock.run_for(10_500)
    watcher.clock.run_for(100)
    expect(_rows(watcher).first).to_contain_text("Toute nouvelle")
    assert page_was_not_reloaded(watcher)


def test_the_inbox_does_not_poll_while_its_tab_is_hidden(page, cast):
    _ticket(cast.boutique_queue, "Calme plat", minutes_ago=5)
    _login_with_clock(page, cast.boutique_agent)
    _pause(page)
    polls: list[str] = []
    page.on(
        "request",
        lambda r: polls.append(r.url) if "x-inbox-version" in r.headers else None,
    )
    _set_visibility(page, "hidden")
    page.clock.run_for(60_000)
    assert polls == []
    # Back on the tab: it looks for news at once, without waiting for the next tick.
    with page.expect_request(lambda r: "x-inbox-version" in r.headers):
        _set_visibility(page, "visible")


def test_a_live_update_waits_while_the_agent_has_text_selected_in_the_list(new_page, cast):
    _ticket(cast.boutique_queue, "Numéro de suivi", minutes_ago=30)
    old = _ticket(cast.boutique_queue, "Adresse de livraison", minutes_ago=60)
    page = new_page()
    _login_with_clock(page, cast.boutique_agent)
    _pause(page)
    mark_page(page)
    # The agent selects a subject to copy it.
    page.evaluate(
        """() => {
            const link = [...document.querySelectorAll('#inbox-results tbody a')]
                .find(a => a.textContent === 'Numéro de suivi');
            const range = document.createRange();
            range.selectNodeContents(link);
            getSelection().removeAllRanges();
            getSelection().addRange(range);
        }"""
    )
    message_add(ticket=old, kind=MessageKind.INBOUND, body_text="Nouvelle adresse")
    with page.expect_response(_is_poll) as changed:
        page.clock.run_for(10_500)
    assert changed.value.status == 200
    page.clock.run_for(100)
    # Not swapped: the selection is intact and the list unchanged.
    assert page.evaluate("getSelection().toString()") == "Numéro de suivi"
    expect(_rows(page).first).to_contain_text("Numéro de suivi")
    # Selection gone: the next poll brings the change.
    page.evaluate("getSelection().removeAllRanges()")
    with page.expect_response(_is_poll):
        page.clock.run_for(10_500)
    expect(_rows(page).first).to_contain_text("Adresse de livraison")
    assert page_was_not_reloaded(page)

"""Sign in, rate limit, safe redirects, sign out, password change and language switch."""

from __future__ import annotations

import pytest
from django.urls import reverse

from comptoir.testing.cast import PASSWORD

LOGIN = "/login/"


@pytest.fixture(autouse=True)
def _empty_cache():
    # Local-memory caches outlive a test; failure counters must not leak between tests.
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def _login(client, email, password, ip="198.51.100.1", **extra):
    return client.post(LOGIN, {"username": email, "password": password, **extra}, REMOTE_ADDR=ip)


def test_login_page_asks_for_an_email_and_a_password(client, db):
    response = client.get(LOGIN)
    assert response.status_code == 200
    body = response.content.decode()
    assert 'type="email"' in body
    assert 'type="password"' in body
    assert 'name="username"' in body


def test_agent_signs_in_with_email_and_lands_on_the_inbox(client, cast):
    response = _login(client, "Agent@Boutique.test", PASSWORD)
    assert response.status_code == 302
    assert response.url == reverse("inbox")
    assert client.get(reverse("inbox")).status_code == 200


def test_wrong_password_shows_the_form_again_with_an_error(client, cast):
    response = _login(client, cast.boutique_agent.email, "wrong")
    assert response.status_code == 200
    assert response.context["form"].non_field_errors()
    assert "_auth_user_id" not in client.session


def test_login_is_refused_with_429_past_the_limit_for_one_address(client, cast, settings):
    settings.LOGIN_RATE_LIMIT = 3
    email = cast.boutique_agent.email
    for i in range(3):
        # A new IP each time: only the per-address counter can trip.
        assert _login(client, email, "wrong", ip=f"203.0.113.{i}").status_code == 200
    response = _login(client, email, PASSWORD, ip="203.0.113.99")
    assert response.status_code == 429
    assert response["Retry-After"] == str(settings.LOGIN_RATE_WINDOW_S)
    assert "_auth_user_id" not in client.session
    # Another address from a fresh IP is unaffected.
    assert (
        _login(client, cast.assurance_agent.email, PASSWORD, ip="203.0.113.50").status_code == 302
    )


def test_login_is_refused_with_429_past_the_limit_for_one_ip(client, cast, settings):
    settings.LOGIN_RATE_LIMIT = 3
    for i in range(3):
        assert _login(client, f"nobody{i}@example.com", "wrong", ip="192.0.2.7").status_code == 200
    # Right password, but this IP already spent its attempts: the password is not checked.
    response = _login(client, cast.boutique_agent.email, PASSWORD, ip="192.0.2.7")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    assert _login(client, cast.boutique_agent.email, PASSWORD, ip="192.0.2.8").status_code == 302


def test_rate_limited_page_explains_itself_in_french_by_default(client, cast, settings):
    settings.LOGIN_RATE_LIMIT = 1
    _login(client, cast.boutique_agent.email, "wrong")
    response = _login(client, cast.boutique_agent.email, "wrong")
    assert response.status_code == 429
    assert 'role="alert"' in response.content.decode()
    assert response.context["rate_limited"] is True


def test_successful_logins_do_not_count_against_the_limit(client, cast, settings):
    settings.LOGIN_RATE_LIMIT = 2
    for _ in range(4):
        assert _login(client, cast.boutique_agent.email, PASSWORD).status_code == 302
        client.post(reverse("logout"))


@pytest.mark.parametrize(
    "next_url",
    ["https://evil.example/steal", "//evil.example/steal", "http://evil.example"],
)
def test_off_site_next_is_refused(client, cast, next_url):
    response = _login(client, cast.boutique_agent.email, PASSWORD, next=next_url)
    assert response.status_code == 302
    assert response.url == reverse("inbox")


def test_on_site_next_is_followed(client, cast):
    response = _login(client, cast.boutique_agent.email, PASSWORD, next="/contacts/")
    assert response.status_code == 302
    assert response.url == "/contacts/"


def test_pages_send_anonymous_visitors_to_login_with_next(client, db):
    response = client.get(reverse("contact_list"))
    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next=/contacts/"


def test_logout_is_a_post_and_ends_the_session(client, cast):
    client.force_login(cast.boutique_agent)
    assert client.get(reverse("logout")).status_code == 405
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert response.url == reverse("login")
    assert client.get(reverse("inbox")).status_code == 302


def test_agent_changes_password_and_signs_in_with_the_new_one(client, cast):
    client.force_login(cast.boutique_agent)
    assert client.get(reverse("password_change")).status_code == 200
    new = "a much longer new secret 42"
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )
    assert response.status_code == 302
    assert response.url == reverse("password_change_done")
    assert client.get(reverse("password_change_done")).status_code == 200
    client.post(reverse("logout"))
    assert _login(client, cast.boutique_agent.email, PASSWORD).status_code == 200
    assert _login(client, cast.boutique_agent.email, new).status_code == 302


def test_password_change_refuses_a_wrong_old_password(client, cast):
    client.force_login(cast.boutique_agent)
    response = client.post(
        reverse("password_change"),
        {"old_password": "nope", "new_password1": "x" * 20, "new_password2": "x" * 20},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["old_password"]


def test_pages_are_french_by_default_and_english_after_switching(client, cast):
    client.force_login(cast.boutique_agent)
    body = client.get(reverse("inbox")).content.decode()
    assert '<html lang="fr">' in body
    # The French catalog translates the heading (test_i18n checks the catalogs themselves).
    assert "<h1>Inbox</h1>" not in body

    response = client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert response.status_code == 302
    body = client.get(reverse("inbox")).content.decode()
    assert '<html lang="en">' in body
    assert "<h1>Inbox</h1>" in body


def test_login_page_switches_to_english_too(client, db):
    client.post(reverse("set_language"), {"language": "en", "next": LOGIN})
    body = client.get(LOGIN).content.decode()
    assert '<h1 id="login-title">Sign in</h1>' in body

from __future__ import annotations

import pytest
from django.urls import reverse

from comptoir.accounts.models import User
from comptoir.testing.cast import PASSWORD


@pytest.fixture(autouse=True)
def _catalogs_compiled():
    from django.utils import translation

    with translation.override("fr"):
        if translation.gettext("Inbox") == "Inbox":
            pytest.fail("French catalog not compiled: run `comptoir manage compilemessages`")


def test_an_english_browser_still_gets_french_first(client, db):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert page["Content-Language"] == "fr"
    assert "Mot de passe" in page.content.decode()


def test_an_agent_who_chose_english_gets_english(client, cast):
    User.objects.filter(pk=cast.boutique_agent.pk).update(language="en")
    client.login(email=cast.boutique_agent.email, password=PASSWORD)
    page = client.get(reverse("inbox"))
    assert page["Content-Language"] == "en"
    assert "Inbox" in page.content.decode()


def test_the_switcher_cookie_wins_over_the_profile(client, cast):
    client.login(email=cast.boutique_agent.email, password=PASSWORD)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert client.get(reverse("inbox"))["Content-Language"] == "en"
    client.post(reverse("set_language"), {"language": "fr", "next": "/"})
    assert client.get(reverse("inbox"))["Content-Language"] == "fr"

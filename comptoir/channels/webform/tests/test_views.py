"""The public form page: validation, abuse limits, files, framing, CSRF and language."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.urls import reverse

from comptoir.channels.webform import tokens
from comptoir.channels.webform.tests.conftest import PDF, PNG, form_data
from comptoir.contacts.models import CustomFieldValue
from comptoir.testing.cast import PASSWORD
from comptoir.testing.faults import LockedDatabase
from comptoir.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _url(web_form, **query: str) -> str:
    url = reverse("webform", args=[web_form.public_key])
    if query:
        url += "?" + "&".join(f"{k}={v}" for k, v in query.items())
    return url


def _post(client, web_form, lang="en", files=(), token=None, **overrides):
    data: dict = form_data(**overrides)
    data["token"] = tokens.render_token(web_form.public_key) if token is None else token
    if files:
        data["attachments"] = list(files)
    return client.post(_url(web_form, lang=lang), data)


def _errors(response) -> list[str]:
    return re.findall(r'<p class="wf-error"[^>]*>([^<]+)</p>', response.content.decode())


# The page ------------------------------------------------------------------------------


def test_the_form_shows_its_fields_and_the_custom_fields_marked_on_form(
    client, web_form, custom_fields
):
    response = client.get(_url(web_form, lang="en"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Contactez la Boutique" in html
    assert "Nous répondons sous 24 heures." in html
    for name in ("name", "email", "phone", "subject", "message", "attachments", "token"):
        assert f'name="{name}"' in html
    assert 'name="cf_order_no"' in html
    assert 'name="cf_tier"' in html
    assert 'type="date"' in html
    assert "internal_score" not in html
    # The honeypot is in the page, hidden from people.
    assert 'class="wf-hp" aria-hidden="true"' in html


def test_an_unknown_or_switched_off_form_is_not_found(client, web_form):
    assert client.get("/webform/no-such-key/").status_code == 404
    web_form.is_active = False
    web_form.save()
    response = client.get(_url(web_form))
    assert response.status_code == 404
    assert "Contactez la Boutique" not in response.content.decode()


def test_a_valid_post_creates_the_ticket_and_confirms_with_its_number(client, cast, web_form):
    response = _post(client, web_form)
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.channel == "webform"
    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert f"<strong>{ticket.number}</strong>" in html
    assert "Thank you, your request has been sent." in html


def test_the_confirmation_page_refuses_a_forged_number(client, web_form):
    token = tokens.thanks_token("another-key", 12)
    url = reverse("webform_thanks", args=[web_form.public_key, token])
    assert client.get(url).status_code == 404
    assert client.get(url.replace(token, token[:-2] + "xx")).status_code == 404


def test_an_embedded_post_keeps_the_embedding_and_language(client, web_form):
    url = _url(web_form, lang="fr", embed="1")
    data = {**form_data(), "token": tokens.render_token(web_form.public_key)}
    response = client.post(url, data)
    assert response.status_code == 302
    assert "embed=1" in response["Location"]
    assert "lang=fr" in response["Location"]


def test_no_csrf_cookie_is_needed_even_for_a_signed_in_agent(cast, web_form):
    client = Client(enforce_csrf_checks=True)
    client.login(email=cast.boutique_agent.email, password=PASSWORD)
    response = _post(client, web_form)
    assert response.status_code == 302
    contact = Ticket.objects.get().contact
    assert contact is not None
    assert contact.identities.get(kind="email").value == "marie@example.org"


def test_the_same_rendered_form_posted_twice_makes_one_ticket(client, web_form):
    token = tokens.render_token(web_form.public_key)
    first = _post(client, web_form, token=token)
    second = _post(client, web_form, token=token)
    # The thanks links are signed with a timestamp, so two posts a second apart differ in
    # text; what must be equal is the ticket they confirm.
    numbers = [_thanks_number(web_form, r["Location"]) for r in (first, second)]
    assert numbers == [Ticket.objects.get().number] * 2


def _thanks_number(web_form, location: str) -> int | None:
    match = re.search(r"/thanks/([^/]+)/", location)
    assert match, location
    return tokens.thanks_number(match.group(1), web_form.public_key)


def test_a_tampered_or_foreign_token_shows_the_form_again_with_the_text_kept(client, web_form):
    response = _post(client, web_form, token="forged")
    assert response.status_code == 200
    html = response.content.decode()
    assert "This form was open for too long" in html
    assert "mon colis est arrivé abîmé." in html
    other = tokens.render_token("another-form")
    assert _post(client, web_form, token=other).status_code == 200
    assert not Ticket.objects.exists()


# Validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("name", "", "Please enter your name."),
        ("email", "", "Please enter your email address, so that we can answer you."),
        ("email", "marie@", "This email address is not valid, e.g. name@example.com."),
        ("phone", "call me maybe", "This phone number is not valid, e.g. +33 6 12 34 56 78."),
        ("phone", "12", "This phone number is not valid, e.g. +33 6 12 34 56 78."),
        ("subject", "   ", "Please give your request a subject."),
        ("message", "", "Please write your message."),
    ],
)
def test_each_field_error_is_explained(client, web_form, field, value, message):
    response = _post(client, web_form, **{field: value})
    assert response.status_code == 200
    assert message in _errors(response)
    assert f'id="id_{field}"' in response.content.decode()
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("cf_order_no", "twelve", "Enter a number, e.g. 12 or 3.5."),
        ("cf_tier", "Platinum", "Pick one of: Bronze, Gold."),
        ("cf_since", "yesterday", "Enter a date, e.g. 2024-03-31."),
    ],
)
def test_custom_fields_are_checked_by_type(client, web_form, custom_fields, field, value, message):
    response = _post(client, web_form, **{field: value})
    assert message in _errors(response)
    assert not Ticket.objects.exists()


def test_valid_custom_values_reach_the_contact(client, web_form, custom_fields):
    response = _post(client, web_form, cf_order_no="4 521", cf_tier="Gold", cf_since="31/01/2020")
    assert response.status_code == 302
    contact = Ticket.objects.get().contact
    stored = dict(
        CustomFieldValue.objects.filter(contact=contact).values_list("field__key", "value")
    )
    assert stored == {"order_no": "4521", "tier": "Gold", "since": "2020-01-31"}


# Abuse ---------------------------------------------------------------------------------


def test_a_filled_honeypot_looks_accepted_but_keeps_nothing(client, web_form):
    response = _post(client, web_form, website="http://spam.example")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Thank you, your request has been sent." in html
    assert "<strong>" not in html
    assert not Ticket.objects.exists()


def test_posts_are_limited_per_ip(client, web_form, settings):
    settings.WEBFORM_RATE_LIMIT_IP = 2
    assert _post(client, web_form).status_code == 302
    assert _post(client, web_form, name="").status_code == 200
    response = _post(client, web_form, subject="Third try")
    assert response.status_code == 429
    assert response["Retry-After"] == "3600"
    html = response.content.decode()
    assert "Too many requests were sent from here. Please try again in 60 minutes." in html
    # What the visitor typed is still there.
    assert 'value="Third try"' in html
    assert Ticket.objects.count() == 1
    other_ip = client.post(
        _url(web_form, lang="en"),
        {**form_data(email="z@example.org"), "token": tokens.render_token(web_form.public_key)},
        REMOTE_ADDR="198.51.100.9",
    )
    assert other_ip.status_code == 302


def test_accepted_submissions_are_limited_per_address(client, web_form, settings):
    settings.WEBFORM_RATE_LIMIT_EMAIL = 1
    assert _post(client, web_form).status_code == 302
    data = {**form_data(email="Marie@Example.org")}
    data["token"] = tokens.render_token(web_form.public_key)
    response = client.post(_url(web_form, lang="en"), data, REMOTE_ADDR="198.51.100.7")
    assert response.status_code == 429
    assert Ticket.objects.count() == 1


# Files ---------------------------------------------------------------------------------


def test_accepted_files_become_attachments_typed_by_their_extension(client, web_form):
    files = [
        SimpleUploadedFile("facture.pdf", PDF, content_type="text/html"),
        SimpleUploadedFile("photo.png", PNG, content_type="image/png"),
    ]
    assert _post(client, web_form, files=files).status_code == 302
    attachments = Ticket.objects.get().messages.get().attachments.order_by("filename")
    assert [(a.filename, a.content_type) for a in attachments] == [
        ("facture.pdf", "application/pdf"),
        ("photo.png", "image/png"),
    ]


def test_an_oversized_file_is_refused_with_the_limit(client, web_form, settings):
    settings.WEBFORM_MAX_FILE_BYTES = 1000
    big = SimpleUploadedFile("scan.pdf", PDF + b"0" * 2000)
    response = _post(client, web_form, files=[big])
    assert response.status_code == 200
    errors = _errors(response)
    assert errors == ["“scan.pdf” is too big (2.0\xa0KB); the limit is 1000\xa0bytes per file."]
    assert "Your files were not kept: please attach them again." in response.content.decode()
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("setup.exe", b"MZ\x90\x00", "“setup.exe”: this type of file is not accepted."),
        ("page.html", b"<html></html>", "“page.html”: this type of file is not accepted."),
        ("photo.png", b"<svg onload=alert(1)>", "“photo.png” does not contain what its name says"),
        ("notes.txt", b"<script>alert(1)</script>", "“notes.txt” does not contain what its name"),
        ("scan.pdf", b"not a pdf", "“scan.pdf” does not contain what its name says (.pdf)."),
        ("empty.pdf", b"", "“empty.pdf” is empty."),
        ("readme.txt", b"MZ\x90\x00\x03", "“readme.txt” does not contain what its name says"),
    ],
)
def test_forbidden_or_disguised_files_are_refused(client, web_form, name, content, message):
    response = _post(client, web_form, files=[SimpleUploadedFile(name, content)])
    assert response.status_code == 200
    assert any(e.startswith(message) for e in _errors(response)), _errors(response)
    assert not Ticket.objects.exists()


def test_too_many_files_are_refused(client, web_form, settings):
    settings.WEBFORM_MAX_FILES = 2
    files = [SimpleUploadedFile(f"f{i}.pdf", PDF) for i in range(3)]
    response = _post(client, web_form, files=files)
    assert "Attach at most 2 files (you attached 3)." in _errors(response)


def test_a_body_over_the_total_limit_is_refused_before_reading(client, web_form, settings):
    settings.WEBFORM_MAX_TOTAL_BYTES = 1000
    files = [SimpleUploadedFile("big.pdf", PDF + b"0" * 2 * 1024 * 1024)]
    response = _post(client, web_form, files=files)
    assert response.status_code == 413
    assert "What you sent is too big." in response.content.decode()
    assert not Ticket.objects.exists()


# Framing -------------------------------------------------------------------------------


def test_the_form_may_be_framed_by_any_site_when_no_origin_is_set(client, web_form):
    response = client.get(_url(web_form))
    assert "X-Frame-Options" not in response
    assert response["Content-Security-Policy"] == "frame-ancestors *"


def test_only_the_allowed_origins_may_frame_the_form_and_its_confirmation(client, web_form):
    web_form.allowed_origins = "https://shop.example\nhttp://localhost:8080"
    web_form.save()
    expected = "frame-ancestors 'self' https://shop.example http://localhost:8080"
    assert client.get(_url(web_form))["Content-Security-Policy"] == expected
    thanks = client.get(_post(client, web_form)["Location"])
    assert thanks["Content-Security-Policy"] == expected
    assert "X-Frame-Options" not in thanks


def test_agent_pages_still_refuse_framing(client, cast, web_form):
    client.login(email=cast.boutique_agent.email, password=PASSWORD)
    assert client.get("/")["X-Frame-Options"] == "DENY"


# Language ------------------------------------------------------------------------------


def test_the_browser_language_is_followed_on_public_pages(client, web_form):
    english = client.get(_url(web_form), HTTP_ACCEPT_LANGUAGE="en-GB,en;q=0.9")
    assert english["Content-Language"] == "en"
    assert "Your name" in english.content.decode()
    french = client.get(_url(web_form), HTTP_ACCEPT_LANGUAGE="fr-FR,fr;q=0.9")
    assert french["Content-Language"] == "fr"
    assert "Accept-Language" in french["Vary"]


def test_the_lang_switch_wins_and_is_remembered(client, web_form):
    response = client.get(_url(web_form, lang="en"), HTTP_ACCEPT_LANGUAGE="fr")
    assert response["Content-Language"] == "en"
    again = client.get(_url(web_form), HTTP_ACCEPT_LANGUAGE="fr")
    assert again["Content-Language"] == "en"


def test_errors_are_given_in_english(client, web_form):
    response = _post(client, web_form, lang="en", name="", email="marie@")
    assert _errors(response) == [
        "Please enter your name.",
        "This email address is not valid, e.g. name@example.com.",
    ]


def test_errors_are_given_in_french(client, web_form):
    response = _post(client, web_form, lang="fr", name="", email="marie@")
    assert response["Content-Language"] == "fr"
    assert _errors(response) == [
        "Veuillez indiquer votre nom.",
        "Cette adresse e-mail n\u2019est pas valide, par exemple nom@exemple.fr.",
    ]
    assert "Envoyer ma demande" in response.content.decode()


def test_the_agent_desk_still_ignores_the_browser_language(client, web_form):
    page = client.get(reverse("login"), HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert page["Content-Language"] == "fr"


@pytest.mark.django_db(transaction=True)
def test_a_database_failure_gives_the_visitor_their_text_back(client, web_form):
    if connection.vendor != "sqlite":
        pytest.skip("the lock simulation is SQLite's; PostgreSQL would wait on the lock")
    token = tokens.render_token(web_form.public_key)
    locked = LockedDatabase(tables=["tickets_ticket"])
    locked.lock()
    try:
        response = _post(client, web_form, token=token)
    finally:
        locked.release()
    assert response.status_code == 503
    html = response.content.decode()
    assert "Your request could not be saved just now." in html
    assert "mon colis est arrivé abîmé." in html
    assert not Ticket.objects.exists()
    # Sent again once the database is back: one ticket.
    assert _post(client, web_form, token=token).status_code == 302
    assert Ticket.objects.count() == 1

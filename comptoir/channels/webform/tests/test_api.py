"""`POST /api/v1/webform/{key}`: JSON in, a ticket number or field errors out, with CORS."""

from __future__ import annotations

import base64
import json

import pytest

from comptoir.channels.webform.tests.conftest import PDF, form_data
from comptoir.tickets.models import Ticket

pytestmark = pytest.mark.django_db


def _url(web_form) -> str:
    return f"/api/v1/webform/{web_form.public_key}"


def _b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def _post(client, web_form, payload=None, *, query="?lang=en", **meta):
    body = form_data() if payload is None else payload
    return client.post(
        _url(web_form) + query, json.dumps(body), content_type="application/json", **meta
    )


def test_a_json_submission_creates_the_ticket_and_answers_its_number(client, cast, web_form):
    payload = {
        **form_data(),
        "attachments": [{"filename": "facture.pdf", "content_base64": _b64(PDF)}],
    }
    response = _post(client, web_form, payload)
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert response.json() == {
        "number": ticket.number,
        "detail": f"Your request number is {ticket.number}.",
    }
    assert ticket.channel == "webform"
    assert ticket.queue_id == web_form.queue_id
    attachment = ticket.messages.get().attachments.get()
    assert (attachment.filename, attachment.content_type) == ("facture.pdf", "application/pdf")


def test_field_errors_answer_422_per_field(client, web_form, custom_fields):
    payload = {
        **form_data(name="", email="nope"),
        "custom_fields": {"order_no": "many", "tier": "Gold"},
    }
    response = _post(client, web_form, payload)
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "Please correct the fields listed in errors."
    assert body["errors"] == {
        "name": [{"message": "Please enter your name.", "code": "required"}],
        "email": [
            {
                "message": "This email address is not valid, e.g. name@example.com.",
                "code": "invalid",
            }
        ],
        "custom_fields.order_no": [{"message": "Enter a number, e.g. 12 or 3.5.", "code": ""}],
    }
    assert not Ticket.objects.exists()


def test_errors_follow_the_callers_language(client, web_form):
    response = _post(client, web_form, form_data(name=""), query="", HTTP_ACCEPT_LANGUAGE="en")
    assert response.json()["errors"]["name"][0]["message"] == "Please enter your name."
    response = client.post(
        _url(web_form),
        json.dumps(form_data(name="")),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="fr-FR",
    )
    assert response["Content-Language"] == "fr"
    assert response.json()["errors"]["name"][0]["message"] == "Veuillez indiquer votre nom."


def test_custom_values_are_accepted_by_key(client, web_form, custom_fields):
    payload = {**form_data(), "custom_fields": {"order_no": "12", "tier": "Gold"}}
    assert _post(client, web_form, payload).status_code == 201
    contact = Ticket.objects.get().contact
    assert contact is not None
    values = dict(contact.field_values.values_list("field__key", "value"))
    assert values == {"order_no": "12", "tier": "Gold"}


def test_broken_or_forbidden_attachments_are_field_errors(client, web_form, settings):
    settings.WEBFORM_MAX_FILE_BYTES = 100
    payload = {
        **form_data(),
        "attachments": [
            {"filename": "a.pdf", "content_base64": "%%%not base64"},
            {"filename": "big.pdf", "content_base64": _b64(PDF + b"0" * 500)},
            {"filename": "run.exe", "content_base64": _b64(b"MZ")},
        ],
    }
    response = _post(client, web_form, payload)
    assert response.status_code == 422
    messages = [e["message"] for e in response.json()["errors"]["attachments"]]
    assert messages[0] == "“a.pdf” is not valid base64."
    assert messages[1].startswith("“big.pdf” is too big")
    assert messages[2].startswith("“run.exe”: this type of file is not accepted.")
    assert not Ticket.objects.exists()


def test_a_body_larger_than_djangos_form_limit_is_still_accepted(client, web_form, settings):
    # request.body refuses anything over DATA_UPLOAD_MAX_MEMORY_SIZE; the API reads the stream.
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    payload = {
        **form_data(),
        "attachments": [{"filename": "s.pdf", "content_base64": _b64(PDF * 40)}],
    }
    assert _post(client, web_form, payload).status_code == 201


def test_a_body_over_the_limit_is_refused(client, web_form, settings):
    settings.WEBFORM_MAX_TOTAL_BYTES = 10
    payload = {
        **form_data(),
        "attachments": [{"filename": "s.pdf", "content_base64": "A" * 2_000_000}],
    }
    response = _post(client, web_form, payload)
    assert response.status_code == 413
    assert not Ticket.objects.exists()


def test_not_json_is_a_400(client, web_form):
    response = client.post(_url(web_form), "name=x", content_type="application/json")
    assert response.status_code == 400
    response = client.post(_url(web_form), "[1, 2]", content_type="application/json")
    assert response.status_code == 400


def test_an_unknown_or_switched_off_form_is_404(client, web_form):
    assert (
        client.post("/api/v1/webform/nope", "{}", content_type="application/json").status_code
        == 404
    )
    web_form.is_active = False
    web_form.save()
    assert _post(client, web_form).status_code == 404


def test_the_idempotency_key_makes_a_retry_return_the_first_ticket(client, web_form):
    first = _post(client, web_form, HTTP_IDEMPOTENCY_KEY="order-42-contact")
    second = _post(client, web_form, HTTP_IDEMPOTENCY_KEY="order-42-contact")
    assert first.status_code == second.status_code == 201
    assert first.json()["number"] == second.json()["number"]
    assert Ticket.objects.count() == 1


def test_a_filled_honeypot_is_accepted_without_a_ticket(client, web_form):
    response = _post(client, web_form, form_data(website="http://spam.example"))
    assert response.status_code == 202
    assert response.json()["number"] is None
    assert not Ticket.objects.exists()


def test_posts_are_rate_limited_per_ip(client, web_form, settings):
    settings.WEBFORM_RATE_LIMIT_IP = 1
    assert _post(client, web_form).status_code == 201
    response = _post(client, web_form)
    assert response.status_code == 429
    assert response["Retry-After"] == "3600"


def test_accepted_posts_are_rate_limited_per_address(client, web_form, settings):
    settings.WEBFORM_RATE_LIMIT_EMAIL = 1
    assert _post(client, web_form).status_code == 201
    response = _post(client, web_form, REMOTE_ADDR="203.0.113.50")
    assert response.status_code == 429


# CORS ----------------------------------------------------------------------------------


def test_any_origin_may_post_when_none_is_configured(client, web_form):
    response = _post(client, web_form, HTTP_ORIGIN="https://anywhere.example")
    assert response.status_code == 201
    assert response["Access-Control-Allow-Origin"] == "*"
    assert "Origin" in response["Vary"]


def test_an_allowed_origin_is_echoed_and_others_are_refused(client, web_form):
    web_form.allowed_origins = "https://shop.example"
    web_form.save()
    ok = _post(client, web_form, HTTP_ORIGIN="https://shop.example")
    assert ok.status_code == 201
    assert ok["Access-Control-Allow-Origin"] == "https://shop.example"
    refused = _post(client, web_form, HTTP_ORIGIN="https://evil.example")
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused
    # A server posting (no Origin header) is not a browser: CORS does not apply.
    assert _post(client, web_form).status_code == 201
    assert Ticket.objects.count() == 2


def test_the_preflight_answers_with_the_forms_cors_headers(client, web_form):
    web_form.allowed_origins = "https://shop.example"
    web_form.save()
    response = client.options(
        _url(web_form),
        HTTP_ORIGIN="https://shop.example",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "Content-Type" in response["Access-Control-Allow-Headers"]
    other = client.options(_url(web_form), HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in other


def test_the_route_needs_no_token_and_is_documented(client, web_form):
    schema = client.get("/api/v1/openapi.json").json()
    operation = schema["paths"]["/api/v1/webform/{key}"]["post"]
    assert "security" not in operation
    assert "email" in operation["requestBody"]["content"]["application/json"]["schema"]["required"]

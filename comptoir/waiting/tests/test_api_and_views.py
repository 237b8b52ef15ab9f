"""The administration screens and the API of waiting messages, with their rights."""

from __future__ import annotations

import pytest
from django.test import Client

from comptoir.accounts.services import token_create
from comptoir.testing.cast import PASSWORD
from comptoir.waiting import services
from comptoir.waiting.models import WaitingMessage, WaitingMessageAssignment

pytestmark = pytest.mark.django_db


def _client(user, language="fr"):
    client = Client()
    assert client.login(email=user.email, password=PASSWORD)
    client.cookies["django_language"] = language
    return client


def _api(user):
    key = token_create(user=user, name="tests")
    return {"HTTP_AUTHORIZATION": f"Bearer {key}"}


def _message(cast, **values):
    data = {"title": "Patience", "body": "Bonjour", "hours_to_process": 4}
    data.update(values)
    return services.waiting_message_create(workspace=cast.boutique, user=cast.admin, **data)


def test_the_navigation_leads_from_administration_to_the_waiting_messages(cast):
    client = _client(cast.admin)
    index = client.get("/administration/").content.decode()
    assert f"/administration/workspaces/{cast.boutique.pk}/" in index
    workspace = client.get(f"/administration/workspaces/{cast.boutique.pk}/").content.decode()
    assert "Éléments associés" in workspace
    assert f"/administration/workspaces/{cast.boutique.pk}/waiting-messages/" in workspace
    queue = client.get(f"/administration/queues/{cast.boutique_queue.pk}/").content.decode()
    assert f"/administration/queues/{cast.boutique_queue.pk}/waiting-messages/" in queue


def test_an_agent_without_the_right_sees_neither_the_link_nor_the_pages(cast):
    client = _client(cast.boutique_agent)
    assert "/administration/" not in client.get("/").content.decode()
    assert client.get(f"/administration/workspaces/{cast.boutique.pk}/").status_code == 404
    url = f"/administration/workspaces/{cast.boutique.pk}/waiting-messages/"
    assert client.get(url).status_code == 404
    assert client.post(url + "new/", {"title": "x"}).status_code == 404


def test_the_form_shows_each_refusal_next_to_its_field_in_both_languages(cast):
    url = f"/administration/workspaces/{cast.boutique.pk}/waiting-messages/new/"
    data = {"title": "Patience", "body": "Bonjour", "hours_to_process": "0"}
    fr = _client(cast.admin, "fr").post(url, data).content.decode()
    assert "Saisissez au moins 1 heure, ou laissez le champ vide." in fr
    en = _client(cast.admin, "en").post(url, {**data, "hours_to_process": ""}).content.decode()
    assert en.count("Give the hours for at least one of the three statuses.") == 3
    assert not WaitingMessage.objects.exists()


def test_create_assign_preview_and_remove_from_the_screens(cast):
    client = _client(cast.admin)
    base = f"/administration/workspaces/{cast.boutique.pk}/waiting-messages/"
    response = client.post(
        base + "new/",
        {
            "title": "Toujours là",
            "body": "Bonjour {{contact.first_name}}",
            "hours_awaiting_expert": "8",
        },
    )
    assert response.status_code == 302
    message = WaitingMessage.objects.get()
    assert message.hours_awaiting_expert == 8 and message.hours_to_process is None

    preview = client.get(
        base, {"partial": "preview", "waiting_message": message.pk}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Bonjour {{contact.first_name}}" in preview
    assert "<html" not in preview

    client.post(base, {"waiting_message": message.pk})
    assert WaitingMessageAssignment.objects.get().queue is None
    queue_url = f"/administration/queues/{cast.boutique_queue.pk}/waiting-messages/"
    client.post(queue_url, {"waiting_message": message.pk})
    assert WaitingMessageAssignment.objects.filter(queue=cast.boutique_queue).exists()
    client.post(queue_url, {"waiting_message": ""})
    assert not WaitingMessageAssignment.objects.filter(queue=cast.boutique_queue).exists()


def test_delete_asks_first_and_says_it_cancels_the_sends(cast):
    message = _message(cast)
    services.waiting_message_assign(
        waiting_message=message, user=cast.admin, workspace=cast.boutique
    )
    client = _client(cast.admin, "en")
    url = f"/administration/waiting-messages/{message.pk}/delete/"
    page = client.get(url).content.decode()
    assert "cancels every send still to come" in page
    assert "Boutique" in page
    assert WaitingMessage.objects.exists()
    client.post(url)
    assert not WaitingMessage.objects.exists()
    assert not WaitingMessageAssignment.objects.exists()


def test_another_workspace_or_tenant_cannot_reach_a_message(cast):
    message = _message(cast)
    client = _client(cast.other_agent)
    assert client.get(f"/administration/waiting-messages/{message.pk}/").status_code == 404
    assert client.post(f"/administration/waiting-messages/{message.pk}/delete/").status_code == 404
    assert WaitingMessage.objects.exists()


def test_the_api_creates_validates_assigns_and_deletes(cast):
    headers = _api(cast.admin)
    client = Client()
    base = f"/api/v1/workspaces/{cast.boutique.pk}/waiting-messages"
    refused = client.post(
        base,
        {"title": "P", "body": "B", "hours_to_process": 0},
        content_type="application/json",
        **headers,
    )
    assert refused.status_code == 422
    assert "hours_to_process" in refused.json()["errors"]

    created = client.post(
        base,
        {"title": "P", "body": "Bonjour {{contact.first_name}}", "hours_to_process": 4},
        content_type="application/json",
        **headers,
    )
    assert created.status_code == 201
    message_id = created.json()["id"]
    assigned = client.put(
        f"/api/v1/queues/{cast.boutique_queue.pk}/waiting-message-assignment",
        {"waiting_message": message_id},
        content_type="application/json",
        **headers,
    )
    assert assigned.json() == {"waiting_message": message_id}
    listed = client.get(base, **headers).json()
    assert listed[0]["assigned_to"] == ["Commandes"]

    updated = client.put(
        f"/api/v1/waiting-messages/{message_id}",
        {"title": "P2", "body": "B", "hours_to_process": None, "hours_awaiting_external": 3},
        content_type="application/json",
        **headers,
    )
    assert updated.status_code == 200
    assert updated.json()["hours_awaiting_external"] == 3
    assert client.delete(f"/api/v1/waiting-messages/{message_id}", **headers).status_code == 204
    assert not WaitingMessageAssignment.objects.exists()


def test_the_api_refuses_agents_without_the_right(cast):
    message = _message(cast)
    client = Client()
    headers = _api(cast.boutique_agent)
    assert client.get(f"/api/v1/waiting-messages/{message.pk}", **headers).status_code == 404
    assert (
        client.get(f"/api/v1/workspaces/{cast.boutique.pk}/waiting-messages", **headers).status_code
        == 404
    )

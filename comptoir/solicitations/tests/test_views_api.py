"""The solicitation composer's pages, the ticket page's threads, and the API."""

from __future__ import annotations

import base64
import json

import pytest

from comptoir.accounts.services import token_create
from comptoir.responses.models import HistoryLink
from comptoir.solicitations.models import Solicitation
from comptoir.solicitations.services import solicitation_send
from comptoir.testing.cast import PASSWORD
from comptoir.tickets.models import Message, MessageKind, Status

from .conftest import SUPPLIER, answer_raw, outgoing_of, receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def agent_client(client, cast):
    client.login(email=cast.boutique_agent.email, password=PASSWORD)
    return client


@pytest.fixture
def api(client, cast):
    key = token_create(user=cast.boutique_agent)

    def call(method: str, url: str, body: dict | None = None):
        return client.generic(
            method,
            "/api/v1" + url,
            data=json.dumps(body or {}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {key}",
        )

    return call


def _solicit(cast, ticket, recipient=SUPPLIER) -> Solicitation:
    return solicitation_send(
        ticket=ticket,
        author=cast.boutique_agent,
        recipient=recipient,
        subject="Colis perdu",
        body_text="Où est le colis ?",
    )


def test_the_composer_opens_with_the_ticket_subject_and_an_empty_recipient(agent_client, ticket):
    response = agent_client.get(f"/tickets/{ticket.pk}/solicit/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="solicit-recipient" name="recipient"' in html
    assert 'value="Colis perdu"' in html
    assert "<html" not in html  # a fragment for the page's slot


def test_posting_the_form_sends_and_asks_the_page_to_refresh(agent_client, ticket):
    response = agent_client.post(
        f"/tickets/{ticket.pk}/solicit/",
        {
            "recipient": SUPPLIER,
            "subject": "Colis 123",
            "body_html": "<p>Bonjour, <strong>où</strong> est-il ?</p>",
            "await_external": "on",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "ticket-changed"
    solicitation = Solicitation.objects.get()
    assert solicitation.subject == "Colis 123"
    assert outgoing_of(solicitation).body_html.count("<strong>où</strong>") == 1
    ticket.refresh_from_db()
    assert ticket.status == Status.AWAITING_EXTERNAL


def test_a_refused_post_keeps_the_draft_and_says_why(agent_client, ticket):
    response = agent_client.post(
        f"/tickets/{ticket.pk}/solicit/",
        {"recipient": "nope", "subject": "Colis", "body_html": "<p>Texte gardé</p>"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    # Only the errors are swapped in: the editor keeps the draft where it is.
    assert response["HX-Retarget"] == "#solicit-errors"
    assert "« nope » n\u2019est pas une adresse e-mail valide." in response.content.decode()
    assert not Solicitation.objects.exists()


def test_without_javascript_a_refused_post_gives_the_page_back_with_the_draft(agent_client, ticket):
    response = agent_client.post(
        f"/tickets/{ticket.pk}/solicit/",
        {"recipient": "", "subject": "Colis", "body": "Mon brouillon"},
    )
    assert response.status_code == 400
    assert "Mon brouillon" in response.content.decode()


def test_without_javascript_a_sent_solicitation_goes_back_to_its_thread(agent_client, ticket):
    response = agent_client.post(
        f"/tickets/{ticket.pk}/solicit/",
        {"recipient": SUPPLIER, "subject": "Colis", "body": "Bonjour"},
    )
    solicitation = Solicitation.objects.get()
    assert response.status_code == 302
    assert response["Location"].endswith(f"/tickets/{ticket.pk}/#solicitation-{solicitation.pk}")


def test_the_reply_composer_fixes_the_recipient_and_prefills_the_subject(
    agent_client, cast, ticket, mailbox
):
    solicitation = _solicit(cast, ticket)
    receive(answer_raw(to_mail=outgoing_of(solicitation), subject="Re: Votre colis"), mailbox)
    html = agent_client.get(
        f"/solicitations/{solicitation.pk}/reply/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert f'value="{SUPPLIER}" readonly' in html
    assert 'name="recipient"' not in html  # nothing to change: the server uses the thread's
    assert 'value="Re: Votre colis"' in html

    # A forged recipient in the post is ignored: the thread's address is used.
    agent_client.post(
        f"/solicitations/{solicitation.pk}/reply/",
        {"recipient": "pirate@evil.example", "subject": "Re: Votre colis", "body": "Merci"},
        HTTP_HX_REQUEST="true",
    )
    assert outgoing_of(solicitation).to == [SUPPLIER]


def test_the_ticket_page_groups_each_thread_with_its_state(agent_client, cast, ticket, mailbox):
    first = _solicit(cast, ticket)
    second = _solicit(cast, ticket, recipient="depot@entrepot.example")
    receive(answer_raw(to_mail=outgoing_of(first), body="Réponse du transporteur"), mailbox)

    html = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()

    assert html.count('class="tl-thread ') == 2
    # Threads sit where they began: the first before the second.
    first_block = html[
        html.index(f'id="solicitation-{first.pk}"') : html.index(f'id="solicitation-{second.pk}"')
    ]
    assert 'data-thread-state="answered"' in first_block
    assert "Réponse du transporteur" in first_block
    second_block = html[html.index(f'id="solicitation-{second.pk}"') :]
    assert 'data-thread-state="waiting"' in second_block
    # Each message appears once: inside its thread, not again in the flow.
    answer = Message.objects.get(kind=MessageKind.SOLICITATION_IN)
    assert html.count(f'id="message-{answer.pk}"') == 1


def test_suggestions_rank_addresses_by_use_in_the_workspace(agent_client, api, cast, ticket):
    for _ in range(2):
        _solicit(cast, ticket, recipient="depot@entrepot.example")
    _solicit(cast, ticket)
    for _ in range(3):
        _solicit(cast, ticket, recipient="compta@fournisseur.example")

    page = agent_client.get(f"/tickets/{ticket.pk}/solicit/recipients/?q=")
    assert [r["address"] for r in page.json()["results"]] == [
        "compta@fournisseur.example",
        "depot@entrepot.example",
        SUPPLIER,
    ]
    filtered = agent_client.get(f"/tickets/{ticket.pk}/solicit/recipients/?q=ENTREPOT")
    assert filtered.json()["results"] == [
        {"address": "depot@entrepot.example", "uses": 2, "label": "2 sollicitations"}
    ]
    from_api = api("GET", f"/tickets/{ticket.pk}/solicitations/recipients?q=four")
    assert [(r["address"], r["uses"]) for r in from_api.json()] == [
        ("compta@fournisseur.example", 3)
    ]


def test_suggestions_never_show_another_workspace_addresses(agent_client, cast, ticket):
    from comptoir.tickets.services import ticket_create

    other = ticket_create(queue=cast.assurance_queue, channel="email", subject="Sinistre")
    solicitation_send(
        ticket=other,
        author=cast.admin,
        recipient="expert@assurance.example",
        subject="Sinistre",
        body_text="?",
    )
    response = agent_client.get(f"/tickets/{ticket.pk}/solicit/recipients/")
    assert response.json()["results"] == []


def test_the_api_creates_lists_and_replies(api, cast, ticket, mailbox):
    png = base64.b64encode(b"\x89PNG\r\n\x1a\nfake").decode()
    created = api(
        "POST",
        f"/tickets/{ticket.pk}/solicitations",
        {
            "recipient": SUPPLIER,
            "body_html": '<p>Voir la photo <img src="cid:photo@x"></p>',
            "attachments": [
                {
                    "filename": "photo.png",
                    "content_type": "image/png",
                    "content_base64": png,
                    "inline": True,
                    "content_id": "photo@x",
                }
            ],
        },
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["recipient"] == SUPPLIER
    assert body["subject"] == "Colis perdu"  # the ticket's, by default
    assert body["status"] == "waiting"
    assert body["messages"][0]["attachments"][0]["filename"] == "photo.png"

    solicitation = Solicitation.objects.get()
    receive(
        answer_raw(to_mail=outgoing_of(solicitation), sender="autre@transporteur.example"), mailbox
    )
    listed = api("GET", f"/tickets/{ticket.pk}/solicitations").json()
    assert [m["kind"] for m in listed[0]["messages"]] == ["solicitation_out", "solicitation_in"]
    assert listed[0]["messages"][1]["unexpected_sender"] is True
    assert listed[0]["status"] == "answered"

    replied = api("POST", f"/solicitations/{solicitation.pk}/replies", {"body_text": "Merci"})
    assert replied.status_code == 201
    assert replied.json()["messages"][-1]["kind"] == "solicitation_out"
    assert outgoing_of(solicitation).subject.startswith("Re: Re: Colis perdu") is False


def test_the_api_refuses_a_missing_recipient_with_a_sentence(api, ticket):
    response = api("POST", f"/tickets/{ticket.pk}/solicitations", {"body_text": "?"})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail == "Saisissez l\u2019adresse e-mail de la personne à solliciter."


def test_a_history_link_in_a_solicitation_is_issued_for_the_solicited_person(
    cast, ticket, settings
):
    settings.COMPTOIR_PUBLIC_URL = "https://desk.example"
    solicitation = solicitation_send(
        ticket=ticket,
        author=cast.boutique_agent,
        recipient=SUPPLIER,
        subject="Colis perdu",
        body_html='<p>L\'historique : <a href="{{ticket.history_link}}">ici</a></p>',
    )
    link = HistoryLink.objects.get()
    assert link.message is not None and link.message.kind == MessageKind.SOLICITATION_OUT
    assert "https://desk.example/h/" in outgoing_of(solicitation).body_html

"""The API of the composer: reply (with files and inline images), notes, presence, collision."""

from __future__ import annotations

import base64

import pytest
from django.core.cache import cache

from comptoir.accounts.services import token_create
from comptoir.api.tests.conftest import ApiClient
from comptoir.channels.email.delivery import outgoing_deliver
from comptoir.channels.email.models import OutgoingEmail
from comptoir.channels.email.replies import newest_message_id
from comptoir.testing.smtp_sink import smtp_sink_fixture  # noqa: F401
from comptoir.tickets.models import Message, MessageKind, Status
from comptoir.tickets.presence import presence_beat
from comptoir.tickets.services import message_add, ticket_create

PNG = b"\x89PNG\r\n\x1a\n fake image bytes"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


@pytest.fixture
def api(cast) -> ApiClient:
    return ApiClient(token_create(user=cast.boutique_agent, name="tests"))


@pytest.fixture
def ticket(cast):
    ticket = ticket_create(
        queue=cast.boutique_queue, channel="webform", subject="Devis", contact=cast.alice
    )
    message_add(
        ticket=ticket,
        kind=MessageKind.INBOUND,
        body_text="Pouvez-vous m'envoyer un devis ?",
        sender_email="alice@example.com",
    )
    return ticket


def test_a_reply_with_an_inline_image_and_a_file_is_sent_and_described(api, ticket, smtp_sink):
    response = api.post(
        f"/tickets/{ticket.pk}/reply",
        {
            "body_html": '<p>Voici le <b>devis</b> :</p><img src="cid:logo@acme" onerror="x()">',
            "attachments": [
                {"filename": "devis.pdf", "content_type": "application/pdf",
                 "content_base64": b64(b"%PDF devis")},
                {"filename": "logo.png", "content_type": "image/png",
                 "content_base64": b64(PNG), "inline": True, "content_id": "logo@acme"},
            ],
            "seen_message_id": newest_message_id(ticket=ticket),
        },
    )  # fmt: skip
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["kind"] == "outbound"
    assert "onerror" not in data["body_html"] and "<b>devis</b>" in data["body_html"]
    assert data["body_text"].startswith("Voici le devis")
    assert sorted(a["filename"] for a in data["attachments"]) == ["devis.pdf", "logo.png"]
    ticket.refresh_from_db()
    assert ticket.status == Status.AWAITING_CONTACT
    row = OutgoingEmail.objects.get(ticket_message_id=data["id"])
    assert outgoing_deliver(outgoing_id=row.pk)
    mail = smtp_sink.parsed()
    related = next(p for p in mail.walk() if p.get_content_type() == "multipart/related")
    image = list(related.iter_parts())[1]
    assert image["Content-ID"] == "<logo@acme>"
    assert image.get_payload(decode=True) == PNG
    assert [p.get_filename() for p in mail.iter_attachments()] == ["devis.pdf"]


def test_a_reply_after_a_newer_message_answers_409_with_its_id(api, ticket):
    seen = newest_message_id(ticket=ticket)
    newer = message_add(ticket=ticket, kind=MessageKind.INBOUND, body_text="Et aussi…")
    response = api.post(
        f"/tickets/{ticket.pk}/reply", {"body_text": "Voici", "seen_message_id": seen}
    )
    assert response.status_code == 409
    assert response.json()["newer_message_ids"] == [newer.pk]
    assert not OutgoingEmail.objects.exists()
    again = api.post(
        f"/tickets/{ticket.pk}/reply", {"body_text": "Voici", "seen_message_id": newer.pk}
    )
    assert again.status_code == 201


def test_an_empty_reply_answers_422(api, ticket):
    response = api.post(f"/tickets/{ticket.pk}/reply", {"body_html": "<div><br></div>"})
    assert response.status_code == 422
    assert not OutgoingEmail.objects.exists()


def test_bad_base64_or_an_inline_image_without_id_answers_422(api, ticket):
    bad = {"filename": "a.bin", "content_base64": "not base64!"}
    no_id = {"filename": "a.png", "content_type": "image/png", "content_base64": b64(PNG),
             "inline": True}  # fmt: skip
    for attachment in (bad, no_id):
        response = api.post(
            f"/tickets/{ticket.pk}/reply", {"body_text": "x", "attachments": [attachment]}
        )
        assert response.status_code == 422
    assert not OutgoingEmail.objects.exists()


def test_a_phone_request_takes_notes_but_no_email_reply(api, cast):
    ticket = ticket_create(queue=cast.boutique_queue, channel="phone", subject="Appel")
    assert api.post(f"/tickets/{ticket.pk}/reply", {"body_text": "x"}).status_code == 422
    assert api.post(f"/tickets/{ticket.pk}/notes", {"body_text": "x"}).status_code == 201


def test_a_note_is_added_with_its_files_and_nothing_is_sent(api, ticket):
    response = api.post(
        f"/tickets/{ticket.pk}/notes",
        {
            "body_html": '<p>Voir la capture</p><img src="cid:cap@acme">',
            "attachments": [
                {"filename": "cap.png", "content_type": "image/png",
                 "content_base64": b64(PNG), "inline": True, "content_id": "cap@acme"},
            ],
        },
    )  # fmt: skip
    assert response.status_code == 201, response.content
    note = Message.objects.get(pk=response.json()["id"])
    assert note.kind == MessageKind.NOTE
    assert note.attachments.get().is_inline
    assert not OutgoingEmail.objects.exists()
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_other_tenants_and_workspaces_get_404(cast, ticket):
    for user in (cast.other_agent, cast.assurance_agent):
        client = ApiClient(token_create(user=user, name="t"))
        assert client.post(f"/tickets/{ticket.pk}/reply", {"body_text": "x"}).status_code == 404
        assert client.post(f"/tickets/{ticket.pk}/notes", {"body_text": "x"}).status_code == 404
        assert client.get(f"/tickets/{ticket.pk}/presence").status_code == 404
    assert not Message.objects.exclude(kind=MessageKind.INBOUND).exists()


def test_presence_lists_the_other_agents_who_have_the_ticket_open(cast, api, ticket):
    cache.clear()
    assert api.get(f"/tickets/{ticket.pk}/presence").json() == []
    presence_beat(ticket=ticket, user=cast.admin)
    presence_beat(ticket=ticket, user=cast.boutique_agent)
    viewers = api.get(f"/tickets/{ticket.pk}/presence").json()
    assert [(v["name"], v["initials"]) for v in viewers] == [("Ada Min", "AM")]


def test_presence_expires_without_heartbeats(cast, ticket):
    import time

    import time_machine

    from comptoir.tickets.presence import PRESENCE_TTL_S, presence_list

    cache.clear()
    start = time.time()
    with time_machine.travel(start, tick=False):
        presence_beat(ticket=ticket, user=cast.admin)
    with time_machine.travel(start + PRESENCE_TTL_S - 1, tick=False):
        assert [v.name for v in presence_list(ticket=ticket)] == ["Ada Min"]
    with time_machine.travel(start + PRESENCE_TTL_S + 1, tick=False):
        assert presence_list(ticket=ticket) == []

"""`POST /api/v1/inbound/email`: raw MIME over HTTP, stored durably before the 202."""

from __future__ import annotations

import pytest
from django.db import OperationalError, connection
from django.test import Client

from comptoir.accounts.services import token_create
from comptoir.channels.email.models import InboundEmail, InboundStatus
from comptoir.channels.email.process import inbound_process
from comptoir.channels.email.tests.inbound_helpers import ACME_ADDRESS, GLOBEX_ADDRESS, eml
from comptoir.tickets.models import Ticket

URL = "/api/v1/inbound/email"


@pytest.fixture
def post(cast):
    client = Client()
    key = token_create(user=cast.admin, name="webhook")

    def send(raw: bytes, *, mailbox: str | None = ACME_ADDRESS, query: str = "", token=key):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if mailbox:
            headers["X-Comptoir-Mailbox"] = mailbox
        return client.post(URL + query, data=raw, content_type="message/rfc822", headers=headers)

    return send


def test_a_raw_email_is_stored_and_acknowledged_with_202(post, acme_mailbox):
    response = post(eml())
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["duplicate"] is False
    row = InboundEmail.objects.get(pk=body["id"])
    assert row.transport == "http" and row.status == InboundStatus.RECEIVED
    assert bytes(row.raw) == eml()
    inbound_process(inbound_id=row.pk)
    assert Ticket.objects.get().queue == acme_mailbox.queue


def test_the_mailbox_can_be_named_in_the_query_string(post, acme_mailbox):
    response = post(eml(), mailbox=None, query=f"?mailbox={ACME_ADDRESS}")
    assert response.status_code == 202


def test_a_retried_post_is_recognised_as_a_duplicate(post, acme_mailbox):
    first = post(eml()).json()
    second = post(eml())
    assert second.status_code == 202
    assert second.json() == {"id": first["id"], "duplicate": True}
    assert InboundEmail.objects.count() == 1


def test_another_tenants_mailbox_answers_404(post, acme_mailbox, globex_mailbox):
    response = post(eml(), mailbox=GLOBEX_ADDRESS)
    assert response.status_code == 404
    assert InboundEmail.objects.count() == 0


def test_an_unknown_mailbox_answers_404_with_a_clear_error(post, acme_mailbox):
    response = post(eml(), mailbox="nobody@acme.test")
    assert response.status_code == 404
    assert "nobody@acme.test" in response.json()["detail"]


def test_a_missing_mailbox_answers_400(post, acme_mailbox):
    response = post(eml(), mailbox=None)
    assert response.status_code == 400
    assert "X-Comptoir-Mailbox" in response.json()["detail"]


def test_an_empty_body_answers_400(post, acme_mailbox):
    assert post(b"").status_code == 400


def test_no_token_answers_401(post, acme_mailbox):
    assert post(eml(), token=None).status_code == 401
    assert InboundEmail.objects.count() == 0


def test_over_the_size_limit_answers_413_and_stores_nothing(post, acme_mailbox, settings):
    settings.MAIL_MAX_BYTES = 1000
    response = post(eml(body="x" * 5000))
    assert response.status_code == 413
    assert InboundEmail.objects.count() == 0


def test_a_mail_larger_than_djangos_upload_limit_is_accepted(post, acme_mailbox, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post(eml(body="y" * 5000))
    assert response.status_code == 202, response.content


def _database_down(execute, sql, params, many, context):
    raise OperationalError("could not connect to server: Connection refused")


def test_database_unavailable_answers_503_so_the_sender_retries(post, acme_mailbox):
    with connection.execute_wrapper(_database_down):
        response = post(eml())
    assert response.status_code == 503
    assert "retry" in response.json()["detail"]
    assert InboundEmail.objects.count() == 0


def test_database_failing_while_storing_answers_503_and_stores_nothing(post, acme_mailbox):
    def insert_fails(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("INSERT") and "mail_inboundemail" in sql:
            raise OperationalError("disk I/O error")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(insert_fails):
        response = post(eml())
    assert response.status_code == 503
    assert InboundEmail.objects.count() == 0
    assert post(eml()).status_code == 202  # the sender's retry, once the database is back


def test_an_agent_without_the_ingest_right_cannot_post_raw_mail(client, cast, acme_mailbox):
    # Raw MIME can claim any From: an ordinary agent's token must not forge customer mail.
    key = token_create(user=cast.boutique_agent)
    response = client.post(
        "/api/v1/inbound/email",
        data=b"From: x@example.com\r\nSubject: forged\r\n\r\nhello\r\n",
        content_type="message/rfc822",
        HTTP_AUTHORIZATION=f"Bearer {key}",
        HTTP_X_COMPTOIR_MAILBOX=acme_mailbox.address,
    )
    assert response.status_code == 403
    assert "ingest_mail" in response.json()["detail"]

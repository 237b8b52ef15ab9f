"""The LMTP/SMTP receiver, driven by real clients (smtplib, swaks) over a real socket."""

from __future__ import annotations

import argparse
import shutil
import smtplib
import socket
import subprocess
from collections.abc import Iterator
from email.utils import make_msgid

import pytest
from django.db import connection

from comptoir.channels.email.lmtp import (
    InboundController,
    add_transport_commands,
    parse_listen,
    start_in_background,
)
from comptoir.channels.email.models import InboundEmail, Mailbox
from comptoir.testing.faults import LockedDatabase
from comptoir.testing.net import free_port, inbound_listener

pytestmark = pytest.mark.django_db(transaction=True)


def _serve(protocol: str) -> Iterator[InboundController]:
    with inbound_listener(protocol) as controller:
        yield controller


@pytest.fixture
def lmtp_server() -> Iterator[InboundController]:
    yield from _serve("lmtp")


@pytest.fixture
def smtp_server() -> Iterator[InboundController]:
    yield from _serve("smtp")


@pytest.fixture
def mailboxes(cast):
    support = Mailbox.objects.create(
        tenant=cast.tenant,
        workspace=cast.boutique,
        queue=cast.boutique_queue,
        address="support@boutique.test",
    )
    sinistres = Mailbox.objects.create(
        tenant=cast.tenant,
        workspace=cast.assurance,
        queue=cast.assurance_queue,
        address="sinistres@assurance.test",
    )
    globex = Mailbox.objects.create(
        tenant=cast.other_tenant,
        workspace=cast.other_workspace,
        queue=cast.other_queue,
        address="help@globex.test",
    )
    return {"support": support, "sinistres": sinistres, "globex": globex}


def _message(message_id: str | None = "", subject: str = "Ma commande", body: str = "") -> bytes:
    if message_id == "":
        message_id = make_msgid(domain="customer.example")
    lines = [
        "From: Alice Dupont <alice@example.com>",
        "To: support@boutique.test",
        f"Subject: {subject}",
        "Date: Sun, 22 Nov 2026 10:00:00 +0100",
    ]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    lines += ["Content-Type: text/plain; charset=utf-8", "", body or "Bonjour, où est mon colis ?"]
    return ("\r\n".join(lines) + "\r\n").encode()


def _lmtp(server: InboundController) -> smtplib.LMTP:
    client = smtplib.LMTP(server.hostname, server.port, timeout=30)
    client.ehlo_or_helo_if_needed()  # LMTP's ehlo() sends LHLO
    return client


def _data_replies(client: smtplib.SMTP, raw: bytes, recipients: int) -> list[tuple[int, bytes]]:
    """Send DATA and read LMTP's one reply per accepted recipient.

    smtplib's data() reads only the first reply; the others follow on the same socket.
    """
    replies = [client.data(raw)]
    replies += [client.getreply() for _ in range(recipients - 1)]
    return replies


def test_lmtp_answers_250_only_once_the_raw_message_is_in_the_database(lmtp_server, mailboxes):
    raw = _message()
    seen_at_250: list[int] = []
    with _lmtp(lmtp_server) as client:
        client.mail("alice@example.com")
        assert client.rcpt("support@boutique.test")[0] == 250
        code, _ = client.data(raw)
        # Counted right after the 250, before anything else can have happened.
        seen_at_250.append(InboundEmail.objects.count())
    assert code == 250
    assert seen_at_250 == [1]
    row = InboundEmail.objects.get()
    assert bytes(row.raw) == raw
    assert row.transport == "lmtp"
    assert row.mailbox == mailboxes["support"]
    assert row.envelope_from == "alice@example.com"
    assert row.envelope_to == "support@boutique.test"


def test_unknown_recipient_is_refused_at_rcpt_while_the_other_recipient_is_delivered(
    lmtp_server, mailboxes
):
    with _lmtp(lmtp_server) as client:
        client.mail("alice@example.com")
        code, text = client.rcpt("nobody@boutique.test")
        assert (code, text[:5]) == (550, b"5.1.1")
        assert client.rcpt("Support@Boutique.test")[0] == 250
        replies = _data_replies(client, _message(), recipients=1)
    assert [code for code, _ in replies] == [250]
    assert InboundEmail.objects.get().envelope_to == "Support@Boutique.test"


def test_lmtp_gives_one_answer_per_recipient(lmtp_server, mailboxes):
    with _lmtp(lmtp_server) as client:
        client.mail("alice@example.com")
        client.rcpt("support@boutique.test")
        client.rcpt("sinistres@assurance.test")
        client.rcpt("help@globex.test")
        replies = _data_replies(client, _message(), recipients=3)
        # The session is still in step: a NOOP after the three replies gets its own 250.
        assert client.noop()[0] == 250
    assert [code for code, _ in replies] == [250, 250, 250]


def test_the_same_message_to_two_tenants_is_stored_once_per_tenant(lmtp_server, mailboxes, cast):
    with _lmtp(lmtp_server) as client:
        client.mail("alice@example.com")
        client.rcpt("support@boutique.test")
        client.rcpt("sinistres@assurance.test")  # same tenant, another workspace
        client.rcpt("help@globex.test")
        replies = _data_replies(client, _message(), recipients=3)
    assert [code for code, _ in replies] == [250, 250, 250]
    rows = InboundEmail.objects.order_by("tenant_id")
    assert [row.tenant_id for row in rows] == sorted([cast.tenant.pk, cast.other_tenant.pk])
    assert len({row.dedup_key for row in rows}) == 1


def test_the_same_message_delivered_twice_is_stored_once(lmtp_server, mailboxes):
    raw = _message()
    for _ in range(2):
        with _lmtp(lmtp_server) as client:
            client.mail("alice@example.com")
            client.rcpt("support@boutique.test")
            assert client.data(raw)[0] == 250
    assert InboundEmail.objects.count() == 1


def test_a_message_without_message_id_is_keyed_by_its_hash_and_deduplicated(lmtp_server, mailboxes):
    raw = _message(message_id=None)
    for _ in range(2):
        with _lmtp(lmtp_server) as client:
            client.mail("alice@example.com")
            client.rcpt("support@boutique.test")
            assert client.data(raw)[0] == 250
    row = InboundEmail.objects.get()
    assert row.dedup_key.startswith("sha256:")


def test_smtp_mode_stores_then_answers_250(smtp_server, mailboxes):
    with smtplib.SMTP(smtp_server.hostname, smtp_server.port, timeout=30) as client:
        refused = client.sendmail(
            "alice@example.com", ["support@boutique.test", "help@globex.test"], _message()
        )
    assert refused == {}
    assert {row.transport for row in InboundEmail.objects.all()} == {"smtp"}
    assert InboundEmail.objects.count() == 2


def test_smtp_mode_refuses_an_unknown_recipient_at_rcpt(smtp_server, mailboxes):
    with (
        smtplib.SMTP(smtp_server.hostname, smtp_server.port, timeout=30) as client,
        pytest.raises(smtplib.SMTPRecipientsRefused) as refused,
    ):
        client.sendmail("alice@example.com", ["ghost@boutique.test"], _message())
    assert refused.value.recipients["ghost@boutique.test"][0] == 550
    assert InboundEmail.objects.count() == 0


def test_the_size_limit_is_advertised_and_a_declared_bigger_message_is_refused(settings, mailboxes):
    settings.MAIL_MAX_BYTES = 2000
    for server in _serve("lmtp"):
        with _lmtp(server) as client:
            assert client.has_extn("size")
            assert client.esmtp_features["size"] == "2000"
            code, text = client.mail("alice@example.com", options=["SIZE=5000"])
    assert (code, text[:5]) == (552, b"5.3.4")


def test_an_oversized_message_is_refused_with_552_for_each_recipient(settings, mailboxes):
    settings.MAIL_MAX_BYTES = 2000
    big = _message(body="x" * 70 + ("\r\n" + "x" * 70) * 60)
    for server in _serve("lmtp"):
        with _lmtp(server) as client:
            client.mail("alice@example.com")  # no SIZE declared: refused after DATA
            client.rcpt("support@boutique.test")
            client.rcpt("help@globex.test")
            replies = _data_replies(client, big, recipients=2)
            assert client.noop()[0] == 250
    assert [(code, text[:5]) for code, text in replies] == [(552, b"5.3.4"), (552, b"5.3.4")]
    assert InboundEmail.objects.count() == 0


@pytest.fixture
def locked_database() -> Iterator[LockedDatabase]:
    if connection.vendor != "sqlite":
        pytest.skip("the lock simulation is SQLite's; PostgreSQL would wait on the lock")
    locked = LockedDatabase(("mail_inboundemail", "mail_mailbox"))
    yield locked
    locked.release()


def test_database_unavailable_during_data_answers_451_and_stores_nothing(
    lmtp_server, mailboxes, locked_database
):
    with _lmtp(lmtp_server) as client:
        client.mail("alice@example.com")
        assert client.rcpt("support@boutique.test")[0] == 250
        assert client.rcpt("help@globex.test")[0] == 250
        locked_database.lock()
        replies = _data_replies(client, _message(), recipients=2)
    locked_database.release()
    assert [(code, text[:5]) for code, text in replies] == [(451, b"4.3.0"), (451, b"4.3.0")]
    assert InboundEmail.objects.count() == 0


def test_after_a_451_the_retry_of_the_mta_is_stored_once(lmtp_server, mailboxes, locked_database):
    raw = _message()
    with _lmtp(lmtp_server) as client:
        client.mail("alice@example.com")
        client.rcpt("support@boutique.test")
        locked_database.lock()
        assert client.data(raw)[0] == 451
        locked_database.release()
        # The MTA retries later, in the same session or another.
        client.mail("alice@example.com")
        client.rcpt("support@boutique.test")
        assert client.data(raw)[0] == 250
        client.mail("alice@example.com")
        client.rcpt("support@boutique.test")
        assert client.data(raw)[0] == 250
    assert InboundEmail.objects.count() == 1


def test_database_unavailable_at_rcpt_answers_451(lmtp_server, mailboxes, locked_database):
    locked_database.lock()
    with _lmtp(lmtp_server) as client:
        client.mail("alice@example.com")
        code, text = client.rcpt("support@boutique.test")
    assert (code, text[:5]) == (451, b"4.3.0")


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks is not installed (apt swaks)")
def test_swaks_delivers_by_lmtp_to_two_recipients_one_unknown(lmtp_server, mailboxes, tmp_path):
    eml = tmp_path / "mail.eml"
    eml.write_bytes(_message(subject="Envoyé par swaks"))
    result = subprocess.run(
        [
            "swaks",
            "--server",
            f"{lmtp_server.hostname}:{lmtp_server.port}",
            "--protocol",
            "LMTP",
            "--from",
            "alice@example.com",
            "--to",
            "support@boutique.test,ghost@boutique.test",
            "--data",
            str(eml),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    transcript = result.stdout + result.stderr
    assert "<** 550 5.1.1" in transcript, transcript
    assert "<-  250 2.0.0 OK: stored" in transcript, transcript
    row = InboundEmail.objects.get()
    assert b"Subject: Envoy" in bytes(row.raw)
    assert row.envelope_to == "support@boutique.test"


def test_the_run_command_can_start_and_stop_the_listener(mailboxes):
    host, port = parse_listen(f"127.0.0.1:{free_port()}")
    stop = start_in_background(host, port)
    try:
        with smtplib.LMTP(host, port, timeout=30) as client:
            client.ehlo_or_helo_if_needed()
            client.mail("alice@example.com")
            client.rcpt("support@boutique.test")
            assert client.data(_message())[0] == 250
    finally:
        stop()
    with pytest.raises(OSError):
        socket.create_connection((host, port), timeout=2).close()
    assert InboundEmail.objects.count() == 1


def test_listen_addresses_are_parsed_and_bad_ones_refused():
    assert parse_listen("127.0.0.1:2525") == ("127.0.0.1", 2525)
    assert parse_listen("[::1]:2526") == ("::1", 2526)
    assert parse_listen(":2527") == ("127.0.0.1", 2527)
    with pytest.raises(argparse.ArgumentTypeError):
        parse_listen("localhost")


def test_the_mail_commands_parse():
    parser = argparse.ArgumentParser(prog="comptoir")
    mail = parser.add_subparsers(dest="command").add_parser("mail")
    add_transport_commands(mail.add_subparsers(dest="mail_command"))
    args = parser.parse_args(["mail", "lmtp", "--port", "2600", "--smtp"])
    assert (args.transport_command, args.host, args.port, args.smtp) == (
        "lmtp",
        "127.0.0.1",
        2600,
        True,
    )
    args = parser.parse_args(["mail", "imap", "--once"])
    assert (args.transport_command, args.once, args.address) == ("imap", True, "")

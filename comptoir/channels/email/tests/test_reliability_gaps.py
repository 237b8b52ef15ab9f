"""Reliability cases whose tests elsewhere covered only part of the case (see email.md).

Every test drives the real code path: real MIME bytes, the real store and pipeline, real
LMTP/IMAP/SMTP peers where the case is about a transport. Database faults are made by the
database driver itself refusing the work (an execute wrapper on the connection), never by
replacing our own functions.
"""

from __future__ import annotations

import smtplib
import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import OperationalError
from django.db.backends.signals import connection_created

from comptoir.channels.email import ids
from comptoir.channels.email.delivery import outgoing_deliver
from comptoir.channels.email.ingest_cli import ingest
from comptoir.channels.email.lmtp import InboundController
from comptoir.channels.email.models import (
    InboundEmail,
    InboundStatus,
    OutgoingEmail,
)
from comptoir.channels.email.process import inbound_process_pending
from comptoir.channels.email.tests.inbound_helpers import ACME_ADDRESS, deliver, eml, message_of
from comptoir.core import clock
from comptoir.testing.net import inbound_listener
from comptoir.testing.smtp_sink import smtp_sink_fixture  # noqa: F401
from comptoir.tickets.models import Message, Ticket

CORPUS = Path(__file__).resolve().parent / "corpus"


# --- a database that goes down, for every connection of every thread ------------------


class DatabaseDown:
    """While `down` is set, every query on connections opened after `install` fails.

    The failure is the driver's own OperationalError, raised where the query would run,
    so our code sees exactly what a dead server or a full disk gives it.
    """

    def __init__(self) -> None:
        self.down = threading.Event()

    def _wrapper(self, execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        if self.down.is_set():
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    def _on_connect(self, sender, connection, **kwargs):  # type: ignore[no-untyped-def]
        if self._wrapper not in connection.execute_wrappers:
            connection.execute_wrappers.append(self._wrapper)

    def install(self) -> None:
        connection_created.connect(self._on_connect, weak=False)

    def uninstall(self) -> None:
        connection_created.disconnect(self._on_connect)
        self.down.clear()


@pytest.fixture
def database_down() -> Iterator[DatabaseDown]:
    fault = DatabaseDown()
    fault.install()
    yield fault
    fault.uninstall()


def _serve(protocol: str) -> Iterator[InboundController]:
    with inbound_listener(protocol) as controller:
        yield controller


@pytest.fixture
def lmtp_server(database_down) -> Iterator[InboundController]:
    yield from _serve("lmtp")


@pytest.fixture
def smtp_server(database_down) -> Iterator[InboundController]:
    yield from _serve("smtp")


def _lmtp(server: InboundController) -> smtplib.LMTP:
    client = smtplib.LMTP(server.hostname, server.port, timeout=30)
    client.ehlo_or_helo_if_needed()
    return client


# --- case 1: database down during DATA, on SQLite and PostgreSQL alike ----------------


@pytest.mark.django_db(transaction=True)
def test_case1_lmtp_answers_451_per_recipient_while_the_database_is_down_then_stores_once(
    cast, lmtp_server, database_down, acme_mailbox, globex_mailbox
):
    raw = eml(to=f"{ACME_ADDRESS}, help@globex.test")
    with _lmtp(lmtp_server) as client:
        client.mail("jean@client.example")
        assert client.rcpt(ACME_ADDRESS)[0] == 250
        assert client.rcpt("help@globex.test")[0] == 250
        database_down.down.set()
        replies = [client.data(raw), client.getreply()]
        database_down.down.clear()
        assert [(code, text[:5]) for code, text in replies] == [(451, b"4.3.0")] * 2
        assert InboundEmail.objects.count() == 0  # nothing half-stored
        # The MTA retries: stored once per tenant, and only then 250.
        client.mail("jean@client.example")
        client.rcpt(ACME_ADDRESS)
        client.rcpt("help@globex.test")
        replies = [client.data(raw), client.getreply()]
    assert [code for code, _ in replies] == [250, 250]
    assert InboundEmail.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_case1_smtp_mode_answers_one_451_while_the_database_is_down(
    smtp_server, database_down, acme_mailbox
):
    with smtplib.SMTP(smtp_server.hostname, smtp_server.port, timeout=30) as client:
        client.ehlo()
        client.mail("jean@client.example")
        assert client.rcpt(ACME_ADDRESS)[0] == 250
        database_down.down.set()
        code, text = client.data(eml())
        database_down.down.clear()
    assert (code, text[:5]) == (451, b"4.3.0")
    assert InboundEmail.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_case1_database_down_at_rcpt_answers_451_not_550(lmtp_server, database_down, acme_mailbox):
    with _lmtp(lmtp_server) as client:
        client.mail("jean@client.example")
        database_down.down.set()
        code, text = client.rcpt(ACME_ADDRESS)
        database_down.down.clear()
    # A temporary fault must never look like "unknown recipient" (which bounces the mail).
    assert (code, text[:5]) == (451, b"4.3.0")


# --- case 3: a redelivery after the commit, through a real transport ------------------


@pytest.mark.django_db(transaction=True)
def test_case3_lmtp_redelivery_after_commit_gives_one_ticket_and_one_acknowledgment(
    lmtp_server, acme_mailbox, acknowledgment
):
    raw = eml()
    for _ in range(2):  # our 250 was lost: the MTA delivers the same bytes again
        with _lmtp(lmtp_server) as client:
            client.mail("jean@client.example")
            client.rcpt(ACME_ADDRESS)
            assert client.data(raw)[0] == 250
    later = clock.now() + timedelta(minutes=5)
    inbound_process_pending(now=later)  # the worker restarts and sweeps
    inbound_process_pending(now=later)
    assert InboundEmail.objects.get().status == InboundStatus.PROCESSED
    assert Ticket.objects.count() == 1
    assert Message.objects.filter(kind="inbound").count() == 1
    assert OutgoingEmail.objects.filter(kind="acknowledgment").count() == 1


# --- case 8: over the size limit by IMAP and by the file importer ---------------------


def test_case8_the_file_importer_reports_an_oversized_mail_and_stores_the_rest(
    tmp_path, acme_mailbox, settings
):
    settings.MAIL_MAX_BYTES = 3000
    folder = tmp_path / "mails"
    folder.mkdir()
    (folder / "small.eml").write_bytes(eml())
    (folder / "big.eml").write_bytes(eml(message_id="<big@client.example>", body="x" * 5000))
    report = ingest(paths=[str(folder)], mailbox_address=ACME_ADDRESS)
    assert report.stored == 1 and report.processed == 1
    assert len(report.refused) == 1 and "big.eml" in report.refused[0]
    assert str(settings.MAIL_MAX_BYTES) in report.refused[0]
    assert report.exit_status() != 0  # never a silent success when a mail was left out


# --- cases 11, 14, 15: bytes the database would refuse, fields longer than columns ----


def test_case11_nul_bytes_in_headers_and_body_become_a_ticket_not_a_quarantine(acme_mailbox):
    raw = (
        b"From: Je\x00an <jean@client.example>\r\n"
        b"To: support@acme.test\r\n"
        b"Subject: Com\x00mande\r\n"
        b"Message-ID: <nul@client.example>\r\n"
        b"Content-Type: text/plain\r\n\r\n"
        b"Bonjour\x00, ma commande.\r\n"
    )
    row = deliver(acme_mailbox, raw)
    assert row.status == InboundStatus.PROCESSED, row.error
    message = message_of(row)
    assert "\x00" not in message.body_text + message.subject + message.sender_name
    assert "ma commande" in message.body_text
    assert bytes(row.raw) == raw  # the original is kept as it came


def test_case14_a_very_long_folded_subject_is_kept_up_to_the_column_and_whole_in_the_original(
    acme_mailbox,
):
    tokens = [f"mot{i}" for i in range(600)]
    words = " ".join(tokens)  # about 4,000 characters
    # Folded as a mail client folds: a line break before the space between two words.
    folded = "Subject: " + "\r\n ".join(" ".join(tokens[i : i + 10]) for i in range(0, 600, 10))
    raw = (
        "From: Jean <jean@client.example>\r\nTo: support@acme.test\r\n"
        f"{folded}\r\nMessage-ID: <long@client.example>\r\n\r\nBonjour\r\n"
    ).encode()
    row = deliver(acme_mailbox, raw)
    assert row.status == InboundStatus.PROCESSED, row.error
    ticket = Ticket.objects.get()
    assert ticket.subject.startswith("mot0 mot1 mot2")
    assert words.startswith(ticket.subject)  # unfolded, no line breaks, a prefix of it
    assert len(ticket.subject) >= 900
    assert "mot599" in bytes(row.raw).decode()


def test_case15_overlong_names_and_addresses_never_block_the_mail(acme_mailbox):
    long_name = "N" * 600
    raw = (
        f"From: {long_name} <jean@client.example>\r\n"
        f"To: {'x' * 400}@client.example, support@acme.test\r\n"
        f"Reply-To: {'r' * 330}@client.example\r\n"
        "Subject: Noms trop longs\r\nMessage-ID: <names@client.example>\r\n\r\nBonjour\r\n"
    ).encode()
    row = deliver(acme_mailbox, raw)
    assert row.status == InboundStatus.PROCESSED, row.error
    ticket = Ticket.objects.get()
    assert ticket.requester_email == "jean@client.example"


# --- cases 11-18 end to end: every scenario of the corpus through the whole pipeline --


@pytest.mark.parametrize("name", sorted(p.stem for p in CORPUS.glob("*.eml")))
def test_cases11_to_18_every_corpus_mail_goes_through_the_pipeline_without_quarantine(
    acme_mailbox, name
):
    row = deliver(acme_mailbox, (CORPUS / f"{name}.eml").read_bytes())
    # Bounces for mail we never sent are ignored; everything else becomes a message.
    assert row.status in (InboundStatus.PROCESSED, InboundStatus.IGNORED), row.error
    if row.status == InboundStatus.PROCESSED:
        assert row.ticket is not None and row.ticket_message is not None


# --- case 20: both headers; case 22: an altered token -----------------------------------


def test_case20_reply_with_both_in_reply_to_and_references_joins_the_ticket(acme_mailbox):
    deliver(acme_mailbox, eml())
    deliver(acme_mailbox, eml(message_id="<m2@client.example>", in_reply_to="<m1@client.example>"))
    deliver(
        acme_mailbox,
        eml(
            message_id="<m3@client.example>",
            in_reply_to="<m2@client.example>",
            references="<m1@client.example> <m2@client.example>",
        ),
    )
    # In-Reply-To unknown (a message we never received), References known: still joins.
    deliver(
        acme_mailbox,
        eml(
            message_id="<m4@client.example>",
            in_reply_to="<never-seen@client.example>",
            references="<m1@client.example> <never-seen@client.example>",
        ),
    )
    assert Ticket.objects.count() == 1
    assert Ticket.objects.get().messages.count() == 4


def test_case22_a_valid_token_with_its_number_altered_opens_a_new_ticket(cast, acme_mailbox):
    deliver(acme_mailbox, eml(message_id="<a@client.example>", subject="Première"))
    deliver(acme_mailbox, eml(message_id="<b@client.example>", subject="Seconde"))
    first, second = Ticket.objects.order_by("number")
    signature = ids.reply_token(cast.tenant.pk, first.number).split("-")[1]
    altered = f"[#{second.number}-{signature}"  # first's signature on second's number
    deliver(acme_mailbox, eml(message_id="<c@client.example>", subject=f"Re: {altered}"))
    flipped = ids.reply_token(cast.tenant.pk, first.number)
    flipped = flipped[:-2] + ("0" if flipped[-2] != "0" else "1") + "]"
    deliver(acme_mailbox, eml(message_id="<d@client.example>", subject=f"Re: {flipped}"))
    assert Ticket.objects.count() == 4
    assert first.messages.count() == 1 and second.messages.count() == 1


# --- cases 28, 29: the acknowledgment of an inbound mail, as the relay receives it ------


def test_case29_the_acknowledgment_of_an_inbound_mail_carries_every_automatic_header(
    acme_mailbox, acknowledgment, smtp_sink, settings
):
    settings.COMPTOIR_MAIL_DOMAIN = "mail.acme.test"
    deliver(
        acme_mailbox,
        eml(
            message_id="<m3@client.example>",
            in_reply_to="<m2@elsewhere.example>",
            references="<m1@elsewhere.example> <m2@elsewhere.example>",
        ),
    )
    row = OutgoingEmail.objects.get(kind="acknowledgment")
    assert outgoing_deliver(outgoing_id=row.pk)
    mail = smtp_sink.parsed()
    assert mail["Auto-Submitted"] == "auto-replied"
    assert mail["Message-ID"].endswith("@mail.acme.test>")
    assert mail["Message-ID"] == f"<{row.message_id}>"
    assert mail["In-Reply-To"] == "<m3@client.example>"
    assert mail["References"] == (
        "<m1@elsewhere.example> <m2@elsewhere.example> <m3@client.example>"
    )
    assert smtp_sink.messages[0].rcpt_tos == ("jean@client.example",)


def test_case24_our_acknowledgment_coming_back_is_ignored_and_not_answered(
    acme_mailbox, acknowledgment, smtp_sink
):
    deliver(acme_mailbox, eml())
    row = OutgoingEmail.objects.get(kind="acknowledgment")
    assert outgoing_deliver(outgoing_id=row.pk)
    # The relay (or a forwarding rule) hands our own mail back to our mailbox, as sent.
    back = deliver(acme_mailbox, smtp_sink.messages[0].data)
    assert back.status == InboundStatus.IGNORED
    assert Ticket.objects.count() == 1
    assert Message.objects.filter(kind="inbound").count() == 1
    assert OutgoingEmail.objects.count() == 1


def test_case28_a_display_name_with_encoded_line_breaks_cannot_inject_into_the_ack(
    acme_mailbox, acknowledgment, smtp_sink
):
    acknowledgment.subject = "Bonjour {{contact.name}}"
    acknowledgment.save()
    # "Eve\r\nBcc: victim@example.net" hidden in an RFC 2047 encoded word (written by hand:
    # the stdlib refuses to write such a header, a spammer's script does not).
    raw = (
        b"From: =?utf-8?Q?Eve=0D=0ABcc=3A_victim=40example=2Enet?= <eve@client.example>\r\n"
        b"To: support@acme.test\r\nSubject: Bonjour\r\n"
        b"Message-ID: <eve@client.example>\r\n\r\nBonjour\r\n"
    )
    row = deliver(acme_mailbox, raw)
    assert row.status == InboundStatus.PROCESSED, row.error
    ack = OutgoingEmail.objects.get(kind="acknowledgment")
    assert outgoing_deliver(outgoing_id=ack.pk)
    got = smtp_sink.messages[0]
    mail = got.parsed()
    assert got.rcpt_tos == ("eve@client.example",)
    assert "Bcc" not in mail
    assert "victim@example.net" in str(mail["Subject"])  # shown as text, on one line
    assert "\n" not in str(mail["Subject"])


# --- case 31: what exists today (waiting messages come with issue 7) -------------------


def test_case31_processing_a_mail_again_never_queues_a_second_acknowledgment(
    acme_mailbox, acknowledgment
):
    from comptoir.channels.email.acknowledgments import acknowledgment_send

    row = deliver(acme_mailbox, eml())
    ticket = Ticket.objects.get()
    # A second scheduler, a replayed task, a retried batch: the key "ack:<ticket>" holds.
    again = acknowledgment_send(ticket=ticket, recipient="jean@client.example")
    assert again is not None and again.idempotency_key == f"ack:{ticket.pk}"
    assert OutgoingEmail.objects.filter(ticket=ticket, kind="acknowledgment").count() == 1
    assert row.ticket == ticket

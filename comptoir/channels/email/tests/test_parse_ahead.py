"""Bulk ingest with the parser in a child process (parse_ahead.py), and the one-pass mbox reader.

The child must change nothing but where the parse runs: same tickets, same messages, same
quarantine, and the database's bytes win over the file's when a mail was stored before.
"""

from __future__ import annotations

import mailbox as mailboxes
import os
import random
import signal
from pathlib import Path

import pytest

from comptoir.channels.email import ingest_cli
from comptoir.channels.email import mbox as mbox_module
from comptoir.channels.email import parse as parse_module
from comptoir.channels.email.headers import dedup_key
from comptoir.channels.email.ingest_cli import ingest
from comptoir.channels.email.mbox import mbox_count as _mbox_count
from comptoir.channels.email.mbox import mbox_read as _mbox_read
from comptoir.channels.email.models import InboundEmail, InboundStatus
from comptoir.channels.email.parse import parse_email
from comptoir.channels.email.parse_ahead import ParseAhead
from comptoir.channels.email.store import inbound_store
from comptoir.channels.email.tests.inbound_helpers import ACME_ADDRESS, eml
from comptoir.tickets.models import Attachment, Message, Ticket


def _mails(conversations: int) -> list[bytes]:
    raws: list[bytes] = []
    for k in range(conversations):
        root = f"<pa{k}@client.example>"
        raws.append(
            eml(
                subject=f"Demande {k}",
                message_id=root,
                body=f"Demande {k}",
                html=f"<p>Demande <b>{k}</b></p>" if k % 2 else None,
                attachments=[("facture.pdf", "application/pdf", b"%PDF-1.4")] if k % 3 == 0 else (),
            )
        )
        # Replies, one of them before its original in the file.
        raws.append(
            eml(
                subject=f"Re: Demande {k}",
                message_id=f"<pa{k}.r@client.example>",
                in_reply_to=root,
                body=f"Suite {k}\n\n> Demande {k}",
            )
        )
    random.Random(7).shuffle(raws)
    return raws


def _write(folder: Path, raws: list[bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, raw in enumerate(raws):
        (folder / f"{i:05d}.eml").write_bytes(raw)


def _state() -> tuple[object, ...]:
    tickets = sorted((t.number, t.subject, t.message_count, t.status) for t in Ticket.objects.all())
    messages = sorted(
        (m.ticket.number, m.message_id, m.body_text, m.body_html, m.subject)
        for m in Message.objects.select_related("ticket")
    )
    return tickets, messages, Attachment.objects.count()


def test_the_child_gives_what_the_parser_gives():
    raws = [*_mails(3), b"", b"\xff\xfe not a mail", b"Subject: =?utf-8?q?caf=C3=A9?=\r\n\r\nx"]
    with ParseAhead() as ahead:
        first = ahead.submit(raws[:4])
        second = ahead.submit(raws[4:])
        results = ahead.results(first) + ahead.results(second)
    assert ahead.child_peak_rss_mb is not None and ahead.child_peak_rss_mb > 0
    assert [r[0] if r else None for r in results] == [dedup_key(r) for r in raws]
    assert [r[1] if r else None for r in results] == [parse_email(r) for r in raws]


def test_a_dead_child_leaves_the_work_to_the_caller():
    with ParseAhead() as ahead:
        assert ahead._proc is not None
        os.kill(ahead._proc.pid, signal.SIGKILL)
        ahead._proc.wait()
        number = ahead.submit(_mails(1))
        assert ahead.results(number) == [None, None]
        assert ahead.results(ahead.submit(_mails(1))) == [None, None]


@pytest.mark.parametrize("kill_child", [False, True])
def test_ingest_with_the_child_stores_the_same_as_without(
    tmp_path, acme_mailbox, monkeypatch, kill_child
):
    raws = _mails(12)
    _write(tmp_path / "mails", raws)
    report = ingest(
        paths=[str(tmp_path / "mails")], mailbox_address=ACME_ADDRESS, batch=5, parse_ahead=False
    )
    assert report.processed == len(raws) and not report.parsed_ahead
    expected = _state()
    Ticket.objects.all().delete()
    InboundEmail.objects.all().delete()
    Message.objects.all().delete()
    # Numbers go on from the last ticket: compare without them.
    expected_tickets = [t[1:] for t in expected[0]]  # type: ignore[attr-defined]
    expected_messages = sorted(m[1:] for m in expected[1])  # type: ignore[attr-defined]

    if kill_child:
        # The child dies after its first answer: the rest is parsed here, same outcome.
        real = ParseAhead.results

        def results_then_kill(self, number):
            got = real(self, number)
            if number == 0 and self._proc is not None:
                os.kill(self._proc.pid, signal.SIGKILL)
            return got

        monkeypatch.setattr(ParseAhead, "results", results_then_kill)
    report = ingest(
        paths=[str(tmp_path / "mails")], mailbox_address=ACME_ADDRESS, batch=5, parse_ahead=True
    )
    assert report.processed == len(raws) and report.parsed_ahead
    tickets, messages, attachments = _state()
    assert [t[1:] for t in tickets] == expected_tickets  # type: ignore[attr-defined]
    assert sorted(m[1:] for m in messages) == expected_messages  # type: ignore[attr-defined]
    assert attachments == expected[2]
    assert set(InboundEmail.objects.values_list("status", flat=True)) == {InboundStatus.PROCESSED}


def test_a_mail_stored_before_is_processed_from_its_stored_bytes(tmp_path, acme_mailbox):
    # Stored (say by LMTP) but not processed yet; the file holds other bytes under the
    # same Message-ID. The database's bytes are the mail: the file's parse must not be used.
    stored, _created = inbound_store(
        raw=eml(message_id="<same@client.example>", body="Version en base"),
        transport="lmtp",
        mailbox=acme_mailbox,
        schedule=False,
    )
    # Last, so that the child parses it (the first batch is parsed here).
    raws = [eml(message_id=f"<other{i}@client.example>", body=f"Autre {i}") for i in range(5)]
    raws.append(eml(message_id="<same@client.example>", body="Version du fichier"))
    _write(tmp_path / "mails", raws)
    report = ingest(
        paths=[str(tmp_path / "mails")], mailbox_address=ACME_ADDRESS, batch=2, parse_ahead=True
    )
    assert report.parsed_ahead and report.processed == 6 and report.already_stored == 1
    stored.refresh_from_db()
    assert stored.ticket_message is not None
    assert "Version en base" in stored.ticket_message.body_text


def test_a_mail_the_child_did_not_parse_is_parsed_here(tmp_path, acme_mailbox, monkeypatch):
    # No answer from the child for a batch: this process parses it, and a parser bug (only
    # visible here: a monkeypatch does not reach the child) quarantines as it would alone.
    monkeypatch.setattr(
        ParseAhead, "results", lambda self, number: [None] * self._sizes.pop(number)
    )
    monkeypatch.setattr(parse_module, "_build", lambda *a, **k: 1 / 0)
    _write(tmp_path / "mails", _mails(2))
    report = ingest(
        paths=[str(tmp_path / "mails")], mailbox_address=ACME_ADDRESS, batch=2, parse_ahead=True
    )
    assert report.parsed_ahead and report.quarantined == 4
    assert all(
        e.startswith("parse error: parser-crash:ZeroDivisionError")
        for e in InboundEmail.objects.values_list("error", flat=True)
    )


MBOXES = {
    "blank line before From": b"From a\nX: 1\n\nbody\n\nFrom b\nY: 2\n\nb2\n",
    "no blank line": b"From a\nX: 1\n\nbody\nFrom b\nY: 2\n\nb2",
    "CRLF": b"From a\r\nX: 1\r\n\r\nbody\r\n\r\nFrom b\r\nY: 2\r\n\r\nb2\r\n\r\n",
    "two blank lines": b"From a\nX: 1\n\nbody\n\n\nFrom b\n\n",
    "empty messages": b"From a\nFrom b\n\nFrom c\nx\n",
    "quoted From": b"From a\nX: 1\n\n>From here\nbody\n\nFrom b\nY\n",
}


@pytest.mark.parametrize("name", sorted(MBOXES))
def test_the_mbox_reader_splits_as_the_standard_library(tmp_path, name):
    path = tmp_path / "box.mbox"
    path.write_bytes(MBOXES[name])
    box = mailboxes.mbox(str(path), create=False)
    expected = [box.get_bytes(key) for key in box.keys()]  # noqa: SIM118 (a mailbox iterates messages)
    box.close()
    assert list(_mbox_read(path)) == expected
    assert _mbox_count(path) == len(expected)


def test_the_mbox_reader_on_random_files(tmp_path):
    rng = random.Random(3)
    pieces = [b"\n", b"a\n", b"\r\n", b"From\n", b">From z\n", b"b", b"From x\n"]
    for k in range(200):
        data = b"".join(
            b"From x@y Mon\n" + b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
            for _ in range(rng.randint(1, 6))
        )
        path = tmp_path / f"{k}.mbox"
        path.write_bytes(data)
        box = mailboxes.mbox(str(path), create=False)
        expected = [box.get_bytes(key) for key in box.keys()]  # noqa: SIM118 (a mailbox iterates messages)
        box.close()
        assert list(_mbox_read(path)) == expected, data
        assert _mbox_count(path) == len(expected)


@pytest.mark.parametrize("chunk", [1, 2, 5, 7])
def test_the_mbox_reader_splits_the_same_whatever_the_chunks_it_reads(tmp_path, monkeypatch, chunk):
    # A "From " line, or the newline before it, cut by the end of a chunk.
    monkeypatch.setattr(mbox_module, "CHUNK", chunk)
    rng = random.Random(chunk)
    pieces = [b"\n", b"a\n", b"\r\n", b"From\n", b">From z\n", b"b", b"From x\n", b"x From y\n"]
    for k in range(60):
        data = rng.choice([b"", b"before\n"]) + b"".join(
            b"From x@y Mon\n" + b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
            for _ in range(rng.randint(0, 5))
        )
        path = tmp_path / f"{k}.mbox"
        path.write_bytes(data)
        box = mailboxes.mbox(str(path), create=False)
        expected = [box.get_bytes(key) for key in box.keys()]  # noqa: SIM118 (a mailbox iterates messages)
        box.close()
        assert list(_mbox_read(path)) == expected, data
        assert _mbox_count(path) == len(expected), data


def test_the_child_is_used_only_when_it_can_overlap(monkeypatch):
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0, 1}, raising=False)
    assert ingest_cli._parse_ahead_wanted(None, total=400, batch=200)
    assert not ingest_cli._parse_ahead_wanted(None, total=399, batch=200)
    assert not ingest_cli._parse_ahead_wanted(None, total=400, batch=1)
    assert ingest_cli._parse_ahead_wanted(True, total=1, batch=200)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: {0}, raising=False)
    assert not ingest_cli._parse_ahead_wanted(None, total=4000, batch=200)

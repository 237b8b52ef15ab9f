"""`comptoir mail ingest` and `comptoir mail replay`."""

from __future__ import annotations

import io
import mailbox as mailboxes
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from comptoir.channels.email import parse as parse_module
from comptoir.channels.email.ingest_cli import EX_TEMPFAIL, ingest, recipient_addresses
from comptoir.channels.email.models import InboundEmail, InboundStatus
from comptoir.channels.email.tests.inbound_helpers import ACME_ADDRESS, eml
from comptoir.cli import main
from comptoir.tickets.models import Message, Ticket

REPO = Path(__file__).resolve().parents[4]


def _conversation(k: int) -> list[bytes]:
    root = f"<conv{k}@client.example>"
    return [
        eml(subject=f"Demande {k}", message_id=root, body=f"Demande {k}"),
        eml(subject=f"Re: Demande {k}", message_id=f"<conv{k}.r@client.example>", in_reply_to=root),
    ]


def _write_emls(folder: Path, raws: list[bytes]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, raw in enumerate(raws):
        path = folder / f"{i:05d}.eml"
        path.write_bytes(raw)
        paths.append(path)
    return paths


def test_eml_files_are_ingested_into_tickets(tmp_path, acme_mailbox):
    raws = _conversation(1) + _conversation(2)
    _write_emls(tmp_path / "mails", raws)
    report = ingest(paths=[str(tmp_path / "mails")], mailbox_address=ACME_ADDRESS)
    assert (report.read, report.stored, report.processed) == (4, 4, 4)
    assert report.exit_status() == 0
    assert Ticket.objects.count() == 2
    assert set(InboundEmail.objects.values_list("transport", flat=True)) == {"cli"}


def test_running_ingest_twice_records_every_message_once(tmp_path, acme_mailbox):
    _write_emls(tmp_path / "mails", _conversation(1))
    ingest(paths=[str(tmp_path / "mails")], mailbox_address=ACME_ADDRESS)
    again = ingest(paths=[str(tmp_path / "mails")], mailbox_address=ACME_ADDRESS)
    assert (again.stored, again.already_stored, again.skipped) == (0, 2, 2)
    assert Message.objects.count() == 2


def test_a_maildir_and_an_mbox_are_read(tmp_path, acme_mailbox):
    md = mailboxes.Maildir(str(tmp_path / "Maildir"), create=True)
    for raw in _conversation(1):
        md.add(raw)
    mb = mailboxes.mbox(str(tmp_path / "archive.mbox"), create=True)
    for raw in _conversation(2):
        mb.add(raw)
    mb.flush()
    mb.close()
    report = ingest(
        paths=[str(tmp_path / "Maildir"), str(tmp_path / "archive.mbox")],
        mailbox_address=ACME_ADDRESS,
    )
    assert report.processed == 4
    assert Ticket.objects.count() == 2
    assert all(t.messages.count() == 2 for t in Ticket.objects.all())


def test_one_message_on_stdin(acme_mailbox):
    report = ingest(paths=["-"], mailbox_address=ACME_ADDRESS, stdin=io.BytesIO(eml()))
    assert report.processed == 1


def test_the_mailbox_is_found_from_the_recipient_when_not_given(
    tmp_path, cast, acme_mailbox, globex_mailbox
):
    raws = [
        eml(to="Support <SUPPORT@acme.test>", message_id="<a@client.example>"),
        eml(to="help@globex.test", message_id="<b@client.example>"),
        eml(to="nobody@nowhere.example", message_id="<c@client.example>"),
    ]
    _write_emls(tmp_path / "mails", raws)
    report = ingest(paths=[str(tmp_path / "mails")])
    assert report.processed == 2
    assert len(report.unrouted) == 1 and report.unrouted[0].endswith("00002.eml")
    assert report.exit_status() == 1
    assert Ticket.objects.filter(tenant=cast.tenant).count() == 1
    assert Ticket.objects.filter(tenant=cast.other_tenant).count() == 1


def test_delivered_to_wins_over_to_when_finding_the_mailbox():
    raw = b"Delivered-To: support@acme.test\r\nTo: Team <team@client.example>\r\n\r\nx"
    assert recipient_addresses(raw) == ["support@acme.test", "team@client.example"]


def test_the_command_line_ingests_and_says_what_it_did(tmp_path, acme_mailbox, capsys):
    _write_emls(tmp_path / "mails", _conversation(1))
    status = main(["mail", "ingest", "--no-progress", "--mailbox", ACME_ADDRESS, str(tmp_path)])
    assert status == 0
    assert "2 read: 2 stored" in capsys.readouterr().out


def test_an_unknown_mailbox_on_the_command_line_is_an_error(tmp_path, acme_mailbox, capsys):
    _write_emls(tmp_path / "mails", _conversation(1))
    assert main(["mail", "ingest", "--mailbox", "nope@x.example", str(tmp_path)]) == 1
    assert "nope@x.example" in capsys.readouterr().err


def test_new_mail_is_stored_already_processed_in_one_transaction(tmp_path, acme_mailbox):
    # Raw bytes and their processing commit together: no row is ever left "received" and
    # no UPDATE rewrites the stored rows afterwards.
    raws = _conversation(1) + _conversation(2)
    _write_emls(tmp_path / "mails", raws)
    report = ingest(paths=[str(tmp_path / "mails")], mailbox_address=ACME_ADDRESS)
    assert (report.stored, report.processed, report.failed) == (4, 4, [])
    rows = list(InboundEmail.objects.order_by("pk"))
    assert [r.status for r in rows] == [InboundStatus.PROCESSED] * 4
    assert all(r.attempts == 1 and r.processed_at and r.ticket_message_id for r in rows)
    assert [bytes(r.raw) for r in rows] == raws
    pairs = {(r.pk, r.ticket_id) for r in rows}
    assert set(InboundEmail.objects.values_list("pk", "ticket_message__ticket_id")) == pairs


def test_a_batch_that_fails_is_stored_first_then_processed_one_by_one(
    tmp_path, acme_mailbox, monkeypatch
):
    from comptoir.channels.email import routing as routing_module

    def broken(**kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(routing_module, "messages_add_bulk", broken)
    _write_emls(tmp_path / "mails", _conversation(1) + _conversation(2))
    report = ingest(paths=[str(tmp_path / "mails")], mailbox_address=ACME_ADDRESS)
    assert (report.stored, report.processed, report.failed) == (4, 4, [])
    assert set(InboundEmail.objects.values_list("status", flat=True)) == {"processed"}
    assert sorted(Ticket.objects.values_list("number", "message_count")) == [(1, 2), (2, 2)]


def test_replay_processes_quarantined_mail_again(tmp_path, acme_mailbox, monkeypatch, capsys):
    _write_emls(tmp_path / "mails", _conversation(1))
    monkeypatch.setattr(parse_module, "_build", lambda *a, **k: 1 / 0)  # a parser bug
    report = ingest(paths=[str(tmp_path)], mailbox_address=ACME_ADDRESS)
    assert report.quarantined == 2 and report.exit_status() == 0
    monkeypatch.undo()  # fixed
    assert main(["mail", "replay"]) == 2  # says what to replay
    first = InboundEmail.objects.order_by("pk")[0]
    assert main(["mail", "replay", "--id", str(first.pk)]) == 0
    assert InboundEmail.objects.filter(status=InboundStatus.QUARANTINED).count() == 1
    assert main(["mail", "replay", "--all"]) == 0
    assert "1 processed" in capsys.readouterr().out
    assert Ticket.objects.count() == 1 and Message.objects.count() == 2


def test_exit_status_75_when_some_mail_must_be_retried(tmp_path, acme_mailbox, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "comptoir.channels.email.tests.test_faults.FullDiskStorage"},
    }
    _write_emls(
        tmp_path / "mails",
        [eml(attachments=[("a.pdf", "application/pdf", b"%PDF")]), eml(message_id="<z@x>")],
    )
    report = ingest(paths=[str(tmp_path)], mailbox_address=ACME_ADDRESS)
    assert report.processed == 1 and len(report.failed) == 1
    assert report.exit_status() == EX_TEMPFAIL


# --- killed in the middle ---------------------------------------------------------------


def _run(args: list[str], env: dict[str, str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "comptoir.cli", *args],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
        **kw,
    )


SETUP = """
from comptoir.accounts.services import tenant_create, workspace_create, queue_create
from comptoir.channels.email.models import Mailbox
t = tenant_create(name="Kill", slug="kill")
w = workspace_create(tenant=t, name="W")
q = queue_create(workspace=w, name="Q")
Mailbox.objects.create(tenant=t, workspace=w, queue=q, address="support@acme.test")
"""


def _count(db: Path, sql: str) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
        try:
            return con.execute(sql).fetchone()[0]
        finally:
            con.close()
    except sqlite3.OperationalError:
        return 0


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="drives a SQLite file")
def test_ingest_killed_midway_and_run_again_records_every_message_exactly_once(tmp_path):
    data = tmp_path / "var"
    data.mkdir()
    env = {
        **os.environ,
        "COMPTOIR_DATA_DIR": str(data),
        "DJANGO_SETTINGS_MODULE": "comptoir.settings",
    }
    env.pop("DATABASE_URL", None)
    assert _run(["manage", "migrate", "--verbosity", "0"], env).returncode == 0
    setup = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()\n" + SETUP],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert setup.returncode == 0, setup.stderr
    raws = [raw for k in range(250) for raw in _conversation(k)]
    _write_emls(tmp_path / "mails", raws)
    db = data / "comptoir.sqlite3"
    args = ["mail", "ingest", "--no-progress", "--batch", "10", str(tmp_path / "mails")]

    proc = subprocess.Popen(
        [sys.executable, "-m", "comptoir.cli", *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    done = 0
    while time.monotonic() < deadline and proc.poll() is None:
        done = _count(db, "select count(*) from tickets_message")
        if done >= 40:
            break
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = _count(db, "select count(*) from tickets_message")
    assert 0 < killed_at < 500, f"the kill should land midway (at {killed_at})"

    rerun = _run(args, env, timeout=300)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert _count(db, "select count(*) from mail_inboundemail") == 500
    assert _count(db, "select count(*) from mail_inboundemail where status = 'processed'") == 500
    assert _count(db, "select count(*) from tickets_message") == 500
    assert _count(db, "select count(distinct message_id) from tickets_message") == 500
    assert _count(db, "select count(*) from tickets_ticket") == 250

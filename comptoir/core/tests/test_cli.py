"""The `comptoir` command: tokens, Django's commands, and `comptoir run` for real."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.urls import reverse

from comptoir.accounts.services import token_authenticate
from comptoir.cli import main
from comptoir.testing.net import free_port


def test_token_create_prints_a_token_that_authenticates_the_agent(cast, capsys):
    status = main(["token", "create", "--email", cast.boutique_agent.email.upper(), "--name", "ci"])

    out, err = capsys.readouterr()
    assert status == 0, err
    token = out.strip()
    assert token_authenticate(token) == cast.boutique_agent
    assert cast.boutique_agent.api_tokens.get().name == "ci"


def test_token_create_for_an_unknown_email_fails_with_a_clear_message(cast, capsys):
    status = main(["token", "create", "--email", "nobody@nowhere.test"])

    out, err = capsys.readouterr()
    assert status == 1
    assert out == ""
    assert "no agent has the email address 'nobody@nowhere.test'" in err


def test_manage_passes_its_arguments_to_django(capsys):
    status = main(["manage", "check"])

    out, _ = capsys.readouterr()
    assert status == 0
    assert "System check identified no issues" in out


def test_token_without_an_action_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["token"])

    assert exit_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


# --- `comptoir run`, started as a person would start it -------------------------------


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _comptoir_command() -> list[str]:
    # The console script installed next to this interpreter, as `scripts/run` uses it.
    script = Path(sys.executable).with_name("comptoir")
    return [str(script)] if script.exists() else [sys.executable, "-m", "comptoir.cli"]


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database on the server of DATABASE_URL, dropped afterwards."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        pytest.skip("DATABASE_URL names no PostgreSQL server (scripts/test sets it)")
    import dj_database_url
    import psycopg

    conf = dj_database_url.parse(url)
    name = f"comptoir_run_smoke_{uuid.uuid4().hex[:12]}"
    admin = psycopg.connect(
        dbname="postgres",
        user=conf["USER"] or None,
        password=conf["PASSWORD"] or None,
        host=conf["HOST"] or None,
        port=conf["PORT"] or None,
        autocommit=True,
    )
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.rsplit("/", 1)[0] + "/" + name
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _run_and_stop(tmp_path: Path, database_url: str | None) -> str:
    port = free_port()
    lmtp_port = free_port()
    env = {
        **os.environ,
        "COMPTOIR_DATA_DIR": str(tmp_path / "var"),
        "PYTHONUNBUFFERED": "1",
        "COMPTOIR_LOG_LEVEL": "INFO",  # so the consumer's start shows in the output
    }
    env.pop("DATABASE_URL", None)
    if database_url:
        env["DATABASE_URL"] = database_url
    log_path = tmp_path / "run.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [
                *_comptoir_command(),
                "run",
                "--port",
                str(port),
                "--no-demo",
                "--lmtp",
                f"127.0.0.1:{lmtp_port}",
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 90
            healthy = False
            while time.monotonic() < deadline and process.poll() is None:
                try:
                    if _get(f"{base}/healthz") == 200:
                        healthy = True
                        break
                except OSError:
                    pass
                time.sleep(0.25)
            assert healthy, f"never healthy:\n{log_path.read_text()}"

            assert _get(base + reverse("login")) == 200
            assert _get(f"{base}/static/admin/css/base.css") == 200
            # The LMTP listener answers in the same process; with no mailbox configured,
            # a recipient is refused at RCPT time rather than accepted and lost.
            with smtplib.LMTP("127.0.0.1", lmtp_port, timeout=10) as lmtp:
                assert lmtp.ehlo()[0] == 250
                lmtp.mail("someone@example.com")
                assert lmtp.rcpt("nobody@example.com")[0] == 550

            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0, log_path.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    output = log_path.read_text()
    assert f"Comptoir is running: http://127.0.0.1:{port}/" in output
    assert "Huey consumer started with 2 thread" in output
    assert "Comptoir stopped." in output
    return output


def test_run_migrates_serves_the_login_page_and_stops_cleanly_on_sqlite(tmp_path):
    output = _run_and_stop(tmp_path, database_url=None)

    assert "database migrations" in output
    assert "worker and scheduler in this process" in output
    assert (tmp_path / "var" / "comptoir.sqlite3").exists()


def test_run_uses_postgresql_when_database_url_names_it(tmp_path, postgres_url):
    output = _run_and_stop(tmp_path, database_url=postgres_url)

    assert "postgresql (database comptoir_run_smoke_" in output
    assert not (tmp_path / "var" / "comptoir.sqlite3").exists()


def test_counts_rebuild_command_repairs_counts_left_wrong_by_a_bulk_write(cast, capsys):
    from comptoir.tickets.models import Channel, InboxCount, Ticket
    from comptoir.tickets.selectors import InboxFilters, inbox_total
    from comptoir.tickets.services import ticket_create

    for n in range(3):
        ticket_create(queue=cast.boutique_queue, channel=Channel.EMAIL, subject=f"Order {n}")
    # A bulk write that bypasses the services, as an import script might.
    InboxCount.objects.all().delete()
    assert inbox_total(user=cast.admin, filters=InboxFilters()) == 0

    # call_command, not main(["manage", …]): Django closes every connection after a command
    # run from the command line, which would cut this test's transaction on PostgreSQL.
    call_command("counts_rebuild")

    assert "Inbox counts rebuilt" in capsys.readouterr().out
    assert Ticket.objects.filter(tenant=cast.tenant).count() == 3
    assert inbox_total(user=cast.admin, filters=InboxFilters()) == 3


def test_worker_starts_the_consumer_and_stops_cleanly_on_sigterm(tmp_path):
    env = {**os.environ, "COMPTOIR_DATA_DIR": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    # A worker serves a database that `comptoir run` or a deployment step has migrated.
    subprocess.run(
        [*_comptoir_command(), "manage", "migrate", "--noinput", "-v", "0"],
        env=env,
        check=True,
        timeout=120,
    )
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*_comptoir_command(), "worker", "--workers", "1"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        try:
            # Periodic tasks (the sweepers) are due at start: one executed proves that the
            # apps' tasks modules were discovered and that the scheduler and a worker run.
            deadline = time.monotonic() + 90
            while " executed in " not in log_path.read_text():
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)

            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=30) == 0, log_path.read_text()
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    output = log_path.read_text()
    assert "Periodic tasks are enabled" in output
    assert "\n+ comptoir." in output  # the registry lists tasks of our apps
    assert "Consumer exiting" in output

"""The IMAP transport against a real Dovecot started for these tests."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from email.utils import make_msgid

import pytest
from django.db import connection
from imapclient import IMAPClient
from imapclient.imapclient import SEEN

from comptoir.channels.email.imap import (
    ImapStoreFailed,
    fetch_selected,
    imap_command,
    imap_connect,
    imap_fetch_once,
    imap_watch,
    start_imap_watchers,
)
from comptoir.channels.email.models import ImapSecurity, InboundEmail, Mailbox
from comptoir.testing.dovecot import Dovecot, dovecot_server
from comptoir.testing.faults import LockedDatabase

# The IDLE watcher and the lock holder work in threads with their own connections.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    yield from dovecot_server()


@pytest.fixture
def imap_user(dovecot) -> str:
    return dovecot.new_user()


@pytest.fixture
def sender(dovecot, imap_user) -> Iterator[IMAPClient]:
    """The test's own IMAP session on the same account: it APPENDs mail and looks at flags."""
    client = IMAPClient(dovecot.host, port=dovecot.port, ssl=False, timeout=10)
    client.login(imap_user, dovecot.password)
    yield client
    client.logout()


@pytest.fixture
def mailbox(cast, dovecot, imap_user) -> Mailbox:
    return Mailbox.objects.create(
        tenant=cast.tenant,
        workspace=cast.boutique,
        queue=cast.boutique_queue,
        address="support@boutique.test",
        imap_enabled=True,
        imap_host=dovecot.host,
        imap_port=dovecot.port,
        imap_security=ImapSecurity.NONE,
        imap_username=imap_user,
        imap_password=dovecot.password,
    )


def _message(subject: str = "Ma commande", message_id: str | None = "") -> bytes:
    if message_id == "":
        message_id = make_msgid(domain="customer.example")
    lines = [
        "From: Alice Dupont <alice@example.com>",
        "To: support@boutique.test",
        f"Subject: {subject}",
    ]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    lines += ["", "Bonjour, où est mon colis ?"]
    return ("\r\n".join(lines) + "\r\n").encode()


def _flags(client: IMAPClient, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
    client.select_folder(folder, readonly=True)
    uids = client.search(["ALL"])
    return {uid: data for uid, data in client.get_flags(uids).items()} if uids else {}


def test_fetched_mail_is_stored_then_flagged_seen(mailbox, sender):
    first, second = _message("Un"), _message("Deux")
    sender.append("INBOX", first)
    sender.append("INBOX", second)

    assert imap_fetch_once(mailbox) == 2

    rows = InboundEmail.objects.order_by("pk")
    assert [bytes(row.raw) for row in rows] == [first, second]
    assert {row.transport for row in rows} == {"imap"}
    assert {row.mailbox_id for row in rows} == {mailbox.pk}
    assert all(SEEN in flags for flags in _flags(sender).values())


def test_already_seen_mail_is_left_alone(mailbox, sender):
    sender.append("INBOX", _message(), flags=[SEEN])
    assert imap_fetch_once(mailbox) == 0
    assert InboundEmail.objects.count() == 0


def test_fetches_in_batches(mailbox, sender):
    for n in range(7):
        sender.append("INBOX", _message(f"Message {n}"))
    client = imap_connect(mailbox)
    try:
        client.select_folder("INBOX")
        assert fetch_selected(client, mailbox, batch=3) == 7
    finally:
        client.logout()
    assert InboundEmail.objects.count() == 7


def test_stored_mail_is_moved_to_the_archive_folder(mailbox, sender):
    mailbox.imap_archive_folder = "Traités"
    mailbox.save()
    raw = _message()
    sender.append("INBOX", raw)

    assert imap_fetch_once(mailbox) == 1

    assert _flags(sender, "INBOX") == {}
    archived = sender.search(["ALL"]) if sender.select_folder("Traités") else []
    assert len(archived) == 1
    assert sender.fetch(archived, ["BODY.PEEK[]"])[archived[0]][b"BODY[]"] == raw
    assert InboundEmail.objects.count() == 1


def test_with_an_archive_folder_mail_already_read_in_a_webmail_is_not_skipped(mailbox, sender):
    # Someone opened it in the provider's webmail before our poll: it is \Seen, but still
    # in the inbox, so it was never processed.
    mailbox.imap_archive_folder = "Traités"
    mailbox.save()
    sender.append("INBOX", _message("Lu dans le webmail"), flags=[SEEN])

    assert imap_fetch_once(mailbox) == 1

    assert InboundEmail.objects.count() == 1
    assert _flags(sender, "INBOX") == {}


def test_a_repoll_of_the_same_message_stores_it_once(mailbox, sender):
    raw = _message()
    sender.append("INBOX", raw)
    assert imap_fetch_once(mailbox) == 1
    # As if the flag had been lost (a crash after our commit, before \Seen): it comes again.
    sender.select_folder("INBOX")
    sender.remove_flags(sender.search(["ALL"]), [SEEN])
    sender.append("INBOX", raw)  # and a second copy of it, delivered twice

    assert imap_fetch_once(mailbox) == 2

    assert InboundEmail.objects.count() == 1
    assert all(SEEN in flags for flags in _flags(sender).values())


def test_a_database_failure_leaves_the_message_unseen_on_the_server(mailbox, sender):
    if connection.vendor != "sqlite":
        pytest.skip("the lock simulation is SQLite's; PostgreSQL would wait on the lock")
    sender.append("INBOX", _message())
    locked = LockedDatabase()
    locked.lock()
    try:
        with pytest.raises(ImapStoreFailed):
            imap_fetch_once(mailbox)
    finally:
        locked.release()

    assert InboundEmail.objects.count() == 0
    assert [SEEN in flags for flags in _flags(sender).values()] == [False]
    # Once the database is back, the next poll gets it.
    assert imap_fetch_once(mailbox) == 1
    assert InboundEmail.objects.count() == 1


def test_the_watcher_picks_up_mail_appended_while_it_idles(mailbox, sender):
    stop = threading.Event()
    watcher = threading.Thread(target=imap_watch, args=(mailbox, stop), daemon=True)
    watcher.start()
    try:
        time.sleep(0.5)  # let it connect and enter IDLE
        raw = _message("Pendant l'IDLE")
        sender.append("INBOX", raw)
        # Watch the server, not the database: the test database (SQLite in memory) would
        # make the watcher's write wait on our reads.
        assert _eventually_all_seen(sender, timeout=10)
    finally:
        stop.set()
        watcher.join(10)
    assert not watcher.is_alive()
    assert [bytes(row.raw) for row in InboundEmail.objects.all()] == [raw]


def _eventually_all_seen(client: IMAPClient, *, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        flags = _flags(client)
        if flags and all(SEEN in f for f in flags.values()):
            return True
        time.sleep(0.1)
    return False


def test_the_watcher_polls_a_server_without_idle(mailbox, sender, monkeypatch):
    monkeypatch.setattr(IMAPClient, "has_capability", lambda self, cap: cap.upper() != "IDLE")
    stop = threading.Event()
    watcher = threading.Thread(
        target=imap_watch, args=(mailbox, stop), kwargs={"poll_interval": 0.3}, daemon=True
    )
    watcher.start()
    try:
        time.sleep(0.3)
        sender.append("INBOX", _message())
        assert _eventually_all_seen(sender, timeout=10)
    finally:
        stop.set()
        watcher.join(10)
    assert InboundEmail.objects.count() == 1


def test_the_once_command_fetches_every_imap_mailbox(mailbox, sender, capsys):
    sender.append("INBOX", _message())
    assert imap_command(once=True) == 0
    assert "support@boutique.test: 1 message(s) stored" in capsys.readouterr().out
    assert InboundEmail.objects.count() == 1


def test_the_once_command_exits_75_when_the_server_is_unreachable(mailbox, capsys):
    mailbox.imap_port = 1  # nothing listens there
    mailbox.save()
    assert imap_command(once=True) == 75
    assert "failed" in capsys.readouterr().out


def test_the_watchers_follow_the_mailboxes_of_the_database(mailbox, sender):
    stop = start_imap_watchers(poll_interval=0.3, rescan=0.5)
    try:
        sender.append("INBOX", _message())
        assert _eventually_all_seen(sender, timeout=10)
    finally:
        stop()
    assert not [t for t in threading.enumerate() if t.name.startswith("comptoir-imap")]
    assert InboundEmail.objects.count() == 1


@pytest.fixture(scope="module")
def tls_dovecot() -> Iterator[Dovecot]:
    yield from dovecot_server(tls=True)


@pytest.fixture
def tls_mailbox(cast, tls_dovecot) -> Mailbox:
    return Mailbox.objects.create(
        tenant=cast.tenant,
        workspace=cast.boutique,
        queue=cast.boutique_queue,
        address="secure@boutique.test",
        imap_enabled=True,
        imap_host=tls_dovecot.host,
        imap_username=tls_dovecot.new_user(),
        imap_password=tls_dovecot.password,
    )


def _append(server: Dovecot, user: str, raw: bytes) -> None:
    client = IMAPClient(server.host, port=server.port, ssl=False, timeout=10)
    client.login(user, server.password)
    client.append("INBOX", raw)
    client.logout()


@pytest.mark.parametrize("security", [ImapSecurity.SSL, ImapSecurity.STARTTLS])
def test_mail_is_fetched_over_tls(tls_mailbox, tls_dovecot, security, monkeypatch):
    # The server's certificate is self-signed: trust it the way an operator would.
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_dovecot.ca_file))
    tls_mailbox.imap_security = security
    tls_mailbox.imap_port = (
        tls_dovecot.tls_port if security == ImapSecurity.SSL else tls_dovecot.port
    )
    tls_mailbox.save()
    _append(tls_dovecot, tls_mailbox.imap_username, _message())

    assert imap_fetch_once(tls_mailbox) == 1


def test_a_certificate_we_do_not_trust_is_refused(tls_mailbox, tls_dovecot):
    tls_mailbox.imap_security = ImapSecurity.SSL
    tls_mailbox.imap_port = tls_dovecot.tls_port
    tls_mailbox.save()
    _append(tls_dovecot, tls_mailbox.imap_username, _message())

    with pytest.raises(ssl.SSLCertVerificationError):
        imap_fetch_once(tls_mailbox)
    assert InboundEmail.objects.count() == 0


# --- added by the reliability audit (cases 1 and 8, see docs/subsystems/email.md) ------


def test_a_message_over_the_size_limit_is_left_unseen_on_the_server_with_a_warning(
    mailbox, sender, settings, caplog
):
    settings.MAIL_MAX_BYTES = 2000
    big = _message("Trop gros")[:-2] + b"x" * 5000 + b"\r\n"
    small = _message("Petit")
    sender.append("INBOX", big)
    sender.append("INBOX", small)

    with caplog.at_level("WARNING", logger="comptoir.channels.email.imap"):
        assert imap_fetch_once(mailbox) == 1

    assert [bytes(row.raw) for row in InboundEmail.objects.all()] == [small]
    # Never dropped: still on the server, unseen, for a person to handle; and said so.
    seen = sorted(SEEN in flags for flags in _flags(sender).values())
    assert seen == [False, True]
    assert any("over MAIL_MAX_BYTES" in r.getMessage() for r in caplog.records)
    assert imap_fetch_once(mailbox) == 0  # the next poll does not store it either


def test_a_database_refusing_writes_leaves_the_message_unseen_on_any_database(mailbox, sender):
    from django.db import OperationalError

    def refuse_writes(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("INSERT"):
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    sender.append("INBOX", _message())
    # The fetch runs in this thread: the driver of its connection refuses the INSERT.
    with connection.execute_wrapper(refuse_writes), pytest.raises(ImapStoreFailed):
        imap_fetch_once(mailbox)
    assert InboundEmail.objects.count() == 0
    assert [SEEN in flags for flags in _flags(sender).values()] == [False]
    assert imap_fetch_once(mailbox) == 1
    assert [SEEN in flags for flags in _flags(sender).values()] == [True]

"""IMAP transport (imapclient): fetch unseen mail, store it, and only then mark it.

The server copy is our safety net: a message is flagged \\Seen (or moved to the archive
folder) only after `inbound_store` committed it. Fetching uses BODY.PEEK[] so that reading
alone never sets \\Seen; any failure leaves the message unseen on the server, and the next
poll tries again (the store deduplicates what was stored but not yet flagged).
"""

from __future__ import annotations

import logging
import signal
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import close_old_connections
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from imapclient.imapclient import DELETED, SEEN

from comptoir.channels.email.models import ImapSecurity, Mailbox

log = logging.getLogger(__name__)

TIMEOUT_S = 60.0  # connect and each read/write, outside IDLE
FETCH_BATCH = 25
POLL_INTERVAL_S = 60.0  # servers without IDLE
# RFC 2177 lets servers drop an IDLE after 29 minutes; renewing sooner also bounds the delay
# of a message whose EXISTS came in the response to another command, not during IDLE.
IDLE_RENEW_S = 10 * 60
IDLE_CHECK_S = 1.0  # how often an IDLE wait looks at the stop event
BACKOFF_MIN_S = 1.0
BACKOFF_MAX_S = 300.0
RESCAN_S = 60.0  # how often the supervisor looks for added or removed mailboxes


class ImapStoreFailed(Exception):
    """A message could not be stored: it is left unseen on the server; try again later."""


def imap_connect(mailbox: Mailbox, *, timeout: float = TIMEOUT_S) -> IMAPClient:
    """Connect and log in with the mailbox's settings (SSL, STARTTLS or plain)."""
    context = ssl.create_default_context()
    security = mailbox.imap_security
    client = IMAPClient(
        mailbox.imap_host,
        port=mailbox.imap_port,
        ssl=security == ImapSecurity.SSL,
        ssl_context=context if security == ImapSecurity.SSL else None,
        timeout=timeout,
    )
    try:
        if security == ImapSecurity.STARTTLS:
            client.starttls(context)
        client.login(mailbox.imap_username, mailbox.imap_password)
    except BaseException:
        _close(client)
        raise
    return client


def _close(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:
        try:
            client.shutdown()
        except Exception:
            log.debug("IMAP shutdown failed", exc_info=True)


def _store(mailbox: Mailbox, raw: bytes) -> None:
    from comptoir.channels.email.store import inbound_store

    # Long-lived threads: a connection broken by an earlier fault must not be reused.
    close_old_connections()
    try:
        inbound_store(
            raw=raw,
            transport="imap",
            mailbox=mailbox,
            envelope_to=mailbox.address,
        )
    finally:
        close_old_connections()


def _chunks(items: Sequence[int], size: int) -> Iterable[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _acknowledge(client: IMAPClient, mailbox: Mailbox, uids: list[int]) -> None:
    """Mark stored messages on the server: move to the archive folder, or flag \\Seen."""
    if not uids:
        return
    folder = mailbox.imap_archive_folder
    if not folder or folder == mailbox.imap_folder:
        client.add_flags(uids, [SEEN], silent=True)
        return
    if client.has_capability("MOVE"):
        client.move(uids, folder)
        return
    client.copy(uids, folder)
    client.add_flags(uids, [DELETED], silent=True)
    if client.has_capability("UIDPLUS"):
        client.uid_expunge(uids)
    else:
        # Without UIDPLUS, EXPUNGE also removes what others flagged \Deleted: their choice.
        client.expunge()


def fetch_selected(client: IMAPClient, mailbox: Mailbox, *, batch: int = FETCH_BATCH) -> int:
    """Store the waiting messages of the selected folder; returns how many were handled.

    With an archive folder, every message still in the folder is waiting (stored ones are
    moved out), so mail someone already read in a webmail is not skipped; without one, the
    \\Seen flag is the only mark we have, and unseen messages are the waiting ones.
    Raises ImapStoreFailed at the first message that cannot be stored (the rest stay
    untouched too; a database fault would fail them all anyway).
    """
    criteria = ["NOT", "DELETED"] if mailbox.imap_archive_folder else ["UNSEEN"]
    uids = sorted(client.search(criteria))
    handled = 0
    for chunk in _chunks(uids, batch):
        sizes = client.fetch(chunk, ["RFC822.SIZE"])
        wanted = []
        for uid in chunk:
            size = sizes.get(uid, {}).get(b"RFC822.SIZE", 0)
            if size > settings.MAIL_MAX_BYTES:
                # Left unseen on the server for a person to handle: never dropped (case 8).
                log.warning(
                    "%s: message UID %s is %s bytes, over MAIL_MAX_BYTES; left on the server",
                    mailbox.address,
                    uid,
                    size,
                )
                continue
            wanted.append(uid)
        if not wanted:
            continue
        bodies = client.fetch(wanted, ["BODY.PEEK[]"])
        stored = []
        try:
            for uid in wanted:
                raw = bodies.get(uid, {}).get(b"BODY[]")
                if raw is None:  # expunged by someone else meanwhile
                    continue
                try:
                    _store(mailbox, bytes(raw))
                except Exception as exc:
                    raise ImapStoreFailed(
                        f"{mailbox.address}: could not store UID {uid}: {exc}"
                    ) from exc
                stored.append(uid)
        finally:
            # What was committed is acknowledged even when a later message failed.
            _acknowledge(client, mailbox, stored)
            handled += len(stored)
    return handled


def _select(client: IMAPClient, mailbox: Mailbox) -> None:
    folder = mailbox.imap_archive_folder
    if folder and not client.folder_exists(folder):
        client.create_folder(folder)
    client.select_folder(mailbox.imap_folder)


def imap_fetch_once(mailbox: Mailbox) -> int:
    """Connect, store every unseen message of the mailbox's folder, disconnect."""
    client = imap_connect(mailbox)
    try:
        _select(client, mailbox)
        return fetch_selected(client, mailbox)
    finally:
        _close(client)


def imap_watch(
    mailbox: Mailbox,
    stop_event: threading.Event,
    *,
    poll_interval: float = POLL_INTERVAL_S,
    idle_renew: float = IDLE_RENEW_S,
) -> None:
    """Fetch new mail until `stop_event` is set: IDLE where the server has it, else polling.

    Disconnects and faults (server or database) are retried with exponential backoff.
    """
    backoff = BACKOFF_MIN_S
    while not stop_event.is_set():
        client = None
        try:
            client = imap_connect(mailbox)
            _select(client, mailbox)
            use_idle = client.has_capability("IDLE")
            _fetch_until_empty(client, mailbox)
            backoff = BACKOFF_MIN_S
            while not stop_event.is_set():
                if use_idle:
                    _idle_until_news(client, stop_event, idle_renew)
                elif stop_event.wait(poll_interval):
                    break
                else:
                    client.noop()
                if stop_event.is_set():
                    break
                _fetch_until_empty(client, mailbox)
        except (OSError, IMAPClientError, ImapStoreFailed, ssl.SSLError) as exc:
            log.warning("%s: IMAP watch: %s; retrying in %.0f s", mailbox.address, exc, backoff)
        except Exception:
            log.exception("%s: IMAP watch failed; retrying in %.0f s", mailbox.address, backoff)
        finally:
            if client is not None:
                _close(client)
        if stop_event.wait(backoff):
            break
        backoff = min(backoff * 2, BACKOFF_MAX_S)


def _fetch_until_empty(client: IMAPClient, mailbox: Mailbox) -> None:
    """Fetch until a search finds nothing new and no new mail was announced meanwhile.

    Mail arriving while we fetch is announced (EXISTS) in the answers to our own commands;
    IDLE would not announce it again, so it would wait for the next renewal.
    """
    while True:
        _new_mail_announced(client)
        handled = fetch_selected(client, mailbox)
        if not handled and not _new_mail_announced(client):
            return


def _new_mail_announced(client: IMAPClient) -> bool:
    """Whether an EXISTS came with an earlier answer (imaplib keeps untagged responses)."""
    untagged = getattr(getattr(client, "_imap", None), "untagged_responses", None)
    if not isinstance(untagged, dict):
        return False
    return bool(untagged.pop("EXISTS", None))


def _idle_until_news(client: IMAPClient, stop_event: threading.Event, renew: float) -> None:
    """IDLE until the server announces something, the renewal time, or a stop."""
    client.idle()
    deadline = time.monotonic() + renew
    try:
        while not stop_event.is_set() and time.monotonic() < deadline:
            responses = client.idle_check(timeout=IDLE_CHECK_S)
            # EXISTS / RECENT announce new mail; a bare "OK Still here" is a keep-alive.
            if any(len(r) > 1 and r[1] in (b"EXISTS", b"RECENT") for r in responses):
                return
    finally:
        client.idle_done()


class _Watchers:
    """One watcher thread per active IMAP mailbox, kept in step with the database."""

    def __init__(self, *, poll_interval: float, rescan: float) -> None:
        self.poll_interval = poll_interval
        self.rescan = rescan
        self.stop_event = threading.Event()
        self.threads: dict[int, tuple[threading.Thread, threading.Event, tuple[Any, ...]]] = {}
        self.supervisor = threading.Thread(
            target=self._supervise, name="comptoir-imap-supervisor", daemon=True
        )

    def _wanted(self) -> dict[int, Mailbox]:
        close_old_connections()
        try:
            return {m.pk: m for m in _imap_mailboxes()}
        finally:
            close_old_connections()

    def _supervise(self) -> None:
        while not self.stop_event.is_set():
            try:
                self._sync(self._wanted())
            except Exception:
                log.exception("IMAP supervisor could not read the mailboxes")
            if self.stop_event.wait(self.rescan):
                break

    def _sync(self, wanted: dict[int, Mailbox]) -> None:
        for pk, (thread, stop, signature) in list(self.threads.items()):
            mailbox = wanted.get(pk)
            if mailbox is None or _signature(mailbox) != signature or not thread.is_alive():
                stop.set()
                thread.join(5)
                del self.threads[pk]
        for pk, mailbox in wanted.items():
            if pk in self.threads:
                continue
            stop = threading.Event()
            thread = threading.Thread(
                target=imap_watch,
                args=(mailbox, stop),
                kwargs={"poll_interval": self.poll_interval},
                name=f"comptoir-imap-{mailbox.address}",
                daemon=True,
            )
            self.threads[pk] = (thread, stop, _signature(mailbox))
            thread.start()

    def start(self) -> None:
        self.supervisor.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.supervisor.join(10)
        for _thread, stop, _sig in self.threads.values():
            stop.set()
        for thread, _stop, _sig in self.threads.values():
            thread.join(10)
        self.threads.clear()


def _signature(mailbox: Mailbox) -> tuple[Any, ...]:
    """The settings a watcher was started with: a change restarts it."""
    return (
        mailbox.imap_host,
        mailbox.imap_port,
        mailbox.imap_security,
        mailbox.imap_username,
        mailbox.imap_password,
        mailbox.imap_folder,
        mailbox.imap_archive_folder,
        mailbox.tenant_id,
        mailbox.queue_id,
    )


def _imap_mailboxes(address: str = "") -> list[Mailbox]:
    mailboxes = Mailbox.objects.filter(is_active=True, imap_enabled=True).exclude(imap_host="")
    if address:
        mailboxes = mailboxes.filter(address__iexact=address.strip())
    return list(mailboxes.select_related("tenant").order_by("pk"))


def start_imap_watchers(
    *, poll_interval: float = POLL_INTERVAL_S, rescan: float = RESCAN_S
) -> Callable[[], None]:
    """Watch every active IMAP mailbox in background threads; returns the stop function.

    Mailboxes added, changed or disabled later are picked up within `rescan` seconds.
    """
    watchers = _Watchers(poll_interval=poll_interval, rescan=rescan)
    watchers.start()
    return watchers.stop


def imap_command(*, once: bool, address: str = "") -> int:
    """`comptoir mail imap [--once] [--address A]`; returns the exit status."""
    if once:
        mailboxes = _imap_mailboxes(address)
        if not mailboxes:
            print("No active mailbox fetches by IMAP.", flush=True)
            return 1 if address else 0
        status = 0
        for mailbox in mailboxes:
            try:
                count = imap_fetch_once(mailbox)
            except Exception as exc:
                print(f"{mailbox.address}: failed: {exc}", flush=True)
                status = 75  # EX_TEMPFAIL: nothing was lost, run again later
            else:
                print(f"{mailbox.address}: {count} message(s) stored", flush=True)
        return status
    stop = threading.Event()

    def on_signal(sig: int, frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        if address:
            mailboxes = _imap_mailboxes(address)
            if not mailboxes:
                print(f"No active IMAP mailbox has the address {address!r}.", flush=True)
                return 1
            thread = threading.Thread(target=imap_watch, args=(mailboxes[0], stop), daemon=True)
            thread.start()
            print(f"Watching {mailboxes[0].address} by IMAP. Stop: Ctrl+C.", flush=True)
            while not stop.wait(1):
                pass
            thread.join(10)
        else:
            stop_watchers = start_imap_watchers()
            print("Watching every active IMAP mailbox. Stop: Ctrl+C.", flush=True)
            try:
                while not stop.wait(1):
                    pass
            finally:
                stop_watchers()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0

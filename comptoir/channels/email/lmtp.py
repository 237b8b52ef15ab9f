"""The LMTP/SMTP receiver (aiosmtpd) that a Postfix or Exim delivers to.

Promises (docs: reliability.md, cases 1, 4, 5, 8, 9):
- 250 only after the raw bytes are committed (`store.inbound_store` commits before it returns);
- 550 5.1.1 at RCPT for an address without an active mailbox;
- 552 5.3.4 over `MAIL_MAX_BYTES` (advertised with SIZE, so a polite client never sends it);
- 451 4.3.0 on any other fault (database down, disk full, a bug of ours): the MTA keeps
  the message and retries, and the retry is deduplicated by the store;
- LMTP answers after DATA once per accepted recipient (RFC 2033 §4.2), so one recipient's
  fault never makes the MTA redeliver to the others — and when it does, the store dedups.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.conf import settings
from django.db import close_old_connections

if TYPE_CHECKING:  # the CLI imports this module before Django is set up
    from comptoir.channels.email.models import Mailbox

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 2525

OK_RCPT = "250 2.1.5 OK"
OK_DATA = "250 2.0.0 OK: stored"
UNKNOWN_MAILBOX = "550 5.1.1 {address}: unknown mailbox"
TRANSIENT = "451 4.3.0 Temporary failure, please try again later"
TOO_BIG = "552 5.3.4 Message too big for this system"


def _db_call(func: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Run `func` in this worker thread with a fresh-enough database connection.

    Worker threads live long: a connection broken by a previous fault (or past its
    CONN_MAX_AGE) must not be reused, hence the cleanup before and after.
    """
    close_old_connections()
    try:
        return func(*args, **kwargs)
    finally:
        close_old_connections()


def _lookup(address: str) -> Mailbox | None:
    from comptoir.channels.email.store import mailbox_for_address

    return mailbox_for_address(address)


def _store(*, raw: bytes, transport: str, mailbox: Mailbox, envelope_from: str, rcpt: str) -> str:
    """Store for one recipient and return its reply line."""
    from comptoir.channels.email.store import MessageTooLarge, inbound_store

    try:
        _row, _created = _db_call(
            inbound_store,
            raw=raw,
            transport=transport,
            mailbox=mailbox,
            envelope_from=envelope_from,
            envelope_to=rcpt,
        )
    except MessageTooLarge:
        return TOO_BIG
    except Exception:
        # Whatever went wrong, nothing is committed (the store is one transaction): a
        # temporary answer makes the MTA retry instead of bouncing the customer's mail.
        log.exception("could not store mail for %s; answered 451", rcpt)
        return TRANSIENT
    # A duplicate (created false) is stored already: 250 all the same (case 4).
    return OK_DATA


class InboundHandler:
    """aiosmtpd handler: RCPT checks the mailbox, DATA stores once per recipient."""

    def __init__(self, *, protocol: str = "lmtp") -> None:
        if protocol not in ("lmtp", "smtp"):
            raise ValueError(f"unknown protocol {protocol!r}")
        self.protocol = protocol

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        try:
            mailbox = await asyncio.to_thread(_db_call, _lookup, address)
        except Exception:
            log.exception("mailbox lookup failed for %s; answered 451", address)
            return TRANSIENT
        if mailbox is None:
            return UNKNOWN_MAILBOX.format(address=_printable(address))
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        _mailboxes(envelope).append(mailbox)
        return OK_RCPT

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        mailboxes = _mailboxes(envelope)
        raw = envelope.original_content or b""
        envelope_from = envelope.mail_from or ""
        replies = []
        for rcpt, mailbox in zip(envelope.rcpt_tos, mailboxes, strict=True):
            replies.append(
                await asyncio.to_thread(
                    _store,
                    raw=raw,
                    transport=self.protocol,
                    mailbox=mailbox,
                    envelope_from=envelope_from,
                    rcpt=rcpt,
                )
            )
        if self.protocol == "lmtp":
            # aiosmtpd writes the string as is followed by CRLF: one line per recipient.
            return "\r\n".join(replies)
        # SMTP has one answer for all: any temporary fault makes the client retry them all,
        # which is safe because the recipients already stored deduplicate.
        for reply in replies:
            if reply.startswith("4"):
                return reply
        for reply in replies:
            if reply.startswith("5"):
                return reply
        return OK_DATA


def _mailboxes(envelope: Envelope) -> list[Mailbox]:
    """The mailboxes found at RCPT, in the order of `envelope.rcpt_tos`.

    Kept on the envelope itself: aiosmtpd makes a new one for each mail and after RSET.
    """
    found: list[Mailbox] = vars(envelope).setdefault("comptoir_mailboxes", [])
    return found


def _printable(address: str) -> str:
    return "".join(ch for ch in address if ch.isprintable())[:320]


class _SizeAware:
    """aiosmtpd's own refusals, made to carry enhanced codes and (LMTP) one line per recipient.

    aiosmtpd answers an oversized or over-long DATA with a single line; an LMTP client
    expects one reply per accepted recipient and would wait for the others.
    """

    # RFC 5322 says 998, but a long line is no reason to bounce a customer's mail.
    line_length_limit = 1 << 20
    per_recipient = False
    _data_rcpt_count = 0

    async def smtp_DATA(self, arg: str) -> None:
        envelope = self.envelope  # type: ignore[attr-defined]
        self._data_rcpt_count = len(envelope.rcpt_tos) if envelope is not None else 0
        try:
            await super().smtp_DATA(arg)  # type: ignore[misc]
        finally:
            self._data_rcpt_count = 0

    async def push(self, status: Any) -> None:
        if isinstance(status, str):
            if status.startswith("552 Error"):
                status = TOO_BIG
            elif status.startswith("500 Line too long"):
                status = "500 5.5.2 Line too long"
            if self.per_recipient and self._data_rcpt_count > 1 and status[:3] in ("552", "500"):
                status = "\r\n".join([status] * self._data_rcpt_count)
        await super().push(status)  # type: ignore[misc]


class ComptoirLMTP(_SizeAware, LMTP):
    per_recipient = True


class ComptoirSMTP(_SizeAware, SMTP):
    pass


class InboundController(Controller):
    """A threaded aiosmtpd controller serving our LMTP or SMTP flavour."""

    def __init__(self, handler: InboundHandler, *, hostname: str, port: int, **kwargs: Any):
        self.protocol = handler.protocol
        kwargs.setdefault("data_size_limit", settings.MAIL_MAX_BYTES)
        kwargs.setdefault("ident", "Comptoir")
        super().__init__(handler, hostname=hostname, port=port, **kwargs)

    def factory(self) -> SMTP:
        cls = ComptoirLMTP if self.protocol == "lmtp" else ComptoirSMTP
        return cls(self.handler, **self.SMTP_kwargs)


def lmtp_serve(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, protocol: str = "lmtp"
) -> InboundController:
    """Start the receiver in a background thread and return its (started) controller."""
    controller = InboundController(InboundHandler(protocol=protocol), hostname=host, port=port)
    controller.start()
    return controller


def start_in_background(
    host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, protocol: str = "lmtp"
) -> Callable[[], None]:
    """Start the receiver for `comptoir run`; returns the function that stops it."""
    controller = lmtp_serve(host, port, protocol)
    return controller.stop


def parse_listen(value: str) -> tuple[str, int]:
    """'127.0.0.1:2525' → ('127.0.0.1', 2525); '[::1]:2525' and ':2525' work too."""
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    host = host.strip("[]") or DEFAULT_HOST
    return host, int(port)


def _serve_forever(host: str, port: int, protocol: str) -> int:
    stop = threading.Event()

    def on_signal(sig: int, frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        controller = lmtp_serve(host, port, protocol)
        print(
            f"Comptoir {protocol.upper()} receiver on {host}:{port} "
            f"(max {settings.MAIL_MAX_BYTES} bytes). Stop: Ctrl+C.",
            flush=True,
        )
        try:
            while not stop.wait(1):
                pass
        finally:
            controller.stop()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


# -- CLI (`comptoir mail lmtp`, `comptoir mail imap`) ------------------------------------------


def add_transport_commands(mail_subparsers: Any) -> None:
    """Add `lmtp` and `imap` to the subparsers of `comptoir mail`.

    Each sets `transport_command` on the parsed namespace; call `run_transport_command(args)`
    (after Django is set up) when it is present.
    """
    lmtp = mail_subparsers.add_parser(
        "lmtp", help="receive mail by LMTP (or SMTP) from Postfix/Exim"
    )
    lmtp.add_argument("--host", default=DEFAULT_HOST, help=f"address to listen on ({DEFAULT_HOST})")
    lmtp.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port to listen on ({DEFAULT_PORT})"
    )
    lmtp.add_argument("--smtp", action="store_true", help="speak SMTP instead of LMTP")
    lmtp.set_defaults(transport_command="lmtp")

    imap = mail_subparsers.add_parser("imap", help="fetch mail from the mailboxes' IMAP servers")
    imap.add_argument("--once", action="store_true", help="fetch what is waiting, then exit")
    imap.add_argument("--address", default="", help="only this mailbox (its address)")
    imap.set_defaults(transport_command="imap")


def run_transport_command(args: argparse.Namespace) -> int:
    """Run `comptoir mail lmtp|imap`; Django must be set up. Returns the exit status."""
    if args.transport_command == "lmtp":
        return _serve_forever(args.host, args.port, "smtp" if args.smtp else "lmtp")
    if args.transport_command == "imap":
        from comptoir.channels.email.imap import imap_command

        return imap_command(once=args.once, address=args.address)
    raise AssertionError(args.transport_command)

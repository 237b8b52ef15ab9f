"""`comptoir mail ingest` and `comptoir mail replay`: mail from files, and quarantine replays.

`ingest PATH…|-` reads .eml files, maildir folders, mbox files and folders of those (`-`:
one message on stdin) and stores and processes them in batches, deduplicated per tenant like
every transport. The files stay the durable copy until the commit, so the new mails of a
batch are stored and processed in one transaction (their raw rows inserted already
processed: one commit per batch). If it fails, nothing of it is left; the raw rows are then
stored on their own first and processed the usual way (the batch, then one per message), so
a bad mail is retried or quarantined alone. Killing it and running it again is safe: stored
messages are found by their dedup key, processed ones are skipped, so every message lands
once.

Exit status: 0 when every message was stored and processed (quarantined ones included:
they are kept and counted); 1 when some message could not be stored (no mailbox for it,
over the size limit, unreadable file); 75 (EX_TEMPFAIL) when some stored message failed
to process for now (it stays stored and the next run or the worker retries it).

This module is imported by the CLI before Django is set up: Django imports stay inside
functions.
"""

from __future__ import annotations

import argparse
import mailbox as mailboxes
import os
import sys
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import getaddresses
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from comptoir.channels.email.mbox import mbox_count, mbox_read

if TYPE_CHECKING:
    from comptoir.channels.email.models import Mailbox
    from comptoir.channels.email.parse_ahead import ParseAhead, Results
    from comptoir.channels.email.parsed import ParsedEmail
    from comptoir.channels.email.process import BatchResult

EX_TEMPFAIL = 75
DEFAULT_BATCH = 200
# Batches the parser child may be given ahead of the one being written: two absorb the
# unevenness of batches (and of a shared machine) without holding much in memory.
AHEAD_DEPTH = 2
_HEADER_PARSER = BytesHeaderParser(policy=compat32)
# Headers naming the address a message was delivered to, most specific first.
_RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc")


def add_mail_commands(subparsers: Any) -> None:
    """Add `mail ingest` and `mail replay` to the `comptoir` command's subparsers."""
    mail = subparsers.add_parser("mail", help="email: ingest files, replay quarantined mail")
    sub = mail.add_subparsers(dest="mail_command", metavar="ACTION", required=True)
    ingest = sub.add_parser(
        "ingest",
        help="store and process .eml files, maildirs, mbox files (or - for stdin)",
        description=(
            "Store and process email files. Safe to interrupt and run again: every message "
            "is recorded exactly once. Exit status 75 means some messages should be retried."
        ),
    )
    ingest.add_argument(
        "paths", nargs="+", metavar="PATH", help=".eml, maildir, mbox, folder, or -"
    )
    ingest.add_argument(
        "--mailbox",
        metavar="ADDRESS",
        help="the mailbox the messages were sent to (default: found from Delivered-To/To/Cc)",
    )
    ingest.add_argument(
        "--batch",
        type=int,
        default=DEFAULT_BATCH,
        help=f"messages per transaction ({DEFAULT_BATCH})",
    )
    ingest.add_argument("--no-progress", action="store_true", help="no progress bar")
    replay = sub.add_parser("replay", help="process quarantined mail again (after a fix)")
    replay.add_argument("--id", type=int, action="append", default=[], help="one stored mail id")
    replay.add_argument("--all", action="store_true", help="every quarantined mail")
    from comptoir.channels.email.lmtp import add_transport_commands

    add_transport_commands(sub)


def mail_main(args: argparse.Namespace) -> int:
    """Run a `comptoir mail …` command (Django is set up); returns the exit status."""
    if getattr(args, "transport_command", None):
        from comptoir.channels.email.lmtp import run_transport_command

        return run_transport_command(args)
    if args.mail_command == "ingest":
        return ingest_main(
            paths=args.paths,
            mailbox_address=args.mailbox,
            batch=max(1, args.batch),
            progress=not args.no_progress,
        )
    if args.mail_command == "replay":
        return replay_main(ids=args.id, replay_all=args.all)
    raise AssertionError(args.mail_command)


# --- reading messages ------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    label: str
    count: int
    kind: str  # eml | mbox | maildir | stdin
    path: Path | None = None


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(5) == b"From "


def _sources_of(path_arg: str) -> Iterator[Source]:
    if path_arg == "-":
        yield Source("stdin", 1, "stdin")
        return
    path = Path(path_arg)
    if path.is_dir():
        if (path / "cur").is_dir() and (path / "new").is_dir():
            md = mailboxes.Maildir(str(path), factory=None, create=False)
            yield Source(str(path), len(md.keys()), "maildir", path)
            return
        for child in sorted(path.iterdir()):
            if child.name.startswith("."):
                continue
            if child.is_dir() or child.is_file():
                yield from _sources_of(str(child))
        return
    if not path.is_file():
        raise FileNotFoundError(path_arg)
    if _is_mbox(path):
        yield Source(str(path), mbox_count(path), "mbox", path)
        return
    yield Source(str(path), 1, "eml", path)


def _messages(source: Source, stdin: BinaryIO) -> Iterator[tuple[str, bytes]]:
    if source.kind == "stdin":
        yield "stdin", stdin.read()
    elif source.kind == "eml":
        assert source.path is not None
        yield str(source.path), source.path.read_bytes()
    elif source.kind == "maildir":
        md = mailboxes.Maildir(str(source.path), factory=None, create=False)
        for key in sorted(md.keys()):
            yield f"{source.path}:{key}", md.get_bytes(key)
    else:
        assert source.path is not None
        for i, raw in enumerate(mbox_read(source.path)):
            yield f"{source.path}#{i + 1}", raw


def recipient_addresses(raw: bytes) -> list[str]:
    """Addresses the message says it was delivered to, most specific first."""
    head = (
        raw.split(b"\n\n", 1)[0] if b"\r\n\r\n" not in raw[:65536] else raw.split(b"\r\n\r\n", 1)[0]
    )
    try:
        headers = _HEADER_PARSER.parsebytes(head)
    except Exception:
        return []
    found: list[str] = []
    for name in _RECIPIENT_HEADERS:
        values = [str(v) for v in headers.get_all(name) or []]
        for _display, addr in getaddresses(values):
            addr = addr.strip().lower()
            if "@" in addr and addr not in found:
                found.append(addr)
    return found


# --- storing and processing ------------------------------------------------------------


@dataclass
class IngestReport:
    read: int = 0
    stored: int = 0
    already_stored: int = 0
    unrouted: list[str] = field(default_factory=list)  # no mailbox for these
    refused: list[str] = field(default_factory=list)  # too large, unreadable
    processed: int = 0
    quarantined: int = 0
    ignored: int = 0
    skipped: int = 0
    failed: list[int] = field(default_factory=list)
    parsed_ahead: bool = False  # parsed by a child process (parse_ahead)
    parse_wait_s: float = 0.0  # time spent waiting for that child
    parse_child_peak_rss_mb: float | None = None

    def summary(self) -> str:
        return (
            f"{self.read} read: {self.stored} stored, {self.already_stored} already stored; "
            f"{self.processed} processed, {self.ignored} ignored (loops), "
            f"{self.quarantined} quarantined, {self.skipped} done before, "
            f"{len(self.failed)} to retry, {len(self.unrouted)} without a mailbox, "
            f"{len(self.refused)} refused"
        )

    def exit_status(self) -> int:
        if self.unrouted or self.refused:
            return 1
        if self.failed:
            return EX_TEMPFAIL
        return 0


class _MailboxFinder:
    def __init__(self, forced: Mailbox | None) -> None:
        self.forced = forced
        self.cache: dict[str, Mailbox | None] = {}

    def __call__(self, raw: bytes) -> Mailbox | None:
        if self.forced is not None:
            return self.forced
        from comptoir.channels.email.store import mailbox_for_address

        for address in recipient_addresses(raw):
            if address not in self.cache:
                self.cache[address] = mailbox_for_address(address)
            if self.cache[address] is not None:
                return self.cache[address]
        return None


@dataclass
class _Stored:
    ids: list[int]  # every message of the batch, new or stored before, in order
    new: int
    old: int
    refused: list[str]
    fresh: dict[int, int]  # id → index in the batch, rows stored by this call (these bytes)


# (position in the batch, label, raw bytes, mailbox, dedup key)
_Keyed = tuple[int, str, bytes, "Mailbox", str]


@dataclass
class _Split:
    """A batch sorted out before storing: what is new, what was stored before."""

    keyed: list[_Keyed]  # every storable message, in order
    known: dict[tuple[int, str], int]  # (tenant, dedup key) → id, stored before this batch
    fresh: list[_Keyed]  # to store: the first message of each new key
    refused: list[str]


def store_batch(
    items: Sequence[tuple[str, bytes, Mailbox]], *, transport: str = "cli"
) -> tuple[list[int], int, int, list[str]]:
    """Store raw messages in one transaction; returns (ids, new, already stored, refused).

    The ids are those of every message of the batch, new or stored before, in order.
    """
    stored = _store(items, transport=transport)
    return stored.ids, stored.new, stored.old, stored.refused


def _split(items: Sequence[tuple[str, bytes, Mailbox]], keys: Sequence[str | None]) -> _Split:
    """`keys`: dedup keys computed already (by the parser child), None where not."""
    from django.conf import settings

    from comptoir.channels.email.models import InboundEmail
    from comptoir.channels.email.store import dedup_key
    from comptoir.tickets.bulk import values_in

    refused: list[str] = []
    keyed: list[_Keyed] = []
    for position, (label, raw, mailbox) in enumerate(items):
        if len(raw) > settings.MAIL_MAX_BYTES:
            refused.append(f"{label}: larger than {settings.MAIL_MAX_BYTES} bytes")
            continue
        given = keys[position] if position < len(keys) else None
        keyed.append((position, label, raw, mailbox, given or dedup_key(raw)))
    by_tenant: dict[int, set[str]] = {}
    for _position, _label, _raw, mailbox, key in keyed:
        by_tenant.setdefault(mailbox.tenant_id, set()).add(key)
    known: dict[tuple[int, str], int] = {}
    for tenant_id, tenant_keys in by_tenant.items():
        for key, pk in values_in(
            InboundEmail,
            ["dedup_key", "id"],
            tenant_id=tenant_id,
            column="dedup_key",
            values=list(tenant_keys),
        ):
            known[(tenant_id, key)] = pk
    fresh: list[_Keyed] = []
    pending: set[tuple[int, str]] = set()
    for entry in keyed:
        k = (entry[3].tenant_id, entry[4])
        if k in known or k in pending:
            continue
        pending.add(k)
        fresh.append(entry)
    return _Split(keyed, known, fresh, refused)


def _store(
    items: Sequence[tuple[str, bytes, Mailbox]],
    *,
    transport: str,
    keys: Sequence[str | None] = (),
) -> _Stored:
    """`keys`: dedup keys computed already (by the parser child), None where not."""
    return _store_split(_split(items, keys), transport=transport)


def _store_split(split: _Split, *, transport: str) -> _Stored:
    """Store the raw rows of `split.fresh` in one transaction (status "received")."""
    from django.db import IntegrityError, transaction

    from comptoir.channels.email.models import InboundEmail, InboundStatus
    from comptoir.channels.email.store import MessageTooLarge, inbound_store
    from comptoir.core import clock
    from comptoir.tickets.bulk import values_insert

    now = clock.now()
    refused = list(split.refused)
    known = dict(split.known)
    # Rows as tuples (no model instance each: cheaper, and nothing needs one afterwards).
    names = [
        "tenant_id", "mailbox_id", "transport", "envelope_to", "dedup_key", "raw", "size",
        "status", "received_at",
    ]  # fmt: skip
    rows = [
        (
            mailbox.tenant_id,
            mailbox.pk,
            transport,
            mailbox.address,
            key,
            raw,
            len(raw),
            InboundStatus.RECEIVED.value,
            now,
        )
        for _position, _label, raw, mailbox, key in split.fresh
    ]
    inserted: dict[int, int] = {}
    try:
        with transaction.atomic():
            pks = values_insert(InboundEmail, names, rows)
        for (position, _label, _raw, mailbox, key), pk in zip(split.fresh, pks, strict=True):
            known[(mailbox.tenant_id, key)] = pk
            inserted[pk] = position
    except IntegrityError:
        # Another process stored some of them meanwhile: one at a time, deduplicated.
        for _position, label, raw, mailbox, key in split.keyed:
            if (mailbox.tenant_id, key) not in known:
                try:
                    row, _created = inbound_store(
                        raw=raw, transport=transport, mailbox=mailbox, schedule=False, now=now
                    )
                except MessageTooLarge as exc:
                    refused.append(f"{label}: {exc}")
                    continue
                known[(mailbox.tenant_id, key)] = row.pk
    ids = _ids_in_order(split.keyed, known)
    new = len(split.fresh)
    return _Stored(ids, new, len(split.keyed) - new, refused, inserted)


def _ids_in_order(keyed: Sequence[_Keyed], known: dict[tuple[int, str], int]) -> list[int]:
    ids: dict[int, None] = {}
    for _position, _label, _raw, mailbox, key in keyed:
        found = known.get((mailbox.tenant_id, key))
        if found is not None:
            ids.setdefault(found, None)
    return list(ids)


def _add(report: IngestReport, result: BatchResult) -> None:
    report.processed += result.processed
    report.quarantined += result.quarantined
    report.ignored += result.ignored
    report.skipped += result.skipped
    report.failed.extend(result.failed)


def _flush(
    items: list[tuple[str, bytes, Mailbox]],
    report: IngestReport,
    ahead: ParseAhead | None = None,
    number: int | None = None,
) -> None:
    """Store and process one batch.

    Messages stored before (a re-run, another transport) are processed if they still need
    it. New ones are stored and processed in one transaction
    (process.inbound_store_process_many); if that fails, nothing of it is left, and they are
    stored on their own first, then processed the usual way, one by one if need be.
    """
    import logging

    from comptoir.channels.email.process import (
        NewInbound,
        inbound_process_many,
        inbound_store_process_many,
    )

    results: Results = []
    if ahead is not None and number is not None:
        results = ahead.results(number)
    keys = [r[0] if r is not None else None for r in results]
    split = _split(items, keys)
    report.refused.extend(split.refused)
    report.already_stored += len(split.keyed) - len(split.fresh)
    if split.known:
        _add(report, inbound_process_many(inbound_ids=_ids_in_order(split.keyed, split.known)))
    if not split.fresh:
        return

    def ready(position: int) -> ParsedEmail | None:
        # Parsed by the child from these very bytes (None: parsed while processing).
        got = results[position] if position < len(results) else None
        return got[1] if got is not None else None

    mails = [
        NewInbound(mailbox=mailbox, raw=raw, dedup_key=key, transport="cli", parsed=ready(pos))
        for pos, _label, raw, mailbox, key in split.fresh
    ]
    try:
        _ids, result = inbound_store_process_many(mails=mails)
    except Exception as exc:
        logging.getLogger(__name__).warning(
            "a batch of %d new mails failed (%s); storing them first, then one by one",
            len(mails),
            exc,
        )
    else:
        report.stored += len(mails)
        _add(report, result)
        return
    stored = _store_split(_Split(split.fresh, {}, split.fresh, []), transport="cli")
    report.stored += stored.new
    report.refused.extend(stored.refused)
    parsed = {pk: p for pk, pos in stored.fresh.items() if (p := ready(pos)) is not None}
    _add(report, inbound_process_many(inbound_ids=stored.ids, parsed=parsed))


def _parse_ahead_wanted(wanted: bool | None, total: int, batch: int) -> bool:
    if wanted is not None:
        return wanted
    # Worth a child process only with a second core and at least two batches to overlap.
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) > 1 and batch > 1 and total >= 2 * batch


def ingest(
    *,
    paths: Sequence[str],
    mailbox_address: str | None = None,
    batch: int = DEFAULT_BATCH,
    progress: bool = False,
    stdin: BinaryIO | None = None,
    out: Any = None,
    parse_ahead: bool | None = None,
) -> IngestReport:
    """Store and process every message under `paths`; see the module docstring.

    `parse_ahead`: parse the next batch in a child process while writing this one
    (parse_ahead.py); by default when there are two batches or more and two cores.
    """
    from tqdm import tqdm

    from comptoir.channels.email.parse_ahead import ParseAhead
    from comptoir.channels.email.store import mailbox_for_address

    out = out or sys.stderr
    forced = None
    if mailbox_address:
        forced = mailbox_for_address(mailbox_address)
        if forced is None:
            raise LookupError(f"no active mailbox {mailbox_address!r}")
    sources = [s for p in paths for s in _sources_of(p)]
    find = _MailboxFinder(forced)
    report = IngestReport()
    total = sum(s.count for s in sources)
    ahead = ParseAhead() if _parse_ahead_wanted(parse_ahead, total, batch) else None
    pending: list[tuple[str, bytes, Mailbox]] = []
    # Batches read, each with its number at the parser child (None: parsed here); the oldest
    # is written while the child parses the next ones.
    inflight: deque[tuple[list[tuple[str, bytes, Mailbox]], int | None]] = deque()
    pushed = 0

    def push() -> None:
        nonlocal pushed
        # The first batch is parsed here, while the child starts up (~0.1 s of imports).
        number = None
        if ahead is not None and pushed > 0:
            number = ahead.submit([raw for _l, raw, _m in pending])
        inflight.append((pending[:], number))
        pending.clear()
        pushed += 1

    bar = tqdm(total=total, unit="mail", disable=not progress, file=out)
    try:
        for source in sources:
            for label, raw in _messages(source, stdin or sys.stdin.buffer):
                report.read += 1
                bar.update(1)
                target = find(raw)
                if target is None:
                    report.unrouted.append(label)
                    continue
                pending.append((label, raw, target))
                if len(pending) >= batch:
                    push()
                    while len(inflight) > AHEAD_DEPTH:
                        items, number = inflight.popleft()
                        _flush(items, report, ahead, number)
        if pending:
            push()
        while inflight:
            items, number = inflight.popleft()
            _flush(items, report, ahead, number)
    finally:
        bar.close()
        if ahead is not None:
            ahead.close()
            report.parsed_ahead = True
            report.parse_wait_s = ahead.waited
            report.parse_child_peak_rss_mb = ahead.child_peak_rss_mb
    return report


def ingest_main(
    *, paths: Sequence[str], mailbox_address: str | None, batch: int, progress: bool
) -> int:
    try:
        report = ingest(
            paths=paths, mailbox_address=mailbox_address, batch=batch, progress=progress
        )
    except (LookupError, FileNotFoundError, mailboxes.Error) as exc:
        print(f"comptoir mail ingest: {exc}", file=sys.stderr)
        return 1 if not isinstance(exc, FileNotFoundError) else os.EX_NOINPUT
    for label in report.unrouted[:20]:
        print(f"no mailbox for {label} (use --mailbox ADDRESS)", file=sys.stderr)
    for line in report.refused[:20]:
        print(f"refused {line}", file=sys.stderr)
    print(report.summary())
    return report.exit_status()


def replay_main(*, ids: Sequence[int], replay_all: bool) -> int:
    from comptoir.channels.email.process import inbound_replay

    if not ids and not replay_all:
        print("comptoir mail replay: give --id N (repeatable) or --all", file=sys.stderr)
        return 2
    result = inbound_replay(inbound_ids=ids, all_quarantined=replay_all)
    print(
        f"{result.processed} processed, {result.ignored} ignored, "
        f"{result.quarantined} still quarantined, {len(result.failed)} to retry"
    )
    if result.failed:
        return EX_TEMPFAIL
    return 0

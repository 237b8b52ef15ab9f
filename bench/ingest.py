"""Email ingest benchmark: N realistic mails through the `comptoir mail ingest` path, one process.

    .venv/bin/python bench/ingest.py --n 2000                  # SQLite (temp data dir)
    .venv/bin/python bench/ingest.py --n 2000 --db postgresql  # PostgreSQL comptoir_bench_ingest

Each run uses a fresh throwaway database (a SQLite file in a temp data dir, or the PostgreSQL
database `comptoir_bench_ingest` on 127.0.0.1:5432 user postgres, created and dropped), with
one tenant, workspace, queue and mailbox. It generates N mails in memory, writes them to an
mbox in a temp folder and calls `ingest()` — the function `comptoir mail ingest` runs — on it.

The mails (~1.5 KB on average): new conversations (text, or text + HTML, 10 % with a small
PDF), direct replies threaded by In-Reply-To only, by References only, or by the signed reply
token in the subject only (no threading headers at all), and replies to replies (In-Reply-To
the parent, References the chain from the root). Arrival order is shuffled, so many replies
arrive before their originals.

Reply tokens must be valid, i.e. name the right ticket number. Numbers are given in the order
tickets are created, which is the arrival order of each conversation's first mail (whatever
that mail is: a reply arriving first opens the ticket, its original joins it later). So
after shuffling, a token-only reply that would arrive first in its conversation swaps places
with its conversation's root (a token can only name a ticket that exists), and the expected
number of every conversation is its rank among first arrivals. If the pipeline numbered
tickets in another order, those replies would land on wrong tickets and the accuracy would
show it.

threading_accuracy = fraction of mails whose ticket (InboundEmail.ticket, found by Message-ID)
is the ticket of their conversation's root. emails_per_s = N / wall time of the ingest call
alone. peak_rss_mb = ru_maxrss of this process (generation included; it is small).
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import mailbox as mailboxes
import os
import random
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.mailgen import NAMES, body_parts, encoded, para, sentence  # noqa: E402

PG_URL = "postgres://postgres@127.0.0.1:5432/comptoir_bench_ingest"
MAILBOX = "support@bench.example"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@dataclass
class Mail:
    conv: int
    message_id: str  # without <>
    kind: str  # root | irt | refs | token | chain
    subject: str
    in_reply_to: str = ""
    references: str = ""
    sender: int = 0


def plan(n: int, rng: random.Random) -> list[Mail]:
    """The conversations: roots, direct replies of three kinds, replies to replies."""
    mails: list[Mail] = []
    conv = 0
    while len(mails) < n:
        conv += 1
        subject = f"Commande n°{1000 + conv} — {sentence(rng, 4)}"
        root = Mail(conv, f"root{conv}.{rng.randrange(10**9)}@client.example", "root", subject)
        root.sender = conv % 400
        thread = [root]
        for r in range(rng.choice([0, 0, 1, 1, 2, 3])):
            if len(mails) + len(thread) >= n:
                break
            mid = f"r{conv}.{r}.{rng.randrange(10**9)}@client.example"
            kind = rng.choice(["irt", "refs", "token", "chain", "chain"]) if r else None
            kind = kind or rng.choice(["irt", "refs", "token"])
            reply = Mail(conv, mid, kind, "Re: " + subject, sender=root.sender)
            if kind == "irt":
                reply.in_reply_to = root.message_id
            elif kind == "refs":
                reply.references = root.message_id
            elif kind == "chain":
                parent = rng.choice(thread)
                chain = [root.message_id]
                if parent is not root:
                    chain.append(parent.message_id)
                reply.in_reply_to = parent.message_id
                reply.references = " ".join(chain)
            thread.append(reply)
        mails.extend(thread)
    return mails[:n]


def arrange(mails: list[Mail], rng: random.Random) -> tuple[list[Mail], dict[int, int]]:
    """Shuffled arrival; returns it and the expected ticket number of each conversation."""
    order = mails[:]
    rng.shuffle(order)
    first: dict[int, int] = {}
    root_at: dict[int, int] = {}
    for i, m in enumerate(order):
        first.setdefault(m.conv, i)
        if m.kind == "root":
            root_at[m.conv] = i
    for conv, i in first.items():
        if order[i].kind == "token":
            j = root_at[conv]
            order[i], order[j] = order[j], order[i]
    numbers: dict[int, int] = {}
    for m in order:
        if m.conv not in numbers:
            numbers[m.conv] = len(numbers) + 1
    return order, numbers


def render(m: Mail, i: int, rng: random.Random, token: str) -> bytes:
    """The raw bytes of one mail (CRLF, RFC 2047 encoded name and subject, 8bit UTF-8)."""
    name = NAMES[m.sender % len(NAMES)]
    addr = f"client{m.sender}@example.{('com', 'fr', 'org')[m.sender % 3]}"
    subject = m.subject
    if m.kind == "token":
        subject = f"Re: {token} {m.subject[4:]}"
    enc_name = encoded(name)
    enc_subject = encoded(subject)
    headers = [
        f"From: {enc_name} <{addr}>",
        f"To: {MAILBOX}",
        f"Subject: {enc_subject}",
        f"Date: Mon, 3 Mar 2025 10:{i % 60:02d}:00 +0100",
        f"Message-ID: <{m.message_id}>",
        "MIME-Version: 1.0",
    ]
    if m.in_reply_to:
        headers.append(f"In-Reply-To: <{m.in_reply_to}>")
    if m.references:
        headers.append("References: " + " ".join(f"<{r}>" for r in m.references.split()))
    reply = m.kind != "root"
    body = para(rng, rng.randint(4, 7))
    parts = body_parts(
        rng,
        name=name,
        body=body,
        reply=reply,
        support="support@bench.example",
        with_html=rng.random() < 0.45,
        with_attachment=rng.random() < 0.1,
    )
    return "\r\n".join(headers + parts).encode("utf-8")


def prepare_database(db: str, data_dir: Path) -> None:
    os.environ["COMPTOIR_DATA_DIR"] = str(data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "comptoir.settings"
    os.environ["COMPTOIR_DEBUG"] = "0"
    os.environ.pop("DATABASE_URL", None)
    if db == "postgresql":
        os.environ["DATABASE_URL"] = PG_URL
        _pg_admin("DROP DATABASE IF EXISTS comptoir_bench_ingest WITH (FORCE)")
        _pg_admin("CREATE DATABASE comptoir_bench_ingest")


def _pg_admin(statement: str) -> None:
    import psycopg

    with psycopg.connect(
        host="127.0.0.1", port=5432, user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def _backend_cpu(pid: int | None) -> float:
    """CPU seconds used so far by this process's PostgreSQL backend (local server), or 0."""
    if pid is None:
        return 0.0
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime and stime, fields 14 and 15 of proc(5), counted after the ")" of the name.
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=0, help="ingest batch (default: the CLI's)")
    parser.add_argument("--profile", default="", help="write a cProfile of the ingest call here")
    parser.add_argument(
        "--ack", action="store_true", help="switch an acknowledgment of receipt on (its cost)"
    )
    parser.add_argument(
        "--parse-ahead",
        dest="parse_ahead",
        choices=["auto", "on", "off"],
        default="auto",
        help="parse in a child process while writing (default: ingest()'s own choice)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and database")
    args = parser.parse_args()
    args.parse_ahead = {"auto": None, "on": True, "off": False}[args.parse_ahead]

    tmp = Path(tempfile.mkdtemp(prefix="comptoir-bench-ingest-"))
    prepare_database(args.db, tmp / "var")
    try:
        result = run(args, tmp)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
            if args.db == "postgresql":
                _pg_admin("DROP DATABASE IF EXISTS comptoir_bench_ingest WITH (FORCE)")
    print(json.dumps(result))


def run(args: argparse.Namespace, tmp: Path) -> dict[str, object]:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from comptoir.accounts.services import queue_create, tenant_create, workspace_create
    from comptoir.channels.email.ids import reply_token
    from comptoir.channels.email.ingest_cli import DEFAULT_BATCH, ingest
    from comptoir.channels.email.models import InboundEmail, Mailbox
    from comptoir.tickets.models import Ticket

    tenant = tenant_create(name="Bench")
    workspace = workspace_create(tenant=tenant, name="Support")
    queue = queue_create(workspace=workspace, name="Général")
    Mailbox.objects.create(tenant=tenant, workspace=workspace, queue=queue, address=MAILBOX)
    if args.ack:
        from comptoir.channels.email.models import Acknowledgment

        Acknowledgment.objects.create(
            tenant=tenant,
            workspace=workspace,
            subject="Nous avons bien reçu votre demande {{ticket.number}}",
            body="Bonjour {{contact.name}}, nous répondrons sous {{delay_hours}} heures.",
        )

    rng = random.Random(args.seed)
    order, numbers = arrange(plan(args.n, rng), rng)
    box_path = tmp / "bench.mbox"
    box = mailboxes.mbox(str(box_path), create=True)
    total = 0
    for i, m in enumerate(order):
        raw = render(m, i, rng, reply_token(tenant.pk, numbers[m.conv]))
        total += len(raw)
        box.add(raw)
    box.flush()
    box.close()
    kinds: dict[str, int] = {}
    for m in order:
        kinds[m.kind] = kinds.get(m.kind, 0) + 1
    log(f"{len(order)} mails, {total // len(order)} bytes on average, {kinds}")

    batch = args.batch or DEFAULT_BATCH
    # Imported before the clock starts: a one-time cost, not throughput (and a large one
    # where PYTHONDONTWRITEBYTECODE is set, as in this project's sandbox: every run compiles
    # them from source). The parser child still compiles its own while the first batch is
    # parsed in this process.
    import tqdm  # noqa: F401

    import comptoir.channels.email.parse
    import comptoir.channels.email.parse_ahead
    import comptoir.channels.email.process  # noqa: F401

    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    backend = None
    if args.db == "postgresql":
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            backend = int(cursor.fetchone()[0])
    load_before = os.getloadavg()[0]
    children_before = _children_cpu()
    backend_before = _backend_cpu(backend)
    start, cpu = time.perf_counter(), time.process_time()
    report = ingest(
        paths=[str(box_path)], mailbox_address=MAILBOX, batch=batch, parse_ahead=args.parse_ahead
    )
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu
    # The parser child (parse_ahead) is waited for when ingest() returns: its CPU is counted.
    child_seconds = _children_cpu() - children_before
    backend_seconds = _backend_cpu(backend) - backend_before
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    log(report.summary() + f" in {seconds:.2f} s")

    ticket_of = dict(InboundEmail.objects.values_list("dedup_key", "ticket_id"))
    root_ticket = {m.conv: ticket_of.get(m.message_id.lower()) for m in order if m.kind == "root"}
    right = sum(
        1
        for m in order
        if ticket_of.get(m.message_id.lower()) is not None
        and ticket_of.get(m.message_id.lower()) == root_ticket[m.conv]
    )
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "n": len(order),
        "db": args.db,
        "emails_per_s": round(len(order) / seconds, 1),
        "threading_accuracy": round(right / len(order), 4),
        "tickets": Ticket.objects.count(),
        "expected_tickets": len(root_ticket),
        "peak_rss_mb": round(rss_kb / 1024, 1),
        # Steadier on a shared machine: this process and its parser child (not the
        # PostgreSQL server's processes).
        "emails_per_cpu_s": round(len(order) / max(cpu_seconds + child_seconds, 1e-9), 1),
        "cpu_ms_per_email": round(1000 * (cpu_seconds + child_seconds) / len(order), 3),
        "cpu_ms_per_email_child": round(1000 * child_seconds / len(order), 3),
        # The PostgreSQL server's backend for this connection (0 on SQLite: it is in-process).
        # This process waits for it, so this process's CPU plus the backend's is the critical
        # path: the wall time per email on an idle machine, whatever the load now.
        "cpu_ms_per_email_pg_backend": round(1000 * backend_seconds / len(order), 3),
        "critical_path_ms_per_email": round(1000 * (cpu_seconds + backend_seconds) / len(order), 3),
        "parse_ahead": report.parsed_ahead,
        "parse_wait_s": round(report.parse_wait_s, 3),
        # The parser child's own peak (VmHWM), as it reports it when it ends.
        "peak_rss_child_mb": round(report.parse_child_peak_rss_mb or 0, 1),
        "batch": batch,
        "acknowledgments": args.ack,
        "loadavg_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        "avg_bytes": total // len(order),
    }


if __name__ == "__main__":
    main()

"""Waiting-message benchmark: seed N tickets, one sweep into a real SMTP sink.

    .venv/bin/python bench/waiting.py --tickets 1000000 --due 10000                  # SQLite
    .venv/bin/python bench/waiting.py --tickets 1000000 --due 10000 --db postgresql  # PostgreSQL
    .venv/bin/python bench/waiting.py --tickets 50000 --due 10000 --profile  # delivery profile

Delivery runs as the worker's bulk task does (`outgoing_deliver_many`: batches claimed in one
statement, sent over one SMTP connection, marked sent in one UPDATE each).

Tickets are spread over the three watched statuses (and the others) with entry times such
that exactly --due stays are past their threshold: a workspace-wide waiting message and a
queue's own (which wins for that queue) are in force; the other workspace has none. The
seeded database is kept and re-used (SQLite under /tmp/comptoir-bench-waiting-<N>,
PostgreSQL database comptoir_bench_waiting_<N>); what a run sends is deleted afterwards so
the next run starts from the same state. Prints one JSON line:
{"tickets", "due", "select_ms", "sent", "sends_per_s", "second_sweep_sent", "db", ...}
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/{name}"
HOURS = {"to_process": 4, "awaiting_expert": 8, "awaiting_external": 24}
QUEUE_HOURS = {"to_process": 2, "awaiting_expert": 12, "awaiting_external": 48}


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tickets", type=int, required=True)
    p.add_argument("--due", type=int, required=True)
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--reseed", action="store_true")
    p.add_argument(
        "--profile", action="store_true", help="cProfile the delivery; top functions on stderr"
    )
    return p.parse_args()


def prepare_environment(args: argparse.Namespace) -> None:
    suffix = f"pg-{args.tickets}" if args.db == "postgresql" else str(args.tickets)
    data_dir = Path(f"/tmp/comptoir-bench-waiting-{suffix}")
    data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.pop("DATABASE_URL", None)
    os.environ.update(
        {
            "COMPTOIR_DATA_DIR": str(data_dir),
            "COMPTOIR_DEBUG": "0",
            "DJANGO_SETTINGS_MODULE": "comptoir.settings",
        }
    )
    if args.db == "postgresql":
        os.environ["DATABASE_URL"] = PG_DEFAULT.format(
            name=f"comptoir_bench_waiting_{args.tickets}"
        )


def seed(args: argparse.Namespace, now: datetime) -> dict[str, Any]:
    """Organisation, waiting messages and assignments through the services; tickets in bulk."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction

    from bench.seed import _secondary_indexes, _Writer, make_org
    from comptoir.accounts.models import User, Workspace
    from comptoir.tickets.counts import counts_rebuild
    from comptoir.tickets.models import Ticket
    from comptoir.waiting import services

    rng = random.Random(7)
    pg = connection.vendor == "postgresql"
    with transaction.atomic():
        org = make_org(
            tenant_name="Bench",
            slug="bench",
            workspaces=["Boutique en ligne", "Assurance"],
            agents_per_ws=2,
            password_hash=make_password("bench"),
        )
        admin = User.objects.get(pk=org.agents[org.workspace_ids[0]][0])
        from comptoir.accounts.rights import RoleCode
        from comptoir.accounts.services import membership_set

        ws = Workspace.objects.get(pk=org.workspace_ids[0])
        membership_set(user=admin, workspace=ws, role=RoleCode.ADMINISTRATOR)
        wide = services.waiting_message_create(
            workspace=ws,
            user=admin,
            title="Votre demande n°{{ticket.number}} est en cours",
            body="Bonjour {{contact.full_name}},\n\nNous traitons « {{ticket.subject}} ».",
            **{f"hours_{k}": v for k, v in HOURS.items()},
        )
        own = services.waiting_message_create(
            workspace=ws,
            user=admin,
            title="Commandes : votre demande n°{{ticket.number}}",
            body="Bonjour, votre commande est suivie de près.",
            **{f"hours_{k}": v for k, v in QUEUE_HOURS.items()},
        )
        services.waiting_message_assign(waiting_message=wide, user=admin, workspace=ws)
        first_queue = org.queues[ws.pk][0]
        from comptoir.accounts.models import Queue

        services.waiting_message_assign(
            waiting_message=own, user=admin, workspace=ws, queue=Queue.objects.get(pk=first_queue)
        )

    indexes = _secondary_indexes([Ticket._meta.db_table])
    with connection.cursor() as cur:
        if pg:
            cur.execute("SET session_replication_role = replica")
        else:
            cur.execute("PRAGMA foreign_keys = OFF")
            cur.execute("PRAGMA synchronous = OFF")
        for name, _sql in indexes:
            cur.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    ts = (lambda d: d) if pg else (lambda d: d.replace(tzinfo=None).isoformat(" "))
    writer = _Writer(
        Ticket,
        [
            "id",
            "tenant_id",
            "workspace_id",
            "queue_id",
            "number",
            "channel",
            "subject",
            "requester_email",
            "requester_name",
            "status",
            "status_changed_at",
            "priority",
            "has_unread",
            "message_count",
            "created_at",
            "updated_at",
        ],
    )
    watched = list(HOURS)
    others = ["new", "awaiting_contact", "closed"]
    due_ids = set(rng.sample(range(1, args.tickets + 1), args.due))
    rows = []
    for n in range(1, args.tickets + 1):
        ws_id = org.workspace_ids[0] if (n in due_ids or n % 2) else org.workspace_ids[1]
        queue_id = rng.choice(org.queues[ws_id])
        if n in due_ids:
            status = rng.choice(watched)
            hours = QUEUE_HOURS[status] if queue_id == first_queue else HOURS[status]
            entered = now - timedelta(hours=hours, minutes=rng.randint(1, 60 * 24 * 30))
        elif n % 3 == 0:
            status = rng.choice(others)
            entered = now - timedelta(minutes=rng.randint(1, 60 * 24 * 365))
        else:
            status = rng.choice(watched)
            if ws_id == org.workspace_ids[0]:
                # In a watched status, but not for long enough yet.
                hours = QUEUE_HOURS[status] if queue_id == first_queue else HOURS[status]
                entered = now - timedelta(minutes=rng.randint(1, hours * 60 - 1))
            else:
                # The other workspace has no waiting message: never due, however old.
                entered = now - timedelta(minutes=rng.randint(1, 60 * 24 * 365))
        created = entered - timedelta(hours=1)
        rows.append(
            (
                n,
                org.tenant_id,
                ws_id,
                queue_id,
                n,
                "email",
                f"Commande {n} en retard",
                f"client{n}@example.com",
                f"Client {n}",
                status,
                ts(entered),
                "low",
                False if pg else 0,
                1,
                ts(created),
                ts(entered),
            )
        )
        if len(rows) == 50_000:
            writer.write(rows)
            rows = []
    writer.write(rows)
    with connection.cursor() as cur:
        for _name, sql in indexes:
            cur.execute(sql)
        if pg:
            cur.execute("SET session_replication_role = DEFAULT")
            cur.execute(
                "SELECT setval(pg_get_serial_sequence('tickets_ticket', 'id'), %s)", [args.tickets]
            )
            cur.execute("ANALYZE")
        else:
            cur.execute("ANALYZE")
    from comptoir.accounts.models import Tenant

    Tenant.objects.filter(pk=org.tenant_id).update(last_ticket_number=args.tickets)
    counts_rebuild()
    return {"due_expected": len(due_ids)}


def cleanup() -> None:
    """Remove what a run sent, so the next run finds the same due tickets."""
    from django.db import transaction

    from comptoir.channels.email.models import OutgoingEmail, ThreadRef
    from comptoir.tickets.models import Event, EventKind, Message, MessageKind
    from comptoir.waiting.models import WaitingMessageSend
    from comptoir.waiting.sweep import KIND

    with transaction.atomic():
        WaitingMessageSend.objects.all().delete()
        OutgoingEmail.objects.filter(kind=KIND).delete()
        Event.objects.filter(kind=EventKind.WAITING_MESSAGE).delete()
        Message.objects.filter(kind=MessageKind.AUTOMATIC).delete()
        ThreadRef.objects.all().delete()


def _run_sink(conn: Any) -> None:
    """A real SMTP sink in a child process: answers "count" with what it received."""
    from comptoir.testing.smtp_sink import SmtpSink

    sink = SmtpSink()
    sink.start()
    conn.send((sink.host, sink.port))
    while (order := conn.recv()) != "stop":
        if order == "count":
            conn.send(len(sink.messages))
    sink.stop()


def main() -> None:
    args = parse_args()
    prepare_environment(args)
    marker = Path(os.environ["COMPTOIR_DATA_DIR"]) / "bench-waiting-seeded.json"
    wanted = {"tickets": args.tickets, "due": args.due, "db": args.db}
    current = json.loads(marker.read_text()) if marker.exists() else None
    fresh = args.reseed or current is None or any(current.get(k) != v for k, v in wanted.items())
    if fresh:
        from bench.inbox import reset_database

        marker.unlink(missing_ok=True)
        reset_database(argparse.Namespace())
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # The entry times are relative to this moment, stored with the seed.
    if fresh:
        now = datetime.now(UTC).replace(microsecond=0)
        started = time.monotonic()
        log(f"seeding {args.tickets} tickets ({args.due} due) on {args.db}")
        info = seed(args, now)
        info.update(wanted, now=now.isoformat(), seed_s=round(time.monotonic() - started, 1))
        marker.write_text(json.dumps(info))
        log(f"seeded in {info['seed_s']} s")
    else:
        assert current is not None  # not fresh: the marker was read
        info = current
        log("re-using the seeded database")
        cleanup()
    now = datetime.fromisoformat(info["now"])

    from comptoir.channels.email.delivery import outgoing_deliver_many
    from comptoir.channels.email.models import OutgoingEmail, OutgoingStatus
    from comptoir.waiting.sweep import KIND, due_stays, waiting_sweep

    selects = []
    for _ in range(5):
        t = time.perf_counter()
        due = due_stays(now=now)
        selects.append((time.perf_counter() - t) * 1000)
    log(f"select: {len(due)} due stays, {[round(s, 1) for s in selects]} ms")

    # The sink runs in a process of its own, as a relay does: in this one it would share
    # the interpreter lock with the sweep and the delivery it is meant to measure.
    ctx = multiprocessing.get_context("spawn")
    to_sink, from_parent = ctx.Pipe()
    sink_process = ctx.Process(target=_run_sink, args=(from_parent,), daemon=True)
    sink_process.start()
    host, port = to_sink.recv()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = host, port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    from django.core.mail import get_connection

    try:
        t = time.perf_counter()
        result = waiting_sweep(now=now)
        sweep_s = time.perf_counter() - t
        # Delivery as the worker does it for a bulk send: the rows the sweep queued, claimed
        # and sent in batches over one SMTP connection to the sink.
        t = time.perf_counter()
        connection = get_connection(fail_silently=False)
        connection.open()
        ids = list(
            OutgoingEmail.objects.filter(kind=KIND, status=OutgoingStatus.QUEUED)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        delivered = outgoing_deliver_many(
            ids=ids, now=now + timedelta(hours=1), connection=connection
        )
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(40)
        connection.close()
        deliver_s = time.perf_counter() - t
        second = waiting_sweep(now=now)
        to_sink.send("count")
        received = to_sink.recv()
    finally:
        to_sink.send("stop")
        sink_process.join(10)
    from django.db import connection as db

    figures = {
        "tickets": args.tickets,
        "due": args.due,
        "select_ms": round(statistics.median(selects), 1),
        "select_ms_first": round(selects[0], 1),
        "sent": result.sent,
        "delivered": delivered,
        "received_by_sink": received,
        "sends_per_s": round(result.sent / (sweep_s + deliver_s), 1) if result.sent else 0.0,
        "sweep_only_per_s": round(result.sent / sweep_s, 1) if result.sent else 0.0,
        "sweep_s": round(sweep_s, 2),
        "deliver_s": round(deliver_s, 2),
        "second_sweep_sent": second.sent,
        "errors": len(result.errors),
        "db": db.vendor,
    }
    print(json.dumps(figures), flush=True)


if __name__ == "__main__":
    main()

"""Inbox benchmark: seed N tickets, run the real app, measure pages through real HTTP.

    .venv/bin/python bench/inbox.py --tickets 100000                  # SQLite
    .venv/bin/python bench/inbox.py --tickets 100000 --db postgresql  # PostgreSQL

The seeded database is kept (SQLite under /tmp/comptoir-bench-<N>, PostgreSQL database
comptoir_bench_<N>) and re-used by the next run with the same N; --reseed starts over.
Prints one JSON line of figures. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PG_DEFAULT = "postgres://postgres@127.0.0.1:5432/{name}"
# Every figure of the JSON line, in the order they are measured.
FIGURES = (
    "inbox",
    "inbox_filtered",
    "ticket",
    "api_list",
    "search",
    "search_api",
    "ticket100",
)


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--tickets", type=int, required=True, help="number of tickets to seed")
    p.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    p.add_argument("--db-url", default="", help="PostgreSQL URL (default: local comptoir_bench_N)")
    p.add_argument("--data-dir", default="", help="COMPTOIR_DATA_DIR for this bench")
    p.add_argument("--port", type=int, default=0, help="default: a free port")
    p.add_argument("--requests", type=int, default=50, help="measured requests per page")
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument(
        "--app",
        default="comptoir.asgi:application",
        help="ASGI app to run (e.g. a variant on PYTHONPATH, to try a fix)",
    )
    p.add_argument("--reseed", action="store_true", help="drop the database and seed again")
    p.add_argument("--seed-only", action="store_true", help="seed (if needed) and stop")
    p.add_argument(
        "--only",
        action="append",
        choices=FIGURES,
        default=[],
        metavar="FIGURE",
        help=f"measure only this figure (repeatable; one of {', '.join(FIGURES)})",
    )
    p.add_argument(
        "--keep", action="store_true", help="leave the app running after measuring (Ctrl-C ends)"
    )
    args = p.parse_args()
    if args.db_url:
        args.db = "postgresql" if args.db_url.startswith("postgres") else "sqlite"
    return args


def prepare_environment(args: argparse.Namespace) -> dict[str, str]:
    """Point this process (and the app it starts) at the bench database and data dir."""
    n = args.tickets
    suffix = f"pg-{n}" if args.db == "postgresql" else str(n)
    data_dir = Path(args.data_dir or f"/tmp/comptoir-bench-{suffix}")
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {
        "COMPTOIR_DATA_DIR": str(data_dir),
        "COMPTOIR_DEBUG": "0",
        "COMPTOIR_LOGIN_RATE_LIMIT": "100000",
        "DJANGO_SETTINGS_MODULE": "comptoir.settings",
    }
    if args.db == "postgresql":
        env["DATABASE_URL"] = args.db_url or PG_DEFAULT.format(name=f"comptoir_bench_{n}")
    os.environ.pop("DATABASE_URL", None)
    os.environ.update(env)
    return env


def marker_path() -> Path:
    return Path(os.environ["COMPTOIR_DATA_DIR"]) / "bench-seeded.json"


def wanted_marker(args: argparse.Namespace) -> dict[str, Any]:
    return {"tickets": args.tickets, "db": args.db, "url": os.environ.get("DATABASE_URL", "")}


def reset_database(args: argparse.Namespace) -> None:
    """Drop the bench database so that migrate and seed start from nothing."""
    marker_path().unlink(missing_ok=True)
    url = os.environ.get("DATABASE_URL", "")
    if not url:
        data_dir = Path(os.environ["COMPTOIR_DATA_DIR"])
        for suffix in ("", "-wal", "-shm", "-journal"):
            (data_dir / f"comptoir.sqlite3{suffix}").unlink(missing_ok=True)
        shutil.rmtree(data_dir / "cache", ignore_errors=True)
        return
    import dj_database_url
    import psycopg
    from psycopg import sql

    cfg = dj_database_url.parse(url)
    name = cfg["NAME"]
    if not name.startswith("comptoir_bench"):
        raise SystemExit(f"refusing to drop {name!r}: bench databases are named comptoir_bench_*")
    with psycopg.connect(
        host=cfg["HOST"] or "127.0.0.1",
        port=int(cfg["PORT"] or 5432),
        user=cfg["USER"] or "postgres",
        password=cfg["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def ensure_seeded(args: argparse.Namespace) -> dict[str, Any]:
    marker = marker_path()
    current = json.loads(marker.read_text()) if marker.exists() else None
    wanted = wanted_marker(args)
    fresh = args.reseed or current is None or any(current.get(k) != v for k, v in wanted.items())
    if fresh:
        log(f"seeding a new {args.db} database with {args.tickets} tickets")
        reset_database(args)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if not fresh:
        log(f"re-using the seeded database ({current})")
        return current  # type: ignore[return-value]
    from bench.seed import seed

    result = seed_with_search_index(args.tickets, seed)
    info = {
        **wanted,
        "messages": result.messages,
        "events": result.events,
        "seed_s": round(result.seconds, 1),
    }
    marker.write_text(json.dumps(info))
    return info


def sample_ticket_ids(count: int) -> tuple[Any, list[int]]:
    """The bench user and random tickets it may see."""
    from django.db.models import Max

    from bench.seed import BENCH_EMAIL
    from comptoir.accounts.models import User
    from comptoir.accounts.rights import visible_workspace_ids
    from comptoir.tickets.models import Ticket

    user = User.objects.get(email=BENCH_EMAIL)
    ws_ids = visible_workspace_ids(user)
    top = Ticket.objects.aggregate(m=Max("id"))["m"] or 0
    rng = random.Random(1)
    ids: list[int] = []
    while len(ids) < count:
        candidates = [rng.randint(1, top) for _ in range(count * 2)]
        ids += list(
            Ticket.objects.filter(pk__in=candidates, workspace_id__in=ws_ids).values_list(
                "pk", flat=True
            )
        )
    rng.shuffle(ids)
    return user, ids[:count]


def start_app(env: dict[str, str], port: int, app: str) -> subprocess.Popen[bytes]:
    cmd = [
        str(ROOT / ".venv/bin/python"),
        "-m",
        "uvicorn",
        app,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    full_env = {**os.environ, **env}
    proc = subprocess.Popen(cmd, cwd=ROOT, env=full_env)
    import httpx

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the app exited with {proc.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("the app did not answer /healthz within 60 s")


def login(client: Any, email: str, password: str) -> None:
    """Log in through the real login form, keeping the session cookie in `client`."""
    from django.urls import reverse

    url = reverse("login")
    page = client.get(url)
    page.raise_for_status()
    html = page.text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    names = re.findall(r'<input[^>]*name="([^"]+)"', html)
    user_field = next((n for n in ("username", "email", "login") if n in names), "username")
    data = {user_field: email, "password": password}
    if token:
        data["csrfmiddlewaretoken"] = token.group(1)
    answer = client.post(url, data=data, headers={"Referer": str(client.base_url) + url})
    if answer.status_code not in (302, 303) or "sessionid" not in client.cookies:
        raise SystemExit(f"login failed: HTTP {answer.status_code}")


def cpu_probe_ms(rounds: int = 30) -> float:
    """Median time of a fixed pure-Python loop: how fast this machine's CPU is right now.

    A virtual machine's speed drifts from one minute to the next (up to 2x here), moving
    every timing with it; this figure, taken just before measuring, lets two runs be
    compared. It is ~6 ms on a quiet, fast-phase run of this project's 2-core machines.
    """
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        total, table = 0, {}
        for i in range(60_000):
            total += i * i
            table[i % 1000] = total
        timings.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(timings), 2)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def process_cpu_s(pid: int) -> float:
    """CPU time (user + system) a process has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    client: Any,
    urls: list[str],
    warmup: int,
    headers: dict[str, str] | None = None,
    app_pid: int | None = None,
) -> dict[str, Any]:
    """Time each request; every one must answer 200.

    With `app_pid`, also the app's CPU time per measured request (mean): steadier than
    wall time on a busy machine (not PostgreSQL's server work, which runs elsewhere).
    """
    timings: list[float] = []
    statuses: dict[int, int] = {}
    cpu_start = 0.0
    for i, url in enumerate([*urls[:warmup], *urls]):
        if i == warmup and app_pid:
            cpu_start = process_cpu_s(app_pid)
        t0 = time.perf_counter()
        response = client.get(url, headers=headers)
        elapsed = (time.perf_counter() - t0) * 1000
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        if i >= warmup:
            timings.append(elapsed)
    ok = set(statuses) == {200}
    result = {
        "ok": ok,
        "statuses": statuses,
        "p50": round(statistics.median(timings), 1),
        "p95": round(percentile(timings, 95), 1),
    }
    if app_pid:
        result["cpu"] = round((process_cpu_s(app_pid) - cpu_start) * 1000 / len(timings), 1)
    return result


# Full-text search and the ticket page with 100 messages ---------------------------------

# 25 searches an agent might type against the seeded data (names, order numbers, words of
# subjects and messages, accents left out, phrases, prefixes, OR, exclusions, no match),
# each run twice in the 50 measured requests.
SEARCHES = [
    "Durand",
    "lefevre",
    "Léa Moreau",
    "chloe bernard",
    "CMD-48213",
    "CMD-10577",
    "remboursement",
    "remboursement commande",
    "colis endommagé",
    "colis endommage photo",
    "résiliation contrat",
    "resiliation",
    "attestation assurance habitation",
    "dégât des eaux",
    '"colis est arrivé ouvert"',
    '"service concerné"',
    "rembours*",
    "endommag*",
    "facture OR attestation",
    "commande -remboursement",
    "livraison adresse",
    "Garage du Centre",
    "constat amiable signé",
    "Pharmacie",
    "zzyzx introuvable",
]
LONG_TICKETS = 10
SEARCH_FIGURES = ("search", "search_api", "ticket100")
LONG_MESSAGES = 100


def seed_with_search_index(n_tickets: int, seed: Any) -> Any:
    """Seed with the search triggers paused; the index is rebuilt in one pass after."""
    from comptoir.search.index import search_index_paused

    with search_index_paused():
        result = seed(n_tickets, log=log)
        log("seeded; rebuilding the search index")
        started = time.monotonic()
    log(f"search index rebuilt ({time.monotonic() - started:.0f}s)")
    return result


def search_urls(count: int, prefix: str) -> list[str]:
    from urllib.parse import urlencode

    return [prefix + urlencode({"q": SEARCHES[i % len(SEARCHES)]}) for i in range(count)]


def long_ticket_ids(user: Any) -> list[int]:
    """LONG_TICKETS tickets of LONG_MESSAGES messages each (made once, through the services)."""
    from bench.seed import SENTENCES
    from comptoir.accounts.models import Queue
    from comptoir.accounts.rights import visible_workspace_ids
    from comptoir.tickets.models import MessageKind, Ticket
    from comptoir.tickets.notes import note_add
    from comptoir.tickets.services import message_add, ticket_create

    subject = "Bench : conversation de 100 messages"
    existing = list(
        Ticket.objects.filter(subject__startswith=subject, message_count=LONG_MESSAGES)
        .order_by("id")
        .values_list("pk", flat=True)
    )
    if len(existing) >= LONG_TICKETS:
        return existing[:LONG_TICKETS]
    queue = Queue.objects.filter(workspace_id__in=visible_workspace_ids(user)).order_by("id")[0]
    rng = random.Random(2)
    made = list(existing)
    for n in range(len(existing), LONG_TICKETS):
        ticket = ticket_create(queue=queue, channel="email", subject=f"{subject} {n + 1}")
        for m in range(LONG_MESSAGES):
            text = " ".join(rng.sample(SENTENCES, rng.randint(3, 5)))
            if m % 10 == 9:
                note_add(ticket=ticket, author=user, body_text=text)
                continue
            kind = MessageKind.INBOUND if m % 2 == 0 else MessageKind.OUTBOUND
            message_add(
                ticket=ticket,
                kind=kind,
                body_text=text,
                body_html=f"<p>{text}</p>",
                sender_email="client@exemple.fr" if kind == MessageKind.INBOUND else "",
                author=None if kind == MessageKind.INBOUND else user,
            )
        made.append(ticket.pk)
    log(f"{LONG_TICKETS} tickets of {LONG_MESSAGES} messages ready")
    return made


def measure_search_and_long_tickets(
    client: Any,
    api: Any,
    token: str,
    long_ids: list[int],
    args: argparse.Namespace,
    app_pid: int | None = None,
) -> dict[str, dict[str, Any]]:
    """The search page and API (50 searches), and the ticket page of 100-message tickets."""
    n, warmup = args.requests, args.warmup
    results: dict[str, dict[str, Any]] = {}
    if wanted(args, "search"):
        results["search"] = measure(client, search_urls(n, "/search/?"), warmup)
    if wanted(args, "search_api"):
        results["search_api"] = measure(
            api,
            search_urls(n, "/api/v1/search?"),
            warmup,
            headers={"Authorization": f"Bearer {token}"},
        )
    if wanted(args, "ticket100"):
        results["ticket100"] = measure(
            client,
            [f"/tickets/{long_ids[i % len(long_ids)]}/" for i in range(n)],
            warmup,
            app_pid=app_pid,
        )
    return results


def wanted(args: argparse.Namespace, figure: str) -> bool:
    """Whether this run measures `figure` (all of them unless --only names some)."""
    return not args.only or figure in args.only


def main() -> None:
    args = parse_args()
    env = prepare_environment(args)
    info = ensure_seeded(args)
    if args.seed_only:
        print(
            json.dumps({k: info[k] for k in ("tickets", "db", "messages", "events") if k in info})
        )
        return
    from django.db import connections

    from bench.seed import BENCH_PASSWORD
    from comptoir.accounts.services import token_create

    user, ticket_ids = sample_ticket_ids(args.requests + args.warmup)
    long_ids = long_ticket_ids(user)
    token = token_create(user=user, name="bench")
    connections.close_all()

    import httpx

    if not args.port:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            args.port = s.getsockname()[1]
    load_before = os.getloadavg()[0]
    probe_before = cpu_probe_ms()
    proc = start_app(env, args.port, args.app)
    results: dict[str, dict[str, Any]] = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=30) as client:
            login(client, user.email, BENCH_PASSWORD)
            n = args.requests
            if wanted(args, "inbox"):
                results["inbox"] = measure(client, ["/"] * n, args.warmup)
            if wanted(args, "inbox_filtered"):
                results["inbox_filtered"] = measure(
                    client, ["/?channel=email&status=open"] * n, args.warmup
                )
            if wanted(args, "ticket"):
                results["ticket"] = measure(
                    client, [f"/tickets/{i}/" for i in ticket_ids], args.warmup
                )
        with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=30) as api:
            if wanted(args, "api_list"):
                results["api_list"] = measure(
                    api,
                    ["/api/v1/tickets"] * args.requests,
                    args.warmup,
                    headers={"Authorization": f"Bearer {token}"},
                )
            with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=30) as client:
                login(client, user.email, BENCH_PASSWORD)
                results.update(
                    measure_search_and_long_tickets(client, api, token, long_ids, args, proc.pid)
                )
        if args.keep:
            log(
                f"app running on http://127.0.0.1:{args.port}/ ({user.email} / {BENCH_PASSWORD});"
                " Ctrl-C to stop"
            )
            with contextlib.suppress(KeyboardInterrupt):
                proc.wait()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    for name, r in results.items():
        if not r["ok"]:
            log(f"{name}: not every answer was 200: {r['statuses']}")
    line: dict[str, Any] = {"tickets": args.tickets, "db": args.db}
    if args.app != "comptoir.asgi:application":
        line["app"] = args.app
    for name in FIGURES:
        if name not in results:
            continue
        r = results[name]
        line[f"{name}_p50_ms"] = r["p50"] if r["ok"] else None
        line[f"{name}_p95_ms"] = r["p95"] if r["ok"] else None
        if "cpu" in r:
            line[f"{name}_cpu_ms"] = r["cpu"] if r["ok"] else None
    line["messages"] = info.get("messages")
    # Other work on this 2-core machine skews timings: say how busy it was.
    line["loadavg_1m"] = [round(load_before, 2), round(os.getloadavg()[0], 2)]
    line["cpu_probe_ms"] = [probe_before, cpu_probe_ms()]
    print(json.dumps(line), flush=True)


if __name__ == "__main__":
    main()
